// A stub resolver: retries over the configured servers as glibc does (D4, D12), TCP after a
// truncated reply (RFC 7766 §5), EDNS0 fallback (RFC 6891 §7); Courier's CNAME chasing is
// _cname.ts, the options options.ts. What the records mean is the caller's business.
import { DnsError, type DnsErrorKind } from "../errors.ts";
import { denoHost, type Host } from "../host.ts";
import { encodeQuery, type Message, type Question } from "../wire/message.ts";
import { type ExchangeOptions, exchangeTcp, exchangeUdp } from "./exchange.ts";
import { UdpSocketPool } from "./udp_socket_pool.ts";
import { type Answered, chaseCnames } from "./_cname.ts";
import type { ExchangeTrace, Querier, QueryResult, ResolverQueryOptions } from "./querier.ts";
import {
  checkOptions,
  requireDatagrams,
  type ResolverOptions,
  type Server,
  type SystemResolverOptions,
} from "./options.ts";
import { loadResolvConf } from "./resolv_conf.ts";

export type { NameServer, ResolverOptions, SystemResolverOptions } from "./options.ts";
export type { ExchangeTrace, Querier, QueryResult, ResolverQueryOptions } from "./querier.ts";

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

/**
 * A stub resolver over a fixed list of servers (`new Resolver()`: 127.0.0.1 and ::1), or over
 * the system's (`Resolver.fromSystem()`). Queries may run concurrently; a query starts at the
 * server that answered last, as Courier's does. Needs `--unstable-net` for raw UDP (D20).
 *
 * @example Ask one question
 * ```ts ignore
 * import { DnsError, Resolver } from "@testmxlookup/testmxlookup";
 *
 * const resolver = new Resolver({
 *   servers: [{ address: "127.0.0.1" }, { address: "::1", port: 5353 }],
 *   timeoutMs: 2000,
 *   dnssec: true, // EDNS0 with DO: the AD bit of a validating resolver is reported
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
 * assert.throws(() => new Resolver({ dnssec: true, udpSize: 0 }), RangeError);
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
  /** resolv.conf's default domain (see {@linkcode ResolverOptions.defaultDomain}). */
  readonly defaultDomain?: string;
  #next = 0;
  /**
   * The server that answered last: the next query starts there (Courier,
   * docs/courier.md#two-resolvers).
   */
  #preferred = 0;

  /**
   * Creates a resolver.
   *
   * @param options Servers, timeouts, EDNS, host.
   * @throws {TypeError} When a server address is not an IP address, or when `host` is not
   *   given and `Deno.listenDatagram` is missing (Deno runs without `--unstable-net`).
   * @throws {RangeError} When a number is out of range, `servers` is empty, or `dnssec` is
   *   set with `udpSize` 0.
   */
  constructor(options: ResolverOptions = {}) {
    const settings = checkOptions(options);
    this.#servers = settings.servers;
    this.#timeoutMs = settings.timeoutMs;
    this.#attempts = settings.attempts;
    this.#rotate = settings.rotate;
    this.#udpSize = settings.udpSize;
    this.#maxCnames = settings.maxCnames;
    this.defaultDomain = options.defaultDomain;
    this.#host = options.host ?? denoHost();
    this.#onExchange = options.onExchange;
    if (settings.socketReuse > 1) this.#pool = new UdpSocketPool(this.#host, settings.socketReuse);
  }
  /**
   * Creates a resolver from the system's configuration, as the `testmxlookup` command does:
   * resolv.conf's `nameserver`s (127.0.0.1 and ::1 when none), `options timeout:N
   * attempts:N rotate` and default domain, read through `host`. Options given here win over
   * the file's.
   *
   * @param options The file to read, and resolver options that override it.
   * @returns The resolver.
   * @throws {TypeError} As the constructor, e.g. without `--unstable-net`.
   * @throws {Error} When the file exists but cannot be read, or is not a text file.
   *
   * @example Ask the system's name servers, with DNSSEC
   * ```ts ignore
   * import { lookupMx, Resolver } from "@testmxlookup/testmxlookup";
   *
   * // deno run --unstable-net --allow-net --allow-read=/etc/resolv.conf
   * const resolver = await Resolver.fromSystem({ dnssec: true });
   * const result = await lookupMx("example.com", {
   *   resolver,
   *   defaultDomain: resolver.defaultDomain,
   * });
   * for (const e of result.entries) console.log(e.host, e.dnssec ? "validated" : "");
   * ```
   *
   * @example Read another file through any host
   * ```ts
   * import { denoHost, Resolver } from "@testmxlookup/testmxlookup";
   * import assert from "node:assert/strict";
   *
   * const host = {
   *   ...denoHost(),
   *   readTextFile: (path: string) =>
   *     Promise.resolve(path === "/etc/my-resolv.conf" ? "nameserver 192.0.2.53\nsearch Example.ORG\n" : undefined),
   * };
   * const resolver = await Resolver.fromSystem({ resolvConf: "/etc/my-resolv.conf", host });
   * assert.equal(resolver.defaultDomain, "example.org");
   * ```
   */
  static async fromSystem(options: SystemResolverOptions = {}): Promise<Resolver> {
    if (options.host === undefined) requireDatagrams();
    const { resolvConf = "/etc/resolv.conf", ...rest } = options;
    const conf = await loadResolvConf(resolvConf, options.host ?? denoHost());
    return new Resolver({
      ...rest,
      servers: rest.servers ?? conf.nameservers.map((address) => ({ address })),
      timeoutMs: rest.timeoutMs ?? conf.timeoutMs,
      attempts: rest.attempts ?? conf.attempts,
      rotate: rest.rotate ?? conf.rotate,
      defaultDomain: rest.defaultDomain ?? conf.domain,
    });
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
    return await chaseCnames(
      name,
      type.toUpperCase(),
      (question) => this.#ask(question, options),
      this.#maxCnames,
    );
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
    const query = encodeQuery(question, {
      id,
      udpSize,
      checkingDisabled: asked.checkingDisabled,
    });
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
    const startedAt = performance.now();
    const report = (entry: ExchangeTrace) => {
      entry.startedAt = startedAt;
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
