// Courier's output lines, byte for byte (docs/courier.md#usage-text, #lookup-lines to
// #override-display): pure functions returning text that ends in "\n". Which line goes to stdout
// and which to stderr is the caller's business; each function says where Courier writes it. Reason
// lines (docs/decisions.md#the-compatibility-contract, item 3) are ours.
import { formatAddress, parseAddress } from "../address.ts";
import type { UsageError } from "../errors.ts";
import type { DomainOutcome, DomainReport } from "../lookup/domain_report.ts";
import type { AddressProbe } from "../probe/probe.ts";
import { renderAddressProbe, renderProbeSummary } from "../probe/render.ts";
import type { StsMode } from "../sts/policy.ts";

/** Prefix of every reason line on stderr (docs/decisions.md#the-compatibility-contract, item 3). */
export const REASON_PREFIX = "testmxlookup: ";

/** Courier's usage text (stderr, exit 1): 12 lines, 651 bytes (docs/courier.md#usage-text). */
export const USAGE: string = "Usage: testmxlookup [options] [domain]\n" +
  "   @ip-address          override default name server\n" +
  "   --dnssec             enable DNSSEC\n" +
  "   --udpsize n          override eDNS payload size\n" +
  "   --sts-cache-disable  disable the STS policy cache\n" +
  "   --sts-cache-enable   enable the STS policy cache\n" +
  "   --sts-cache-enable=n enable the STS policy cache with a non-default size\n" +
  "   --sts                show STS policy for domain\n" +
  "   --sts-expire         manually expire the STS cache\n" +
  "   --sts-purge          manually remove domain's cached STS policy\n" +
  "   --sts-override=[p]   manually override domain's cached STS policy (none,\n" +
  "                       testing, enforce)\n";

/** `--help` text (stdout, exit 0): Courier's usage, then the options this tool adds. */
export const HELP: string = USAGE +
  "Options of this implementation:\n" +
  "   --json               print the result as JSON\n" +
  "   --deadline s         give up after s seconds (default 60; per domain with --batch, 15)\n" +
  "   --batch file         look up one domain per line of file (- = stdin), print JSON lines\n" +
  "   --concurrency n      lookups at a time with --batch (1-256, default 32)\n" +
  "   --shard k/n          with --batch, only the lines of shard k (from 0) of n\n" +
  "   --resume file        with --batch, append to file, skipping the lines it reports\n" +
  "   --resolv-conf path   read name servers from path (default /etc/resolv.conf)\n" +
  "   --config-dir dir     Courier's configuration (default /etc/courier)\n" +
  "   --sts-dir dir        STS policy cache (default /var/lib/courier/sts)\n" +
  "   --ca-file path       trust these certificates for policy downloads and --probe\n" +
  "   --probe              connect to every address over SMTP: STARTTLS, certificate,\n" +
  "                        DANE, MTA-STS, TLS-RPT; exit 0 all deliver, 2 some addresses\n" +
  "                        fail, 3 all fail (1 stays a lookup failure)\n" +
  "   --port n             SMTP port of --probe (default 25)\n" +
  "   --helo name          EHLO name of --probe (default Courier's me, else the host name)\n" +
  "   --probe-timeout s    each stage of --probe's SMTP dialogue (default 10)\n" +
  "   --help               show this text\n" +
  "   --version            show the version\n" +
  "Options may come before or after the domain; --opt=value works for options with values.\n";

/** Courier's classes of lookup failure (docs/courier.md#lookup-failures). */
export type FailureKind = "soft" | "hard" | "internal" | "cname" | "nomail";

/** One `Relay:` line's facts. */
export interface RelayLine {
  /** The MX host as printed (U-labels, case kept, no trailing dot). */
  host: string;
  /** The MX preference, or -1 for the implicit MX and `[addr]` domains. */
  priority: number;
  /** The address, already formatted as glibc's `inet_ntop(AF_INET6)` does. */
  address: string;
  /**
   * Whether the host is one of this server's domains (`[ LOCAL ]`, docs/courier.md#local-hosts).
   */
  local: boolean;
  /** Whether the reply that supplied the address had the AD bit (` (DNSSEC)`). */
  dnssec: boolean;
}

/** What `--sts` shows (docs/courier.md#policy-display). */
export interface StsDisplay {
  /** The policy id from the TXT record or the cache. */
  id: string;
  /** Whether the policy shown was read from the cache in this run (D6). */
  cached: boolean;
  /** When the policy was fetched or validated. */
  timestamp: Date;
  /** `timestamp` plus max_age. */
  expiration: Date;
  /** The policy text as stored. */
  policy: string;
}

/** `Domain <arg>:` (stdout, first line of a normal run). */
export function domainLine(arg: string): string {
  return `Domain ${arg}:\n`;
}

/** `STS: testing` / `STS: enforcing` (stdout); empty for mode none or no policy. */
export function stsModeLine(mode: StsMode | undefined): string {
  // Courier says "enforcing" for mode "enforce" (docs/courier.md#lookup-lines item 2).
  if (mode === "testing") return "STS: testing\n";
  if (mode === "enforce") return "STS: enforcing\n";
  return "";
}

/**
 * `Relay: <host>, Priority: <prio>, Address: <addr>` plus the suffixes ` [ LOCAL ]`,
 * ` [ ERROR ]`, ` (DNSSEC)` in that order (stdout, docs/courier.md#lookup-lines item 3).
 */
export function relayLine(line: RelayLine): string {
  // Courier's `[ ERROR ]` is a plain string comparison of host and address text: it fires
  // when the MX record named an IP literal (`10` prints as ::ffff:0.0.0.10 on both sides).
  const error = line.host === line.address;
  return `Relay: ${line.host}, Priority: ${line.priority}, Address: ${line.address}` +
    (line.local ? " [ LOCAL ]" : "") + (error ? " [ ERROR ]" : "") +
    (line.dnssec ? " (DNSSEC)" : "") + "\n";
}

/** `ERROR: STS Policy verification failed: <host>` (stdout, after each address line). */
export function stsFailedLine(host: string): string {
  return `ERROR: STS Policy verification failed: ${host}\n`;
}

const FAILURE_TEXT: Record<FailureKind, string> = {
  soft: "soft error.",
  hard: "hard error.",
  internal: "internal error.",
  cname: "bad DNS records (recursive CNAME).",
  nomail: "no mail.",
};

/**
 * `<arg>: soft error.` and the other failure lines (stdout, exit 1;
 * docs/courier.md#lookup-failures).
 */
export function failureLine(arg: string, kind: FailureKind): string {
  return `${arg}: ${FAILURE_TEXT[kind]}\n`;
}

/**
 * Courier's class of a failed outcome; undefined for ok. The deadline is Courier's timeout, a
 * soft error (D4), and so is a lookup the caller aborted.
 */
export function failureKindOf(outcome: DomainOutcome): FailureKind | undefined {
  if (outcome === "ok") return undefined;
  return outcome === "deadline" || outcome === "aborted" ? "soft" : outcome;
}

/** An address as Courier prints it (`::ffff:192.0.2.1`), from its plain text. */
export function courierAddress(ip: string): string {
  const address = parseAddress(ip);
  return address ? formatAddress(address) : ip;
}

/**
 * The whole stdout of a lookup, Courier's lines (docs/courier.md#lookup-lines, #lookup-failures): a
 * pure function of the report.
 *
 * @param report The report from `lookupDomain`.
 * @returns The text, every line ending in "\n".
 *
 * @example Courier's lines of an address literal and of a failure
 * ```ts
 * import { formatReport, lookupDomain } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const report = await lookupDomain("[192.0.2.1]");
 * assert.equal(
 *   formatReport(report),
 *   "Domain [192.0.2.1]:\n" +
 *     "Relay: [192.0.2.1], Priority: -1, Address: ::ffff:192.0.2.1\n",
 * );
 * const failed = formatReport({ ...report, outcome: "hard", hosts: [] });
 * assert.equal(failed, "[192.0.2.1]: hard error.\n");
 * ```
 */
export function formatReport(report: DomainReport): string {
  const failure = failureKindOf(report.outcome);
  if (failure !== undefined) return failureLine(report.domain, failure);
  const checked = report.stsMode === "testing" || report.stsMode === "enforce";
  let text = domainLine(report.domain) + stsModeLine(report.stsMode);
  for (const host of report.hosts) {
    for (const address of host.addresses) {
      text += relayLine({
        host: host.host,
        priority: host.priority,
        address: courierAddress(address.ip),
        local: host.local,
        dnssec: address.dnssec,
      });
      // Courier repeats the verdict after every address line of the host
      // (docs/courier.md#lookup-lines item 4).
      if (checked && host.stsMatch === false) text += stsFailedLine(host.host);
      if (address.probe !== undefined) text += lines(renderAddressProbe(address.probe));
    }
  }
  if (report.probeStopped !== undefined) {
    text += `Probe: STOPPED before it finished: ${report.probeStopped}\n`;
  } else if (report.probeStatus !== undefined) {
    const probes: AddressProbe[] = report.hosts.flatMap((host) =>
      host.addresses.flatMap((address) => address.probe ?? [])
    );
    text += lines(renderProbeSummary(probes, report.tlsRpt));
  }
  return text;
}

function lines(list: readonly string[]): string {
  return list.map((line) => `${line}\n`).join("");
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}

/**
 * C's `ctime()`: `Www Mmm dd hh:mm:ss yyyy\n` in the local time zone, day space-padded.
 *
 * @param date The instant.
 * @returns The text, ending in "\n".
 * @throws {RangeError} When `date` is invalid.
 */
export function ctime(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError("Cannot format an invalid date");
  // glibc asctime: "%.3s %.3s%3d %.2d:%.2d:%.2d %d\n".
  return `${DAYS[date.getDay()]} ${MONTHS[date.getMonth()]}` +
    `${String(date.getDate()).padStart(3, " ")} ` +
    `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())} ` +
    `${date.getFullYear()}\n`;
}

/**
 * The `--sts` display (stdout, docs/courier.md#policy-display): id, timestamps, a blank line, the
 * policy text verbatim (no newline added).
 */
export function stsDisplay(display: StsDisplay): string {
  // ctime's own "\n" plus the format's "\n" after Expiration make the blank line.
  return `STS Policy ID: ${display.id}${display.cached ? " (cached)" : ""}\n` +
    `Timestamp    : ${ctime(display.timestamp)}` +
    `Expiration   : ${ctime(display.expiration)}\n` +
    display.policy;
}

/** `Reloading <arg>` (stdout, `--sts-purge`, docs/courier.md#purge-display). */
export function reloadingLine(arg: string): string {
  return `Reloading ${arg}\n`;
}

/** `Unknown STS policy: <mode>` (stdout, `--sts-override=`, docs/courier.md#override-display). */
export function unknownStsPolicyLine(mode: string): string {
  return `Unknown STS policy: ${mode}\n`;
}

/**
 * `<arg>: cached policy not found.` (stdout, `--sts-override=`, docs/courier.md#override-display).
 */
export function cachedPolicyNotFoundLine(arg: string): string {
  return `${arg}: cached policy not found.\n`;
}

/** `<path>: no write permission.` (stdout, `--sts-override=`, docs/courier.md#override-display). */
export function noWritePermissionLine(path: string): string {
  return `${path}: no write permission.\n`;
}

/**
 * `<arg>: STS policy not found.` (stderr, `--sts` without a policy, exit 1;
 * docs/courier.md#policy-display).
 */
export function stsPolicyNotFoundLine(arg: string): string {
  return `${arg}: STS policy not found.\n`;
}

/**
 * `<piece>: invalid IP address` (stderr, a bad piece of an `@` list;
 * docs/courier.md#the-server-list-argument).
 */
export function invalidAddressLine(piece: string): string {
  return `${piece}: invalid IP address\n`;
}

/** `<path>: <strerror>` (stderr), e.g. `/var/lib/courier/sts/x.test: No such file or directory`. */
export function pathErrorLine(path: string, strerror: string): string {
  return `${path}: ${strerror}\n`;
}

/** `testmxlookup: <text>` (stderr): one reason for a failure or warning (contract 3). */
export function reasonLine(text: string): string {
  return `${REASON_PREFIX}${text}\n`;
}

/** `testmxlookup <version>` (stdout, `--version`). */
export function versionLine(version: string): string {
  return `testmxlookup ${version}\n`;
}

/**
 * The stderr text of a usage error: its message line (when not empty), then the usage when
 * the error asks for it.
 *
 * @param error The error from `parseArgs`.
 * @returns The text.
 */
export function usageErrorText(error: UsageError): string {
  return (error.message === "" ? "" : `${error.message}\n`) + (error.showUsage ? USAGE : "");
}
