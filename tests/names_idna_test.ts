import assert from "node:assert/strict";
import { domainToASCII, domainToUnicode } from "node:url";
import { domainToAscii, labelToUnicode } from "../lib/names.ts";

Deno.test("domainToAscii() maps U-labels and case as UTS #46 does", () => {
  const table: [string, string][] = [
    ["bücher.test", "xn--bcher-kva.test"],
    ["MÜNCHEN.test", "xn--mnchen-3ya.test"],
    ["XN--BCHER-KVA.test", "xn--bcher-kva.test"],
    ["faß.de", "xn--fa-hia.de"],
    ["ａｂｃ。test", "abc.test"],
    ["１２７.０.０.１", "127.0.0.1"],
    ["a.09", "a.09"],
    ["a..b.", "a..b."],
    ["xn--zz.test", ""],
    ["a\u200db.test", ""],
    ["bücher/x.test", ""],
  ];
  for (const [name, want] of table) assert.equal(domainToAscii(name), want, name);
});

Deno.test("labelToUnicode() decodes valid A-labels only", () => {
  assert.equal(labelToUnicode("xn--bcher-kva"), "bücher");
  assert.equal(labelToUnicode("XN--MNCHEN-3YA"), "münchen");
  assert.equal(labelToUnicode("xn--zca"), "ß");
  for (const bad of ["xn--zz", "xn--", "xn--abc-", "xn--a", "bücher", "xn--bcher-kva.test"]) {
    assert.equal(labelToUnicode(bad), undefined, bad);
  }
});

// Found by the growth target of scripts/fuzz.ts: a long A-label (a `locals` line, a policy mx
// value) took time quadratic in its length to decode, and past 100,000 characters overflowed
// the stack.
Deno.test("labelToUnicode() refuses an A-label over 63 octets, which no DNS name holds", () => {
  const longest = domainToAscii(`\u00fc${"a".repeat(55)}`);
  assert.equal(longest.length, 63);
  assert.equal(labelToUnicode(longest), `\u00fc${"a".repeat(55)}`);
  const over = domainToAscii(`\u00fc${"a".repeat(56)}`);
  assert.equal(over.length, 64);
  assert.equal(labelToUnicode(over), undefined);
  assert.equal(labelToUnicode(`xn--${"ab".repeat(70_000)}-aaa`), undefined);
});

// node:url is what these replace (README.md#speed): seeded random names over the characters that
// matter, the same results wherever node:url's result is a possible host name.
Deno.test("domainToAscii() and labelToUnicode() agree with node:url on random input", () => {
  const parts = [
    "a",
    "Z",
    "0",
    "-",
    "_",
    ".",
    "ü",
    "Ü",
    "ß",
    "ς",
    "e\u0301",
    "\u0301",
    "xn--",
    "1",
    "127",
    ",",
    "\u3002",
    "\uff0e",
    "\uff10",
    "\u200d",
    "\u0627",
    "\u05d0",
    "💩",
    "\u00ad",
    "ﬁ",
    "Ⅻ",
    "\u0661",
  ];
  let seed = 46;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let round = 0; round < 5000; round++) {
    let name = "";
    for (let n = 1 + random(8); n > 0; n--) name += parts[random(parts.length)];
    const ascii = domainToASCII(name);
    assert.equal(domainToAscii(name), ascii, JSON.stringify(name));
    for (const label of ascii.split(".").filter((l) => l.startsWith("xn--"))) {
      const unicode = domainToUnicode(label);
      const want = unicode === "" || unicode.includes("\uFFFD") ? undefined : unicode;
      assert.equal(labelToUnicode(label), want, label);
      // A corrupted A-label decodes as node:url decodes it, or not at all.
      const cut = label.slice(0, -1);
      const cutUnicode = domainToUnicode(cut);
      const cutWant = cutUnicode === "" || cutUnicode.includes("\uFFFD") || /^xn--/.test(cutUnicode)
        ? undefined
        : cutUnicode;
      assert.equal(labelToUnicode(cut), cutWant, cut);
    }
  }
});
