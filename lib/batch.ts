// Many domains at once, for monitoring: each domain gets what one `testmxlookup DOMAIN` does
// (MX and MTA-STS lookups side by side) under a deadline of its own, with at most
// `concurrency` lookups in flight and results in input order. Printing them is the caller's.
import { TimeLimit } from "./_deadlines.ts";
import { lookupMx, type MxResult } from "./mx/lookup.ts";
import type { ExchangeTrace, Querier } from "./resolver/resolver.ts";
import { lookupSts, type StsResult } from "./sts/lookup.ts";
import type { CacheSize } from "./sts/cache_file.ts";
import type { StsStore } from "./sts/store.ts";

/** Lookups in flight when {@linkcode LookupManyOptions.concurrency} is not given. */
export const DEFAULT_BATCH_CONCURRENCY = 32;

/**
 * Each domain's deadline when {@linkcode LookupManyOptions.deadlineMs} is not given: long
 * enough for glibc's default retries against one dead server (2 × 5 s) to reach a live one.
 */
export const DEFAULT_DOMAIN_DEADLINE_MS = 15_000;

/**
 * Finished results held back behind an unfinished earlier one, per lookup in flight. More
 * than 1 so that one slow domain does not idle every other slot; bounded so that memory stays
 * flat however long the input is.
 */
const REORDER_FACTOR = 4;

/** Characters of an input line kept by {@linkcode readDomainLines}; no domain is longer. */
export const MAX_LINE_LENGTH = 1024;

/** The STS state of a lookup that never got an answer (deadline, internal error). */
export const NO_STS: StsResult = { enabled: true, cache: "unchanged", warnings: [] };

/** Options of {@linkcode lookupDomain}. */
export interface LookupDomainOptions {
  /** The resolver; one may serve many lookups at once. */
  resolver: Querier;
  /** The STS policy cache; undefined means none (every lookup downloads). */
  store?: StsStore;
  /** Reads the cache's `.cache_size`. @default {() => store.readCacheSize()} */
  readCacheSize?: () => Promise<CacheSize>;
  /**
   * Certificates to trust for policy downloads (PEM), or a loader called when a download
   * needs them; undefined means Deno's built-in roots.
   */
  caCerts?: string[] | (() => Promise<string[] | undefined>);
  /** resolv.conf's default domain for names without a dot. */
  defaultDomain?: string;
  /** List IPv6 addresses first (Courier's `ESMTP_PREFER_IPV6_MX`). @default {false} */
  preferIpv6?: boolean;
  /** The clock for STS cache ages, in milliseconds since the epoch. @default {Date.now} */
  now?: () => number;
  /** This lookup's deadline in milliseconds; undefined means none of its own. */
  deadlineMs?: number;
  /**
   * Ask for the policy host's addresses while a slow TXT query is out (see
   * `LookupStsOptions.prefetch`): faster for one domain, two queries more for each domain
   * without a policy.
   * @default {true}, and false in {@linkcode lookupMany}
   */
  prefetch?: boolean;
  /** Aborts the lookup; it then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** What {@linkcode lookupDomain} found. */
export interface DomainLookup {
  /** The domain as given. */
  domain: string;
  /** The MX lookup; undefined when the deadline came first. */
  mx?: MxResult;
  /** The STS state (empty when the deadline came first). */
  sts: StsResult;
  /** The round trips of this lookup (when the resolver reports them, as `Resolver` does). */
  trace: ExchangeTrace[];
  /** Wall time in milliseconds. */
  durationMs: number;
}

/**
 * Looks up one domain as the `testmxlookup DOMAIN` command does: the MX hosts and their
 * addresses, and at the same time the MTA-STS policy.
 *
 * @param domain The domain argument, in any form `lookupMx` takes.
 * @param options The resolver, STS cache, deadline and signal.
 * @returns The results; DNS and STS failures are in them, and a reached deadline leaves `mx`
 *   undefined.
 * @throws {DOMException} When `signal` aborts (or the signal's own reason); errors of the
 *   `caCerts` loader or of the cache directory's permissions are passed on.
 *
 * @example A domain whose resolver never answers reaches its deadline
 * ```ts
 * import { lookupDomain, type Querier } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * // A resolver that waits until the lookup gives up on it.
 * const silent: Querier = {
 *   query: (_name, _type, options) =>
 *     new Promise((_, reject) =>
 *       options?.signal?.addEventListener("abort", () => reject(options.signal?.reason))
 *     ),
 * };
 * const found = await lookupDomain("slow.example", { resolver: silent, deadlineMs: 10 });
 * assert.equal(found.mx, undefined);
 * assert.equal(found.sts.policy, undefined);
 * ```
 */
export async function lookupDomain(
  domain: string,
  options: LookupDomainOptions,
): Promise<DomainLookup> {
  const started = performance.now();
  const trace: ExchangeTrace[] = [];
  // A cancellable timer: AbortSignal.timeout would live on for its full time after the
  // lookup, and a long batch would hold thousands of them (see exchange.ts).
  using limit = new TimeLimit(
    options.deadlineMs,
    options.signal,
    () => new DOMException("The domain's deadline was reached", "TimeoutError"),
  );
  const { signal } = limit;
  // One resolver serves every lookup of a batch; each lookup collects its own round trips.
  const resolver: Querier = {
    query: (name, type, query) =>
      options.resolver.query(name, type, { ...query, onExchange: (t) => trace.push(t) }),
  };
  try {
    // The TXT query and the download overlap with the MX and address queries.
    const [mx, sts] = await Promise.all([
      lookupMx(domain, {
        resolver,
        defaultDomain: options.defaultDomain,
        preferIpv6: options.preferIpv6,
        signal,
      }),
      lookupSts(domain, {
        resolver,
        store: options.store,
        readCacheSize: options.readCacheSize,
        caCerts: options.caCerts,
        now: options.now,
        prefetch: options.prefetch,
        signal,
      }),
    ]);
    return { domain, mx, sts, trace, durationMs: performance.now() - started };
  } catch (error) {
    if (!signal.aborted || options.signal?.aborted) throw error;
    return { domain, sts: NO_STS, trace, durationMs: performance.now() - started };
  }
}

/** Options of {@linkcode lookupMany}. */
export interface LookupManyOptions extends Omit<LookupDomainOptions, "deadlineMs"> {
  /** Lookups in flight at once, at most (1 or more). @default {32} */
  concurrency?: number;
  /** Each domain's own deadline in milliseconds. @default {15000} */
  deadlineMs?: number;
}

/** One domain's result from {@linkcode lookupMany}. */
export interface BatchResult {
  /** Its position among the domains, from 0. */
  index: number;
  /** The domain as given. */
  domain: string;
  /** The lookup; undefined when it threw. */
  lookup?: DomainLookup;
  /** What the lookup threw (not a DNS or STS failure: those are in `lookup`). */
  error?: unknown;
}

interface Slot {
  done: Promise<void>;
  result?: BatchResult;
}

type Read = { value: IteratorResult<string> } | { error: unknown };

function iteratorOf(domains: AsyncIterable<string> | Iterable<string>): AsyncIterator<string> {
  if (Symbol.asyncIterator in domains) return domains[Symbol.asyncIterator]();
  const sync = domains[Symbol.iterator]();
  return {
    next: () => Promise.resolve(sync.next()),
    return: () => Promise.resolve(sync.return?.() ?? { done: true, value: undefined }),
  };
}

/**
 * Looks up many domains, each as {@linkcode lookupDomain} does, sharing one resolver and one
 * STS cache, and yields the results in input order as soon as each one's predecessors are
 * out. The input is read as it is needed: at most `concurrency` lookups are in flight and
 * at most 4 × `concurrency` domains are held, so memory does not grow with the input.
 *
 * @param domains The domains, from any iterable, synchronous or not (a file read line by
 *   line).
 * @param options The resolver, STS cache, concurrency, per-domain deadline and signal.
 * @returns One result per domain, in input order.
 * @throws {RangeError} When `concurrency` is not a positive integer or `deadlineMs` not a
 *   positive number.
 * @throws {DOMException} When `signal` aborts (or the signal's own reason): the lookups in
 *   flight are aborted and nothing more is yielded. An error of `domains` is thrown after the
 *   results of the domains read before it.
 *
 * @example Look up a list with canned answers
 * ```ts
 * import { DnsError, lookupMany, type Querier } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * // A resolver for which no name exists: no DNS needed to try the batch out.
 * const resolver: Querier = {
 *   query: (name, type) =>
 *     Promise.reject(new DnsError("NXDOMAIN", `${name} does not exist`, { name, type })),
 * };
 * const lines: string[] = [];
 * const domains = ["[192.0.2.1]", "gone.example", "a..b.example"];
 * for await (const { index, domain, lookup } of lookupMany(domains, { resolver })) {
 *   lines.push(`${index} ${domain} ${lookup?.mx?.outcome}`);
 * }
 * assert.deepEqual(lines, [
 *   "0 [192.0.2.1] ok",
 *   "1 gone.example hard",
 *   "2 a..b.example internal",
 * ]);
 * ```
 *
 * @example Monitor the domains of a file, 64 at a time, 10 s each
 * ```ts ignore
 * import {
 *   lookupMany,
 *   readDomainLines,
 *   Resolver,
 *   StsStore,
 * } from "@testmxlookup/testmxlookup";
 *
 * const resolver = new Resolver({ servers: [{ address: "127.0.0.1" }] });
 * const store = new StsStore("/var/lib/courier/sts");
 * const file = await Deno.open("domains.txt");
 * async function* domains() {
 *   for await (const { domain } of readDomainLines(file.readable)) yield domain;
 * }
 * const options = { resolver, store, concurrency: 64, deadlineMs: 10_000 };
 * for await (const { domain, lookup, error } of lookupMany(domains(), options)) {
 *   console.log(domain, lookup?.mx?.outcome ?? "deadline", lookup?.sts.policy?.mode, error);
 * }
 * ```
 */
export async function* lookupMany(
  domains: AsyncIterable<string> | Iterable<string>,
  options: LookupManyOptions,
): AsyncGenerator<BatchResult, void, undefined> {
  const concurrency = options.concurrency ?? DEFAULT_BATCH_CONCURRENCY;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`Cannot look up with concurrency ${concurrency}: expected 1 or more`);
  }
  const deadlineMs = options.deadlineMs ?? DEFAULT_DOMAIN_DEADLINE_MS;
  // Throughput over latency: no queries a domain without a policy does not need.
  const prefetch = options.prefetch ?? false;
  // `.cache_size` is read once for the whole batch, as one run of Courier reads it once.
  const store = options.store;
  let cacheSize: Promise<CacheSize> | undefined;
  const readCacheSize = options.readCacheSize ??
    (store ? () => (cacheSize ??= store.readCacheSize()) : undefined);
  if (!(deadlineMs > 0)) {
    throw new RangeError(`Cannot look up with deadline ${deadlineMs} ms: expected more than 0`);
  }
  const window = concurrency * REORDER_FACTOR;
  // Ends the lookups still in flight when the caller aborts or stops iterating.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const source = iteratorOf(domains);
  const pending: Slot[] = [];
  let running = 0;
  let index = 0;
  let reading: { result?: Read } | undefined;
  let exhausted = false;
  let readError: { error: unknown } | undefined;

  let wake: (() => void) | undefined;
  const changed = () => {
    wake?.();
    wake = undefined;
  };
  options.signal?.addEventListener("abort", changed);

  const start = (domain: string) => {
    const slot: Slot = { done: Promise.resolve() };
    const at = index++;
    running++;
    slot.done = lookupDomain(domain, { ...options, readCacheSize, deadlineMs, prefetch, signal })
      .then(
        (lookup) => void (slot.result = { index: at, domain, lookup }),
        (error) => void (slot.result = { index: at, domain, error }),
      ).finally(() => {
        running--;
        changed();
      });
    pending.push(slot);
  };

  try {
    for (;;) {
      options.signal?.throwIfAborted();
      const head = pending[0];
      if (head?.result) {
        pending.shift();
        yield head.result;
        continue;
      }
      const read = reading?.result;
      if (read) {
        reading = undefined;
        if ("error" in read) {
          exhausted = true;
          readError = read;
        } else if (read.value.done) exhausted = true;
        else start(read.value.value);
        continue;
      }
      if (!exhausted && !reading && pending.length < window && running < concurrency) {
        const state: { result?: Read } = {};
        reading = state;
        source.next().then(
          (value) => void (state.result = { value }),
          (error) => void (state.result = { error }),
        ).finally(changed);
        continue;
      }
      if (exhausted && pending.length === 0) {
        if (readError) throw readError.error;
        return;
      }
      await new Promise<void>((resolve) => wake = resolve);
    }
  } finally {
    options.signal?.removeEventListener("abort", changed);
    stop.abort();
    // A read in progress cannot be returned from (an async generator queues `return` behind
    // it): a source that may block observes the signal itself.
    if (!exhausted && !reading) await source.return?.().catch(() => {});
    else if (!exhausted) source.return?.().catch(() => {});
    // Aborted lookups end promptly; waiting for them releases their sockets and timers.
    await Promise.all(pending.map((slot) => slot.done));
  }
}

/** One domain of a batch input, from {@linkcode readDomainLines}. */
export interface DomainLine {
  /** The line number, from 1. */
  line: number;
  /** The line without surrounding white space, cut at {@linkcode MAX_LINE_LENGTH}. */
  domain: string;
}

/** Options of {@linkcode readDomainLines}. */
export interface ReadDomainLinesOptions {
  /** Stops reading: the stream is cancelled and the lines end. */
  signal?: AbortSignal;
}

/**
 * Reads a batch input, one domain per line, as a stream: blank lines and lines whose first
 * non-blank character is `#` are skipped; `\r\n` line ends, surrounding spaces and tabs are
 * dropped. A line longer than {@linkcode MAX_LINE_LENGTH} characters is cut there (its
 * lookup then fails as an invalid name) and the rest of it skipped, so that one endless line
 * cannot fill the memory.
 *
 * @param stream The bytes, UTF-8 (invalid sequences become U+FFFD).
 * @param options The signal.
 * @returns The domains with their line numbers.
 * @throws What the stream throws.
 *
 * @example Read a list with comments
 * ```ts
 * import { readDomainLines } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const text = "# mail domains\r\nexample.com\r\n\r\n  example.net \r\n";
 * const stream = ReadableStream.from([new TextEncoder().encode(text)]);
 * const found = [];
 * for await (const entry of readDomainLines(stream)) found.push(entry);
 * assert.deepEqual(found, [
 *   { line: 2, domain: "example.com" },
 *   { line: 4, domain: "example.net" },
 * ]);
 * ```
 */
export async function* readDomainLines(
  stream: ReadableStream<Uint8Array>,
  options: ReadDomainLinesOptions = {},
): AsyncGenerator<DomainLine, void, undefined> {
  const { signal } = options;
  const reader = stream.getReader();
  // Cancelling ends a read that waits for a terminal or a pipe.
  const cancel = () => void reader.cancel().catch(() => {});
  signal?.addEventListener("abort", cancel, { once: true });
  const decoder = new TextDecoder();
  let line = 0;
  let text = "";
  let overlong = false;
  let finished = false;
  const entry = (raw: string): DomainLine | undefined => {
    line++;
    const domain = raw.slice(0, MAX_LINE_LENGTH).replace(/^[ \t]+|[ \t\r]+$/g, "");
    if (domain === "" || domain.startsWith("#")) return undefined;
    return { line, domain };
  };
  try {
    for (;;) {
      if (signal?.aborted) return;
      const chunk = await reader.read();
      if (signal?.aborted) return;
      const done = chunk.done;
      finished = done;
      text += done ? decoder.decode() : decoder.decode(chunk.value, { stream: true });
      for (let end = text.indexOf("\n"); end >= 0; end = text.indexOf("\n")) {
        const raw = text.slice(0, end);
        text = text.slice(end + 1);
        if (overlong) {
          overlong = false;
          continue;
        }
        const found = entry(raw);
        if (found) yield found;
        if (signal?.aborted) return;
      }
      if (!overlong && text.length > MAX_LINE_LENGTH) {
        const found = entry(text.slice(0, MAX_LINE_LENGTH));
        if (found) yield found;
        overlong = true;
      }
      if (overlong) text = "";
      if (done) {
        if (!overlong && text !== "") {
          const found = entry(text);
          if (found) yield found;
        }
        return;
      }
    }
  } finally {
    signal?.removeEventListener("abort", cancel);
    // Stopped early: cancelling closes the file behind the stream.
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
