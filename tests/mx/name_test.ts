import assert from "node:assert/strict";
import { nameProblem, parseTarget } from "../../lib/mx/name.ts";

const targets: [string, string | undefined, ReturnType<typeof parseTarget>][] = [
  ["example.test", undefined, { kind: "name", name: "example.test", display: "example.test" }],
  ["MiXeD.Case.Test", undefined, {
    kind: "name",
    name: "MiXeD.Case.Test",
    display: "MiXeD.Case.Test",
  }],
  ["dotless", "world.test", {
    kind: "name",
    name: "dotless.world.test",
    display: "dotless.world.test",
  }],
  ["dotless", undefined, { kind: "name", name: "dotless", display: "dotless" }],
  ["dotless.", "world.test", { kind: "name", name: "dotless", display: "dotless" }],
  ["trail.test.", undefined, { kind: "name", name: "trail.test", display: "trail.test" }],
  // The empty name is the root, asked as Courier asks it ("" without a default domain, ".").
  ["", undefined, { kind: "name", name: "", display: "" }],
  [".", "world.test", { kind: "name", name: "", display: "" }],
  [",25", undefined, { kind: "name", name: "", display: "" }],
  [".,25", "world.test", { kind: "name", name: "", display: "" }],
  ["a.", "world.test", { kind: "name", name: "a", display: "a" }],
  ["add.test,587", undefined, { kind: "name", name: "add.test", display: "add.test" }],
  ["bücher.test", undefined, {
    kind: "name",
    name: "xn--bcher-kva.test",
    display: "bücher.test",
  }],
  ["xn--bcher-kva.test", undefined, {
    kind: "name",
    name: "xn--bcher-kva.test",
    display: "xn--bcher-kva.test",
  }],
  ["[192.0.2.1]", undefined, {
    kind: "literal",
    host: "[192.0.2.1]",
    address: new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 192, 0, 2, 1]),
  }],
  ["[::1]", undefined, {
    kind: "literal",
    host: "[::1]",
    address: new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
  }],
];

for (const [arg, defaultDomain, expected] of targets) {
  Deno.test(`parseTarget() reads "${arg}" with default domain ${defaultDomain}`, () => {
    assert.deepEqual(parseTarget(arg, defaultDomain), expected);
  });
}

const invalid: [string, "hard" | "internal"][] = [
  ["192.0.2.1", "hard"],
  ["1", "hard"],
  ["::1", "hard"],
  ["[192.0.2.1", "hard"],
  ["[bogus]", "hard"],
  ["[1.2.3.4]x]", "hard"],
  ["a..b.test", "internal"],
  // Leading dots stay: an empty first label, as in Courier 1.0.16.
  ["..lead.test", "internal"],
  [".two-mx.test", "internal"],
  [".a.", "internal"],
  ["..", "internal"],
  ["a..", "internal"],
  [`${"a".repeat(64)}.test`, "internal"],
  [`${"abcdefghi.".repeat(26)}test`, "internal"],
];

for (const [arg, outcome] of invalid) {
  Deno.test(`parseTarget() refuses "${arg.slice(0, 40)}" as ${outcome} before any query`, () => {
    const target = parseTarget(arg);
    assert.equal(target.kind, "invalid");
    assert.equal(target.kind === "invalid" && target.outcome, outcome);
    assert.ok(target.kind === "invalid" && target.reason.length > 0);
  });
}

Deno.test("nameProblem() allows 63-octet labels and 255 octets on the wire", () => {
  assert.equal(nameProblem(`${"a".repeat(63)}.test`), undefined);
  const name = ["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61)].join(".");
  assert.equal(name.length, 253);
  assert.equal(nameProblem(name), undefined);
  assert.match(nameProblem(`${name}e`)!, /255 octets/);
});

Deno.test("parseTarget() completes the empty name with the default domain, which leaves an empty label", () => {
  for (const arg of ["", ",25"]) {
    const target = parseTarget(arg, "world.test");
    assert.equal(target.kind, "invalid", arg);
    assert.equal(target.kind === "invalid" && target.outcome, "internal", arg);
    assert.equal(target.kind === "invalid" && target.reason, `".world.test" has an empty label`);
  }
});

Deno.test("nameProblem() lets the root (the empty name) through and refuses other empty labels", () => {
  assert.equal(nameProblem(""), undefined);
  assert.match(nameProblem(".")!, /empty label/);
  assert.match(nameProblem(".a.test")!, /empty label/);
});
