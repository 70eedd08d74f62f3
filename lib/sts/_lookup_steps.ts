// The plumbing of `lookupSts` around its decisions: the `_mta-sts` TXT query (RFC 8461 §3.1),
// the policy host's addresses asked for while it is out (D22), and the trace of the steps that
// are not DNS. What to do with their outcomes is `decideFreshness`'s and `lookupSts`'s.
import { deadlines } from "../deadlines.ts";
import { DnsError } from "../errors.ts";
import type { Querier } from "../resolver/resolver.ts";
import { StsError } from "./errors.ts";
import { policyHostAddresses, warmUpTls } from "./_policy_connection.ts";
import type { TxtOutcome } from "./freshness.ts";
import { parseStsRecords } from "./txt.ts";

/**
 * A step of {@linkcode lookupSts} besides its DNS queries: the read of the cached policy, the
 * connection to the policy host (TCP and TLS), and the request with its answer.
 */
export interface StsStep {
  /** Which step. */
  step: "cache-read" | "connect" | "request";
  /** The name: the cache entry's, or the policy host's. */
  name: string;
  /** When it began, as `performance.now()`. */
  startedAt: number;
  /** How long it took, in milliseconds. */
  ms: number;
  /** What came of a cache read: an entry, none, or a file skipped. */
  found?: "entry" | "none" | "ignored";
  /** The `StsError` kind of a failed download step. */
  error?: string;
}

/**
 * How long the TXT query may be out before the policy host's addresses are asked for too: an
 * answer from a resolver on loopback comes sooner, and then there is nothing to gain (D22).
 */
const IDLE_MS = 3;

/**
 * How long the TXT query must be out before Deno's TLS set-up starts (D41): longer than a local
 * resolver's answer held up by a busy start-up (up to ~10 ms measured), shorter than a network
 * round trip the ~30 ms set-up can hide in.
 */
const WARM_UP_IDLE_MS = 15;

/** The `_mta-sts` TXT query and what its answer says: an id, no policy, or a failure. */
export async function lookupTxt(
  domain: string,
  resolver: Querier,
  signal: AbortSignal | undefined,
): Promise<TxtOutcome & { reason?: string; error?: StsError; warnings?: string[] }> {
  try {
    const answer = await resolver.query(`_mta-sts.${domain}`, "TXT", { signal });
    const strings = answer.records.flatMap((r) => r.data.type === "TXT" ? [r.data.strings] : []);
    const parsed = parseStsRecords(strings);
    if (parsed.found) return { kind: "id", id: parsed.id, warnings: parsed.warnings };
    // A domain without any STS record is the normal case, not worth a line on stderr.
    if (!parsed.published) return { kind: "none" };
    const reason = `No usable MTA-STS record at _mta-sts.${domain}: ${parsed.reason}`;
    return { kind: "none", reason, error: new StsError("TXT_INVALID", reason, { domain }) };
  } catch (error) {
    if (!(error instanceof DnsError)) throw error;
    // D5: only an answer that says "no record" removes a cached policy; a failure does not.
    if (error.kind === "NXDOMAIN" || error.kind === "NODATA") return { kind: "none" };
    const reason = `Cannot look up the MTA-STS record: ${error.message}`;
    const typed = new StsError("TXT_LOOKUP", reason, { domain, cause: error });
    return { kind: "transient", reason, error: typed };
  }
}

/** Marks `promise` as handled (its rejection is read later, or not needed) and returns it. */
function settled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/**
 * The policy host's addresses, asked for once the TXT query has been out `IDLE_MS` (D22), and
 * the TLS set-up started then, off the main thread (D41). Disposing stops the wait (the TXT
 * answer is in); `stop` stops the queries once started.
 */
export class EarlyAddresses implements Disposable {
  #early: { addresses: Promise<string[]>; stop: AbortController } | undefined;
  readonly #idle: Disposable;
  readonly #slow: Disposable;

  /** Starts the wait for `host`'s addresses, asked of `resolver` under `signal`. */
  constructor(host: string, resolver: Querier, signal: AbortSignal | undefined) {
    // The TLS set-up too, off the main thread, once the wait is the network's (D41).
    this.#slow = deadlines.after(WARM_UP_IDLE_MS, warmUpTls);
    this.#idle = deadlines.after(IDLE_MS, () => {
      const stop = new AbortController();
      const merged = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
      // Read only if the TXT id calls for a download.
      this.#early = { addresses: settled(policyHostAddresses(host, resolver, merged)), stop };
    });
  }

  /** The addresses, once asked for. */
  get addresses(): Promise<string[]> | undefined {
    return this.#early?.addresses;
  }

  /** Stops the queries, if started: no download follows. */
  stop(): void {
    this.#early?.stop.abort();
  }

  /** Asks for nothing more: the TXT answer is in. */
  [Symbol.dispose](): void {
    this.#idle[Symbol.dispose]();
    this.#slow[Symbol.dispose]();
  }
}

/**
 * Traces a download as two steps: the connection to `host` (TCP and TLS) until the request is
 * sent, and the request with its answer. Only the first `done` counts.
 */
export function downloadTrace(
  host: string,
  onStep: ((step: StsStep) => void) | undefined,
): { sent(): void; done(error?: string): void } {
  const fetchStart = performance.now();
  let sentAt: number | undefined;
  let traced = false;
  return {
    sent: () => {
      sentAt = performance.now();
    },
    done: (error?: string) => {
      if (!onStep || traced) return;
      traced = true;
      const end = performance.now();
      const connected = sentAt ?? end;
      onStep({
        step: "connect",
        name: host,
        startedAt: fetchStart,
        ms: connected - fetchStart,
        ...(sentAt === undefined && error ? { error } : {}),
      });
      if (sentAt !== undefined) {
        onStep({
          step: "request",
          name: host,
          startedAt: sentAt,
          ms: end - sentAt,
          ...(error ? { error } : {}),
        });
      }
    },
  };
}
