// Administration of the STS policy cache as Courier's `--sts-purge`, `--sts-override=`,
// `--sts-expire` and `--sts-cache-*` do it (the file work is StsStore's): each returns what
// happened, and printing it is the caller's.
import { overridePolicy } from "./cache_file.ts";
import { osErrorText } from "../errors.ts";
import { StsError } from "./errors.ts";
import type { StsMode } from "./policy.ts";
import type { EntryRead, StsStore } from "./store.ts";

/** What {@linkcode purgePolicy} did. */
export type PurgeResult =
  /** The entry at `path` was removed. */
  | { kind: "removed"; path: string }
  /** There was no entry at `path`. */
  | { kind: "absent"; path: string }
  /** The entry at `path` could not be removed, for `reason` (strerror's words). */
  | { kind: "failed"; path: string; reason: string }
  /** The domain cannot name a cache entry, for `reason`. */
  | { kind: "invalid"; reason: string };

/**
 * Removes a domain's cached policy, as `--sts-purge` does before showing the policy anew.
 *
 * @param store The cache.
 * @param domain The domain as typed.
 * @returns What happened; failures of the file system are in it.
 * @throws Deno's permission errors, passed on.
 *
 * @example Purge an entry that is not there
 * ```ts
 * import { purgePolicy, StsStore } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const store = new StsStore(await Deno.makeTempDir());
 * const result = await purgePolicy(store, "example.com");
 * assert.equal(result.kind, "absent");
 * ```
 */
export async function purgePolicy(store: StsStore, domain: string): Promise<PurgeResult> {
  let path: string;
  try {
    path = store.pathOf(domain);
  } catch (error) {
    if (!(error instanceof StsError)) throw error;
    return { kind: "invalid", reason: error.message };
  }
  try {
    return { kind: await store.remove(domain) ? "removed" : "absent", path };
  } catch (error) {
    if (!(error instanceof StsError)) throw error;
    return { kind: "failed", path, reason: causeText(error) };
  }
}

/** What {@linkcode overrideMode} did; `warnings` are sentences for stderr, in order. */
export type OverrideResult =
  /** The entry at `path` now has the new mode. */
  | { kind: "written"; path: string; warnings: string[] }
  /** STS is off (`.cache_size` is 0): nothing to override. */
  | { kind: "disabled"; warnings: string[] }
  /** No usable cached policy (absent, unreadable, ignored or a stub). */
  | { kind: "not-cached"; warnings: string[] }
  /** The entry at `path` could not be rewritten. */
  | { kind: "unwritable"; path: string; warnings: string[] };

/**
 * Rewrites the mode of a domain's cached policy, as `--sts-override=MODE` does: the other
 * lines are kept and two `info:` lines say how to undo it.
 *
 * @param store The cache.
 * @param domain The domain as typed (quoted in the `info:` line).
 * @param mode The new mode.
 * @returns What happened; failures of the file system are in it.
 * @throws Deno's permission errors, passed on.
 *
 * @example Override a cached policy
 * ```ts
 * import { overrideMode, StsStore } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const store = new StsStore(await Deno.makeTempDir());
 * const policy = "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 86400\n";
 * await store.write("example.com", "20240101", policy);
 * const result = await overrideMode(store, "example.com", "testing");
 * assert.equal(result.kind, "written");
 * const read = await store.read("example.com");
 * assert.ok(read.kind === "entry" && read.entry.policy.endsWith("mode: testing\n"));
 * ```
 */
export async function overrideMode(
  store: StsStore,
  domain: string,
  mode: StsMode,
): Promise<OverrideResult> {
  const warnings: string[] = [];
  // As lookupSts does: an unreadable .cache_size counts as missing, the default size.
  const size = await store.cacheSize();
  if (size.warning) warnings.push(size.warning);
  if (size.size === 0) return { kind: "disabled", warnings };
  let read: EntryRead;
  try {
    read = await store.read(domain);
  } catch (error) {
    if (!(error instanceof StsError)) throw error;
    warnings.push(error.message);
    return { kind: "not-cached", warnings };
  }
  if (read.kind !== "entry" || read.entry.stub) {
    if (read.kind === "ignored") warnings.push(`${read.path}: ${read.reason}`);
    return { kind: "not-cached", warnings };
  }
  const text = overridePolicy(read.entry.policy, mode, domain);
  try {
    await store.write(domain, read.entry.id, text);
  } catch (error) {
    if (!(error instanceof StsError)) throw error;
    warnings.push(error.message);
    // D26: a policy the parser rejects is not written; the cached one was never usable.
    if (error.kind === "POLICY_INVALID") return { kind: "not-cached", warnings };
    return { kind: "unwritable", path: read.path, warnings };
  }
  return { kind: "written", path: read.path, warnings };
}

/** What {@linkcode expireCache} did. */
export interface ExpireCacheResult {
  /** Sentences for stderr: a questionable `.cache_size`, entries left alone. */
  warnings: string[];
  /** Why the cache could not be expired (its directory cannot be read, ...). */
  error?: StsError;
}

/**
 * Expires the cache as `--sts-expire` does: removes the oldest entries beyond `.cache_size`.
 *
 * @param store The cache.
 * @returns The warnings, and the failure when there was one.
 * @throws Deno's permission errors, passed on.
 *
 * @example Expire an empty cache
 * ```ts
 * import { expireCache, StsStore } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const store = new StsStore(await Deno.makeTempDir());
 * assert.deepEqual(await expireCache(store), { warnings: [] });
 * ```
 */
export async function expireCache(store: StsStore): Promise<ExpireCacheResult> {
  const warnings: string[] = [];
  try {
    const size = await store.readCacheSize();
    if (size.warning) warnings.push(size.warning);
    warnings.push(...(await store.expire(size.size)).warnings);
    return { warnings };
  } catch (error) {
    if (!(error instanceof StsError)) throw error;
    return { warnings, error };
  }
}

/**
 * Sets the cache size as `--sts-cache-disable` (0), `--sts-cache-enable=N` (N) and
 * `--sts-cache-enable` (undefined: the default, 1000, by removing `.cache_size`) do.
 *
 * @param store The cache.
 * @param size The new size; 0 turns STS off.
 * @throws {StsError} When `.cache_size` cannot be written or removed.
 *
 * @example Turn STS off and on again
 * ```ts
 * import { setCacheSize, StsStore } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const store = new StsStore(await Deno.makeTempDir());
 * await setCacheSize(store, 0);
 * assert.deepEqual(await store.readCacheSize(), { size: 0 });
 * await setCacheSize(store, undefined);
 * assert.deepEqual(await store.readCacheSize(), { size: 1000 });
 * ```
 */
export async function setCacheSize(store: StsStore, size: number | undefined): Promise<void> {
  if (size === undefined) await store.removeCacheSize();
  else await store.writeCacheSize(size);
}

/** The words of an error's OS cause, as strerror(3) says them. */
export function causeText(error: unknown): string {
  return osErrorText(error instanceof Error && error.cause !== undefined ? error.cause : error);
}
