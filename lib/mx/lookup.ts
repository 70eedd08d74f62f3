// The MX algorithm of Courier's testmxlookup (docs/courier.md#the-mx-algorithm), upstream flavour:
// null MX means "no mail" (RFC 7505), both address families of every host are listed, and all
// address queries run at once. D13: a host left without addresses by a soft failure is soft, not
// hard.
import { formatAddress, parseAddress } from "../address.ts";
import { DnsError } from "../errors.ts";
import { displayName, wireName } from "../names.ts";
import type { Querier } from "../resolver/resolver.ts";
import { completeName, nameProblem, parseTarget } from "./name.ts";
import type { MxEntry } from "./sort.ts";
import { fatalOutcome, finish, type Harvest, harvest, literalHarvest } from "./_harvest.ts";

/** How a lookup ended, as Courier reports it. */
export type MxOutcome =
  /** Addresses found. */
  | "ok"
  /** `soft error.`: a failure that may pass (timeout, SERVFAIL, ...). */
  | "soft"
  /** `hard error.`: the domain or its hosts have no address. */
  | "hard"
  /** `internal error.`: the name cannot be asked for. */
  | "internal"
  /** `bad DNS records (recursive CNAME).` */
  | "cname"
  /** `no mail.`: a null MX (RFC 7505). */
  | "nomail";

/** One MX record's host and what its address queries gave. */
export interface MxHost {
  /** The host as printed. */
  host: string;
  /** MX preference, -1 for implicit MX and literals. */
  priority: number;
  /** How the host fared: ok, soft (no address, a query failed) or hard (no address). */
  outcome: "ok" | "soft" | "hard";
  /** Where the addresses came from. */
  source: "mx-additional" | "query" | "literal" | "mixed";
  /** Failures of this host's address queries. */
  errors: DnsError[];
}

/** What `lookupMx` found. */
export interface MxResult {
  /** The argument as given. */
  domain: string;
  /** The name asked for on the wire, when there was one. */
  queryName?: string;
  /** How the lookup ended. */
  outcome: MxOutcome;
  /** Why it did not end "ok", one sentence for stderr. */
  reason?: string;
  /** The error behind `reason`, when DNS gave one (also NXDOMAIN or NODATA when hard, D18). */
  error?: DnsError;
  /** The printed lines' facts, in print order. */
  entries: MxEntry[];
  /** Every host in MX order, with its fate. */
  hosts: MxHost[];
  /** Questionable records and partial failures, one sentence each, for stderr. */
  warnings: string[];
}

/** Options of {@linkcode lookupMx}. */
export interface LookupMxOptions {
  /** The resolver to ask. */
  resolver: Querier;
  /** resolv.conf's default domain for names without a dot. */
  defaultDomain?: string;
  /** List IPv6 addresses before IPv4 ones (Courier's `ESMTP_PREFER_IPV6_MX`). @default {false} */
  preferIpv6?: boolean;
  /** Address queries in flight at once, at most. @default {32} */
  concurrency?: number;
  /** Aborts the lookup. */
  signal?: AbortSignal;
}

/**
 * Looks up the mail servers of a domain as Courier's `testmxlookup` does.
 *
 * Every host's address queries run at once (at most `concurrency` in flight), and many
 * lookups may share one {@linkcode Resolver} concurrently.
 *
 * @param domain The domain argument, as typed (`name`, `name,port`, `[address]`, `name.`).
 * @param options The resolver, default domain, address order and signal.
 * @returns The outcome and the entries to print; never throws for DNS failures.
 * @throws {DOMException} When `signal` aborts (or the signal's own reason).
 *
 * @example Look up a domain through a resolver
 * ```ts ignore
 * import { formatAddress, lookupMx, Resolver } from "@testmxlookup/testmxlookup";
 *
 * const resolver = new Resolver({ servers: [{ address: "127.0.0.1" }] });
 * const result = await lookupMx("example.com", {
 *   resolver,
 *   signal: AbortSignal.timeout(10_000),
 * });
 * if (result.outcome === "ok") {
 *   for (const e of result.entries) console.log(e.priority, e.host, formatAddress(e.address));
 * } else {
 *   console.error(`${result.outcome}: ${result.reason}`);
 * }
 * ```
 *
 * @example An address literal needs no DNS
 * ```ts
 * import { formatAddress, lookupMx, Resolver } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const result = await lookupMx("[192.0.2.1]", { resolver: new Resolver() });
 * assert.equal(result.outcome, "ok");
 * assert.equal(result.entries[0].host, "[192.0.2.1]");
 * assert.equal(result.entries[0].priority, -1);
 * assert.equal(formatAddress(result.entries[0].address), "::ffff:192.0.2.1");
 * ```
 *
 * @example DNS failures are outcomes, not exceptions
 * ```ts
 * import { DnsError, lookupMx, type Querier } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const silent: Querier = {
 *   query: (name, type) =>
 *     Promise.reject(new DnsError("TIMEOUT", `No reply for "${name}" ${type}`, { name, type })),
 * };
 * const result = await lookupMx("example.com", { resolver: silent });
 * assert.equal(result.outcome, "soft");
 * assert.equal(result.error?.kind, "TIMEOUT");
 * assert.deepEqual(result.entries, []);
 * ```
 */
export async function lookupMx(domain: string, options: LookupMxOptions): Promise<MxResult> {
  const preferIpv6 = options.preferIpv6 ?? false;
  const target = parseTarget(domain, options.defaultDomain);
  const empty = { domain, entries: [], hosts: [], warnings: [] };
  if (target.kind === "invalid") {
    return { ...empty, outcome: target.outcome, reason: target.reason };
  }
  if (target.kind === "literal") {
    return finish(
      domain,
      undefined,
      [literalHarvest(target.host, target.address, -1)],
      preferIpv6,
      [],
      "",
    );
  }
  const limit = options.concurrency ?? 32;
  let inFlight = 0;
  const waiting: (() => void)[] = [];
  const schedule = async <T>(task: () => Promise<T>): Promise<T> => {
    if (inFlight >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    inFlight++;
    try {
      return await task();
    } finally {
      inFlight--;
      waiting.shift()?.();
    }
  };
  const context = { ...options, schedule };
  const queryName = target.name;
  try {
    let mx;
    try {
      mx = await options.resolver.query(queryName, "MX", { signal: options.signal });
    } catch (error) {
      if (!(error instanceof DnsError) || fatalOutcome(error)) throw error;
      if (error.transient) {
        return { ...empty, queryName, outcome: "soft", error, reason: error.message };
      }
      // No MX: the domain itself is the mail host, "implicit MX" (RFC 5321 §5.1).
      const implicit = await harvest(target.display, queryName, -1, undefined, context);
      return finish(
        domain,
        queryName,
        [implicit],
        preferIpv6,
        [],
        `"${target.display}" has no MX record (${error.kind}) and no address`,
        error,
      );
    }
    const records = mx.records.filter((r) => r.data.type === "MX");
    const warnings: string[] = [];
    if (records.some((r) => r.data.type === "MX" && r.data.exchange === "")) {
      return {
        ...empty,
        queryName,
        outcome: "nomail",
        reason: `"${target.display}" publishes a null MX (RFC 7505): it accepts no mail`,
      };
    }
    // Every host's address queries go out at once; `schedule` bounds the queries in flight.
    const harvests = await Promise.all(
      records.map((record) => {
        const { preference, exchange } = record.data as { preference: number; exchange: string };
        const literal = parseAddress(exchange);
        if (literal) {
          warnings.push(
            `MX target ${exchange} is an IP address, not a host name (RFC 1035 §3.3.9)`,
          );
          return Promise.resolve(literalHarvest(formatAddress(literal), literal, preference));
        }
        const wire = wireName(completeName(exchange, options.defaultDomain));
        const problem = wire === undefined ? "not a valid name" : nameProblem(wire);
        if (wire === undefined || problem) {
          warnings.push(`MX target "${exchange}" skipped: ${problem}`);
          return Promise.resolve(undefined);
        }
        return harvest(displayName(exchange), wire, preference, mx.message, context);
      }),
    );
    return finish(
      domain,
      queryName,
      harvests.filter((h): h is Harvest => h !== undefined),
      preferIpv6,
      warnings,
      `no MX host of "${target.display}" has an address`,
    );
  } catch (error) {
    const outcome = fatalOutcome(error);
    if (outcome === undefined) throw error;
    const fatal = error as DnsError;
    return { ...empty, queryName, outcome, error: fatal, reason: fatal.message };
  }
}
