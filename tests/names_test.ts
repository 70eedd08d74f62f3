import assert from "node:assert/strict";
import fc from "fast-check";
import { domainToAscii } from "../lib/names.ts";
import {
  displayName,
  domaincmpName,
  nameKey,
  policyName,
  sameName,
  wireName,
} from "../lib/names.ts";

// Each form of one name, side by side: [input, wire, key, policy, display, domaincmp].
const FORMS: [string, string | undefined, string, string | undefined, string, string][] = [
  ["mx.test", "mx.test", "mx.test", "mx.test", "mx.test", "mx.test"],
  ["MX.Test.", "MX.Test.", "mx.test", "mx.test", "MX.Test.", "mx.test."],
  ["a..b.test", "a..b.test", "a.b.test", undefined, "a..b.test", "a..b.test"],
  [
    "xn--bcher-kva.IDN.test",
    "xn--bcher-kva.IDN.test",
    "xn--bcher-kva.idn.test",
    "xn--bcher-kva.idn.test",
    "bücher.IDN.test",
    "bücher.idn.test",
  ],
  [
    "XN--BCHER-KVA.test",
    "XN--BCHER-KVA.test",
    "xn--bcher-kva.test",
    "xn--bcher-kva.test",
    "bücher.test",
    "bücher.test",
  ],
  [
    "MÜNCHEN.test",
    "xn--mnchen-3ya.test",
    "mÜnchen.test",
    "xn--mnchen-3ya.test",
    "MÜNCHEN.test",
    "münchen.test",
  ],
  // An A-label that does not decode: kept in every form; policyName refuses the name.
  ["xn--zz.test", "xn--zz.test", "xn--zz.test", undefined, "xn--zz.test", "xn--zz.test"],
  // One good and one bad A-label: display decodes what it can, domaincmp all or nothing.
  [
    "xn--bcher-kva.xn--zz.test",
    "xn--bcher-kva.xn--zz.test",
    "xn--bcher-kva.xn--zz.test",
    undefined,
    "bücher.xn--zz.test",
    "xn--bcher-kva.xn--zz.test",
  ],
  [
    "_mta-sts.Example.COM",
    "_mta-sts.Example.COM",
    "_mta-sts.example.com",
    "_mta-sts.example.com",
    "_mta-sts.Example.COM",
    "_mta-sts.example.com",
  ],
  ["a/b.test", "a/b.test", "a/b.test", undefined, "a/b.test", "a/b.test"],
  ["", "", "", undefined, "", ""],
  [".", ".", "", undefined, ".", "."],
  [".lead.test", ".lead.test", ".lead.test", undefined, ".lead.test", ".lead.test"],
  [
    "bad\u2024dot.test",
    undefined,
    "bad\u2024dot.test",
    undefined,
    "bad\u2024dot.test",
    "bad\u2024dot.test",
  ],
];

for (const [input, wire, key, policy, display, domaincmp] of FORMS) {
  Deno.test(`names: the forms of ${JSON.stringify(input)}`, () => {
    assert.equal(wireName(input.replace(/\.$/, "")), wire?.replace(/\.$/, ""), "wireName");
    assert.equal(nameKey(input), key, "nameKey");
    assert.equal(policyName(input), policy, "policyName");
    assert.equal(displayName(input), display, "displayName");
    assert.equal(domaincmpName(input), domaincmp, "domaincmpName");
  });
}

Deno.test("nameKey() returns a name needing no folding as it is", () => {
  const name = "mx1.example.test";
  assert.equal(nameKey(name), name);
  assert.equal(nameKey("MX1..Example.TEST."), name);
});

Deno.test("nameKey() folds ASCII letters only (RFC 4343 §3)", () => {
  assert.equal(nameKey("ÄB.test"), "Äb.test");
  assert.equal(sameName("\u212Aelvin.test", "kelvin.test"), false);
});

Deno.test("sameName() treats case, runs of dots and a trailing dot as the same name", () => {
  const table: [string, string, boolean][] = [
    ["mx.test", "mx.test", true],
    ["MX.TEST", "mx.test.", true],
    ["mx..test", "mx.test", true],
    ["mx.test", "mx.test2", false],
    ["", ".", true],
    ["mx.test", "mx-test", false],
  ];
  for (const [a, b, same] of table) assert.equal(sameName(a, b), same, `${a} ${b}`);
});

Deno.test("policyName() refuses labels over 63 octets and names over 253", () => {
  assert.equal(policyName(`${"a".repeat(63)}.test`), `${"a".repeat(63)}.test`);
  assert.equal(policyName(`${"a".repeat(64)}.test`), undefined);
  const name = ["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61)].join(".");
  assert.equal(policyName(name), name);
  assert.equal(policyName(`${name}e`), undefined);
  assert.equal(policyName("-lead.test"), undefined);
  assert.equal(policyName("Bücher.Example."), "xn--bcher-kva.example");
});

/** The policy form as it was computed before its ASCII fast path: always through UTS #46. */
function policyNameThroughIdna(name: string): string | undefined {
  const ascii = domainToAscii(name.endsWith(".") ? name.slice(0, -1) : name);
  if (ascii === "" || ascii.length > 253) return undefined;
  const label = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
  return ascii.split(".").every((l) => label.test(l)) ? ascii : undefined;
}

Deno.test("policyName() gives what UTS #46 gives for any name of host-name characters", () => {
  const chars = fc.constantFrom(..."aZ9_-.xn".split(""), "xn--", "XN--", "xn--bcher-kva", "1");
  fc.assert(
    fc.property(fc.array(chars, { maxLength: 30 }).map((a) => a.join("")), (name) => {
      assert.equal(policyName(name), policyNameThroughIdna(name), JSON.stringify(name));
    }),
    { numRuns: 2000, seed: 12 },
  );
  for (const name of ["127.0.0.1", "a.09", "1.2.3", "x.0x1f", "MX.Example.COM."]) {
    assert.equal(policyName(name), policyNameThroughIdna(name), name);
  }
});

Deno.test("sameName() agrees with comparing nameKey() for any pair of names", () => {
  const name = fc.array(fc.constantFrom(..."aAzZ.é-"), { maxLength: 8 }).map((a) => a.join(""));
  fc.assert(
    fc.property(name, name, (a, b) => {
      assert.equal(sameName(a, b), nameKey(a) === nameKey(b), `${a} ${b}`);
    }),
    { numRuns: 5000, seed: 20 },
  );
});
