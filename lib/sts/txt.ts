// MTA-STS discovery records (RFC 8461 §3.1): from the TXT records at `_mta-sts.<domain>` to a
// policy id, or to the reason there is none. The DNS query itself is the resolver's job.
import { latin1, quote, trimWsp } from "./_text.ts";

/** The outcome of {@linkcode parseStsRecords}. */
export type TxtResult =
  /** Exactly one valid STS record: its `id` and its text (strings concatenated). */
  | { found: true; id: string; record: string }
  /**
   * No usable record, with the reason, e.g. `2 TXT records begin with "v=STSv1" …`;
   * `published` tells whether something like an STS record was there (worth a warning) or
   * the domain simply has none.
   */
  | { found: false; reason: string; published: boolean };

const VERSION = "v=STSv1";
const ID = /^[A-Za-z0-9]{1,32}$/;
// RFC 8461 §3.1 sts-extension: sts-ext-name "=" sts-ext-value.
const EXTENSION = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}=[\x21-\x3a\x3c\x3e-\x7e]+$/;

/**
 * Finds the policy id among the TXT records of `_mta-sts.<domain>`.
 *
 * A record's character-strings are concatenated first (D2; Courier reads only the first).
 * Records that do not begin with `v=STSv1` followed by `;`, white space or the end are
 * ignored; exactly one must remain and it must be valid (RFC 8461 §3.1).
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
  const sts = texts.filter(isStsRecord);
  if (sts.length > 1) {
    return {
      found: false,
      reason: `${sts.length} TXT records begin with "v=STSv1", RFC 8461 §3.1 requires exactly one`,
      published: true,
    };
  }
  if (sts.length === 0) {
    const published = texts.some((text) => /v=stsv1/i.test(text));
    return { found: false, reason: noRecordReason(texts), published };
  }
  const checked = checkRecord(sts[0]);
  if (typeof checked === "string") {
    return {
      found: false,
      reason: `invalid STS record ${quote(sts[0], 100)}: ${checked} (RFC 8461 §3.1)`,
      published: true,
    };
  }
  return { found: true, id: checked.id, record: sts[0] };
}

function isStsRecord(text: string): boolean {
  return text.startsWith(VERSION) &&
    (text.length === VERSION.length || "; \t".includes(text[VERSION.length]));
}

// sts-text-record = sts-version 1*(sts-sep sts-field) [sts-sep], where sts-sep is ";" with
// optional white space on both sides (erratum 6285). White space after the last field is
// tolerated as well.
function checkRecord(text: string): { id: string } | string {
  const [head, ...rest] = text.slice(VERSION.length).split(";");
  if (trimWsp(head) !== "") return `expected ";" after "v=STSv1"`;
  const fields = rest.map(trimWsp);
  if (fields.at(-1) === "") fields.pop();
  let id: string | undefined;
  for (const field of fields) {
    if (field === "") return `empty field between two ";"`;
    if (field.startsWith("id=")) {
      if (id !== undefined) return "more than one id field";
      id = field.slice(3);
      if (!ID.test(id)) return `id ${quote(id)} is not 1-32 letters or digits`;
    } else if (!EXTENSION.test(field)) {
      return `field ${quote(field, 100)} is not name=value`;
    }
  }
  return id === undefined ? "no id field" : { id };
}

// Near misses (a leading space, "V=STSv1") are named so that the reason explains itself.
function noRecordReason(texts: string[]): string {
  if (texts.length === 0) return "no TXT record";
  const near = texts.filter((text) => /v=stsv1/i.test(text)).slice(0, 2).map((t) => quote(t, 100));
  const ignored = near.length === 0 ? "" : ` (ignored: ${near.join(", ")})`;
  const which = texts.length === 1
    ? "the only TXT record does not begin"
    : `none of the ${texts.length} TXT records begins`;
  return `${which} with "v=STSv1"${ignored}`;
}
