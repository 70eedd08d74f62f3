import assert from "node:assert/strict";
import { quote } from "../../lib/errors.ts";
import { parseStsRecords } from "../../lib/sts/txt.ts";

const bytes = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
/** One TXT record from its character-strings. */
const record = (...strings: string[]) => strings.map(bytes);

// [case, records, the id or a pattern of the reason for no policy]. Courier's verdict
// (docs/courier.md#txt-discovery) is noted where ours differs.
const CASES: [string, Uint8Array[][], string | RegExp][] = [
  ["a plain record", [record("v=STSv1; id=a1")], "a1"],
  ["the RFC 8461 §3.1 example", [record("v=STSv1; id=20160831085700Z;")], "20160831085700Z"],
  ["no semicolon before a trailing end", [record("v=STSv1;id=x")], "x"],
  ["white space around ; (erratum 6285)", [record("v=STSv1 ; id=x")], "x"],
  ["tabs around ;", [record("v=STSv1\t;\tid=x\t")], "x"],
  ["a trailing ;", [record("v=STSv1; id=x;")], "x"],
  ["an extension field", [record("v=STSv1; id=x; ext=foo")], "x"],
  ["an extension before the id", [record("v=STSv1; a_b.c-d=1; id=x")], "x"],
  ["an id of 32 characters", [record(`v=STSv1; id=${"a".repeat(32)}`)], "a".repeat(32)],
  // Courier reads only the first string and finds no id (D2).
  ["strings concatenated", [record("v=STSv1; ", "id=multi1")], "multi1"],
  // Courier: "a1".
  ["a later string continues the id", [record("v=STSv1; id=a1", "x")], "a1x"],
  [
    "an unrelated record next to it",
    [record("hello world"), record("v=STSv1; id=ok10")],
    "ok10",
  ],
  ["not STS: v=STSv1x", [record("v=STSv1x; id=1"), record("v=STSv1; id=2")], "2"],
  ["no records", [], /^no TXT record$/],
  ["only unrelated records", [record("spf"), record("x")], /^none of the 2 TXT records/],
  [
    "upper-case V",
    [record("V=STSv1; id=case")],
    /does not begin .*ignored: "V=STSv1; id=case"/,
  ],
  // Courier: "sp1".
  ["leading white space", [record("  v=STSv1; id=sp1")], /does not begin with "v=STSv1;"/],
  ["id first", [record("id=first; v=STSv1")], /does not begin/],
  [
    "two STS records",
    [record("v=STSv1;id=rec1"), record("v=STSv1;id=rec2")],
    /^2 TXT records begin with "v=STSv1;", RFC 8461 §3.1 requires exactly one$/,
  ],
  ["two STS records, one invalid", [record("v=STSv1;id=a"), record("v=STSv1; x")], /^2 TXT/],
  // Courier finds no id (D28).
  ["a stray v=STSv1 next to a valid record", [record("v=STSv1"), record("v=STSv1;id=a")], "a"],
  ["a record without ; next to a valid one", [record("v=STSv1;id=a"), record("v=STSv1 id=b")], "a"],
  // RFC 8461 §3.1: records that do not begin with "v=STSv1;" are discarded (D28).
  ["version only", [record("v=STSv1")], /^the only TXT record does not begin .*"v=STSv1"\)$/],
  ["version and ;", [record("v=STSv1;")], /"v=STSv1;": no id field/],
  ["no id", [record("v=STSv1; ext=1")], /no id field/],
  // Courier: empty id.
  ["an empty id", [record("v=STSv1; id=")], /id "" is not 1-32 letters or digits/],
  ["a hyphen in the id", [record("v=STSv1; id=ab-1")], /id "ab-1" is not/],
  ["an id of 33 characters", [record(`v=STSv1; id=${"a".repeat(33)}`)], /is not 1-32/],
  // RFC 8461 §3.2: the first of a repeated field counts (D27; Courier finds no id).
  ["two ids", [record("v=STSv1;id=two1;id=two2")], "two1"],
  ["a repeated id not of letters and digits", [record("v=STSv1;id=a;id=b-c")], "a"],
  ["a repeated empty id", [record("v=STSv1;id=a;id=")], /field "id=" is not name=value/],
  ["an invalid first id", [record("v=STSv1;id=a-b;id=c")], /id "a-b" is not/],
  ["an empty field", [record("v=STSv1 ;; id=sp1")], /empty field between two ";"/],
  ["no ; after the version", [record("v=STSv1 id=x")], /does not begin with "v=STSv1;"/],
  ["a field without =", [record("v=STSv1; id=x; junk")], /field "junk" is not name=value/],
  ["a NUL in the id", [record("v=STSv1; id=a\0b")], /id "a\\x00b" is not/],
  ["a non-ASCII byte", [[Uint8Array.of(...bytes("v=STSv1; id=x; e="), 0xe9)]], /"e=\\xe9"/],
];

for (const [name, records, expected] of CASES) {
  const verdict = expected instanceof RegExp ? "no policy" : `id ${expected}`;
  Deno.test(`parseStsRecords() gives ${verdict} for ${name}`, () => {
    const result = parseStsRecords(records);
    if (expected instanceof RegExp) {
      assert.equal(result.found, false, JSON.stringify(result));
      if (!result.found) assert.match(result.reason, expected);
    } else {
      assert.equal(result.found ? result.id : result.reason, expected);
    }
  });
}

Deno.test("parseStsRecords() returns the record text, strings joined", () => {
  assert.deepEqual(parseStsRecords([record("v=STSv1; ", "id=x")]), {
    found: true,
    id: "x",
    record: "v=STSv1; id=x",
    warnings: [],
  });
});

// [case, records, warnings]. The id is found in every case.
const WARNED: [string, Uint8Array[][], string[]][] = [
  ["a repeated id (D27)", [record("v=STSv1; id=first; id=second")], [
    'TXT record "v=STSv1; id=first; id=second" repeats "id"; the first, "first", counts ' +
    "(RFC 8461 §3.2)",
  ]],
  ["white space after the last field (D29)", [record("v=STSv1; id=first ")], [
    'white space after the last field of TXT record "v=STSv1; id=first ", which RFC 8461 §3.1 ' +
    "does not allow",
  ]],
  [
    "a discarded record that looks like one (D28)",
    [record("v=STSv1"), record("v=STSv1;id=first")],
    [
      'TXT record "v=STSv1" ignored: it does not begin with "v=STSv1;" (RFC 8461 §3.1)',
    ],
  ],
  ["an upper-case V next to a valid record", [record("v=STSv1;id=first"), record("V=STSv1;id=x")], [
    'TXT record "V=STSv1;id=x" ignored: it does not begin with "v=STSv1;" (RFC 8461 §3.1)',
  ]],
];

for (const [name, records, warnings] of WARNED) {
  Deno.test(`parseStsRecords() finds the id and warns for ${name}`, () => {
    const result = parseStsRecords(records);
    assert.equal(result.found && result.id, "first");
    assert.deepEqual(result.found && result.warnings, warnings);
  });
}

Deno.test("parseStsRecords() does not warn for white space after a final ; or around ;", () => {
  for (const text of ["v=STSv1; id=first; ", "v=STSv1 ;\tid=first\t;\t", "v=STSv1;id=first"]) {
    assert.deepEqual(parseStsRecords([record(text)]), {
      found: true,
      id: "first",
      record: text,
      warnings: [],
    });
  }
});

Deno.test("parseStsRecords() explains an invalid record with RFC 8461 §3.1", () => {
  assert.deepEqual(parseStsRecords([record("v=STSv1; id=ab-1")]), {
    found: false,
    reason: 'invalid STS record "v=STSv1; id=ab-1": id "ab-1" is not 1-32 letters or digits ' +
      "(RFC 8461 §3.1)",
    published: true,
  });
});

// Found by the growth target of scripts/fuzz.ts: trimming such a field took seconds.
Deno.test("parseStsRecords() trims only the ends of a field with 60,000 blanks inside", () => {
  const inner = " \t".repeat(30_000);
  const text = `v=STSv1; id=1; a=${inner}b ${inner}`;
  const strings = Array.from(
    { length: Math.ceil(text.length / 255) },
    (_, i) => text.slice(i * 255, i * 255 + 255),
  );
  const result = parseStsRecords([record(...strings)]);
  assert.equal(result.found, false);
  assert.equal(
    !result.found && result.reason,
    `invalid STS record ${quote(text, 100)}: field ${quote(`a=${inner}`, 100)} is not ` +
      "name=value (RFC 8461 §3.1)",
  );
});

Deno.test("parseStsRecords() tells a domain without any STS record from a broken one", () => {
  const none = parseStsRecords([record("hello world")]);
  assert.equal(none.found === false && none.published, false);
  const near = parseStsRecords([record("V=STSv1; id=case")]);
  assert.equal(near.found === false && near.published, true);
  const two = parseStsRecords([record("v=STSv1; id=a"), record("v=STSv1; id=b")]);
  assert.equal(two.found === false && two.published, true);
});
