// Timeouts for the library's exchanges, downloads and deadlines, without setTimeout: Deno's
// first setTimeout loads its Node timers layer (3–10 ms of a 45 ms run, with the garbage
// collection it sets off), and a batch made and cancelled one Node timer per query. Here every
// deadline of a process shares one runtime timer (AbortSignal.timeout, a plain system timer)
// armed for the earliest one; deadlines of the same duration end in the order they began, so
// each duration is a queue, not a heap.

/** Starts a runtime timer; the function it returns stops it (or lets it go unheeded). */
export type ArmTimer = (ms: number, onFire: () => void) => () => void;

/** A deadline that has not passed yet; disposing of it cancels it. */
export type Deadline = Disposable;

interface Entry {
  at: number;
  /** Undefined once the deadline fired or was cancelled. */
  run: (() => void) | undefined;
}

interface Queue {
  entries: Entry[];
  /** Entries before it are done. */
  head: number;
  /** Cancelled entries from `head` on. */
  cancelled: number;
}

/** Cancelled entries a queue may hold before it is compacted (when they are half of it). */
const COMPACT_AFTER = 64;

/**
 * The runtime's timer: AbortSignal.timeout keeps the process alive only while the signal has
 * a listener, so a stopped timer holds nothing up (it still ends in the runtime, unheeded).
 */
export const systemTimer: ArmTimer = (ms, onFire) => {
  const signal = AbortSignal.timeout(ms);
  signal.addEventListener("abort", onFire, { once: true });
  return () => signal.removeEventListener("abort", onFire);
};

/** Deadlines sharing one timer; see the module comment. */
export class Deadlines {
  readonly #now: () => number;
  readonly #armTimer: ArmTimer;
  readonly #queues = new Map<number, Queue>();
  /** When the armed timer fires; Infinity when none is armed. */
  #armedAt = Infinity;
  #disarm: (() => void) | undefined;
  #live = 0;

  /**
   * @param now A monotonic clock in milliseconds.
   * @param armTimer Starts the runtime timer.
   */
  constructor(now: () => number = () => performance.now(), armTimer: ArmTimer = systemTimer) {
    this.#now = now;
    this.#armTimer = armTimer;
  }

  /** Deadlines not yet passed nor cancelled. */
  get pending(): number {
    return this.#live;
  }

  /**
   * Calls `onExpire` once `ms` milliseconds have passed, unless the returned deadline is
   * disposed of first.
   *
   * @param ms The duration, 0 or more.
   * @param onExpire What to do then.
   * @returns The deadline; disposing of it twice, or after it fired, does nothing.
   */
  after(ms: number, onExpire: () => void): Deadline {
    const at = this.#now() + ms;
    let queue = this.#queues.get(ms);
    if (queue === undefined) {
      queue = { entries: [], head: 0, cancelled: 0 };
      this.#queues.set(ms, queue);
    }
    const entry: Entry = { at, run: onExpire };
    queue.entries.push(entry);
    this.#live++;
    if (at < this.#armedAt) this.#arm(at);
    const owner = queue;
    return { [Symbol.dispose]: () => this.#cancel(owner, entry) };
  }

  #cancel(queue: Queue, entry: Entry): void {
    if (entry.run === undefined) return;
    entry.run = undefined;
    queue.cancelled++;
    this.#live--;
    this.#trim(queue);
    // Nothing left to wait for: the process must not be held up by the timer.
    if (this.#live === 0) this.#stopTimer();
  }

  /** Drops done entries from the head, and compacts a queue that is mostly cancelled. */
  #trim(queue: Queue): void {
    const { entries } = queue;
    while (queue.head < entries.length && entries[queue.head].run === undefined) {
      queue.head++;
      queue.cancelled--;
    }
    const left = entries.length - queue.head;
    if (left === 0) {
      entries.length = 0;
      queue.head = 0;
      queue.cancelled = 0;
    } else if (queue.cancelled > COMPACT_AFTER && queue.cancelled * 2 > left) {
      queue.entries = entries.slice(queue.head).filter((e) => e.run !== undefined);
      queue.head = 0;
      queue.cancelled = 0;
    } else if (queue.head > COMPACT_AFTER && queue.head * 2 > entries.length) {
      entries.splice(0, queue.head);
      queue.head = 0;
    }
  }

  #arm(at: number): void {
    this.#stopTimer();
    this.#armedAt = at;
    this.#disarm = this.#armTimer(Math.max(0, Math.ceil(at - this.#now())), () => {
      this.#disarm = undefined;
      this.#armedAt = Infinity;
      this.#fire();
    });
  }

  #stopTimer(): void {
    this.#disarm?.();
    this.#disarm = undefined;
    this.#armedAt = Infinity;
  }

  #fire(): void {
    const now = this.#now();
    const due: Array<() => void> = [];
    let next = Infinity;
    for (const queue of this.#queues.values()) {
      const { entries } = queue;
      // A timer may fire a little early or late; every entry due by now goes.
      while (queue.head < entries.length && entries[queue.head].at <= now) {
        const entry = entries[queue.head++];
        if (entry.run === undefined) {
          queue.cancelled--;
          continue;
        }
        due.push(entry.run);
        entry.run = undefined;
        this.#live--;
      }
      this.#trim(queue);
      if (queue.head < queue.entries.length) {
        next = Math.min(next, queue.entries[queue.head].at);
      }
    }
    // Re-armed before the callbacks run, which may add deadlines of their own.
    if (next < this.#armedAt) this.#arm(next);
    for (const run of due) run();
  }
}

/** The deadlines of this process: the library's exchanges, downloads and lookups. */
export const deadlines: Deadlines = new Deadlines();

/**
 * The signal of one task with a time limit: aborted with the caller's reason when the caller's
 * signal aborts, or with `reason()` when the time is up. Disposing of it cancels the deadline
 * and stops listening to the caller (a batch runs thousands of these; `AbortSignal.any` would
 * make a dependent signal for each).
 */
export class TimeLimit implements Disposable {
  readonly #controller = new AbortController();
  readonly #outer: AbortSignal | undefined;
  readonly #deadline: Deadline | undefined;
  readonly #onAbort = () => this.#controller.abort(this.#outer?.reason);
  #timedOut = false;

  /**
   * @param ms The time limit; undefined means none (the caller's signal only).
   * @param outer The caller's signal.
   * @param reason The abort reason when the time is up. @default {an AbortError}
   */
  constructor(ms: number | undefined, outer?: AbortSignal, reason?: () => unknown) {
    this.#outer = outer;
    outer?.addEventListener("abort", this.#onAbort, { once: true });
    if (outer?.aborted) this.#onAbort();
    this.#deadline = ms === undefined ? undefined : deadlines.after(ms, () => {
      this.#timedOut = true;
      this.#controller.abort(reason?.());
    });
  }

  /** Aborted by the caller or by the time limit. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Whether the time limit was reached (whatever the caller did). */
  get timedOut(): boolean {
    return this.#timedOut;
  }

  [Symbol.dispose](): void {
    this.#deadline?.[Symbol.dispose]();
    this.#outer?.removeEventListener("abort", this.#onAbort);
  }
}
