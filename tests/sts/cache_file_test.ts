import assert from "node:assert/strict";
import {
  COURIER_STUB_POLICY,
  decodeEntry,
  DEFAULT_CACHE_SIZE,
  encodeEntry,
  formatCacheSize,
  overridePolicy,
  parseCacheSize,
} from "../../lib/sts/cache_file.ts";

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text);
const latin1 = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const POLICY = "version: STSv1\nmode: enforce\nmx: *.sts.test\nmax_age: 86400\n";
// Written by Courier 1.0.16 (docs/courier.md#cache-file-format, 72 bytes).
const COURIER_FILE = "1\nid:abc123\n\n" + POLICY;

Deno.test("decodeEntry() reads the file Courier wrote", () => {
  assert.equal(COURIER_FILE.length, 72);
  assert.deepEqual(decodeEntry(bytes(COURIER_FILE)), {
    valid: true,
    id: "abc123",
    policy: POLICY,
    stub: false,
  });
});

Deno.test("encodeEntry() writes the bytes Courier writes", () => {
  assert.deepEqual(encodeEntry("abc123", POLICY), bytes(COURIER_FILE));
});

Deno.test("encodeEntry() and decodeEntry() round-trip an empty id and UTF-8 text", () => {
  const policy = "version: STSv1\ninfo: grüße\n";
  const decoded = decodeEntry(encodeEntry("", policy));
  assert.deepEqual(decoded, { valid: true, id: "", policy, stub: false });
});

Deno.test("encodeEntry() refuses ids that would not read back the same", () => {
  for (const id of ["a:b", "a b", "a\nb", "a\rb", "€"]) {
    assert.throws(() => encodeEntry(id, POLICY), RangeError, id);
  }
  assert.throws(() => encodeEntry("x", ""), RangeError);
});

// [case, file text, id or the reason it is invalid].
const HEADERS: [string, string, string | RegExp][] = [
  ["an empty id", "1\nid:\n\nx", ""],
  ["a later id line", "1\nid:a\nid:b\n\nx", "b"],
  ["other header lines", "1\nfoo:bar\nid:a\ntempfail\n\nx", "a"],
  ["a space before the colon", "1\nid :a\n\nx", "a"],
  ["leading colons and spaces", "1\n: id: a\n\nx", "a"],
  ["an id with a colon (Courier's round-trip loss)", "1\nid:a:b\n\nx", "a"],
  ["a CR after the id", "1\nid:a\r\n\nx", "a"],
  ["idx is not id", "1\nidx:1\n\nx", /no id line/],
  ["id without colon or value", "1\nid\n\nx", /no id line/],
  [
    "a torn file",
    "0\nid:a\n\nx",
    /^first line is "0", not "1" \(written by Courier right now, or torn/,
  ],
  ["a first line with more", "1 \nid:a\n\nx", /^first line is "1 ", not "1"$/],
  ["an empty file", "", /^the file is empty$/],
  ["no header end", "1\nid:a\n", /does not end in an empty line/],
  ["no id", "1\n\nx", /no id line/],
  ["an empty policy", "1\nid:a\n\n", /^the policy is empty$/],
];

for (const [name, text, expected] of HEADERS) {
  Deno.test(`decodeEntry() handles ${name}`, () => {
    const decoded = decodeEntry(latin1(text));
    if (typeof expected === "string") {
      assert.ok(decoded.valid, JSON.stringify(decoded));
      assert.equal(decoded.id, expected);
    } else {
      assert.ok(!decoded.valid);
      assert.match(decoded.reason, expected);
    }
  });
}

Deno.test("decodeEntry() recognises Courier's stub by its exact text", () => {
  const file = bytes("1\nid:stub1\n\n" + COURIER_STUB_POLICY);
  assert.equal(COURIER_STUB_POLICY.length, 216);
  assert.equal(file.length, 228);
  assert.deepEqual(decodeEntry(file), {
    valid: true,
    id: "stub1",
    policy: COURIER_STUB_POLICY,
    stub: true,
  });
  const edited = decodeEntry(bytes("1\nid:stub1\n\n" + COURIER_STUB_POLICY + "x: y\n"));
  assert.ok(edited.valid && !edited.stub);
});

const OVERRIDE_TAIL = (mode: string) =>
  "info: this policy has been manually overridden, as follows\n" +
  'info: use "testmxlookup --sts-purge sts.test" to restore the default policy:\n' +
  `mode: ${mode}\n`;

Deno.test("overridePolicy() rewrites a policy as Courier does", () => {
  assert.equal(
    overridePolicy(POLICY, "testing", "sts.test"),
    "version: STSv1\nmx: *.sts.test\nmax_age: 86400\n" + OVERRIDE_TAIL("testing"),
  );
});

Deno.test("overridePolicy() replaces an earlier override", () => {
  const once = overridePolicy(POLICY, "testing", "sts.test");
  assert.equal(
    overridePolicy(once, "none", "sts.test"),
    overridePolicy(POLICY, "none", "sts.test"),
  );
});

Deno.test("overridePolicy() adds the missing final line break", () => {
  assert.equal(
    overridePolicy("version: STSv1\nmode: enforce\nmax_age: 1", "none", "sts.test"),
    "version: STSv1\nmax_age: 1\n" + OVERRIDE_TAIL("none"),
  );
});

Deno.test("overridePolicy() drops blank and indented mode lines so both parsers see the new mode (S20)", () => {
  const policy = "version: STSv1\n mode: enforce\n\nmx: a.test\n\t\ninfo: x\nmax_age: 1";
  assert.equal(
    overridePolicy(policy, "none", "sts.test"),
    "version: STSv1\nmx: a.test\nmax_age: 1\n" + OVERRIDE_TAIL("none"),
  );
});

Deno.test("overridePolicy() refuses an argument with a line break", () => {
  assert.throws(() => overridePolicy(POLICY, "none", "a\nmode: enforce"), RangeError);
});

// [file text or undefined when missing, size, warning pattern or undefined].
const SIZES: [string | undefined, number, RegExp | undefined][] = [
  [undefined, DEFAULT_CACHE_SIZE, undefined],
  ["", 1000, undefined],
  ["5\n", 5, undefined],
  ["0\n", 0, undefined],
  ["007\n", 7, undefined],
  [" 12 \r\n", 12, undefined],
  ["5\nignored second line\n", 5, undefined],
  [" 3junk\n", 3, /holds " 3junk", read as 3$/],
  ["+4", 4, /holds "\+4", read as 4$/],
  ["junk\n", 0, /holds "junk", not a number: STS is off$/],
  ["\n", 0, /holds "", not a number/],
  ["-5\n", 0, /holds a negative number "-5": STS is off$/],
  ["99999999999\n", 0, /holds "99999999999", too large a number: STS is off$/],
];

for (const [text, size, warning] of SIZES) {
  Deno.test(`parseCacheSize() reads ${JSON.stringify(text)} as ${size}${warning ? " with a warning" : ""}`, () => {
    const result = parseCacheSize(text, "/d/.cache_size");
    assert.equal(result.size, size);
    if (warning === undefined) assert.equal(result.warning, undefined);
    else {assert.match(
        result.warning ?? "",
        new RegExp('^"/d/.cache_size" ' + warning.source.replace(/^\^/, "")),
      );}
  });
}

Deno.test("formatCacheSize() writes <n>\\n for 0 to 999999 only", () => {
  assert.equal(formatCacheSize(0), "0\n");
  assert.equal(formatCacheSize(999999), "999999\n");
  for (const bad of [-1, 1000000, 1.5, NaN]) assert.throws(() => formatCacheSize(bad), RangeError);
});
