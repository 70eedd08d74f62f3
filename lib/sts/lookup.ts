// A domain's MTA-STS policy as a run establishes it (docs/courier.md#freshness with D5, D6): the
// cache entry, the `_mta-sts` TXT id through the run's own resolver (D1), the download, and what
// goes back into the shared cache. No lock is held across network I/O (D5).
import { parseAddress } from "../address.ts";
import type { Querier } from "../resolver/resolver.ts";
import { StsError } from "./errors.ts";
import { downloadPolicy, type PolicyConnect } from "./fetch.ts";
import { downloadTrace, EarlyAddresses, lookupTxt, type StsStep } from "./_lookup_steps.ts";
import { type CachedEntryState, decideFreshness, type TxtOutcome } from "./freshness.ts";
import { parsePolicy, type StsPolicy } from "./policy.ts";
import { entryName, preloadFileLayer, type StsStore } from "./store.ts";

export type { StsStep } from "./_lookup_steps.ts";

/** Options of {@linkcode lookupSts}. */
export interface LookupStsOptions {
  /** The resolver for the TXT query: the same servers and options as the MX query (D1). */
  resolver: Querier;
  /** The cache; undefined means no cache (every run downloads). */
  store?: StsStore;
  /**
   * Trusted certificates for the download (`TLS_TRUSTCERTS`), or a function that loads them
   * when a download is needed; undefined means Deno's built-in roots.
   */
  caCerts?: string[] | (() => Promise<string[] | undefined>);
  /** The download's total timeout in milliseconds. @default {20000} */
  fetchTimeout?: number;
  /** The policy server's port; another one is for tests only. @default {443} */
  fetchPort?: number;
  /**
   * The connection for the download instead of TLS to the resolver's addresses for
   * `mta-sts.<domain>` (tests): the policy host is then not looked up.
   */
  connect?: PolicyConnect;
  /** The clock, milliseconds since the epoch. @default {Date.now} */
  now?: () => number;
  /**
   * When there is no cached policy and the TXT answer is slow to come: ask for
   * `mta-sts.<domain>`'s addresses meanwhile, so that a download can connect as soon as the
   * TXT id calls for it (D22). DNS only: nothing connects before the TXT id is known. Costs
   * two DNS queries more for a domain without a policy behind a slow resolver; a batch,
   * counting queries, turns it off. @default {true}
   */
  prefetch?: boolean;
  /** Called after each step that is not DNS (the resolver reports those): for a trace. */
  onStep?: (step: StsStep) => void;
  /** Aborts the lookup. */
  signal?: AbortSignal;
}

/** What a run knows about a domain's policy. */
export interface StsResult {
  /** The domain as the cache names it (A-labels, lower case), when it is a valid name. */
  domain?: string;
  /**
   * False when `.cache_size` is 0: STS is off entirely, as in Courier
   * (docs/courier.md#when-sts-work-happens).
   */
  enabled: boolean;
  /** The usable policy, if any. */
  policy?: StsPolicy;
  /** The policy id: the TXT id it was fetched for. */
  id?: string;
  /** Where the policy came from in this run. */
  source?: "cache" | "fetch";
  /** When the policy was fetched (the cache file's mtime, or now), in seconds. */
  timestampSec?: number;
  /** The TXT lookup's outcome, when one was made. */
  txt?: TxtOutcome & { reason?: string };
  /**
   * Why there is no usable policy, or why the cached one was kept, for stderr; undefined
   * when the domain simply publishes no policy.
   */
  reason?: string;
  /**
   * The typed failure behind `reason`, there exactly when `reason` is: `TXT_LOOKUP` (the
   * `DnsError` as its cause), `TXT_INVALID`, `INVALID_NAME`, or what the download or the
   * policy's parser threw (`TLS`, `HTTP_STATUS`, `POLICY_INVALID`, ...).
   */
  error?: StsError;
  /** Whether the cache was changed: written, removed, or left alone. */
  cache: "written" | "removed" | "unchanged";
  /** Other facts for stderr, one sentence each. */
  warnings: string[];
}

/**
 * Establishes a domain's MTA-STS policy: reads the cache, asks for the TXT id when the entry
 * is not fresh, downloads when needed, and updates the cache (never with a stub, D6).
 *
 * DNS, download and cache failures are not thrown: they leave `policy` undefined (or keep
 * the cached one) and say why in `reason` and `warnings`.
 *
 * @param domain The domain as typed.
 * @param options Resolver, cache, trust anchors, clock, signal.
 * @returns The policy, if any, with where it came from and why not.
 * @throws {DOMException} When `signal` aborts the TXT query (or the signal's own reason).
 * @throws {Deno.errors.NotCapable} When Deno refuses a permission the cache or download
 *   needs; the CLI names it rather than calling the cache broken.
 *
 * @example A domain's policy, cached between runs
 * ```ts ignore
 * import { lookupSts, matchesMx, Resolver, StsStore } from "@testmxlookup/testmxlookup";
 *
 * const sts = await lookupSts("example.com", {
 *   resolver: new Resolver({ servers: [{ address: "127.0.0.1" }] }),
 *   store: new StsStore("/var/lib/courier/sts"), // Courier's cache, shared safely
 *   signal: AbortSignal.timeout(30_000),
 * });
 * if (sts.policy && sts.policy.mode !== "none") {
 *   console.log(sts.policy.mode, matchesMx("mx.example.com", sts.policy.mx));
 * } else if (sts.reason) {
 *   console.error(sts.reason);
 * }
 * ```
 *
 * @example A domain without a policy
 * ```ts
 * import { DnsError, lookupSts, type Querier } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const nxdomain: Querier = {
 *   query: (name, type) =>
 *     Promise.reject(new DnsError("NXDOMAIN", `No such domain "${name}"`, { name, type })),
 * };
 * const sts = await lookupSts("Example.COM", { resolver: nxdomain });
 * assert.equal(sts.domain, "example.com");
 * assert.equal(sts.policy, undefined);
 * assert.deepEqual(sts.txt, { kind: "none" });
 * assert.equal(sts.reason, undefined); // no policy is the normal case, not a problem
 * ```
 */
export async function lookupSts(domain: string, options: LookupStsOptions): Promise<StsResult> {
  const warnings: string[] = [];
  const store = options.store;
  if (store) {
    // Read once per store (a run, a batch); an unreadable file is the default size.
    const size = await store.cacheSize();
    if (size.warning) warnings.push(size.warning);
    if (size.size === 0) return { enabled: false, cache: "unchanged", warnings };
  }
  // An address, bare or as an `[address]` literal, has no policy: there is nothing to ask for
  // and nothing to cache. IPv6 text is not a domain name, so this comes before the name check.
  if (parseAddress(domain.replace(/^\[(.*)\]$/, "$1")) !== undefined) {
    return { enabled: true, cache: "unchanged", warnings };
  }
  let name: string;
  try {
    name = entryName(domain);
  } catch (error) {
    if (!(error instanceof StsError)) throw error;
    return { enabled: true, reason: error.message, error, cache: "unchanged", warnings };
  }
  // Forms that become an address only once normalised, such as `127.1.`.
  if (parseAddress(name) !== undefined) return { enabled: true, cache: "unchanged", warnings };
  const nowSec = Math.floor((options.now ?? Date.now)() / 1000);
  const onStep = options.onStep;
  const readStart = performance.now();
  const read = store ? await store.read(name) : undefined;
  if (store && onStep) {
    const found = read?.kind === "entry" ? "entry" : read?.kind === "ignored" ? "ignored" : "none";
    onStep({
      step: "cache-read",
      name,
      startedAt: readStart,
      ms: performance.now() - readStart,
      found,
    });
  }
  if (read?.kind === "ignored") warnings.push(`${read.path}: ${read.reason}`);
  let cached: { state: CachedEntryState; policy?: StsPolicy } | undefined;
  if (read?.kind === "entry") {
    let policy: StsPolicy | undefined;
    if (!read.entry.stub) {
      try {
        policy = parsePolicy(read.entry.policy).policy;
      } catch (error) {
        if (!(error instanceof StsError)) throw error;
        warnings.push(`${read.path}: cached ${error.message.replace(/^I/, "i")}`);
      }
    }
    cached = {
      state: { id: read.entry.id, maxAge: policy?.maxAge, mtimeSec: read.mtimeSec },
      policy,
    };
  }
  const base = { domain: name, enabled: true, warnings };
  let txt: (TxtOutcome & { reason?: string }) | undefined;
  let txtError: StsError | undefined;
  const fromCache = (error?: StsError, reason?: string): StsResult => ({
    ...base,
    policy: cached!.policy,
    id: cached!.state.id,
    source: "cache",
    timestampSec: cached!.state.mtimeSec,
    reason,
    ...(error ? { error } : {}),
    txt,
    cache: "unchanged",
  });
  // Writability is learnt by writing: a read-only cache is Courier's case too
  // (docs/courier.md#opening-and-locking).
  const writable = store !== undefined;
  let decision = decideFreshness({ entry: cached?.state, nowSec, writable });
  // With nothing cached and a TXT answer slower than IDLE_MS, the policy host's addresses are
  // asked for while the TXT query is out (D22); nothing connects before the TXT id calls for
  // a download, and the queries stop when it does not.
  let early: EarlyAddresses | undefined;
  if (decision.action === "lookup-txt") {
    if (options.prefetch !== false && !options.connect && cached?.policy === undefined) {
      early = new EarlyAddresses(`mta-sts.${name}`, options.resolver, options.signal);
    }
    try {
      const { warnings: txtWarnings = [], error, ...outcome } = await lookupTxt(
        name,
        options.resolver,
        options.signal,
      );
      txt = outcome;
      txtError = error;
      for (const warning of txtWarnings) warnings.push(`_mta-sts.${name}: ${warning}`);
    } finally {
      early?.[Symbol.dispose]();
    }
    decision = decideFreshness({ entry: cached?.state, nowSec, writable, txt });
  }
  if (decision.action !== "fetch") early?.stop();
  switch (decision.action) {
    case "lookup-txt":
    case "use-cached":
      return fromCache();
    case "no-policy": {
      let cache: StsResult["cache"] = "unchanged";
      try {
        if (decision.deleteEntry && store && await store.remove(name)) cache = "removed";
      } catch (error) {
        if (!(error instanceof StsError)) throw error;
        // A read-only cache keeps the entry, as Courier's read-only mode does
        // (docs/courier.md#opening-and-locking).
        warnings.push(`The cache entry could not be removed: ${error.message}`);
      }
      return { ...base, reason: txt?.reason, ...(txtError ? { error: txtError } : {}), txt, cache };
    }
    case "fetch": {
      const id = (txt as { id: string }).id;
      let policy: StsPolicy;
      const trace = downloadTrace(`mta-sts.${name}`, onStep);
      try {
        const caCerts = typeof options.caCerts === "function"
          ? await options.caCerts()
          : options.caCerts;
        // D1: the policy host is found by the run's resolver, like every other name.
        const fetched = await downloadPolicy(
          name,
          {
            resolver: options.resolver,
            caCerts,
            timeout: options.fetchTimeout,
            port: options.fetchPort,
            connect: options.connect,
            signal: options.signal,
          },
          early?.addresses,
          () => {
            trace.sent();
            // The cache code is needed once the policy is in: loaded while the answer travels
            // (measured: started before the request, it held the request up by ~20 ms).
            if (decision.save && store) preloadFileLayer();
          },
        );
        trace.done();
        const parsed = parsePolicy(fetched.text);
        policy = parsed.policy;
        for (const warning of parsed.warnings) warnings.push(`${fetched.url}: ${warning}`);
      } catch (error) {
        if (!(error instanceof StsError)) throw error;
        trace.done(error.kind);
        if (decision.onFailure === "use-cached") {
          return fromCache(error, `${error.message}; the cached policy stays in use`);
        }
        return { ...base, id, reason: error.message, error, txt, cache: "unchanged" };
      }
      let cache: StsResult["cache"] = "unchanged";
      if (decision.save && store) {
        try {
          await store.write(name, id, policy.text);
          cache = "written";
        } catch (error) {
          if (!(error instanceof StsError)) throw error;
          // Without write permission the lookup still succeeds
          // (docs/courier.md#opening-and-locking, read-only mode).
          warnings.push(`The policy could not be saved: ${error.message}`);
        }
      }
      return {
        ...base,
        policy,
        id,
        source: "fetch",
        timestampSec: nowSec,
        txt,
        cache,
      };
    }
  }
}
