// The one result model of a domain's lookup: every fact the text and JSON reports print,
// computed once here from the MX and STS results (the STS match and `[ LOCAL ]` of each host
// included), so that the renderers in lib/report/ only format it.
import { addressToHost } from "../address.ts";
import { DnsError } from "../errors.ts";
import type { MxHost, MxOutcome, MxResult } from "../mx/lookup.ts";
import type { AddressProbe } from "../probe/probe.ts";
import type { TlsRptResult } from "../probe/tls_rpt.ts";
import type { ExchangeTrace } from "../resolver/resolver.ts";
import type { StsResult } from "../sts/lookup.ts";
import { matchesMx } from "../sts/match.ts";
import type { StsMode } from "../sts/policy.ts";

/**
 * One step of a lookup, for `--json`'s trace: a DNS round trip (`udp`, `tcp`), the policy
 * download (`https`: `CONNECT` for TCP and TLS, `GET` for the request and answer) or the read
 * of the cached policy (`file`).
 */
export interface TraceEntry extends Omit<ExchangeTrace, "transport" | "error"> {
  /** How: a DNS transport, the download, or the cache. */
  transport: ExchangeTrace["transport"] | "https" | "file";
  /** Why the step failed: a DNS error kind, or an STS one for a download. */
  error?: string;
  /** When the step began, in milliseconds from the start of the run (of the domain, in a batch). */
  startMs: number;
}

/**
 * How a domain's lookup ended: the MX outcome, `deadline` when its deadline came first, or
 * `aborted` when the caller's signal stopped it (`lookupMany`).
 */
export type DomainOutcome = MxOutcome | "deadline" | "aborted";

/**
 * One address of an MX host, as plain JSON-able values. What is later learnt about the address
 * itself (a delivery probe's outcome) belongs on this object, beside `ip`.
 */
export interface AddressReport {
  /** The address: dotted IPv4 (`192.0.2.1`) or IPv6 text (`2001:db8::1`). */
  ip: string;
  /** 4 for an A record (or an IPv4 literal), 6 for AAAA. */
  family: 4 | 6;
  /** Whether the reply that supplied it had the AD bit. */
  dnssec: boolean;
  /** With `--probe` (`probeReport`): what the SMTP probe of this address found. */
  probe?: AddressProbe;
}

/** One MX host with its addresses. */
export interface HostReport {
  /** The host as printed after `Relay:` (U-labels, case kept, no trailing dot). */
  host: string;
  /** The MX preference; -1 for the implicit MX and `[address]` domains. */
  priority: number;
  /** ok (listed), soft (left out: an address query failed) or hard (no address). */
  outcome: MxHost["outcome"];
  /** Where the addresses came from. */
  source: MxHost["source"];
  /** Whether the host is one of this server's domains (Courier's `[ LOCAL ]`). */
  local: boolean;
  /** Whether the host matches the policy's `mx` patterns; null without an active policy. */
  stsMatch: boolean | null;
  /** Its addresses in print order; empty when the lookup did not end ok. */
  addresses: AddressReport[];
  /** Failures of its address queries. */
  errors: DnsError[];
}

/** Everything one domain's lookup found: what `lookupDomain` returns. */
export interface DomainReport {
  /** The domain argument as given. */
  domain: string;
  /** The name asked for on the wire, when there was one. */
  queryName?: string;
  /** How the lookup ended. */
  outcome: DomainOutcome;
  /** Why it did not end ok, one sentence. */
  reason?: string;
  /**
   * The failure behind `outcome`: a `DnsError` (`NXDOMAIN`, `NODATA`, `TIMEOUT`, ...) when
   * DNS gave one, the deadline's or the caller's abort reason, or what the lookup threw.
   */
  error?: unknown;
  /** The MX hosts: those with addresses in print order, then the others in MX order. */
  hosts: HostReport[];
  /** The mode of the usable policy; undefined without one. */
  stsMode?: StsMode;
  /**
   * The MTA-STS state: TXT id, policy, where it came from, why there is none (`reason`) and
   * the typed failure beside it (`error`, an `StsError`).
   */
  sts: StsResult;
  /** Questionable records and partial failures of the MX lookup, one sentence each. */
  warnings: string[];
  /**
   * The DNS round trips of this lookup (when the resolver reports them, as `Resolver` does),
   * the policy download and the cache read, in the order they ended.
   */
  trace: TraceEntry[];
  /** Wall time in milliseconds. */
  durationMs: number;
  /** With `--probe`: the domain's TLS-RPT record (`_smtp._tls.<domain>`), judged. */
  tlsRpt?: TlsRptResult;
  /**
   * With `--probe`, when the lookup ended ok: 0 no address fails, 2 some do, 3 all do (or
   * none could be probed); D33.
   */
  probeStatus?: number;
  /** With `--probe`: why the probe stopped before it finished (the deadline), if it did. */
  probeStopped?: string;
}

/** The STS state of a lookup that never got an answer (deadline, internal error). */
export const NO_STS: StsResult = { enabled: true, cache: "unchanged", warnings: [] };

/** What {@linkcode toDomainReport} combines. */
export interface DomainFacts {
  /** The domain argument. */
  domain: string;
  /** The MX lookup; undefined when the deadline came first. */
  mx?: MxResult;
  /** The STS state. */
  sts: StsResult;
  /** Whether a host is local (`[ LOCAL ]`). */
  isLocal?: (host: string) => boolean;
  /** Why `mx` is missing. */
  error?: unknown;
  /** The round trips, download and cache read. */
  trace: TraceEntry[];
  /** Wall time in milliseconds. */
  durationMs: number;
}

/**
 * The report of a domain from its MX and STS results: the one place that decides each
 * host's STS match and `[ LOCAL ]`.
 */
export function toDomainReport(facts: DomainFacts): DomainReport {
  const { mx, sts } = facts;
  const policy = sts.policy && sts.policy.mode !== "none" ? sts.policy : undefined;
  const isLocal = facts.isLocal ?? (() => false);
  const hosts: HostReport[] = (mx?.hosts ?? []).map((host) => ({
    host: host.host,
    priority: host.priority,
    outcome: host.outcome,
    source: host.source,
    local: isLocal(host.host),
    stsMatch: policy ? matchesMx(host.host, policy.mx) : null,
    addresses: [],
    errors: host.errors,
  }));
  // Print order: hosts as their first entry appears, addresses as the entries list them. The
  // entries of one host and priority are adjacent (sortEntries), so the nesting keeps it.
  const ordered: HostReport[] = [];
  for (const entry of mx?.outcome === "ok" ? mx.entries : []) {
    const host = hosts.find((h) => h.host === entry.host && h.priority === entry.priority);
    if (!host) continue;
    if (!ordered.includes(host)) ordered.push(host);
    host.addresses.push({
      ip: addressToHost(entry.address),
      family: entry.family,
      dnssec: entry.dnssec,
    });
  }
  return {
    domain: facts.domain,
    ...(mx?.queryName === undefined ? {} : { queryName: mx.queryName }),
    outcome: mx?.outcome ?? "deadline",
    ...(mx?.reason === undefined
      ? mx ? {} : { reason: "the run's deadline was reached" }
      : { reason: mx.reason }),
    ...(mx?.error ?? facts.error) === undefined ? {} : { error: mx?.error ?? facts.error },
    hosts: [...ordered, ...hosts.filter((h) => !ordered.includes(h))],
    ...(sts.policy === undefined ? {} : { stsMode: sts.policy.mode }),
    sts,
    warnings: mx?.warnings ?? [],
    trace: facts.trace,
    durationMs: facts.durationMs,
  };
}

/**
 * The report of a lookup that did not finish: outcome `internal` when it threw, `aborted`
 * when the caller stopped it; the error kept, so that every domain of a batch has a report.
 */
export function failedReport(
  domain: string,
  error: unknown,
  outcome: "internal" | "aborted" = "internal",
): DomainReport {
  const message = error instanceof Error ? error.message : String(error);
  return {
    domain,
    outcome,
    reason: outcome === "aborted"
      ? "Aborted before the lookup finished"
      : `Internal error: ${message.split("\n")[0]}`,
    error,
    hosts: [],
    sts: NO_STS,
    warnings: [],
    trace: [],
    durationMs: 0,
  };
}

/** The DNS error behind a report's outcome, when DNS gave one. */
export function dnsErrorOf(report: DomainReport): DnsError | undefined {
  return report.error instanceof DnsError ? report.error : undefined;
}
