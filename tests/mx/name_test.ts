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
  ["..lead.test", undefined, { kind: "name", name: "lead.test", display: "lead.test" }],
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
