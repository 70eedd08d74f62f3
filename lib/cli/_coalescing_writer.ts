// Output of many small pieces (a batch's NDJSON lines) in few writes: each write of Deno's
// stdout is a round trip through a blocking thread, so one per line was a tenth of a batch's
// CPU time. Text given while a write is in flight goes out together with the next one.

/** Characters queued behind the write in flight before `write` waits for it. */
export const DEFAULT_COALESCE_LIMIT = 64 * 1024;

/**
 * Queues text and writes it in order through `write`, one call at a time, each call carrying
 * everything queued since the last one began. Nothing waits when the sink keeps up; a slow sink
 * holds at most `limit` characters (plus one piece) before `write` waits.
 */
export class CoalescingWriter {
  readonly #sink: (text: string) => Promise<void>;
  readonly #limit: number;
  #queued: string[] = [];
  #queuedLength = 0;
  #inFlight: Promise<void> | undefined;
  #failure: { error: unknown } | undefined;

  /**
   * @param sink Writes all of a text (rejects on failure).
   * @param limit Characters queued before {@linkcode write} waits for the sink.
   */
  constructor(sink: (text: string) => Promise<void>, limit = DEFAULT_COALESCE_LIMIT) {
    this.#sink = sink;
    this.#limit = limit;
  }

  /**
   * Queues `text` after everything queued before.
   *
   * @param text The text.
   * @returns At once, or when the queue is back under the limit.
   * @throws What an earlier write of the sink threw: nothing is written after a failure.
   */
  async write(text: string): Promise<void> {
    this.#throwFailure();
    this.#queued.push(text);
    this.#queuedLength += text.length;
    if (this.#inFlight === undefined) this.#start();
    else if (this.#queuedLength >= this.#limit) await this.#inFlight;
    this.#throwFailure();
  }

  /**
   * Waits until everything queued is written.
   *
   * @throws What a write of the sink threw.
   */
  async flush(): Promise<void> {
    // Each round ends one sink call, and no call starts once the queue is empty.
    while (this.#inFlight !== undefined) await this.#inFlight;
    this.#throwFailure();
  }

  #start(): void {
    const text = this.#queued.join("");
    this.#queued = [];
    this.#queuedLength = 0;
    this.#inFlight = this.#sink(text).then(
      () => {
        this.#inFlight = undefined;
        if (this.#queued.length > 0) this.#start();
      },
      (error) => {
        this.#inFlight = undefined;
        this.#failure = { error };
        this.#queued = [];
        this.#queuedLength = 0;
      },
    );
  }

  #throwFailure(): void {
    if (this.#failure) throw this.#failure.error;
  }
}
