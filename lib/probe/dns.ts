// The probe's DNS questions, through the run's own resolver (a Querier; never the system's):
// `_N._tcp.<mx host>` TLSA for DANE (RFC 7672 §2.2) and `_smtp._tls.<domain>` TXT for TLS-RPT
// (RFC 8460 §3). The caller's resolver sets the DO bit so that the AD bit means something.
import { DnsError } from "../errors.ts";
import { parseTlsa } from "../wire/tlsa.ts";
import type { Querier } from "../resolver/resolver.ts";
import type { TlsaRecord } from "./dane.ts";
import type { TlsaAnswer } from "./probe.ts";
import { parseTlsRpt, type TlsRptResult } from "./tls_rpt.ts";

/** What a lookup of TLSA records found, with the records that could not be read. */
export interface TlsaLookup extends TlsaAnswer {
  /** Records whose data is malformed (left out of `records`). */
  malformed: number;
  /** The DNS failure, or null. */
  reason: string | null;
}

/**
 * Looks up the TLSA records of an MX host's SMTP port. The answer is `secure` when the
 * resolver set AD; NXDOMAIN and NODATA are no records. A SERVFAIL is asked again with the CD
 * bit: a validating resolver that then answers had records that failed validation, `bogus`
 * (RFC 7672 §2.2: DANE senders do not deliver); any other failure (SERVFAIL again, a timeout)
 * is `error`, which RFC 7672 §2.1.1 does not let a sender treat as "no TLSA" either.
 *
 * @example With the run's resolver (DO bit on, so that AD is set)
 * ```ts ignore
 * import { Resolver } from "../resolver/resolver.ts";
 * import { lookupTlsa } from "./dns.ts";
 *
 * const resolver = new Resolver({ servers: [{ address: "127.0.0.1" }], udpSize: 1232 });
 * const { tlsa, records } = await lookupTlsa(resolver, "mx.example.com", 25);
 * ```
 *
 * @param querier The run's resolver.
 * @param host The MX host name (after CNAME expansion, as A-labels).
 * @param port The SMTP port.
 * @param options The signal.
 * @returns The answer; never throws for DNS failures.
 */
export async function lookupTlsa(
  querier: Querier,
  host: string,
  port: number,
  options: { signal?: AbortSignal } = {},
): Promise<TlsaLookup> {
  const name = `_${port}._tcp.${host}`;
  try {
    const result = await querier.query(name, "TLSA", { signal: options.signal });
    const records: TlsaRecord[] = [];
    let malformed = 0;
    for (const record of result.records) {
      if (record.data.type !== "TLSA") continue;
      // A malformed record is unusable (RFC 7672 §2.2), counted, not fatal.
      try {
        records.push(parseTlsa(record.data.raw));
      } catch {
        malformed++;
      }
    }
    return { tlsa: result.ad ? "secure" : "insecure", records, malformed, reason: null };
  } catch (error) {
    if (error instanceof DnsError && (error.kind === "NXDOMAIN" || error.kind === "NODATA")) {
      return { tlsa: "insecure", records: [], malformed: 0, reason: null };
    }
    if (options.signal?.aborted) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    if (error instanceof DnsError && error.kind === "SERVFAIL") {
      const bogus = await bogusRecords(querier, name, options.signal);
      if (bogus !== undefined) {
        return {
          tlsa: "bogus",
          records: [],
          malformed: 0,
          reason: `TLSA lookup of ${name}: ${bogus} record(s) failed DNSSEC validation (${reason})`,
        };
      }
    }
    return {
      tlsa: "error",
      records: [],
      malformed: 0,
      reason: `TLSA lookup of ${name}: ${reason}`,
    };
  }
}

/**
 * How many records of `name` a validating resolver has when asked with the CD bit, after it
 * answered SERVFAIL without: undefined when it cannot tell (SERVFAIL again, a timeout, or a
 * Querier that ignores the bit and fails the same way).
 */
async function bogusRecords(
  querier: Querier,
  name: string,
  signal: AbortSignal | undefined,
): Promise<number | undefined> {
  try {
    const unchecked = await querier.query(name, "TLSA", { signal, checkingDisabled: true });
    return unchecked.records.length > 0 ? unchecked.records.length : undefined;
  } catch (error) {
    if (signal?.aborted) throw error;
    return undefined;
  }
}

/**
 * Looks up and judges a domain's TLS-RPT policy (`_smtp._tls.<domain>` TXT). NXDOMAIN and
 * NODATA are `none`; another failure is `none` with the failure as `reason`.
 *
 * @param querier The run's resolver.
 * @param domain The policy domain (A-labels).
 * @param options The signal.
 * @returns The verdict.
 */
export async function lookupTlsRpt(
  querier: Querier,
  domain: string,
  options: { signal?: AbortSignal } = {},
): Promise<TlsRptResult> {
  const name = `_smtp._tls.${domain}`;
  try {
    const result = await querier.query(name, "TXT", { signal: options.signal });
    const texts: string[] = [];
    for (const record of result.records) {
      if (record.data.type !== "TXT") continue;
      // RFC 8460 §3: the strings of one record are concatenated.
      texts.push(record.data.strings.map((s) => new TextDecoder().decode(s)).join(""));
    }
    return parseTlsRpt(texts);
  } catch (error) {
    if (error instanceof DnsError && (error.kind === "NXDOMAIN" || error.kind === "NODATA")) {
      return parseTlsRpt([]);
    }
    if (options.signal?.aborted) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    return { status: "none", record: null, rua: [], reason: `TXT lookup of ${name}: ${reason}` };
  }
}
