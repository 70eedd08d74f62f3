// Many domains at once, for monitoring: each gets what one `testmxlookup DOMAIN` does
// (lookup_domain.ts) under a deadline of its own, with at most `concurrency` lookups in
// flight, results in input order (or as they finish), each carrying the caller's item.
import { Resolver } from "../resolver/resolver.ts";
import { type DomainReport, failedReport } from "./domain_report.ts";
import { lookupDomain, type LookupDomainOptions } from "./lookup_domain.ts";

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

/** Options of {@linkcode lookupMany}. */
export interface LookupManyOptions extends Omit<LookupDomainOptions, "deadlineMs"> {
  /** Lookups in flight at once, at most (1 or more). @default {32} */
  concurrency?: number;
  /** Each domain's own deadline in milliseconds. @default {15000} */
  deadlineMs?: number;
  /** Yield in input order; false yields each result as soon as it is there. @default {true} */
  ordered?: boolean;
}

/** What {@linkcode lookupMany} takes: a domain, or anything with a `domain` (a `DomainLine`). */
export type DomainItem = string | { readonly domain: string };

/** One domain's result from {@linkcode lookupMany}. */
export interface LookupManyResult<T> {
  /** The caller's item, as given (the input line with `readDomainLines`). */
  item: T;
  /** Its position among the items, from 0. */
  index: number;
  /** The report; outcome `internal` when the lookup threw, `aborted` when it was stopped. */
  report: DomainReport;
  /** What the lookup threw, or the abort reason: not DNS or STS failures (those are in `report`). */
  error?: unknown;
}

interface Slot<T> {
  done: Promise<void>;
  result?: LookupManyResult<T>;
}

type Read<T> = { value: IteratorResult<T> } | { error: unknown };

function iteratorOf<T>(items: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> {
  if (Symbol.asyncIterator in items) return items[Symbol.asyncIterator]();
  const sync = items[Symbol.iterator]();
  return {
    next: () => Promise.resolve(sync.next()),
    return: () => Promise.resolve(sync.return?.() ?? { done: true, value: undefined }),
  };
}

function domainOf(item: DomainItem): string {
  return typeof item === "string" ? item : item.domain;
}

/**
 * Looks up many domains, each as `lookupDomain` does, sharing one resolver and one STS cache
 * (whose `.cache_size` is read once), and yields each result with the caller's item: in input
 * order as soon as each one's predecessors are out, or with `ordered: false` as each one
 * finishes. The input is read as it is needed: at most `concurrency` lookups are in flight
 * and at most 4 × `concurrency` items are held, so memory does not grow with the input.
 *
 * When `signal` aborts, nothing more is read, the lookups in flight are stopped, and the
 * results of the items already read come out: finished ones with their report, the others
 * with outcome `aborted` and the signal's reason as `error`.
 *
 * @param items The domains, or objects with a `domain`, from any iterable, synchronous or not.
 * @param options The resolver, STS cache, concurrency, per-domain deadline, order and signal.
 * @returns One result per item read.
 * @throws {RangeError} When `concurrency` is not a positive integer or `deadlineMs` not a
 *   positive number. An error of `items` is thrown after the results of the items before it.
 *
 * @example Look up a list, with the input line numbers carried through
 * ```ts
 * import { DnsError, lookupMany, type Querier } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * // A resolver for which no name exists: no DNS needed to try the batch out.
 * const resolver: Querier = {
 *   query: (name, type) =>
 *     Promise.reject(new DnsError("NXDOMAIN", `${name} does not exist`, { name, type })),
 * };
 * const items = [
 *   { line: 1, domain: "[192.0.2.1]" },
 *   { line: 3, domain: "gone.example" },
 *   { line: 4, domain: "a..b.example" },
 * ];
 * const lines: string[] = [];
 * for await (const { item, report } of lookupMany(items, { resolver })) {
 *   lines.push(`${item.line} ${report.domain} ${report.outcome}`);
 * }
 * assert.deepEqual(lines, ["1 [192.0.2.1] ok", "3 gone.example hard", "4 a..b.example internal"]);
 * ```
 */
export async function* lookupMany<T extends DomainItem>(
  items: AsyncIterable<T> | Iterable<T>,
  options: LookupManyOptions = {},
): AsyncGenerator<LookupManyResult<T>, void, undefined> {
  const concurrency = options.concurrency ?? DEFAULT_BATCH_CONCURRENCY;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`Cannot look up with concurrency ${concurrency}: expected 1 or more`);
  }
  const deadlineMs = options.deadlineMs ?? DEFAULT_DOMAIN_DEADLINE_MS;
  if (!(deadlineMs > 0)) {
    throw new RangeError(`Cannot look up with deadline ${deadlineMs} ms: expected more than 0`);
  }
  const ordered = options.ordered ?? true;
  // Throughput over latency: no queries a domain without a policy does not need.
  const prefetch = options.prefetch ?? false;
  using owned = options.resolver ? undefined : new Resolver();
  const resolver = options.resolver ?? owned;
  const window = concurrency * REORDER_FACTOR;
  // Ends the lookups still in flight when the caller aborts or stops iterating.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const domainOptions = { ...options, resolver, deadlineMs, prefetch, signal };
  const source = iteratorOf(items);
  const pending: Slot<T>[] = [];
  let running = 0;
  let index = 0;
  let reading: { result?: Read<T> } | undefined;
  let exhausted = false;
  let readError: { error: unknown } | undefined;

  let wake: (() => void) | undefined;
  const changed = () => {
    wake?.();
    wake = undefined;
  };
  options.signal?.addEventListener("abort", changed);

  const start = (item: T) => {
    const slot: Slot<T> = { done: Promise.resolve() };
    const at = index++;
    const domain = domainOf(item);
    running++;
    slot.done = lookupDomain(domain, domainOptions).then(
      (report) => void (slot.result = { item, index: at, report }),
      (error) => {
        const aborted = options.signal?.aborted === true;
        const report = failedReport(domain, error, aborted ? "aborted" : "internal");
        slot.result = { item, index: at, report, error };
      },
    ).finally(() => {
      running--;
      changed();
    });
    pending.push(slot);
  };

  try {
    while (!options.signal?.aborted) {
      const ready = ordered ? (pending[0]?.result ? 0 : -1) : pending.findIndex((s) => s.result);
      if (ready >= 0) {
        yield pending.splice(ready, 1)[0].result!;
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
        const state: { result?: Read<T> } = {};
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
    // Aborted: what finished comes out, and the rest as aborted once their lookups have ended.
    stop.abort();
    await Promise.all(pending.map((slot) => slot.done));
    while (pending.length > 0) yield pending.shift()!.result!;
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
