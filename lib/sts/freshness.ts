// When to trust a cached policy, when to ask DNS and when to download (docs/courier.md#freshness
// with D5 and D6 applied), as one pure function. A driver calls it before the TXT lookup and, when
// told to look up, again with the outcome; the file and network work is the driver's.

/** What the decision needs from a cache entry that passed Courier's checks. */
export interface CachedEntryState {
  /** The TXT id the entry was stored for. */
  id: string;
  /** The policy's `max_age`; absent when the policy is unusable (Courier's stub, or D8). */
  maxAge?: number;
  /** The file's mtime in seconds: the time of the last fetch. */
  mtimeSec: number;
}

/** What the TXT lookup at `_mta-sts.<domain>` said. */
export type TxtOutcome =
  /** One valid STS record with this id. */
  | { kind: "id"; id: string }
  /** DNS said there is no policy: NXDOMAIN, NODATA, no STS record, an invalid one, two. */
  | { kind: "none" }
  /** The lookup failed: timeout, SERVFAIL, network. Says nothing about the policy. */
  | { kind: "transient" };

/** The entry's age, as the decision sees it. */
export type EntryState =
  /** No valid cache file. */
  | "absent"
  /** A valid cache file whose policy cannot be used. */
  | "unusable"
  /** Younger than half its `max_age`. */
  | "fresh"
  /** Between half its `max_age` and expiry: time to compare ids. */
  | "half-way"
  /** At or past `mtime + max_age`; never used again unchanged (RFC 8461 §3.2). */
  | "expired"
  /** mtime in the future: a clock step or a tampered file; treated as expired. */
  | "future";

/** The input of {@linkcode decideFreshness}. */
export interface FreshnessInput {
  /** The cache entry, if a valid one was read. */
  entry?: CachedEntryState;
  /** The current time in seconds. */
  nowSec: number;
  /** Whether the cache can be written; false gives Courier's read-only behaviour. */
  writable: boolean;
  /** The TXT outcome; absent on the first call, before any lookup. */
  txt?: TxtOutcome;
}

/** What the driver does next. `state` says why, for `--json` and tests. */
export type FreshnessDecision =
  /** Use the cached policy as it is; `(cached)` applies (D6). */
  | { action: "use-cached"; state: EntryState }
  /** Look up the TXT record, then call again with `txt`. */
  | { action: "lookup-txt"; state: EntryState }
  /**
   * Download. On success use the new policy, and store it when `save`. On failure write
   * nothing (D6) and either keep using the cached policy or have none.
   */
  | {
    action: "fetch";
    state: EntryState;
    save: boolean;
    onFailure: "use-cached" | "no-policy";
  }
  /** There is no policy; remove the cache file when `deleteEntry`. */
  | { action: "no-policy"; state: EntryState; deleteEntry: boolean };

/**
 * The entry's state at `nowSec`: fresh before `mtime + max_age / 2` (integer division, as
 * Courier), half-way until `mtime + max_age`, then expired.
 *
 * @param entry The cache entry, if any.
 * @param nowSec The current time in seconds.
 * @returns The state.
 */
export function entryState(entry: CachedEntryState | undefined, nowSec: number): EntryState {
  if (entry === undefined) return "absent";
  if (entry.maxAge === undefined) return "unusable";
  if (nowSec < entry.mtimeSec) return "future";
  if (nowSec >= entry.mtimeSec + entry.maxAge) return "expired";
  return nowSec < entry.mtimeSec + Math.floor(entry.maxAge / 2) ? "fresh" : "half-way";
}

/**
 * Decides the next step for a domain's policy (docs/courier.md#freshness, D5, D6).
 *
 * - Fresh entries are used without DNS; so are half-way ones when the cache is read-only,
 *   as in Courier.
 * - Half-way: a new TXT id means a download, falling back to the cached policy. The same
 *   id, no record or a failed lookup keep the cached policy as it is. Unlike Courier the
 *   file is not touched: its mtime stays the time of the last fetch, from which RFC 8461
 *   §3.2 counts `max_age`, so an entry still expires and is downloaded again (S9).
 * - Absent, unusable (a stub), expired or future entries: an id means a download with no
 *   fallback, also when the id is unchanged (D6). No record means no policy and the file
 *   goes. A failed lookup means no policy but the file stays (D5).
 *
 * @param input The entry, the time, whether the cache is writable and maybe the TXT outcome.
 * @returns The next step.
 */
export function decideFreshness(input: FreshnessInput): FreshnessDecision {
  const { entry, nowSec, writable, txt } = input;
  const state = entryState(entry, nowSec);
  if (state === "fresh" || (state === "half-way" && !writable)) {
    return { action: "use-cached", state };
  }
  if (txt === undefined) return { action: "lookup-txt", state };
  if (state === "half-way") {
    return txt.kind === "id" && txt.id !== entry!.id
      ? { action: "fetch", state, save: writable, onFailure: "use-cached" }
      : { action: "use-cached", state };
  }
  switch (txt.kind) {
    case "id":
      return { action: "fetch", state, save: writable, onFailure: "no-policy" };
    case "none":
      return { action: "no-policy", state, deleteEntry: writable && entry !== undefined };
    case "transient":
      return { action: "no-policy", state, deleteEntry: false };
  }
}
