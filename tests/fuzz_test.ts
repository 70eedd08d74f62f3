// The short fuzz run of CI: every target of scripts/fuzz.ts with a small count and the default
// seed, so that a crash found by `deno task fuzz` and fixed stays fixed. The inputs that
// crashed once are replayed by index, whatever the count.
import assert from "node:assert/strict";
import { decodeEntry, encodeEntry } from "../lib/sts/cache_file.ts";
import { DEFAULT_SEED, runTarget, TARGETS } from "../scripts/fuzz.ts";

/** Inputs of the short run: a thousandth of the full one, at least 200. */
function shortCount(full: number): number {
  return Math.max(200, Math.round(full / 1000));
}

for (const target of TARGETS) {
  Deno.test(`fuzz target ${target.name}: ${shortCount(target.count)} inputs, no crash or hang`, () => {
    const result = runTarget(target, { seed: DEFAULT_SEED, count: shortCount(target.count) });
    assert.equal(result.runs, shortCount(target.count));
    assert.deepEqual(result.crashes, []);
    assert.deepEqual(result.hangs, []);
  });
}

// Regressions found by the fuzzer: [target, seed, index] of the input that crashed.
const FOUND: [string, number, number][] = [
  // An id byte 0x80-0x9F read back through windows-1252 ("latin1" in TextDecoder).
  ["cache-roundtrip", DEFAULT_SEED, 27],
];

for (const [name, seed, index] of FOUND) {
  Deno.test(`fuzz target ${name}: input ${index} of seed ${seed} passes`, () => {
    const target = TARGETS.find((t) => t.name === name)!;
    const result = runTarget(target, { seed, count: 1, from: index });
    assert.deepEqual(result.crashes, []);
  });
}

Deno.test("decodeEntry() reads back every id byte encodeEntry() writes, 0x80-0x9F included", () => {
  const id = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i))
    .replace(/[: \r\n]/g, "");
  const entry = decodeEntry(encodeEntry(id, "version: STSv1\n"));
  assert.equal(entry.valid && entry.id, id);
});
