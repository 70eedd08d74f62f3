// TLS-RPT policy records (RFC 8460 §3): the TXT strings at `_smtp._tls.<domain>`. Pure: the
// caller queries; this names every problem.
import { quote } from "../errors.ts";

/** The TLS-RPT verdict of a domain. */
export interface TlsRptResult {
  /** `none`: no record; `valid`: exactly one usable record; `invalid`: see `reason`. */
  status: "none" | "valid" | "invalid";
  /** The record used (or the only one found), or null. */
  record: string | null;
  /** The reporting URIs, in order. */
  rua: string[];
  /** What is wrong, or null. */
  reason: string | null;
}

/** The most `rua` URIs accepted (the RFC sets no limit; a report has to stop somewhere). */
export const MAX_RUA = 16;

/**
 * Parses the TXT records at `_smtp._tls.<domain>` (each record's strings already joined).
 * RFC 8460 §3: "records that do not begin with "v=TLSRPTv1;" are discarded. If the number of
 * resulting records is not one, senders MUST assume the recipient domain does not implement
 * TLSRPT." White space before the `;` counts as the grammar's `field-delim = *WSP ";" *WSP`
 * (as D28 reads the MTA-STS rule). Fields are `key=value` separated by `;`; `v` first, `rua` required, a
 * comma-separated list of `mailto:` or `https:` URIs.
 *
 * @example One record with two reporting URIs
 * ```ts
 * import { parseTlsRpt } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const result = parseTlsRpt([
 *   "v=TLSRPTv1; rua=mailto:tls@example.com,https://r.example.com/v1",
 *   "v=spf1 -all",
 * ]);
 * assert.equal(result.status, "valid");
 * assert.deepEqual(result.rua, ["mailto:tls@example.com", "https://r.example.com/v1"]);
 * assert.equal(parseTlsRpt(["v=TLSRPTv1; rua=http://x.example/"]).status, "invalid");
 * ```
 *
 * @param records The TXT records.
 * @returns The verdict.
 */
export function parseTlsRpt(records: readonly string[]): TlsRptResult {
  const candidates = records.filter((text) => /^v=TLSRPTv1[ \t]*;/.test(text));
  if (candidates.length === 0) {
    // No policy; but a record that evidently meant to be one is named (D34).
    const near = records.find((text) => /^\s*v\s*=\s*tlsrptv1/i.test(text));
    if (near === undefined) return { status: "none", record: null, rua: [], reason: null };
    return invalid(
      near,
      /^v=TLSRPTv1[ \t]*$/.test(near)
        ? `No "rua" field (RFC 8460 §3: required)`
        : `Record does not begin with "v=TLSRPTv1;" (RFC 8460 §3): ${quote(near, 80)}`,
    );
  }
  if (candidates.length > 1) {
    return invalid(
      null,
      `${candidates.length} records start with "v=TLSRPTv1"; exactly one is allowed (RFC 8460 §3)`,
    );
  }
  const record = candidates[0];
  const fields = new Map<string, string>();
  const parts = record.split(";").map((part) => part.trim());
  if (parts.at(-1) === "") parts.pop();
  for (const part of parts.slice(1)) {
    const eq = part.indexOf("=");
    if (eq <= 0) return invalid(record, `Field without "=": ${quote(part, 80)}`);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    // RFC 8460 §3: `tlsrpt-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")`
    // and `tlsrpt-ext-value = 1*(%x21-3A / %x3C / %x3E-7E)` ("chars excluding "=", ";", SP,
    // and control chars"); a record outside the grammar is not a policy.
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/.test(key)) {
      return invalid(record, `Invalid field name: ${quote(key, 80)}`);
    }
    if (key !== "rua" && !/^[\x21-\x3a\x3c\x3e-\x7e]+$/.test(value)) {
      return invalid(record, `Invalid value of field "${key}": ${quote(value, 80)}`);
    }
    if (fields.has(key)) return invalid(record, `Field "${key}" given twice`);
    fields.set(key, value);
  }
  const rua = fields.get("rua");
  if (rua === undefined) return invalid(record, `No "rua" field (RFC 8460 §3: required)`);
  const uris = rua.split(",").map((uri) => uri.trim());
  if (uris.length > MAX_RUA) return invalid(record, `More than ${MAX_RUA} "rua" URIs`);
  for (const uri of uris) {
    if (uri === "") return invalid(record, `Empty URI in "rua"`);
    if (/^mailto:/i.test(uri)) {
      if (!/^mailto:[^@\s]+@[^@\s]+$/i.test(uri)) {
        return invalid(record, `Malformed mailto URI in "rua": ${quote(uri, 80)}`);
      }
    } else if (/^https:/i.test(uri)) {
      if (!URL.canParse(uri) || !/^https:\/\/[^/\s]/i.test(uri)) {
        return invalid(record, `Malformed https URI in "rua": ${quote(uri, 80)}`);
      }
    } else {
      return invalid(record, `"rua" URI is neither mailto: nor https: ${quote(uri, 80)}`);
    }
  }
  return { status: "valid", record, rua: uris, reason: null };
}

function invalid(record: string | null, reason: string): TlsRptResult {
  return { status: "invalid", record, rua: [], reason };
}

/**
 * Names a TLS-RPT record published at the wrong place: the domain apex or the pre-standard
 * `_smtp-tlsrpt` name (a common mistake).
 *
 * @param where Which name the records were found at.
 * @param records The TXT records there.
 * @returns One line, or null when none starts with `v=TLSRPTv1`.
 */
export function misplacedTlsRpt(
  where: "apex" | "_smtp-tlsrpt",
  records: readonly string[],
): string | null {
  if (!records.some((text) => /^v=TLSRPTv1/i.test(text.trim()))) return null;
  return where === "apex"
    ? `A TLS-RPT record is at the domain itself; RFC 8460 §3 puts it at _smtp._tls.<domain>`
    : `A TLS-RPT record is at _smtp-tlsrpt.<domain>, a pre-standard name; RFC 8460 §3 uses _smtp._tls.<domain>`;
}
