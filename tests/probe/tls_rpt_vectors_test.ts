// TLS-RPT test vectors (tests/probe/vectors/tlsrpt.json: RFC 8460 §3's examples, mox's and
// checkdmarc's tests, Stalwart's mail-auth) run through lookupTlsRpt with canned TXT answers, so
// that a record's strings are joined as on the wire. Each case holds this tool's verdict beside
// the source's and the RFC's; where they differ the case says why, and this test checks it does.
import assert from "node:assert/strict";
import { lookupTlsRpt } from "../../lib/probe/dns.ts";
import type { Querier, QueryResult } from "../../lib/resolver/resolver.ts";

interface RecordCase {
  /** The TXT records of `_smtp._tls.<domain>`, each as its character-strings. */
  records: string[][];
  /** This tool's verdict: `rua:<uri>[,<uri>…]` or `none` (no policy in force). */
  verdict: string;
  /** This tool's status: `invalid` is a record that is meant but wrong (D34). */
  status: "valid" | "invalid" | "none";
  /** The source's verdict, in the same words. */
  peer: string;
  /** RFC 8460's verdict, or null where it does not settle the case (`note` says why). */
  rfc: string | null;
  /** Why `verdict` differs from `peer` or `rfc`: present exactly when it does. */
  differs?: string;
  source: { rfc: string } | { repository: string; commit: string; path: string; line: number };
  note?: string;
}

const FILE = JSON.parse(
  Deno.readTextFileSync(new URL("./vectors/tlsrpt.json", import.meta.url)),
) as { records: RecordCase[] };
const CITATION = /RFC \d+ §\d|\bD\d+\b|erratum \d+/;
const DOMAIN = "vectors.example";

function querier(records: string[][]): Querier {
  const encoder = new TextEncoder();
  return {
    query(name, type) {
      assert.equal(`${name} ${type}`, `_smtp._tls.${DOMAIN} TXT`);
      const result = {
        name,
        type,
        ad: false,
        records: records.map((strings) => ({
          name,
          type: "TXT",
          class: "IN",
          ttl: 300,
          data: { type: "TXT", strings: strings.map((s) => encoder.encode(s)) },
        })),
      };
      return Promise.resolve(result as unknown as QueryResult);
    },
  };
}

function where(vector: RecordCase): string {
  const s = vector.source;
  return "rfc" in s ? s.rfc : `${s.repository} ${s.path}:${s.line}`;
}

Deno.test("TLS-RPT vectors: every case names its source and explains each difference", () => {
  assert.ok(FILE.records.length >= 40, `${FILE.records.length} cases`);
  for (const vector of FILE.records) {
    const at = where(vector);
    if ("repository" in vector.source) {
      assert.match(vector.source.commit, /^[0-9a-f]{40}$/, at);
      assert.ok(Number.isInteger(vector.source.line) && vector.source.line > 0, at);
    } else assert.match(vector.source.rfc, CITATION, at);
    assert.equal(vector.verdict === "none", vector.status !== "valid", at);
    const differs = vector.verdict !== vector.peer ||
      (vector.rfc !== null && vector.verdict !== vector.rfc);
    if (differs) assert.match(vector.differs ?? "", CITATION, `${at}: differs without a reason`);
    else assert.equal(vector.differs, undefined, `${at}: a reason without a difference`);
    // Where the RFC is silent, the note says what settles it here.
    if (vector.rfc === null) assert.match(vector.note ?? "", CITATION, `${at}: rfc null, no note`);
  }
});

for (const [index, vector] of FILE.records.entries()) {
  const input = JSON.stringify(vector.records);
  const label = input.length > 60 ? `${input.slice(0, 57)}...` : input;
  Deno.test(`TLS-RPT vectors: ${where(vector)} #${index + 1} ${label} is ${vector.verdict}`, async () => {
    const result = await lookupTlsRpt(querier(vector.records), DOMAIN);
    const verdict = result.status === "valid" ? `rua:${result.rua.join(",")}` : "none";
    assert.equal(verdict, vector.verdict);
    assert.equal(result.status, vector.status);
    assert.equal(result.reason === null, result.status !== "invalid", "a reason when invalid");
  });
}
