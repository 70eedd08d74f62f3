import assert from "node:assert/strict";
import { matchingNames, nameMatches } from "../../lib/probe/name_match.ts";

Deno.test("nameMatches() follows RFC 6125: exact, case-insensitive, one-label wildcards only", () => {
  const table: Array<[string, string, boolean]> = [
    ["mx.example.com", "mx.example.com", true],
    ["MX.Example.COM", "mx.example.com", true],
    ["mx.example.com.", "mx.example.com", true],
    ["mx.example.com", "mx.example.com.", true],
    ["*.example.com", "mx.example.com", true],
    ["*.example.com", "a.b.example.com", false],
    ["*.example.com", "example.com", false],
    ["*.com", "example.com", false],
    ["m*.example.com", "mx.example.com", false],
    ["*x.example.com", "mx.example.com", false],
    ["mx.*.com", "mx.example.com", false],
    ["*.*.com", "a.b.com", false],
    ["", "mx.example.com", false],
    ["other.example.com", "mx.example.com", false],
    ["example.com", "mx.example.com", false],
  ];
  for (const [pattern, host, expected] of table) {
    assert.equal(nameMatches(pattern, host), expected, `${pattern} vs ${host}`);
  }
});

Deno.test("matchingNames() keeps the names valid for the host, in order", () => {
  assert.deepEqual(
    matchingNames(["a.b.example", "*.b.example", "mx.b.example", "mx.other"], "mx.b.example"),
    ["*.b.example", "mx.b.example"],
  );
});
