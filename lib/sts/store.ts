// The shared policy cache directory in Courier's format and naming, safe
// for Courier to share (D5, D9) and for another account that can write it (D25): validated
// names, capped reads that never follow a link or block on a FIFO, exclusive temporary files
// renamed into place. Courier's fcntl lock is not taken: see the note on write().
import type { WriteHandle } from "../_libc_file.ts";
import { rethrowPermissionRefusal } from "../errors.ts";
import { policyName } from "../names.ts";
import { quote } from "./_text.ts";
import {
  adoptOwner,
  capitalised,
  foreignReason,
  join,
  keptMode,
  openFile,
  readOnce,
  syncDirectory,
  temporaryName,
  writeError,
} from "./_cache_io.ts";
import { type CacheEntry, type CacheSize, encodeEntry, formatCacheSize } from "./cache_file.ts";
import { StsError } from "./errors.ts";
import { expireEntries, type ExpireResult } from "./expire.ts";
import { readCacheSizeFile, usableCacheSize } from "./_cache_size_file.ts";
import { parsePolicy } from "./policy.ts";

export { MAX_ENTRY_BYTES, preloadFileLayer } from "./_cache_io.ts";
export { MAX_CACHE_SIZE_BYTES } from "./_cache_size_file.ts";
export { type ExpireResult, STALE_TEMP_MS } from "./expire.ts";

/** Courier's cache directory (compiled into Debian's binary). */
export const DEFAULT_STS_DIR = "/var/lib/courier/sts";
/** The file in the cache directory that holds the cache size (Courier's). */
export const CACHE_SIZE_FILE = ".cache_size";
const READ_ATTEMPTS = 5;

// Courier's mode; a replaced file's mode is never widened.
const ENTRY_MODE = 0o644;

/** The outcome of {@linkcode StsStore.read}. */
export type EntryRead =
  /** No file. */
  | { kind: "absent"; path: string }
  /** A file that is not used, with the reason for stderr (`<path>: <reason>`). */
  | { kind: "ignored"; path: string; reason: string }
  /** A valid entry and its mtime in seconds, the time of its last fetch. */
  | { kind: "entry"; path: string; entry: CacheEntry; mtimeSec: number };

/**
 * The cache file name for a domain (D9): IDNA to A-labels, lower case, no trailing dot, so
 * that `Bücher.Example.` and `xn--bcher-kva.example` share one entry. Courier uses the
 * argument with A-Z lowered; for plain lower-case names the two agree.
 *
 * @param domain The domain as typed.
 * @returns The file name.
 * @throws {StsError} `INVALID_NAME` for anything that is not a host name: `/`, a leading
 *   dot (so `.cache_size`, `.` and `..`), an empty label, over 253 octets.
 *
 * @example One entry per domain, whatever the spelling
 * ```ts
 * import { entryName } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * assert.equal(entryName("Bücher.Example."), "xn--bcher-kva.example");
 * assert.equal(entryName("xn--bcher-kva.example"), "xn--bcher-kva.example");
 * assert.throws(() => entryName("../etc/passwd"), { kind: "INVALID_NAME" });
 * assert.throws(() => entryName(".cache_size"), { kind: "INVALID_NAME" });
 * ```
 */
export function entryName(domain: string): string {
  const name = policyName(domain);
  if (name === undefined) {
    throw new StsError("INVALID_NAME", `Not a domain name: ${quote(domain)}`, { domain });
  }
  return name;
}

/**
 * The cache directory, in Courier's format and safe to share with it. Every method takes the
 * domain as typed and names files by {@linkcode entryName}.
 *
 * @example Write, read and remove an entry
 * ```ts
 * import { StsStore } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * try {
 *   const store = new StsStore(dir);
 *   assert.deepEqual(await store.readCacheSize(), { size: 1000 }); // no .cache_size file
 *   const policy = "version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 86400\n";
 *   await store.write("Example.COM", "20240101", policy);
 *   const read = await store.read("example.com");
 *   assert.deepEqual(read.kind === "entry" && read.entry, { id: "20240101", policy, stub: false });
 *   assert.equal(await store.remove("example.com"), true);
 *   assert.equal((await store.read("example.com")).kind, "absent");
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export class StsStore {
  /** The directory. */
  readonly dir: string;
  #cacheSize?: Promise<CacheSize>;

  /**
   * Creates a store; nothing is touched until a method runs.
   *
   * @param dir The cache directory.
   */
  constructor(dir: string = DEFAULT_STS_DIR) {
    this.dir = dir;
  }

  /**
   * The path of a domain's entry.
   *
   * @param domain The domain as typed.
   * @returns The path.
   * @throws {StsError} `INVALID_NAME`.
   */
  pathOf(domain: string): string {
    return join(this.dir, entryName(domain));
  }

  /**
   * Reads a domain's entry. Symbolic links, non-regular files (never opened, so a FIFO does
   * not block), files with more than one hard link (maybe a file from outside, whose text
   * must not be quoted), files over {@linkcode MAX_ENTRY_BYTES} and files Courier would
   * reject (first line not `1`) are ignored with a reason; so are unreadable ones, as
   * in Courier.
   *
   * @param domain The domain as typed.
   * @returns The entry, or why there is none.
   * @throws {StsError} `INVALID_NAME`.
   */
  async read(domain: string): Promise<EntryRead> {
    const path = this.pathOf(domain);
    // A writer renaming a new file over the entry between lstat and open is normal (D5);
    // look again, a bounded number of times, as Courier re-checks its inode.
    let read: EntryRead | "replaced" = "replaced";
    for (let attempt = 0; attempt < READ_ATTEMPTS && read === "replaced"; attempt++) {
      read = await readOnce(path);
    }
    return read === "replaced" ? { kind: "ignored", path, reason: "kept being replaced" } : read;
  }

  /**
   * Stores a domain's entry (D5): a temporary file with an unpredictable name is created
   * exclusively in the directory, written, flushed and renamed over the entry, so Courier
   * and this tool read the old file or the new one, never a mix. As root the file is given
   * to the directory's owner, so that Courier, running as `courier`, can replace it.
   *
   * No fcntl lock is taken (Deno locks with flock, which does not meet Courier's fcntl
   * locks). A Courier process that holds its lock while we rename keeps writing
   * to the old inode and loses that one write; its next run re-checks the inode.
   *
   * The policy is parsed again first: nothing is stored that the parser would reject (an
   * `--sts-override` of a cached file that was never a valid policy).
   *
   * @param domain The domain as typed.
   * @param id The TXT id.
   * @param policy The policy text, in cache form (`StsPolicy.text`).
   * @throws {StsError} `INVALID_NAME`; `POLICY_INVALID`; `CACHE_WRITE` when the directory is
   *   read-only, missing or full.
   */
  async write(domain: string, id: string, policy: string): Promise<void> {
    const path = this.pathOf(domain);
    try {
      parsePolicy(policy);
    } catch (error) {
      if (!(error instanceof StsError)) throw error;
      throw new StsError("POLICY_INVALID", `Cannot store ${quote(path)}: ${error.message}`, {
        domain,
        path,
        cause: error,
      });
    }
    await this.#replace(path, encodeEntry(id, policy));
  }

  /**
   * Sets a domain's entry's mtime, its timestamp, to `nowSec` (Courier's half-way "touch").
   *
   * @param domain The domain as typed.
   * @param nowSec The time in seconds.
   * @throws {StsError} `INVALID_NAME`; `CACHE_WRITE` when it is not a regular file or
   *   cannot be changed.
   */
  async touch(domain: string, nowSec: number): Promise<void> {
    const path = this.pathOf(domain);
    let handle: WriteHandle | undefined;
    try {
      // utime(2) follows links: set the time through a descriptor of the very file read()
      // would use, so that nothing outside the directory is ever changed.
      const info = await Deno.lstat(path);
      const refusal = foreignReason(info.isSymlink, info.isFile, info.nlink);
      if (refusal !== undefined) throw new Error(capitalised(refusal));
      handle = await openFile(path, "read");
      const opened = await handle.stat();
      const changed = foreignReason(false, opened.isFile(), opened.nlink);
      if (changed !== undefined) throw new Error(capitalised(changed));
      await handle.utimes(nowSec, nowSec);
    } catch (error) {
      rethrowPermissionRefusal(error);
      throw writeError("touch", path, error);
    } finally {
      await handle?.close();
    }
  }

  /**
   * Removes a domain's entry (`--sts-purge`; "no policy" after a definite DNS answer).
   *
   * @param domain The domain as typed.
   * @returns False when there was no entry.
   * @throws {StsError} `INVALID_NAME`; `CACHE_WRITE` when it cannot be removed or is a
   *   directory.
   */
  async remove(domain: string): Promise<boolean> {
    const path = this.pathOf(domain);
    try {
      // Deno.remove would delete an empty directory; unlink(2) would not.
      if ((await Deno.lstat(path)).isDirectory) throw new Error("Is a directory");
      await Deno.remove(path);
      return true;
    } catch (error) {
      rethrowPermissionRefusal(error);
      if (error instanceof Deno.errors.NotFound) return false;
      throw writeError("remove", path, error);
    }
  }

  /**
   * Trims the cache to `limit` entries, oldest mtime first, as `expireEntries` in
   * lib/sts/expire.ts: only regular files with valid entry names count and may go (D9);
   * stale temporary files are removed; what is left alone is counted, the first few named.
   * A missing directory is nothing to trim.
   *
   * @param limit The cache size; 0 or less does nothing, as in Courier.
   * @param nowMs The time, milliseconds since the epoch, to age temporary files.
   * @returns What was removed, and what could not be or was left alone.
   * @throws {StsError} `CACHE_READ` when the directory exists but cannot be listed.
   */
  expire(limit: number, nowMs: number = Date.now()): Promise<ExpireResult> {
    return expireEntries(this.dir, limit, nowMs);
  }

  /**
   * Reads `.cache_size` (D10) now: its first 1024 bytes, as Courier reads one line.
   * A link, a non-regular or a hard-linked file gives the default size with a warning.
   * Lookups use {@linkcode StsStore.cacheSize}, which reads it once.
   *
   * @returns The size, with a warning naming the file when it is not a plain number.
   * @throws {StsError} `CACHE_READ` when it exists but cannot be read.
   */
  readCacheSize(): Promise<CacheSize> {
    return readCacheSizeFile(join(this.dir, CACHE_SIZE_FILE));
  }

  /**
   * `.cache_size` as lookups use it: read once for this store's lifetime, as one run of
   * Courier reads it once, so that a batch sharing the store reads it once; a change through
   * {@linkcode StsStore.writeCacheSize} or {@linkcode StsStore.removeCacheSize} is seen, one
   * made by another program only by a new store. A file that exists but cannot be read counts
   * as missing, as Courier cannot tell them apart: the default size, the reason as `warning`.
   *
   * @returns The size, with a warning naming the file when it is not a plain number or not
   *   readable.
   */
  cacheSize(): Promise<CacheSize> {
    return this.#cacheSize ??= usableCacheSize(join(this.dir, CACHE_SIZE_FILE));
  }

  /**
   * Writes `.cache_size` as `<size>\n` (`--sts-cache-disable` writes 0,
   * `--sts-cache-enable=N` writes N), atomically like an entry.
   *
   * @param size 0 to 999999.
   * @throws {StsError} `CACHE_WRITE` with the reason (D10: the CLI exits 1).
   * @throws {RangeError} For a size out of range.
   */
  async writeCacheSize(size: number): Promise<void> {
    const text = formatCacheSize(size);
    try {
      await this.#replace(join(this.dir, CACHE_SIZE_FILE), new TextEncoder().encode(text));
    } finally {
      this.#cacheSize = undefined;
    }
  }

  /**
   * Removes `.cache_size`, which restores the default size (`--sts-cache-enable`). Quiet when
   * there is none (D10; Courier complains).
   *
   * @throws {StsError} `CACHE_WRITE` with the reason, also when it is a directory.
   */
  async removeCacheSize(): Promise<void> {
    const path = join(this.dir, CACHE_SIZE_FILE);
    try {
      // Deno.remove would delete an empty directory; unlink(2) would not.
      if ((await Deno.lstat(path)).isDirectory) throw new Error("Is a directory");
      await Deno.remove(path);
    } catch (error) {
      rethrowPermissionRefusal(error);
      if (!(error instanceof Deno.errors.NotFound)) throw writeError("remove", path, error);
    } finally {
      this.#cacheSize = undefined;
    }
  }

  async #replace(path: string, bytes: Uint8Array): Promise<void> {
    // A dot name, so that Courier's expiry and ours never count a leftover.
    const temp = join(this.dir, temporaryName());
    let created = false;
    try {
      const handle = await openFile(temp, "create", await keptMode(path, ENTRY_MODE));
      created = true;
      try {
        let written = 0;
        while (written < bytes.length) {
          written += (await handle.write(bytes, written, bytes.length - written)).bytesWritten;
        }
        // Through the descriptor: another account that writes the directory could have put a
        // link in the temporary file's place by now, and chown(2) would follow it.
        await adoptOwner(handle, this.dir);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      await Deno.rename(temp, path);
      created = false;
    } catch (error) {
      rethrowPermissionRefusal(error);
      if (created) await Deno.remove(temp).catch(() => {});
      throw writeError("write", path, error);
    }
    await syncDirectory(this.dir);
  }
}
