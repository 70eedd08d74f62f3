import assert from "node:assert/strict";
import { type ArmTimer, Deadlines, TimeLimit } from "../lib/deadlines.ts";

/** A clock and a runtime timer the test moves by hand. */
function fakeTime() {
  let now = 0;
  const armed: Array<{ at: number; fire: () => void; stopped: boolean }> = [];
  const armTimer: ArmTimer = (ms, fire) => {
    const timer = { at: now + ms, fire, stopped: false };
    armed.push(timer);
    return () => void (timer.stopped = true);
  };
  const live = () => armed.filter((t) => !t.stopped);
  /** Moves the clock to `to`, firing the live timers due by then, in time order. */
  const advance = (to: number) => {
    for (let i = 0; i < 1000; i++) {
      const due = live().filter((t) => t.at <= to).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      now = due.at;
      due.stopped = true;
      due.fire();
    }
    now = to;
  };
  return { now: () => now, armTimer, advance, live };
}

Deno.test("Deadlines fire in time order, across durations, and not once disposed of", () => {
  const time = fakeTime();
  const deadlines = new Deadlines(time.now, time.armTimer);
  const fired: string[] = [];
  deadlines.after(50, () => fired.push("a50"));
  const b = deadlines.after(50, () => fired.push("b50"));
  time.advance(10);
  deadlines.after(20, () => fired.push("c20 at 30"));
  deadlines.after(50, () => fired.push("d50 at 60"));
  b[Symbol.dispose]();
  assert.equal(deadlines.pending, 3);
  time.advance(40);
  assert.deepEqual(fired, ["c20 at 30"]);
  time.advance(100);
  assert.deepEqual(fired, ["c20 at 30", "a50", "d50 at 60"]);
  assert.equal(deadlines.pending, 0);
  // Disposing of a fired deadline changes nothing.
  b[Symbol.dispose]();
  assert.equal(deadlines.pending, 0);
});

Deno.test("Deadlines keep one runtime timer, and none once nothing is pending", () => {
  const time = fakeTime();
  const deadlines = new Deadlines(time.now, time.armTimer);
  const first = deadlines.after(5000, () => {});
  for (let i = 0; i < 100; i++) deadlines.after(5000, () => {})[Symbol.dispose]();
  assert.equal(time.live().length, 1, "later deadlines of the same duration arm nothing");
  // An earlier deadline re-arms: the old timer is stopped, not left to fire.
  const early = deadlines.after(10, () => {});
  assert.equal(time.live().length, 1);
  assert.equal(time.live()[0].at, 10);
  early[Symbol.dispose]();
  first[Symbol.dispose]();
  assert.equal(time.live().length, 0, "a timer left running would hold the process up");
});

Deno.test("Deadlines set in a callback and behind thousands of cancelled ones still fire", () => {
  const time = fakeTime();
  const deadlines = new Deadlines(time.now, time.armTimer);
  const fired: number[] = [];
  // A live deadline at the head, as a dead server's attempt would be, and a batch's worth of
  // attempts behind it that end early.
  deadlines.after(5000, () => {
    fired.push(time.now());
    deadlines.after(5000, () => fired.push(time.now()));
  });
  for (let i = 0; i < 10_000; i++) {
    time.advance(i * 0.1);
    deadlines.after(5000, () => fired.push(-1))[Symbol.dispose]();
  }
  const last = deadlines.after(5000, () => fired.push(time.now()));
  assert.equal(deadlines.pending, 2);
  time.advance(20_000);
  // The last one was due at 5999.9: the runtime's timers count whole milliseconds.
  assert.deepEqual(fired, [5000, 6000, 10_000]);
  assert.equal(deadlines.pending, 0);
  last[Symbol.dispose]();
});

Deno.test("Deadlines on the runtime's timer fire, and a disposed one does not hold the process", async () => {
  const { deadlines } = await import("../lib/deadlines.ts");
  const started = performance.now();
  await new Promise<void>((resolve) => deadlines.after(20, resolve));
  assert.ok(performance.now() - started >= 19);
  // A process that cancels a 10 s deadline ends at once.
  const script = `import { deadlines } from ${
    JSON.stringify(import.meta.resolve("../lib/deadlines.ts"))
  };
deadlines.after(10_000, () => console.log("fired"))[Symbol.dispose]();`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", script],
    env: { DENO_NO_UPDATE_CHECK: "1" },
    stdout: "piped",
  });
  const ran = performance.now();
  const out = await child.output();
  assert.equal(out.code, 0);
  assert.equal(new TextDecoder().decode(out.stdout), "");
  assert.ok(performance.now() - ran < 5000, "the cancelled deadline held the process");
});

Deno.test("TimeLimit aborts with the caller's reason, or with its own when the time is up", async () => {
  const caller = new AbortController();
  const linked = new TimeLimit(60_000, caller.signal);
  caller.abort("stop");
  assert.equal(linked.signal.reason, "stop");
  assert.equal(linked.timedOut, false);
  linked[Symbol.dispose]();

  const timeout = new DOMException("too slow", "TimeoutError");
  using limit = new TimeLimit(5, new AbortController().signal, () => timeout);
  await new Promise((resolve) => limit.signal.addEventListener("abort", resolve));
  assert.equal(limit.timedOut, true);
  assert.equal(limit.signal.reason, timeout);

  // Once disposed of, neither the caller nor the clock reaches it.
  const later = new AbortController();
  const done = new TimeLimit(1, later.signal);
  done[Symbol.dispose]();
  later.abort("late");
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(done.signal.aborted, false);
  assert.equal(done.timedOut, false);
});
