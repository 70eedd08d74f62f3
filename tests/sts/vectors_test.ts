// Other MTA-STS implementations' test vectors and RFC 8461's own examples, re-expressed as data in
// tests/sts/vectors/*.json, run against parseStsRecords, parsePolicy and matchesMx. Each case
// holds this tool's verdict and the source's; where they differ the case says why (an RFC section
// or a decision in docs/), and this test checks that the data says so.
import assert from "node:assert/strict";
import { matchesMx } from "../../lib/sts/match.ts";
import { parsePolicy } from "../../lib/sts/policy.ts";
import { parseStsRecords } from "../../lib/sts/txt.ts";

interface Common {
  /** This tool's verdict: `id:<id>` or `none` (txt), `valid` or `invalid`, `match` or `no match`. */
  verdict: string;
  /** The source's verdict, in the same words. */
  peer: string;
  /** Why the verdicts differ: an RFC section or a D-number. Present exactly when they differ. */
  differs?: string;
  /** Where the source states the case: a file of its repository, or an RFC section. */
  path: string;
  /** The line in `path`, or null (RFC sections, and the note says why). */
  line: number | null;
  /** Which of the source's modes gave `peer`, when it has several (mailauth: lax, strict). */
  peerMode?: string;
  /** Anything else worth knowing about the case. */
  note?: string;
  /** Whether this tool warns (TXT id found or policy valid only). @default {false} */
  warns?: boolean;
}

interface TxtCase extends Common {
  kind: "txt";
  /** The TXT records of `_mta-sts.<domain>`, each as its character-strings (UTF-8). */
  records: string[][];
}

interface PolicyCase extends Common {
  kind: "policy";
  text: string;
  /** Appended to `text`: `repeat` `times` times (for sizes over the limit). */
  append?: { repeat: string; times: number };
  mode?: string;
  maxAge?: number;
  mx?: string[];
}

interface MatchCase extends Common {
  kind: "match";
  host: string;
  /** Put before `host`: `repeat` `times` times (for names over the limits). */
  prefix?: { repeat: string; times: number };
  patterns: string[];
}

type Vector = TxtCase | PolicyCase | MatchCase;

interface VectorFile {
  peer: string;
  /** owner/name on GitHub; absent for the RFC's own examples. */
  repository?: string;
  commit?: string;
  about: string;
  cases: Vector[];
}

const DIR = new URL("./vectors/", import.meta.url);
const FILES: VectorFile[] = [...Deno.readDirSync(DIR)]
  .filter((entry) => entry.name.endsWith(".json"))
  .map((entry) => entry.name)
  .sort()
  .map((name) => JSON.parse(Deno.readTextFileSync(new URL(name, DIR))));

const encoder = new TextEncoder();
const CITATION = /RFC \d+ §\d|\bD\d+\b|erratum \d+/;

function run(vector: Vector): { verdict: string; warned?: boolean } {
  switch (vector.kind) {
    case "txt": {
      const result = parseStsRecords(vector.records.map((r) => r.map((s) => encoder.encode(s))));
      return result.found
        ? { verdict: `id:${result.id}`, warned: result.warnings.length > 0 }
        : { verdict: "none" };
    }
    case "policy": {
      const text = vector.text + (vector.append?.repeat.repeat(vector.append.times) ?? "");
      let parsed;
      try {
        parsed = parsePolicy(text);
      } catch (error) {
        assert.equal((error as { kind?: string }).kind, "POLICY_INVALID");
        return { verdict: "invalid" };
      }
      const { policy, warnings } = parsed;
      if (vector.mode !== undefined) assert.equal(policy.mode, vector.mode);
      if (vector.maxAge !== undefined) assert.equal(policy.maxAge, vector.maxAge);
      if (vector.mx !== undefined) assert.deepEqual(policy.mx, vector.mx);
      return { verdict: "valid", warned: warnings.length > 0 };
    }
    case "match": {
      const host = (vector.prefix?.repeat.repeat(vector.prefix.times) ?? "") + vector.host;
      return { verdict: matchesMx(host, vector.patterns) ? "match" : "no match" };
    }
  }
}

function label(vector: Vector): string {
  const input = vector.kind === "txt"
    ? vector.records
    : vector.kind === "policy"
    ? vector.text
    : [vector.host, vector.patterns];
  const text = JSON.stringify(input);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

Deno.test("vectors: every file names its source and every case is well formed", () => {
  assert.ok(FILES.length >= 8, `${FILES.length} vector files`);
  for (const file of FILES) {
    assert.ok(file.peer && file.about, JSON.stringify(file).slice(0, 80));
    if (file.repository !== undefined) assert.match(file.commit ?? "", /^[0-9a-f]{40}$/);
    for (const vector of file.cases) {
      const where = `${file.peer} ${vector.path}:${vector.line}`;
      assert.ok(["txt", "policy", "match"].includes(vector.kind), where);
      assert.ok(vector.path !== "", where);
      if (vector.line === null) assert.ok(vector.note || file.repository === undefined, where);
      else assert.ok(Number.isInteger(vector.line) && vector.line > 0, where);
      // A difference is explained, and only a difference.
      if (vector.peer === vector.verdict) assert.equal(vector.differs, undefined, where);
      else assert.match(vector.differs ?? "", CITATION, `${where}: differs without a reason`);
    }
  }
});

Deno.test("vectors: at least 300 cases", () => {
  const total = FILES.reduce((n, file) => n + file.cases.length, 0);
  assert.ok(total >= 300, `${total} cases`);
});

for (const file of FILES) {
  for (const [index, vector] of file.cases.entries()) {
    const name = `vectors: ${file.peer} ${vector.path}:${vector.line ?? "-"} #${index + 1} ` +
      `${vector.kind} ${label(vector)} is ${vector.verdict}`;
    Deno.test(name, () => {
      const { verdict, warned } = run(vector);
      assert.equal(verdict, vector.verdict);
      if (warned !== undefined) assert.equal(warned, vector.warns ?? false, "warnings");
    });
  }
}
