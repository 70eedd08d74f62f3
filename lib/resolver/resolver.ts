// A stub resolver: retries over the configured servers as glibc does (D4, D12), TCP after a
// truncated reply (RFC 7766 §5), EDNS0 fallback (RFC 6891 §7) and Courier's CNAME chasing
// (resolver.md §10). What the records mean is the caller's business.
import { addressToHost, parseAddress } from "../address.ts";
import { DnsError, type DnsErrorKind } from "../errors.ts";
import { denoHost, type Host, type SocketAddress } from "../host.ts";
import { nameKey, sameName } from "../names.ts";
import { encodeQuery, type Message, type Question, type ResourceRecord } from "../wire/message.ts";
import {
  type ExchangeOptions,
  exchangeTcp,
  exchangeUdp,
  serverLabel,
  UdpSocketPool,
} from "./exchange.ts";
import { DEFAULT_NAMESERVERS } from "./resolv_conf.ts";

/** A server to ask. */
export interface NameServer {
  /** IPv4 or IPv6 address text (Courier's grammar: `127.1` and `0177.0.0.1` work too). */
  address: string;
  /** The port. @default {53} */
  port?: number;
}

/** One round trip, for `--json` and debugging. */
export interface ExchangeTrace {
  /** The server, as `address` or `address:port` / `[v6]:port`. */
  server: string;
  /** The name asked. */
  name: string;
  /** The type asked. */
  type: string;
  /** How it went. */
  transport: "udp" | "tcp";
  /** Whether the query carried an EDNS0 OPT record. */
  edns: boolean;
  /** The reply's RCODE, when an acceptable reply arrived. */
  rcode?: string;
  /** Whether the reply had TC set (a TCP exchange follows). */
  truncated?: boolean;
  /** Why no acceptable reply arrived. */
  error?: DnsErrorKind;
  /** Milliseconds from sending to the outcome. */
  ms: number;
}

/** Options of {@linkcode Resolver}. */
export interface ResolverOptions {
  /** Servers, tried in order. @default {[{ address: "127.0.0.1" }, { address: "::1" }]} */
  servers?: NameServer[];
  /** Milliseconds to wait for each reply (resolv.conf `timeout`). @default {5000} */
  timeoutMs?: number;
  /** Rounds over the server list (resolv.conf `attempts`). @default {2} */
  attempts?: number;
  /** Start each query at the next server in turn (resolv.conf `rotate`). @default {false} */
  rotate?: boolean;
  /**
   * EDNS0 UDP payload size; 0 sends no OPT record. Above 0 the OPT record also sets DO, as
   * Courier's `--dnssec` and `--udpsize` do. @default {0}
   */
  udpSize?: number;
  /** CNAME records followed per query before failing. @default {10} */
  maxCnames?: number;
  /**
   * Queries sent from one UDP socket, one after another, before it is closed. 1 opens a
   * fresh socket, with a fresh random port, for every query (RFC 5452 §9.2); a batch of many
   * domains uses more, since opening sockets is then most of its CPU time (see
   * {@linkcode UdpSocketPool}). Call `close()` when done to close the idle ones.
   * @default {1}
   */
  socketReuse?: number;
  /** Sockets, clock and IDs. @default {denoHost()} */
  host?: Host;
  /** Called after every round trip. */
  onExchange?: (trace: ExchangeTrace) => void;
}

/** Options of {@linkcode Resolver.query}. */
export interface ResolverQueryOptions {
  /** Aborts the query; it then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called after every round trip of this query, besides the resolver's own `onExchange`. */
  onExchange?: (trace: ExchangeTrace) => void;
}

/** A successful query. */
export interface QueryResult {
  /** The name asked. */
  name: string;
  /** The name the records belong to after following CNAMEs; `name` when there were none. */
  canonicalName: string;
  /** The type asked, upper case. */
  type: string;
  /**
   * Every record of `type` owned by `canonicalName`, from any section of the final reply
   * (Courier's rule, resolver.md §10 step 2).
   */
  records: ResourceRecord[];
  /** The final reply. */
  message: Message;
  /** The AD bit of the final reply, taken at face value (resolver.md §13). */
  ad: boolean;
  /** The CNAME targets followed, in order. */
  cnames: string[];
  /** The server that gave the final reply. */
  server: string;
  /** The transport of the final reply. */
  transport: "udp" | "tcp";
}

const RCODE_KINDS: Record<string, DnsErrorKind> = {
  FORMERR: "FORMERR",
  SERVFAIL: "SERVFAIL",
  NOTIMP: "NOTIMP",
  REFUSED: "REFUSED",
};

/** Failures after which the next server is tried. */
const RETRYABLE = new Set<DnsErrorKind>([
  "TIMEOUT",
  "NETWORK",
  "MALFORMED",
  "FORMERR",
  "SERVFAIL",
  "NOTIMP",
  "REFUSED",
]);

/** When every server failed, an answer says more than garbage, garbage more than silence. */
function weight(kind: DnsErrorKind): number {
  return kind === "NETWORK" ? 0 : kind === "TIMEOUT" ? 1 : kind === "MALFORMED" ? 2 : 3;
}

interface Server {
  address: SocketAddress;
  label: string;
}

interface Answered {
  message: Message;
  server: string;
  transport: "udp" | "tcp";
}

/**
 * What the MX and STS lookups need of a resolver; {@linkcode Resolver} is the real one.
 * Implement it to put a cache, a log or canned answers in front of the lookups.
 *
 * @example Log every question, then ask the real resolver
 * ```ts ignore
 * import { lookupMx, type Querier, Resolver } from "@testmxlookup/testmxlookup";
 *
 * const resolver = new Resolver({ servers: [{ address: "127.0.0.1" }] });
 * const logged: Querier = {
 *   query(name, type, options) {
 *     console.error(`? ${name} ${type}`);
 *     return resolver.query(name, type, options);
 *   },
 * };
 * await lookupMx("example.com", { resolver: logged });
 * ```
 */
export interface Querier {
  /** Asks one question, following CNAMEs; throws a `DnsError` when there is no answer. */
  query(name: string, type: string, options?: ResolverQueryOptions): Promise<QueryResult>;
}

/**
 * A stub resolver over a fixed list of servers. Queries may run concurrently; a query
 * starts at the server that answered last, as Courier's does.
 *
 * @example Ask one question
 * ```ts ignore
 * import { DnsError, Resolver } from "@testmxlookup/testmxlookup";
 *
 * const resolver = new Resolver({
 *   servers: [{ address: "127.0.0.1" }, { address: "::1", port: 5353 }],
 *   timeoutMs: 2000,
 *   udpSize: 1232, // EDNS0 with DO: the AD bit of a validating resolver is reported
 *   onExchange: (trace) => console.error(trace.server, trace.transport, trace.rcode),
 * });
 * try {
 *   const { records, ad } = await resolver.query("example.com", "MX");
 *   for (const r of records) if (r.data.type === "MX") console.log(r.data.exchange, ad);
 * } catch (error) {
 *   if (!(error instanceof DnsError)) throw error;
 *   console.error(error.kind, error.message); // "NXDOMAIN", "TIMEOUT", ...
 * }
 * ```
 *
 * @example Bad options throw at once
 * ```ts
 * import { Resolver } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => new Resolver({ servers: [{ address: "dns.example" }] }), TypeError);
 * assert.throws(() => new Resolver({ servers: [] }), RangeError);
 * assert.throws(() => new Resolver({ timeoutMs: 0 }), RangeError);
 * ```
 */
export class Resolver implements Querier, Disposable {
  readonly #servers: Server[];
  readonly #timeoutMs: number;
  readonly #attempts: number;
  readonly #rotate: boolean;
  readonly #udpSize: number;
  readonly #maxCnames: number;
  readonly #host: Host;
  readonly #onExchange?: (trace: ExchangeTrace) => void;
  readonly #pool?: UdpSocketPool;
  #next = 0;
  /** The server that answered last: the next query starts there (Courier, resolver.md §1). */
  #preferred = 0;

  /**
   * Creates a resolver.
   *
   * @param options Servers, timeouts, EDNS, host.
   * @throws {TypeError} When a server address is not an IP address.
   * @throws {RangeError} When a number is out of range or `servers` is empty.
   */
  constructor(options: ResolverOptions = {}) {
    const servers = options.servers ?? DEFAULT_NAMESERVERS.map((address) => ({ address }));
    if (servers.length === 0) throw new RangeError("Resolver needs at least one server");
    this.#servers = servers.map(toServer);
    this.#timeoutMs = checkRange("timeoutMs", options.timeoutMs ?? 5000, 1, 2 ** 31 - 1);
    this.#attempts = checkRange("attempts", options.attempts ?? 2, 1, 100);
    this.#rotate = options.rotate ?? false;
    this.#udpSize = checkRange("udpSize", options.udpSize ?? 0, 0, 65535);
    this.#maxCnames = checkRange("maxCnames", options.maxCnames ?? 10, 0, 100);
    this.#host = options.host ?? denoHost();
    this.#onExchange = options.onExchange;
    const reuse = checkRange("socketReuse", options.socketReuse ?? 1, 1, 65535);
    if (reuse > 1) this.#pool = new UdpSocketPool(this.#host, reuse);
  }

  /** Closes the idle sockets kept for reuse (`socketReuse`); queries may still follow. */
  close(): void {
    this.#pool?.[Symbol.dispose]();
  }

  /** Same as {@linkcode Resolver.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Asks for the records of one type, following CNAMEs.
   *
   * @param name The name, sent as given (case kept).
   * @param type The record type, e.g. "MX".
   * @param options The abort signal and a round-trip hook for this query.
   * @returns The records and the final reply.
   * @throws {DnsError} `NXDOMAIN`, `NODATA`, `SERVFAIL`, `REFUSED`, `NOTIMP`, `FORMERR`,
   *   `TIMEOUT`, `MALFORMED`, `NETWORK`, `CNAME_LOOP` or `INVALID_NAME`.
   * @throws {DOMException} When `signal` aborts (or the signal's own reason).
   */
  async query(
    name: string,
    type: string,
    options: ResolverQueryOptions = {},
  ): Promise<QueryResult> {
    type = type.toUpperCase();
    const cnames: string[] = [];
    const seen = new Set([nameKey(name)]);
    let current = name;
    let answered = await this.#ask({ name, type }, options);
    // A fresh reply is searched in its answer section, a reply we continue in everywhere.
    let pool = answered.message.answers;
    // Every pass returns, throws, or follows one more CNAME, of which there are at most
    // maxCnames: the bound is never reached.
    for (let pass = 0; pass <= this.#maxCnames + 1; pass++) {
      const { message, server } = answered;
      const where = { server, name, type };
      const alias = cnames.length === 0 ? "" : ` (alias of "${name}")`;
      if (message.rcode === "NXDOMAIN") {
        throw new DnsError(
          "NXDOMAIN",
          `No such domain "${current}"${alias} (NXDOMAIN from ${server})`,
          where,
        );
      }
      const all = [...message.answers, ...message.authorities, ...message.additionals];
      const owned = pool.filter((r) => sameName(r.name, current));
      if (owned.some((r) => r.type === type)) {
        return {
          name,
          canonicalName: current,
          type,
          records: all.filter((r) => r.type === type && sameName(r.name, current)),
          message,
          ad: message.ad,
          cnames,
          server,
          transport: answered.transport,
        };
      }
      const cname = owned.find((r) => r.data.type === "CNAME");
      if (cname?.data.type !== "CNAME") {
        throw new DnsError(
          "NODATA",
          `No ${type} record for "${current}"${alias} at ${server}`,
          where,
        );
      }
      const target = cname.data.target;
      if (cnames.length === this.#maxCnames) {
        throw new DnsError(
          "CNAME_LOOP",
          `CNAME chain of "${name}" ${type} is longer than ${this.#maxCnames}`,
          where,
        );
      }
      if (seen.has(nameKey(target))) {
        throw new DnsError(
          "CNAME_LOOP",
          `CNAME chain of "${name}" ${type} loops at "${target}"`,
          where,
        );
      }
      seen.add(nameKey(target));
      cnames.push(target);
      current = target;
      // Courier looks for the target in every section of the same reply before asking again.
      if (all.some((r) => sameName(r.name, current) && (r.type === type || r.type === "CNAME"))) {
        pool = all;
      } else {
        answered = await this.#ask({ name: current, type }, options);
        pool = answered.message.answers;
      }
    }
    throw new DnsError("CNAME_LOOP", `CNAME chain of "${name}" ${type} does not end`, {
      name,
      type,
    });
  }

  /** One question, retried over the servers until a NOERROR or NXDOMAIN reply. */
  async #ask(question: Question, query: ResolverQueryOptions): Promise<Answered> {
    const { signal } = query;
    const count = this.#servers.length;
    // With `rotate` the load is spread; otherwise a dead first server costs one timeout per
    // run, not one per query.
    const start = this.#rotate ? this.#next++ % count : this.#preferred;
    let failure: DnsError | undefined;
    const silent = new Set<string>();
    for (let round = 0; round < this.#attempts; round++) {
      for (let i = 0; i < count; i++) {
        signal?.throwIfAborted();
        const index = (start + i) % count;
        const server = this.#servers[index];
        let error: DnsError;
        try {
          const answered = await this.#attempt(server, question, query);
          const kind = rcodeKind(answered.message.rcode);
          if (kind === undefined) {
            this.#preferred = index;
            return answered;
          }
          error = new DnsError(
            kind,
            `Server ${server.label} answered ${answered.message.rcode} for "${question.name}" ${question.type}`,
            { server: server.label, ...question },
          );
        } catch (caught) {
          if (!(caught instanceof DnsError) || !RETRYABLE.has(caught.kind)) throw caught;
          error = caught;
        }
        if (error.kind === "TIMEOUT") silent.add(server.label);
        if (failure === undefined || weight(error.kind) >= weight(failure.kind)) failure = error;
      }
    }
    signal?.throwIfAborted();
    if (failure?.kind !== "TIMEOUT") throw failure;
    const asked = `"${question.name}" ${question.type}`;
    const tries = `${this.#attempts} attempts of ${this.#timeoutMs} ms`;
    throw new DnsError(
      "TIMEOUT",
      `No reply from ${[...silent].join(", ")} for ${asked} after ${tries}`,
      {
        server: failure.server,
        ...question,
        cause: failure,
      },
    );
  }

  /** One server, once: UDP, then TCP if truncated, then without EDNS after a FORMERR. */
  async #attempt(
    server: Server,
    question: Question,
    query: ResolverQueryOptions,
  ): Promise<Answered> {
    const answered = await this.#exchange(server, question, this.#udpSize, query);
    // RFC 6891 §7: a FORMERR to a query with OPT may come from a server that predates EDNS;
    // ask once more without it.
    if (answered.message.rcode !== "FORMERR" || this.#udpSize === 0) return answered;
    return await this.#exchange(server, question, 0, query);
  }

  async #exchange(
    server: Server,
    question: Question,
    udpSize: number,
    asked: ResolverQueryOptions,
  ): Promise<Answered> {
    // A fresh ID per query (RFC 5452 §9.2); the TCP retry reuses the query as Courier does.
    const id = this.#host.randomId();
    const query = encodeQuery(question, { id, udpSize });
    const expected = { server: server.address, id, question };
    const options: ExchangeOptions = {
      host: this.#host,
      pool: this.#pool,
      timeoutMs: this.#timeoutMs,
      signal: asked.signal,
    };
    const trace = { server: server.label, ...question, edns: udpSize > 0 };
    const udp = await this.#traced(
      asked,
      { ...trace, transport: "udp" },
      () => exchangeUdp(query, expected, options),
    );
    // RFC 1035 §4.2.1, RFC 7766 §5: a truncated UDP reply means asking again over TCP.
    if (!udp.tc) return { message: udp, server: server.label, transport: "udp" };
    const tcp = await this.#traced(
      asked,
      { ...trace, transport: "tcp" },
      () => exchangeTcp(query, expected, options),
    );
    return { message: tcp, server: server.label, transport: "tcp" };
  }

  async #traced(
    query: ResolverQueryOptions,
    trace: Omit<ExchangeTrace, "ms">,
    run: () => Promise<Message>,
  ): Promise<Message> {
    const started = this.#host.now();
    const report = (entry: ExchangeTrace) => {
      this.#onExchange?.(entry);
      query.onExchange?.(entry);
    };
    try {
      const message = await run();
      report({
        ...trace,
        rcode: message.rcode,
        ...(message.tc ? { truncated: true } : {}),
        ms: this.#host.now() - started,
      });
      return message;
    } catch (error) {
      // An abort is the caller's doing, not an outcome of the exchange.
      if (error instanceof DnsError) {
        report({ ...trace, error: error.kind, ms: this.#host.now() - started });
      }
      throw error;
    }
  }
}

/** The error kind of an RCODE that sends us to the next server; undefined for final ones. */
function rcodeKind(rcode: string): DnsErrorKind | undefined {
  if (rcode === "NOERROR" || rcode === "NXDOMAIN") return undefined;
  // An RCODE a stub does not expect (YXDOMAIN, NOTAUTH, ...) is a server failure for us.
  return RCODE_KINDS[rcode] ?? "SERVFAIL";
}

function toServer(server: NameServer): Server {
  const bytes = parseAddress(server.address);
  if (bytes === undefined) throw new TypeError(`Not an IP address: "${server.address}"`);
  const port = checkRange("port", server.port ?? 53, 1, 65535);
  const address = { hostname: addressToHost(bytes), port };
  return { address, label: serverLabel(address) };
}

function checkRange(what: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${what} must be an integer from ${min} to ${max}, not ${value}`);
  }
  return value;
}
