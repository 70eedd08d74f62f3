// The probe's results as report text (two-space indented lines under a `Relay:` line, and a
// closing verdict) and as `--json` objects (`mx[].addresses[].probe`, top-level `tlsRpt`).
// Pure: renders what the probe found, derives nothing the verdicts did not say.
import type { CertificateVerdict } from "./certificate.ts";
import type { AddressProbe } from "./probe.ts";
import type { TlsRptResult } from "./tls_rpt.ts";

/** The JSON form of one address's probe (`lib/report/report.schema.json`, `#/definitions/probe`). */
export interface ProbeJson {
  /** The TCP connection was made. */
  reached: boolean;
  /** A complete 220 greeting came. */
  greeted: boolean;
  /** Why the dialogue stopped early, or null. */
  error: string | null;
  /** The kind of that failure (`ProbeErrorKind`), or null. */
  errorKind: string | null;
  /** STARTTLS offered in the EHLO reply; null without an EHLO reply. */
  starttls: boolean | null;
  /** The TLS session, or null. */
  tls: { version: string; cipher: string } | null;
  /** The certificate verdicts, or null without a handshake. */
  certificate: CertificateVerdict | null;
  /** The DANE verdict. */
  dane: AddressProbe["dane"];
  /** The TLSA record that matched, or why DANE failed or does not apply. */
  daneDetail: string | null;
  /** The MTA-STS verdict: null without a policy or with mode none. */
  sts: AddressProbe["sts"];
  /** Why MTA-STS fails, or null. */
  stsReason: string | null;
  /** The address fails (D33). */
  fails: boolean;
}

/**
 * The `probe` object of an address in `--json` (`#/definitions/probe` of the report schema).
 *
 * @example An address where nothing listens
 * ```ts
 * import { probeJson } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const json = probeJson({
 *   host: "mx.example", address: "192.0.2.1", port: 25, reached: false, greeted: false,
 *   error: "Connection refused", errorKind: "REFUSED", errorStage: "connect",
 *   starttls: null, tls: null, certificate: null, dane: "none", daneDetail: null,
 *   sts: null, stsReason: null, fails: true,
 * });
 * assert.equal(json.errorKind, "REFUSED");
 * assert.equal("host" in json, false);
 * ```
 *
 * @param probe What the probe found.
 * @returns A plain object for JSON.stringify.
 */
export function probeJson(probe: AddressProbe): ProbeJson {
  return {
    reached: probe.reached,
    greeted: probe.greeted,
    error: probe.error,
    errorKind: probe.errorKind,
    starttls: probe.starttls,
    tls: probe.tls,
    certificate: probe.certificate,
    dane: probe.dane,
    daneDetail: probe.daneDetail,
    sts: probe.sts,
    stsReason: probe.stsReason,
    fails: probe.fails,
  };
}

const INDENT = "  ";

function day(iso: string): string {
  return iso.slice(0, 10);
}

function certificateLine(host: string, cert: CertificateVerdict): string {
  const parts = [
    cert.trusted ? "trusted" : `NOT trusted (${cert.trustError ?? "not verified"})`,
    cert.nameMatches
      ? `valid for ${host}`
      : `NOT valid for ${host} (names: ${cert.names.join(", ") || "none"})`,
  ];
  if (cert.expired) parts.push(`EXPIRED on ${day(cert.notAfter)}`);
  else if (cert.notYetValid) parts.push(`NOT valid before ${day(cert.notBefore)}`);
  else {
    const days = cert.daysLeft === 1 ? "1 day" : `${cert.daysLeft} days`;
    parts.push(`expires ${day(cert.notAfter)} (${days} left)`);
  }
  return `${INDENT}Certificate: ${parts.join(", ")}; key SHA-256 ${cert.spkiSha256}`;
}

function smtpLine(probe: AddressProbe): string {
  if (!probe.reached) return `${INDENT}SMTP: not reached: ${probe.error ?? "unknown"}`;
  if (!probe.greeted) return `${INDENT}SMTP: no greeting: ${probe.error ?? "unknown"}`;
  if (probe.starttls === null) return `${INDENT}SMTP: greeted, then ${probe.error ?? "stopped"}`;
  if (!probe.starttls) return `${INDENT}SMTP: greeted, STARTTLS NOT offered`;
  if (probe.tls === null) {
    return `${INDENT}SMTP: greeted, STARTTLS offered, but ${probe.error ?? "no TLS"}`;
  }
  const after = probe.error === null ? "" : `, then ${probe.error}`;
  return `${INDENT}SMTP: greeted, STARTTLS, ${probe.tls.version} ${probe.tls.cipher}${after}`;
}

const DANE_WORDS: Record<AddressProbe["dane"], string> = {
  none: "no TLSA records",
  insecure: "TLSA records not DNSSEC-validated: not used",
  matched: "matched",
  mismatched: "MISMATCH: DANE senders will not deliver here",
  unusable: "no usable TLSA record",
  bogus: "TLSA answer BOGUS: DANE senders will not deliver here",
  error: "TLSA lookup FAILED: DANE senders will not deliver here",
};

/**
 * The lines for one address, to follow its `Relay:` line (and its STS error line, if any).
 *
 * @example An address that gave no greeting
 * ```ts
 * import { renderAddressProbe } from "./render.ts";
 * import assert from "node:assert/strict";
 *
 * const lines = renderAddressProbe({
 *   host: "mx.example", address: "192.0.2.1", port: 25, reached: true, greeted: false,
 *   error: "No greeting within 10 s", errorKind: "TIMEOUT", errorStage: "greeting",
 *   starttls: null, tls: null, certificate: null, dane: "none", daneDetail: null,
 *   sts: null, stsReason: null, fails: true,
 * });
 * assert.deepEqual(lines, ["  SMTP: no greeting: No greeting within 10 s", "  Verdict: FAILS"]);
 * ```
 *
 * @param probe What the probe found.
 * @returns Lines without line ends, each indented by two spaces.
 */
export function renderAddressProbe(probe: AddressProbe): string[] {
  const lines = [smtpLine(probe)];
  if (probe.certificate !== null) lines.push(certificateLine(probe.host, probe.certificate));
  if (probe.dane !== "none" || probe.daneDetail !== null) {
    const detail = probe.daneDetail === null ? "" : ` (${probe.daneDetail})`;
    lines.push(`${INDENT}DANE: ${DANE_WORDS[probe.dane]}${detail}`);
  }
  if (probe.sts !== null) {
    lines.push(
      probe.sts === "pass"
        ? `${INDENT}MTA-STS: pass`
        : `${INDENT}MTA-STS: FAIL (${probe.stsReason ?? "unknown"})`,
    );
  }
  lines.push(`${INDENT}Verdict: ${probe.fails ? "FAILS" : verdictWord(probe)}`);
  return lines;
}

/** "ok", or "ok with warnings" when TLS is missing or the certificate has a problem. */
function verdictWord(probe: AddressProbe): string {
  const cert = probe.certificate;
  const warning = probe.starttls !== true || cert === null || !cert.trusted ||
    !cert.nameMatches || cert.expired || cert.notYetValid || probe.sts === "fail";
  return warning ? "delivers (warnings above)" : "ok";
}

/**
 * The closing lines of a probe report: TLS-RPT, then how many addresses fail.
 *
 * @param probes Every address probed.
 * @param tlsRpt The TLS-RPT verdict, if it was looked up.
 * @returns Lines without line ends.
 */
export function renderProbeSummary(
  probes: readonly AddressProbe[],
  tlsRpt?: TlsRptResult,
): string[] {
  const lines: string[] = [];
  if (tlsRpt !== undefined) {
    if (tlsRpt.status === "valid") lines.push(`TLS-RPT: reports to ${tlsRpt.rua.join(", ")}`);
    else if (tlsRpt.status === "none") lines.push("TLS-RPT: none published");
    else lines.push(`TLS-RPT: INVALID: ${tlsRpt.reason ?? "unknown"}`);
  }
  const failing = probes.filter((probe) => probe.fails).length;
  const count = (n: number) => n === 1 ? "1 address" : `${n} addresses`;
  if (probes.length === 0) lines.push("Probe: no address to probe");
  else if (failing === 0) {
    const all = probes.length === 1
      ? "the only address accepts"
      : `all ${count(probes.length)} accept`;
    lines.push(`Probe: ${all} delivery`);
  } else if (failing === probes.length) {
    const all = probes.length === 1 ? "the only address FAILS" : `all ${count(probes.length)} FAIL`;
    lines.push(`Probe: ${all}: mail will not be delivered`);
  } else lines.push(`Probe: ${failing} of ${count(probes.length)} FAIL`);
  return lines;
}
