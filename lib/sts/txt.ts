// MTA-STS discovery records (RFC 8461 §3.1): from the TXT records at `_mta-sts.<domain>` to a
// policy id, or to the reason there is none. The DNS query itself is the resolver's job.
import { latin1, quote, trimWsp } from "./_text.ts";

/** The outcome of {@linkcode parseStsRecords}. */
export type TxtResult =
  /**
   * Exactly one STS record, valid: its `id`, its text (strings concatenated) and the tolerated
   * deviations found on the way (a repeated `id`, white space at the end, ignored records that
   * look like STS records), one stderr line each.
   */
  | { found: true; id: string; record: string; warnings: string[] }
  /**
   * No usable record, with the reason, e.g. `2 TXT records begin with "v=STSv1;" …`;
   * `published` tells whether something like an STS record was there (worth a warning) or
   * the domain simply has none.
   */
  | { found: false; reason: string; published: boolean };

// RFC 8461 §3.1: "records that do not begin with "v=STSv1;" are discarded". The record's own
// grammar puts its delimiter there, sts-field-delim = *WSP ";" *WSP, so "v=STSv1 ;" begins
// with it too (erratum 6285 reports the clash and is not applied; D28).
const STS_RECORD = /^v=STSv1[ \t]*;/;
const ID = /^[A-Za-z0-9]{1,32}$/;
// RFC 8461 §3.1 sts-extension: sts-ext-name "=" sts-ext-value.
const EXTENSION = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}=[\x21-\x3a\x3c\x3e-\x7e]+$/;

/**
 * Finds the policy id among the TXT records of `_mta-sts.<domain>`.
 *
 * A record's character-strings are concatenated first (D2; Courier reads only the first).
 * Records that do not begin with `v=STSv1` and the `;` delimiter (white space allowed before
 * it) are discarded; exactly one must remain and it must be valid (RFC 8461 §3.1, D28). A
 * repeated `id` counts once, the first (RFC 8461 §3.2, D27); white space after the last field
 * is tolerated (D29). Each of these, and each discarded record that looks like an STS record,
 * is a warning.
 *
 * @param records The TXT records in answer order, each as its character-strings.
 * @returns The id, or the reason there is no policy.
 *
 * @example The TXT records of `_mta-sts.example.com`
 * ```ts
 * import { parseStsRecords } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const txt = (...strings: string[]) => strings.map((s) => new TextEncoder().encode(s));
 * assert.deepEqual(parseStsRecords([txt("v=spf1 -all"), txt("v=STSv1; ", "id=20240101")]), {
 *   found: true,
 *   id: "20240101",
 *   record: "v=STSv1; id=20240101",
 *   warnings: [],
 * });
 * const two = parseStsRecords([txt("v=STSv1; id=a"), txt("v=STSv1; id=b")]);
 * assert.equal(two.found, false);
 * assert.equal(!two.found && two.published, true);
 * const none = parseStsRecords([]);
 * assert.deepEqual(none, { found: false, reason: "no TXT record", published: false });
 * ```
 */
export function parseStsRecords(records: Uint8Array[][]): TxtResult {
  const texts = records.map((strings) => strings.map(latin1).join(""));
  const sts = texts.filter((text) => STS_RECORD.test(text));
  if (sts.length > 1) {
    return {
      found: false,
      reason: `${sts.length} TXT records begin with "v=STSv1;", RFC 8461 §3.1 requires exactly one`,
      published: true,
    };
  }
  if (sts.length === 0) {
    return { found: false, reason: noRecordReason(texts), published: texts.some(looksLikeSts) };
  }
  const checked = checkRecord(sts[0]);
  if (typeof checked === "string") {
    return {
      found: false,
      reason: `invalid STS record ${quote(sts[0], 100)}: ${checked} (RFC 8461 §3.1)`,
      published: true,
    };
  }
  const discarded = texts.filter((text) => looksLikeSts(text) && !STS_RECORD.test(text));
  const warnings = [
    ...discarded.map((text) =>
      `TXT record ${quote(text, 100)} ignored: it does not begin with "v=STSv1;" ` +
      "(RFC 8461 §3.1)"
    ),
    ...checked.warnings,
  ];
  return { found: true, id: checked.id, record: sts[0], warnings };
}

// Near misses ("V=STSv1", a leading space, no ";") are named in reasons and warnings.
function looksLikeSts(text: string): boolean {
  return /v=stsv1/i.test(text);
}

// sts-text-record = sts-version 1*(sts-field-delim sts-field) [sts-field-delim], with
// sts-field-delim = *WSP ";" *WSP. The text is known to begin with "v=STSv1" *WSP ";".
function checkRecord(text: string): { id: string; warnings: string[] } | string {
  const fields = text.split(";").slice(1).map(trimWsp);
  const warnings: string[] = [];
  if (fields.at(-1) === "") fields.pop();
  // D29: white space after the last field has no place in the grammar (only a delimiter may
  // carry it); the fields are unambiguous, so the record is kept.
  else if (/[ \t]$/.test(text)) {
    warnings.push(
      `white space after the last field of TXT record ${quote(text, 100)}, which RFC 8461 ` +
        "§3.1 does not allow",
    );
  }
  let id: string | undefined;
  for (const field of fields) {
    if (field === "") return `empty field between two ";"`;
    if (field.startsWith("id=") && id === undefined) {
      id = field.slice(3);
      if (!ID.test(id)) return `id ${quote(id)} is not 1-32 letters or digits`;
    } else if (!EXTENSION.test(field)) {
      return `field ${quote(field, 100)} is not name=value`;
    } else if (field.startsWith("id=")) {
      // RFC 8461 §3.2: "If any non-repeated field--i.e., all fields excepting "mx"--is
      // duplicated, all entries except for the first SHALL be ignored." (D27)
      warnings.push(
        `TXT record ${quote(text, 100)} repeats "id"; the first, ${quote(id!)}, counts ` +
          "(RFC 8461 §3.2)",
      );
    }
  }
  return id === undefined ? "no id field" : { id, warnings };
}

function noRecordReason(texts: string[]): string {
  if (texts.length === 0) return "no TXT record";
  const near = texts.filter(looksLikeSts).slice(0, 2).map((t) => quote(t, 100));
  const ignored = near.length === 0 ? "" : ` (ignored: ${near.join(", ")})`;
  const which = texts.length === 1
    ? "the only TXT record does not begin"
    : `none of the ${texts.length} TXT records begins`;
  return `${which} with "v=STSv1;"${ignored}`;
}
