import assert from "node:assert/strict";
import { matchesMx } from "../../lib/sts/match.ts";

// [host, pattern, matches]. Courier's verdict (docs/courier.md#mx-matching) is noted where ours
// differs.
const CASES: [string, string, boolean][] = [
  // RFC 8461 §4.1.
  ["mail.example.com", "mail.example.com", true],
  ["mx1.example.com", "*.example.com", true],
  ["example.com", "*.example.com", false],
  ["a.b.example.com", "*.example.com", false], // Courier: true (S11)
  // Case and trailing dots (D7).
  ["MX.Example.COM", "mx.example.com", true],
  ["mx.example.com", "MX.EXAMPLE.COM", true],
  ["mx.example.com", "mx.example.com.", true], // Courier: false (S12)
  ["mx.example.com.", "mx.example.com", true],
  ["MX1.EXAMPLE.COM.", "*.Example.Com.", true],
  ["mx.example.com", "*.EXAMPLE.com", true],
  // Not wildcards.
  ["mx.example.com", ".example.com", false], // Courier: true
  ["example.com", ".example.com", false],
  ["mx.example.com", "*example.com", false],
  ["mx.example.com", "mx.*.com", false],
  ["mx.example.com", "*", false],
  ["mx.example.com", "*.", false],
  ["mx.example.com", "", false],
  ["mx.example.com", "*.*.com", false],
  // Near misses.
  ["mx.example.com", "example.com", false],
  ["mxexample.com", "*.example.com", false],
  ["mx.example.com.evil", "*.example.com", false],
  ["mx.example.co", "*.example.com", false],
  // One label is one label, even under a public suffix.
  ["example.com", "*.com", true],
  ["a.example.com", "*.com", false],
  ["localhost", "*.localhost", false],
  // IDN: U-labels and A-labels are the same name (D15).
  ["bücher.example", "xn--bcher-kva.example", true],
  ["xn--bcher-kva.example", "bücher.example", true],
  ["mx.bücher.example", "*.xn--bcher-kva.example", true],
  ["MX.XN--BCHER-KVA.EXAMPLE", "*.Bücher.Example", true],
  ["xn--mnchen-3ya.example", "*.example", true],
  ["bücher.example", "bucher.example", false],
  // U-label patterns and "_" match, though parsePolicy warns about them (D30).
  ["xn--bcher-kva.example", "Bücher.example", true],
  ["mail_1.example.com", "mail_1.example.com", true],
  ["a.mail_1.example.com", "*.mail_1.example.com", true],
  // IP addresses never match (the policy warns about them).
  ["192.0.2.1", "192.0.2.1", false],
  ["192.0.2.1", "*.0.2.1", false],
  ["2001:db8::1", "2001:db8::1", false],
  // Names that are not host names match nothing.
  ["a..example.com", "*.example.com", false],
  ["", "", false],
];

for (const [host, pattern, expected] of CASES) {
  Deno.test(`matchesMx() ${expected ? "matches" : "does not match"} ${JSON.stringify(host)} with ${JSON.stringify(pattern)}`, () => {
    assert.equal(matchesMx(host, [pattern]), expected);
  });
}

Deno.test("matchesMx() matches when any pattern matches, and never with none", () => {
  assert.equal(matchesMx("mx2.a.test", ["mx1.a.test", "192.0.2.1", "*.a.test"]), true);
  assert.equal(matchesMx("mx2.a.test", ["mx1.a.test", "mx3.a.test"]), false);
  assert.equal(matchesMx("mx2.a.test", []), false);
});
