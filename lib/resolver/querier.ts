// What the MX and STS lookups need of a resolver, and what a query gives back: the contract
// between `Resolver` (resolver.ts) and its callers, who may put their own in front of it.
import type { DnsErrorKind } from "../errors.ts";
import type { Message, ResourceRecord } from "../wire/message.ts";

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
  /** When the exchange began, as `performance.now()` (for a trace's timeline). */
  startedAt?: number;
}

/** Options of {@linkcode Resolver.query}. */
export interface ResolverQueryOptions {
  /** Aborts the query; it then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called after every round trip of this query, besides the resolver's own `onExchange`. */
  onExchange?: (trace: ExchangeTrace) => void;
  /**
   * Sets the CD bit (RFC 4035 §3.2.2): a validating resolver then returns data that fails
   * validation instead of SERVFAIL, which tells a bogus answer from an unreachable one.
   * @default {false}
   */
  checkingDisabled?: boolean;
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
   * (Courier's rule: answer, authority and additional alike).
   */
  records: ResourceRecord[];
  /** The final reply. */
  message: Message;
  /**
   * The AD bit of the final reply, taken at face value as Courier does: it is only as
   * trustworthy as the resolver and the path to it.
   */
  ad: boolean;
  /** The CNAME targets followed, in order. */
  cnames: string[];
  /** The server that gave the final reply. */
  server: string;
  /** The transport of the final reply. */
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
