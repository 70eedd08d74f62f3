import assert from "node:assert/strict";
import { LineSet, ResumeFileError, scanResume } from "../../lib/lookup/resume.ts";

const encode = (text: string) => new TextEncoder().encode(text);

async function scan(chunks: string[]) {
  return await scanResume(ReadableStream.from(chunks.map(encode)));
}

Deno.test("scanResume() collects the reported line numbers across chunk borders", async () => {
  const state = await scan(['{"line":1,"domain":"a"}\n{"li', 'ne":3}\n', '{"line":7}\n']);
  assert.deepEqual([1, 2, 3, 4, 7].map((n) => state.done.has(n)), [true, false, true, false, true]);
  assert.equal(state.done.size, 3);
  assert.equal(
    state.completeBytes,
    encode('{"line":1,"domain":"a"}\n{"line":3}\n{"line":7}\n').length,
  );
});

Deno.test("scanResume() drops a torn last line: its bytes are not complete and its line not done", async () => {
  const state = await scan(['{"line":1}\n{"line":2', ',"dom']);
  assert.equal(state.done.has(1), true);
  assert.equal(state.done.has(2), false);
  assert.equal(state.completeBytes, '{"line":1}\n'.length);
});

Deno.test("scanResume() of an empty file: nothing done", async () => {
  const state = await scan([]);
  assert.equal(state.done.size, 0);
  assert.equal(state.completeBytes, 0);
});

Deno.test("scanResume() refuses a file that is not --batch output, naming the line", async () => {
  await assert.rejects(scan(['{"line":1}\nhello\n']), (error) => {
    assert.ok(error instanceof ResumeFileError);
    assert.equal(error.fileLine, 2);
    assert.match(error.message, /Line 2 is not JSON/);
    return true;
  });
  for (const bad of ['{"domain":"x"}\n', '{"line":0}\n', '{"line":1.5}\n', "[1]\n", "null\n"]) {
    await assert.rejects(scan([bad]), { name: "ResumeFileError", fileLine: 1 }, bad);
  }
});

Deno.test("LineSet grows as needed and counts distinct lines", () => {
  const set = new LineSet();
  for (const n of [1, 1, 9, 100_000, 3]) set.add(n);
  assert.equal(set.size, 4);
  assert.equal(set.has(100_000), true);
  assert.equal(set.has(99_999), false);
  assert.equal(set.has(10_000_000), false);
});
