// The `--json` report: a DomainReport (lib/lookup/domain_report.ts) rendered as one JSON
// document, every fact of Courier's text report and the reasons behind it. The schema is
// `lib/report/report.schema.json`; bump `schemaVersion` on any change that is not an addition.
import { DnsError } from "../errors.ts";
import { dnsErrorOf, type DomainOutcome, type DomainReport } from "../lookup/domain_report.ts";
import { type ProbeJson, probeJson } from "../probe/render.ts";
import type { TlsRptResult } from "../probe/tls_rpt.ts";
import type { StsErrorKind } from "../sts/errors.ts";
import type { StsResult } from "../sts/lookup.ts";
import type { StsMode } from "../sts/policy.ts";
import { courierAddress, failureKindOf, failureLine } from "./text.ts";

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
  /** With `--probe`: what the SMTP probe of this address found. */
  probe?: ProbeJson;
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
  /** The `StsError` kind behind `reason` (`TLS`, `TXT_LOOKUP`, ...); null without one. */
  errorKind: StsErrorKind | null;
  /** What happened to the cache file. */
  cache: "written" | "removed" | "unchanged";
}

/**
 * One step of the lookup: a DNS round trip, a step of the policy download (`https`) or the
 * read of the cached policy (`file`).
 */
export interface JsonTrace {
  /** Server as `address` or `[v6]:port`; the policy host for `https`; `cache` for `file`. */
  server: string;
  /** The name asked for (the policy host; the cache entry's name). */
  name: string;
  /** The type asked for; `CONNECT` (TCP and TLS) and `GET` for `https`, `POLICY` for `file`. */
  transport: "udp" | "tcp" | "https" | "file";
  /** The DNS type asked for, or what the step is (see transport). */
  type: string;
  /** Whether the query carried EDNS (false but for DNS). */
  edns: boolean;
  /** The RCODE of the reply; for `file` `ENTRY`, `NONE` or `IGNORED`; null otherwise. */
  rcode: string | null;
  /** The failure kind (DNS, or STS for `https`); null when it did not fail. */
  error: string | null;
  /** When the step began: milliseconds from the start of the process (of the domain's lookup with `--batch`). */
  startMs: number;
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
  outcome: DomainOutcome;
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
  /** With `--probe`: the domain's TLS-RPT verdict. */
  tlsRpt?: TlsRptResult;
}

/** Options of {@linkcode renderJson}. */
export interface RenderJsonOptions {
  /** The input line of a `--batch` domain; the report has no `line` without it. */
  line?: number;
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
    errorKind: sts.error?.kind ?? null,
    cache: sts.cache,
  };
}

/**
 * The exit status of a report, as the command line returns it: 0 when the outcome is ok, 70
 * when the lookup threw (an internal error of this tool), else 1, Courier's for every failure.
 * A probed report that ended ok has the probe's status (D33): 0 no address fails, 2 some do,
 * 3 all do.
 *
 * @param report The report.
 * @returns The status.
 *
 * @example The status of a lookup that reached its deadline
 * ```ts
 * import { exitCodeOf, lookupDomain, type Querier } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const silent: Querier = {
 *   query: (_name, _type, options) =>
 *     new Promise((_, reject) =>
 *       options?.signal?.addEventListener("abort", () => reject(options.signal?.reason))
 *     ),
 * };
 * const report = await lookupDomain("slow.example", { resolver: silent, deadlineMs: 5 });
 * assert.equal(report.outcome, "deadline");
 * assert.equal(exitCodeOf(report), 1);
 * ```
 */
export function exitCodeOf(report: DomainReport): number {
  if (report.outcome === "ok") return report.probeStatus ?? 0;
  const threw = report.outcome === "internal" && report.error !== undefined &&
    !(report.error instanceof DnsError);
  return threw ? 70 : 1;
}

/**
 * Renders a lookup's report as the `--json` document: a pure function of the report.
 *
 * @param report The report from `lookupDomain` or `lookupMany`.
 * @param options The batch input line.
 * @returns The document, ready for `JSON.stringify`; it follows
 *   `lib/report/report.schema.json`.
 *
 * @example The JSON of an address literal
 * ```ts
 * import { lookupDomain, renderJson } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const json = renderJson(await lookupDomain("[192.0.2.1]"));
 * assert.equal(json.outcome, "ok");
 * assert.equal(json.exitCode, 0);
 * assert.equal(json.sts.policy, null);
 * assert.deepEqual(json.mx[0].addresses, [
 *   { address: "::ffff:192.0.2.1", ip: "192.0.2.1", family: 4, dnssec: false },
 * ]);
 * ```
 */
export function renderJson(report: DomainReport, options: RenderJsonOptions = {}): JsonReport {
  const { sts } = report;
  const failure = failureKindOf(report.outcome);
  return {
    schemaVersion: JSON_SCHEMA_VERSION,
    ...(options.line === undefined ? {} : { line: options.line }),
    domain: report.domain,
    queryName: report.queryName ?? null,
    outcome: report.outcome,
    courierLine: failure === undefined ? null : failureLine(report.domain, failure).trimEnd(),
    reason: report.reason ?? null,
    errorKind: dnsErrorOf(report)?.kind ?? null,
    exitCode: exitCodeOf(report),
    sts: stsPart(sts),
    mx: report.hosts.map((host) => ({
      host: host.host,
      priority: host.priority,
      outcome: host.outcome,
      source: host.source,
      local: host.local,
      stsMatch: host.stsMatch,
      addresses: host.addresses.map(({ probe, ...a }) => ({
        address: courierAddress(a.ip),
        ...a,
        ...(probe === undefined ? {} : { probe: probeJson(probe) }),
      })),
      errors: host.errors.map((e) => ({
        kind: e.kind,
        message: e.message,
        server: e.server ?? null,
      })),
    })),
    warnings: [...sts.warnings, ...(sts.reason ? [sts.reason] : []), ...report.warnings],
    trace: report.trace.map((t) => ({
      server: t.server,
      name: t.name,
      type: t.type,
      transport: t.transport,
      edns: t.edns,
      rcode: t.rcode ?? null,
      error: t.error ?? null,
      startMs: Math.round(t.startMs * 1000) / 1000,
      ms: Math.round(t.ms * 1000) / 1000,
    })),
    durationMs: Math.round(report.durationMs * 1000) / 1000,
    ...(report.tlsRpt === undefined ? {} : { tlsRpt: report.tlsRpt }),
  };
}
