// A bound on open SMTP connections shared by many probes (a batch probes many domains at once;
// each probeHosts call has its own `concurrency` too). FIFO, so no probe waits forever.

/**
 * Slots for open connections, shared by every probe given it.
 *
 * @example At most two connections at once over every domain of a batch
 * ```ts
 * import { ConnectionLimiter } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const limiter = new ConnectionLimiter(2);
 * const a = await limiter.acquire();
 * const b = await limiter.acquire();
 * let third = false;
 * const c = limiter.acquire().then((release) => (third = true, release));
 * await Promise.resolve();
 * assert.equal(third, false);
 * a();
 * (await c)();
 * b();
 * assert.equal(limiter.open, 0);
 * ```
 */
export class ConnectionLimiter {
  readonly #max: number;
  #open = 0;
  readonly #waiting: Array<() => void> = [];

  /**
   * Creates a limiter.
   *
   * @param max The most connections open at once, at least 1.
   * @throws {RangeError} When `max` is not a positive integer.
   */
  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`Cannot limit connections to ${max}: not a positive integer`);
    }
    this.#max = max;
  }

  /** Slots in use. */
  get open(): number {
    return this.#open;
  }

  /**
   * Waits for a slot.
   *
   * @param signal Stops waiting (the promise rejects with its reason).
   * @returns A function that gives the slot back; calling it twice does nothing.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    const granted = (): () => void => {
      this.#open++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        this.#open--;
        this.#waiting.shift()?.();
      };
    };
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#open < this.#max) return Promise.resolve(granted());
    return new Promise((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve(granted());
      };
      const onAbort = () => {
        const at = this.#waiting.indexOf(wake);
        if (at !== -1) this.#waiting.splice(at, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(wake);
    });
  }
}
