// A plain lookup must not pay for the probe: node:net, node:tls and node:crypto (Deno's Node
// layer, ~16 ms) load only when a probe runs, through dynamic imports.
import assert from "node:assert/strict";

Deno.test("lib/probe imports no node: module statically", async () => {
  const dir = new URL("../../lib/probe/", import.meta.url);
  let files = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".ts")) continue;
    files++;
    const text = await Deno.readTextFile(new URL(entry.name, dir));
    // Code only: JSDoc examples (lines starting with " *") may import node:assert.
    const code = text.split("\n").filter((line) => !/^\s*\*/.test(line)).join("\n");
    assert.doesNotMatch(code, /^\s*import\s[^;]*?from\s+["']node:/m, entry.name);
    assert.doesNotMatch(code, /^\s*import\s+["']node:/m, entry.name);
  }
  assert.ok(files >= 10);
});
