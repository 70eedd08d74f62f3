// One domain as `testmxlookup DOMAIN` looks it up: the MX hosts with their addresses and, at
// the same time, the MTA-STS policy, under a deadline of its own; the result is one
// DomainReport (domain_report.ts). Printing it is lib/report/'s.
import { TimeLimit } from "../deadlines.ts";
import { isLocal, type LocalConfig } from "./local.ts";
import { lookupMx } from "../mx/lookup.ts";
import { type Querier, Resolver } from "../resolver/resolver.ts";
import { lookupSts, type LookupStsOptions, type StsStep } from "../sts/lookup.ts";
import type { StsStore } from "../sts/store.ts";
import { type DomainReport, NO_STS, toDomainReport, type TraceEntry } from "./domain_report.ts";
import type { ProbeReportOptions } from "./probe_report.ts";

/** Options of {@linkcode lookupDomain}. */
export interface LookupDomainOptions extends Pick<LookupStsOptions, "caCerts" | "now"> {
  /**
   * The resolver; one may serve many lookups at once.
   * @default {a new Resolver() asking 127.0.0.1 and ::1, closed after the lookup}
   */
  resolver?: Querier;
  /**
   * The STS policy cache; undefined means none (every lookup downloads). Its `.cache_size`
   * is read once for the store's lifetime (`StsStore.cacheSize`).
   */
  store?: StsStore;
  /** This server's own domains, for each host's `local` (`[ LOCAL ]`); none when undefined. */
  local?: LocalConfig;
  /** resolv.conf's default domain for names without a dot. */
  defaultDomain?: string;
  /** List IPv6 addresses first (Courier's `ESMTP_PREFER_IPV6_MX`). @default {false} */
  preferIpv6?: boolean;
  /**
   * Where the trace's `startMs` count from, as a `performance.now()` value: 0 is the start of
   * the process (the CLI's single lookup). @default {the start of this lookup}
   */
  traceOrigin?: number;
  /** This lookup's deadline in milliseconds; undefined means none of its own. */
  deadlineMs?: number;
  /**
   * Start the policy download with the TXT query (see `LookupStsOptions.prefetch`): faster
   * for one domain, two queries more for each domain without a policy.
   * @default {true}, and false in `lookupMany`
   */
  prefetch?: boolean;
  /**
   * Probe every address over SMTP after the lookup (`--probe`, see `probeReport`), under the
   * lookup's deadline, TLSA and TLS-RPT through its resolver. The resolver should set the DO
   * bit: without AD on the answers DANE does not apply. Undefined: no probe.
   */
  probe?: Omit<ProbeReportOptions, "resolver" | "secureMxHosts" | "signal">;
  /** Aborts the lookup; it then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Looks up one domain as the `testmxlookup DOMAIN` command does: the MX hosts and their
 * addresses, and at the same time the MTA-STS policy, with each host's policy match.
 *
 * @param domain The domain argument, in any form `lookupMx` takes.
 * @param options The resolver, STS cache, deadline and signal.
 * @returns The report; DNS and STS failures are in it, and a reached deadline is the outcome
 *   `deadline`.
 * @throws {DOMException} When `signal` aborts (or the signal's own reason); errors of the
 *   `caCerts` loader or of the cache directory's permissions are passed on.
 *
 * @example A domain whose resolver never answers reaches its deadline
 * ```ts
 * import { lookupDomain, type Querier } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * // A resolver that waits until the lookup gives up on it.
 * const silent: Querier = {
 *   query: (_name, _type, options) =>
 *     new Promise((_, reject) =>
 *       options?.signal?.addEventListener("abort", () => reject(options.signal?.reason))
 *     ),
 * };
 * const report = await lookupDomain("slow.example", { resolver: silent, deadlineMs: 10 });
 * assert.equal(report.outcome, "deadline");
 * assert.equal(report.sts.policy, undefined);
 * ```
 *
 * @example An address literal needs no DNS
 * ```ts
 * import { lookupDomain } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const report = await lookupDomain("[192.0.2.1]", { deadlineMs: 1000 });
 * assert.equal(report.outcome, "ok");
 * assert.deepEqual(report.hosts[0].addresses, [{ ip: "192.0.2.1", family: 4, dnssec: false }]);
 * ```
 */
export async function lookupDomain(
  domain: string,
  options: LookupDomainOptions = {},
): Promise<DomainReport> {
  const started = performance.now();
  const trace: TraceEntry[] = [];
  const origin = options.traceOrigin ?? started;
  using owned = options.resolver ? undefined : new Resolver();
  const shared = options.resolver ?? owned!;
  // A cancellable timer: AbortSignal.timeout would live on for its full time after the
  // lookup, and a long batch would hold thousands of them (see exchange.ts).
  using limit = new TimeLimit(
    options.deadlineMs,
    options.signal,
    () => new DOMException("The domain's deadline was reached", "TimeoutError"),
  );
  const { signal } = limit;
  // One resolver serves every lookup of a batch; each lookup collects its own round trips.
  // With a probe, the MX hosts of validated MX answers (DANE needs the MX answer secure).
  const secureMxHosts = new Set<string>();
  const resolver: Querier = {
    query: async (name, type, query) => {
      const result = await shared.query(name, type, {
        ...query,
        // Timed with performance.now() where the resolver says when it began (`Resolver`
        // does), else from `ms` back from now; `ms` then on the same clock, to the microsecond.
        onExchange: ({ startedAt, ...t }) => {
          const now = performance.now();
          const start = startedAt ?? now - t.ms;
          trace.push({
            ...t,
            ...(startedAt === undefined ? {} : { ms: now - startedAt }),
            startMs: Math.max(0, start - origin),
          });
        },
      });
      if (options.probe && type === "MX" && result.ad) {
        for (const { data } of result.records) {
          if (data.type === "MX") secureMxHosts.add(data.exchange.toLowerCase());
        }
      }
      return result;
    },
  };
  const local = options.local;
  const facts = { domain, trace, isLocal: local && ((host: string) => isLocal(host, local)) };
  try {
    // The TXT query and the download overlap with the MX and address queries.
    const [mx, sts] = await Promise.all([
      lookupMx(domain, {
        resolver,
        defaultDomain: options.defaultDomain,
        preferIpv6: options.preferIpv6,
        signal,
      }),
      lookupSts(domain, {
        resolver,
        store: options.store,
        caCerts: options.caCerts,
        now: options.now,
        prefetch: options.prefetch,
        onStep: (step) => trace.push(stepEntry(step, origin)),
        signal,
      }),
    ]);
    // A name the MX lookup failed on and STS cannot use (over-long label, the root): the MX
    // reason says why, once.
    if (mx.outcome !== "ok" && sts.domain === undefined) {
      delete sts.reason;
      delete sts.error;
    }
    let report = toDomainReport({ ...facts, mx, sts, durationMs: 0 });
    if (options.probe !== undefined) {
      const { probeReport } = await import("./probe_report.ts");
      report = await probeReport(report, { ...options.probe, resolver, secureMxHosts, signal });
    }
    return { ...report, durationMs: performance.now() - started };
  } catch (error) {
    if (!signal.aborted || options.signal?.aborted) throw error;
    return toDomainReport({
      ...facts,
      sts: NO_STS,
      error: signal.reason,
      durationMs: performance.now() - started,
    });
  }
}

const STEP_TYPES = { "cache-read": "POLICY", connect: "CONNECT", request: "GET" } as const;

/** A non-DNS step of the STS lookup as a trace entry. */
function stepEntry(step: StsStep, origin: number): TraceEntry {
  const file = step.step === "cache-read";
  return {
    server: file ? "cache" : step.name,
    name: step.name,
    type: STEP_TYPES[step.step],
    transport: file ? "file" : "https",
    edns: false,
    ...(step.error ? { error: step.error } : {}),
    ...(step.found ? { rcode: step.found.toUpperCase() } : {}),
    ms: step.ms,
    startMs: Math.max(0, step.startedAt - origin),
  };
}
