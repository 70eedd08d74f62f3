// The `--json` report: every fact of Courier's text report and the reasons behind it, as one
// JSON document. The schema is `lib/report/report.schema.json`; bump `schemaVersion` on any
// change that is not an addition.
import { formatAddress, isIpv4Mapped } from "../address.ts";
import type { MxOutcome, MxResult } from "../mx/lookup.ts";
import type { ExchangeTrace } from "../resolver/resolver.ts";
import type { StsResult } from "../sts/lookup.ts";
import { matchesMx } from "../sts/match.ts";
import type { StsMode } from "../sts/policy.ts";

/** The version of the report's schema. */
export const JSON_SCHEMA_VERSION = 1;

/** One address of an MX host. */
export interface JsonAddress {
  /** As Courier prints it: IPv6 text, IPv4 as `::ffff:a.b.c.d`. */
  address: string;
  /** The plain text: dotted IPv4 or IPv6. */
  ip: string;
  /** 4 or 6. */
  family: 4 | 6;
  /** The AD bit of the reply that supplied it. */
  dnssec: boolean;
}

/** One MX host. */
export interface JsonMxHost {
  /** The host as printed after `Relay:`. */
  host: string;
  /** MX preference; -1 for implicit MX and literals. */
  priority: number;
  /** ok (listed), soft (left out: a query failed) or hard (no address). */
  outcome: "ok" | "soft" | "hard";
  /** Where the addresses came from. */
  source: string;
  /** `[ LOCAL ]`. */
  local: boolean;
  /** Whether the host matches the policy's `mx` patterns; null without an active policy. */
  stsMatch: boolean | null;
  /** Its addresses in print order. */
  addresses: JsonAddress[];
  /** Failures of its address queries. */
  errors: { kind: string; message: string; server: string | null }[];
}

/** The STS part. */
export interface JsonSts {
  /** False when `.cache_size` is 0 (STS off). */
  enabled: boolean;
  /** The domain as the cache names it. */
  domain: string | null;
  /** The `_mta-sts` TXT lookup: id, none or transient, with the id when there is one. */
  txt: { outcome: "id" | "none" | "transient"; id: string | null; reason: string | null } | null;
  /** The usable policy. */
  policy: {
    id: string;
    mode: StsMode;
    maxAge: number;
    mx: string[];
    source: "cache" | "fetch";
    timestamp: string;
    expiration: string;
    text: string;
  } | null;
  /** Why there is no usable policy (or why the cached one was kept). */
  reason: string | null;
  /** What happened to the cache file. */
  cache: "written" | "removed" | "unchanged";
}

/** One DNS round trip. */
export interface JsonTrace {
  /** Server as `address` or `[v6]:port`. */
  server: string;
  /** The name asked for. */
  name: string;
  /** The type asked for. */
  type: string;
  /** udp or tcp. */
  transport: "udp" | "tcp";
  /** Whether the query carried EDNS. */
  edns: boolean;
  /** The RCODE of the reply; null without one. */
  rcode: string | null;
  /** The failure kind; null when a reply came. */
  error: string | null;
  /** Milliseconds taken. */
  ms: number;
}

/** The whole `--json` document. */
export interface JsonReport {
  /** {@linkcode JSON_SCHEMA_VERSION}. */
  schemaVersion: number;
  /** With `--batch` only: the domain's line of the input, from 1. */
  line?: number;
  /** The domain argument as typed. */
  domain: string;
  /** The name asked for on the wire; null when none was asked. */
  queryName: string | null;
  /** How the lookup ended; `deadline` when the run's deadline was reached. */
  outcome: MxOutcome | "deadline";
  /** Courier's stdout line for a failure, without the newline; null on success. */
  courierLine: string | null;
  /** Why the outcome is not ok; null when it is. */
  reason: string | null;
  /** The DNS error kind behind `reason`. */
  errorKind: string | null;
  /** The exit status. */
  exitCode: number;
  /** The STS state. */
  sts: JsonSts;
  /** The MX hosts, in print order. */
  mx: JsonMxHost[];
  /** Warnings, as printed on stderr without the prefix. */
  warnings: string[];
  /** Every DNS round trip of the run. */
  trace: JsonTrace[];
  /** Wall time of the run in milliseconds; with `--batch`, of the domain's lookup. */
  durationMs: number;
}

/** What {@linkcode buildJsonReport} needs. */
export interface JsonReportInput {
  /** The domain argument. */
  domain: string;
  /** The input line of a `--batch` domain; the report has no `line` without it. */
  line?: number;
  /** The MX lookup, or undefined when the deadline cut it short. */
  mx?: MxResult;
  /** The STS state. */
  sts: StsResult;
  /** Whether a host is local. */
  isLocal: (host: string) => boolean;
  /** The Courier line printed for a failure. */
  courierLine?: string;
  /** The exit status. */
  exitCode: number;
  /** The DNS round trips. */
  trace: readonly ExchangeTrace[];
  /** Wall time in milliseconds. */
  durationMs: number;
}

function stsPart(sts: StsResult): JsonSts {
  const policy = sts.policy && sts.id !== undefined && sts.timestampSec !== undefined
    ? {
      id: sts.id,
      mode: sts.policy.mode,
      maxAge: sts.policy.maxAge,
      mx: sts.policy.mx,
      source: sts.source ?? "fetch",
      timestamp: new Date(sts.timestampSec * 1000).toISOString(),
      expiration: new Date((sts.timestampSec + sts.policy.maxAge) * 1000).toISOString(),
      text: sts.policy.text,
    }
    : null;
  return {
    enabled: sts.enabled,
    domain: sts.domain ?? null,
    txt: sts.txt
      ? {
        outcome: sts.txt.kind,
        id: sts.txt.kind === "id" ? sts.txt.id : null,
        reason: sts.txt.reason ?? null,
      }
      : null,
    policy,
    reason: sts.reason ?? null,
    cache: sts.cache,
  };
}

/**
 * Builds the `--json` document of a lookup.
 *
 * @param input The MX and STS results, the trace and the exit status.
 * @returns The report, ready for `JSON.stringify`; it follows `lib/report/report.schema.json`.
 *
 * @example A report of an address literal
 * ```ts
 * import { buildJsonReport, lookupMx, Resolver } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const mx = await lookupMx("[192.0.2.1]", { resolver: new Resolver() });
 * const report = buildJsonReport({
 *   domain: "[192.0.2.1]",
 *   mx,
 *   sts: { enabled: true, cache: "unchanged", warnings: [] },
 *   isLocal: () => false,
 *   exitCode: 0,
 *   trace: [],
 *   durationMs: 1,
 * });
 * assert.equal(report.outcome, "ok");
 * assert.equal(report.sts.policy, null);
 * assert.deepEqual(report.mx[0].addresses, [
 *   { address: "::ffff:192.0.2.1", ip: "192.0.2.1", family: 4, dnssec: false },
 * ]);
 * ```
 */
export function buildJsonReport(input: JsonReportInput): JsonReport {
  const { mx, sts } = input;
  const policy = sts.policy && sts.policy.mode !== "none" ? sts.policy : undefined;
  const hosts: JsonMxHost[] = (mx?.hosts ?? []).map((host) => ({
    host: host.host,
    priority: host.priority,
    outcome: host.outcome,
    source: host.source,
    local: input.isLocal(host.host),
    stsMatch: policy ? matchesMx(host.host, policy.mx) : null,
    addresses: [],
    errors: host.errors.map((e) => ({
      kind: e.kind,
      message: e.message,
      server: e.server ?? null,
    })),
  }));
  // Print order: hosts as their first entry appears, addresses as the entries list them.
  const ordered: JsonMxHost[] = [];
  for (const entry of mx?.outcome === "ok" ? mx.entries : []) {
    const host = hosts.find((h) => h.host === entry.host && h.priority === entry.priority);
    if (!host) continue;
    if (!ordered.includes(host)) ordered.push(host);
    host.addresses.push({
      address: formatAddress(entry.address),
      ip: isIpv4Mapped(entry.address)
        ? entry.address.subarray(12).join(".")
        : formatAddress(entry.address),
      family: entry.family,
      dnssec: entry.dnssec,
    });
  }
  const rest = hosts.filter((h) => !ordered.includes(h));
  return {
    schemaVersion: JSON_SCHEMA_VERSION,
    ...(input.line === undefined ? {} : { line: input.line }),
    domain: input.domain,
    queryName: mx?.queryName ?? null,
    outcome: mx?.outcome ?? "deadline",
    courierLine: input.courierLine ?? null,
    reason: mx?.reason ?? (mx ? null : "the run's deadline was reached"),
    errorKind: mx?.error?.kind ?? null,
    exitCode: input.exitCode,
    sts: stsPart(sts),
    mx: [...ordered, ...rest],
    warnings: [...sts.warnings, ...(sts.reason ? [sts.reason] : []), ...(mx?.warnings ?? [])],
    trace: input.trace.map((t) => ({
      server: t.server,
      name: t.name,
      type: t.type,
      transport: t.transport,
      edns: t.edns,
      rcode: t.rcode ?? null,
      error: t.error ?? null,
      ms: Math.round(t.ms * 1000) / 1000,
    })),
    durationMs: Math.round(input.durationMs * 1000) / 1000,
  };
}
