// DANE for SMTP (RFC 7672, RFC 6698, RFC 7671): whether DANE applies to an MX address and
// whether the server's chain matches its TLSA records. Pure: the TLSA answer, its DNSSEC status,
// and the digests come in.
import { type CertificateInfo, certificateNames } from "./certificate.ts";
import type { Tlsa } from "../wire/tlsa.ts";
import { nameMatches } from "./name_match.ts";
import type { X509Tools } from "./x509.ts";

/** One TLSA record (RFC 6698 §2.1), as `parseTlsa` reads it. */
export type TlsaRecord = Tlsa;

/** The DNSSEC status of an answer, as the validating resolver said (AD bit) or failed. */
export type DnsSecurity = "secure" | "insecure" | "bogus" | "error";

/** The `_N._tcp.<host>` TLSA answer and the security of what led to it. */
export interface DaneInput {
  /** The MX RRset was validated. */
  mxSecure: boolean;
  /** The host's address records were validated. */
  addressSecure: boolean;
  /** The TLSA query's status; `insecure` also for an unvalidated NXDOMAIN or NODATA. */
  tlsa: DnsSecurity;
  /** The TLSA records (empty for NXDOMAIN or NODATA). */
  records: TlsaRecord[];
  /** Records of the answer whose data could not be read (left out of `records`). @default {0} */
  malformed?: number;
}

/**
 * The DANE verdict on one address:
 * - `none`: no TLSA records, or DANE does not apply (MX or address answers not validated);
 * - `insecure`: TLSA records that were not validated;
 * - `matched` / `mismatched`: usable records, and the chain matches one or none;
 * - `unusable`: records, but none with usage 2 or 3, known selector and matching type and
 *   readable data (D39);
 * - `bogus`: the TLSA answer failed validation; `error`: it could not be had (SERVFAIL).
 */
export type DaneVerdict =
  | "none"
  | "insecure"
  | "matched"
  | "mismatched"
  | "unusable"
  | "bogus"
  | "error";

/** The verdict with the record that matched, or why none did. */
export interface DaneResult {
  /** The verdict. */
  dane: DaneVerdict;
  /** The matching record, as `3 1 1`, or null. */
  matchedRecord: string | null;
  /** One line for the report, or null. */
  reason: string | null;
}

/** Computes SHA-256 or SHA-512. */
export type Digest = (algorithm: "sha256" | "sha512", data: Uint8Array) => Uint8Array;

/** What the matcher needs of each certificate of the chain. */
export interface DaneCertificate {
  /** The parsed certificate. */
  info: CertificateInfo;
  /** Its SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
}

/** Usage 2 and 3 with a known selector and matching type are usable (RFC 7672 §3.1.3). */
export function isUsable(record: TlsaRecord): boolean {
  return (record.usage === 2 || record.usage === 3) &&
    (record.selector === 0 || record.selector === 1) &&
    record.matchingType >= 0 && record.matchingType <= 2;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** Whether one record's association data matches one certificate (RFC 6698 §2.1.2, §2.1.3). */
export function recordMatches(record: TlsaRecord, cert: DaneCertificate, digest: Digest): boolean {
  const selected = record.selector === 0 ? cert.info.der : cert.spki;
  const value = record.matchingType === 0
    ? selected
    : digest(record.matchingType === 1 ? "sha256" : "sha512", selected);
  return equalBytes(value, record.data);
}

function describe(record: TlsaRecord): string {
  return `${record.usage} ${record.selector} ${record.matchingType}`;
}

/**
 * The DANE verdict (RFC 7672 §2.2 and D33: DANE applies only when the MX, address and
 * TLSA answers are all validated). DANE-EE (3) matches the leaf alone, names and dates unchecked
 * (§3.1.1); DANE-TA (2) matches a certificate of the chain the server sent that the leaf chains
 * to, and the leaf's name must be valid for the MX host (§3.1.2), its chain within its validity
 * periods. A DANE-TA record holding the whole trust anchor (matching type 0: its certificate or its
 * public key) also matches when a certificate of the chain is signed by it: with such a record
 * the server need not send the trust anchor itself (RFC 7671 §5.2, DANE-TA).
 *
 * @param input The TLSA answer and the security of the MX and address answers.
 * @param options The chain (leaf first; empty without a handshake), the MX host name, whether
 *   each chain link is signed by the next (`chainsTo(i)`: certificates 0..i-1 lead to i),
 *   whether a record's full trust anchor signed certificate `i` (`anchorSigns`; absent: never),
 *   the digest function, and the time (ms since the epoch) DANE-TA checks validity periods
 *   against (absent: not checked).
 * @returns The verdict.
 */
export function daneVerdict(
  input: DaneInput,
  options: {
    chain: readonly DaneCertificate[];
    host: string;
    chainsTo: (index: number) => boolean;
    anchorSigns?: (index: number, record: TlsaRecord) => boolean;
    digest: Digest;
    now?: number;
  },
): DaneResult {
  const result = (dane: DaneVerdict, reason: string | null, matched: string | null = null) => ({
    dane,
    matchedRecord: matched,
    reason,
  });
  if (!input.mxSecure || !input.addressSecure) {
    return result(
      "none",
      input.records.length > 0 && input.tlsa === "secure"
        ? "TLSA records ignored: the MX or address answers are not DNSSEC-validated"
        : null,
    );
  }
  if (input.tlsa === "bogus") return result("bogus", "TLSA answer failed DNSSEC validation");
  if (input.tlsa === "error") return result("error", "TLSA lookup failed");
  // A record whose data cannot be read is there all the same: unusable, not absent (D39).
  const malformed = input.malformed ?? 0;
  if (input.records.length === 0 && malformed === 0) return result("none", null);
  if (input.tlsa === "insecure") return result("insecure", "TLSA records not DNSSEC-validated");
  const usable = input.records.filter(isUsable);
  if (usable.length === 0) {
    return result(
      "unusable",
      input.records.length === 0
        ? "no TLSA record usable for SMTP: the records' data is malformed (D39)"
        : "no TLSA record usable for SMTP (usages 0 and 1 are not, RFC 7672 §3.1.3)",
    );
  }
  // RFC 7672 §2.2: with usable TLSA records a sender requires STARTTLS and a matching chain.
  if (options.chain.length === 0) {
    return result("mismatched", "no TLS handshake to match TLSA against");
  }
  const leaf = options.chain[0];
  for (const record of usable.filter((r) => r.usage === 3)) {
    if (recordMatches(record, leaf, options.digest)) {
      return result("matched", null, describe(record));
    }
  }
  let taProblem: string | null = null;
  const now = options.now;
  for (const record of usable.filter((r) => r.usage === 2)) {
    for (let i = 0; i < options.chain.length; i++) {
      const inChain = recordMatches(record, options.chain[i], options.digest);
      const anchored = inChain ||
        (record.matchingType === 0 && options.anchorSigns?.(i, record) === true);
      if (!anchored || !options.chainsTo(i)) continue;
      // DANE-TA validates the chain below the anchor as RFC 5280 does, dates included
      // (§6.1.3 (a)(2): "The certificate validity period includes the current time"); the
      // anchor's own dates are not checked (§6.1.1 (d): it is an input), and DANE-EE checks
      // none (RFC 7671 §5.1).
      const below = options.chain.slice(0, inChain ? i : i + 1);
      if (now !== undefined && below.some((c) => now < c.info.notBefore || now > c.info.notAfter)) {
        taProblem = "DANE-TA trust anchor matched, but a certificate below it is outside its " +
          "validity period";
        continue;
      }
      if (certificateNames(leaf.info).some((name) => nameMatches(name, options.host))) {
        return result("matched", null, describe(record));
      }
      taProblem = "DANE-TA trust anchor matched, but the certificate is not valid for the MX " +
        "host name";
    }
  }
  return result(
    "mismatched",
    taProblem ?? "no TLSA record matches the server's certificate chain",
  );
}

/**
 * The DANE verdict on a server's chain as parsed by `x509`: the wiring of {@linkcode daneVerdict}
 * that the probe uses (links checked by signature, digests and anchors by node:crypto).
 *
 * @param input The TLSA answer and the security of the MX and address answers.
 * @param chain The certificates the server sent, leaf first, parsed by `x509`.
 * @param host The MX host name (A-labels).
 * @param x509 The tools that parsed the chain.
 * @param now The time, ms since the epoch.
 * @returns The verdict.
 */
export function daneOfChain(
  input: DaneInput,
  chain: readonly CertificateInfo[],
  host: string,
  x509: X509Tools,
  now: number,
): DaneResult {
  return daneVerdict(input, {
    chain: chain.map((info) => ({ info, spki: x509.spki(info) })),
    host,
    chainsTo: (index) => {
      for (let i = 0; i < index; i++) {
        if (!x509.issuedBy(chain[i], chain[i + 1])) return false;
      }
      return true;
    },
    anchorSigns: (index, record) => x509.signedByAnchor(chain[index], record),
    digest: x509.digest,
    now,
  });
}
