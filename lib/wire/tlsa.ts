// TLSA record data (RFC 6698 §2.1): certificate usage, selector, matching type and the
// certificate association data. What the fields mean for SMTP (RFC 7672) is the caller's
// business: unknown values parse, so that the caller can call the record unusable.
import { DnsError } from "../errors.ts";

/** A TLSA record's fields (RFC 6698 §2.1). */
export interface Tlsa {
  /** Certificate usage (RFC 6698 §2.1.1): 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE. */
  usage: number;
  /** Selector (RFC 6698 §2.1.2): 0 the full certificate, 1 its SubjectPublicKeyInfo. */
  selector: number;
  /** Matching type (RFC 6698 §2.1.3): 0 the selected content, 1 its SHA-256, 2 its SHA-512. */
  matchingType: number;
  /** The certificate association data (RFC 6698 §2.1.4), a copy of the record's bytes. */
  data: Uint8Array;
}

/** Digest lengths of the matching types RFC 6698 §2.1.3 defines as hashes. */
const DIGEST_OCTETS: Record<number, number> = { 1: 32, 2: 64 };

/**
 * Reads the fields of a TLSA record's data.
 *
 * @param rdata The record's data as received (`RecordData` of type "TLSA", field `raw`).
 * @returns The usage, selector, matching type and association data.
 * @throws {DnsError} `MALFORMED` when the data is shorter than the three one-octet fields and
 *   one octet of association data, or a SHA-256 or SHA-512 digest has the wrong length.
 */
export function parseTlsa(rdata: Uint8Array): Tlsa {
  if (rdata.length < 4) {
    throw new DnsError(
      "MALFORMED",
      `TLSA data of ${rdata.length} octets, shorter than 3 fields and association data`,
      { type: "TLSA" },
    );
  }
  const [usage, selector, matchingType] = rdata;
  const data = rdata.slice(3);
  const digest = DIGEST_OCTETS[matchingType];
  if (digest !== undefined && data.length !== digest) {
    throw new DnsError(
      "MALFORMED",
      `TLSA matching type ${matchingType} needs ${digest} octets of digest, not ${data.length}`,
      { type: "TLSA" },
    );
  }
  return { usage, selector, matchingType, data };
}
