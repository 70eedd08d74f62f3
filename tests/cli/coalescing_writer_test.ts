import assert from "node:assert/strict";
import { CoalescingWriter } from "../../lib/cli/_coalescing_writer.ts";

/** A sink whose writes finish only when the test says so. */
function manualSink() {
  const calls: string[] = [];
  const finish: Array<(error?: Error) => void> = [];
  const sink = (text: string) =>
    new Promise<void>((resolve, reject) => {
      calls.push(text);
      finish.push((error) => error ? reject(error) : resolve());
    });
  return { calls, finish, sink };
}

/** Lets settled promises run their callbacks. */
const turn = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("CoalescingWriter writes the first text at once and what came meanwhile in one call", async () => {
  const { calls, finish, sink } = manualSink();
  const out = new CoalescingWriter(sink);
  await out.write("a\n");
  await out.write("b\n");
  await out.write("c\n");
  assert.deepEqual(calls, ["a\n"]);
  finish[0]();
  await turn();
  assert.deepEqual(calls, ["a\n", "b\nc\n"]);
  const flushed = out.flush();
  finish[1]();
  await flushed;
  await out.write("d\n");
  finish[2]();
  await out.flush();
  assert.deepEqual(calls, ["a\n", "b\nc\n", "d\n"]);
});

Deno.test("CoalescingWriter.flush waits for every queued text", async () => {
  const { calls, finish, sink } = manualSink();
  const out = new CoalescingWriter(sink);
  await out.write("1");
  await out.write("2");
  let flushed = false;
  const flushing = out.flush().then(() => flushed = true);
  finish[0]();
  await turn();
  assert.equal(flushed, false, "the second write is still in flight");
  finish[1]();
  await flushing;
  assert.equal(flushed, true);
  assert.deepEqual(calls, ["1", "2"]);
});

Deno.test("CoalescingWriter.write waits for the sink once the limit is queued", async () => {
  const { calls, finish, sink } = manualSink();
  const out = new CoalescingWriter(sink, 4);
  await out.write("x");
  await out.write("ab");
  let returned = false;
  const full = out.write("cd").then(() => returned = true);
  await turn();
  assert.equal(returned, false, "4 characters queued behind the write in flight");
  finish[0]();
  await full;
  assert.deepEqual(calls, ["x", "abcd"]);
  finish[1]();
  await out.flush();
});

Deno.test("CoalescingWriter passes on the sink's failure and writes nothing after it", async () => {
  const { calls, finish, sink } = manualSink();
  const out = new CoalescingWriter(sink);
  await out.write("a");
  await out.write("b");
  finish[0](new Deno.errors.BrokenPipe("Broken pipe (os error 32)"));
  await turn();
  await assert.rejects(out.write("c"), Deno.errors.BrokenPipe);
  await assert.rejects(out.flush(), Deno.errors.BrokenPipe);
  assert.deepEqual(calls, ["a"]);
});
