// The shared policy cache directory (sts.md §2-§4, §12-§14) through Deno's file APIs, safe for
// Courier to share (D5, D9): validated names, capped reads that skip links, atomic writes.
// Courier's fcntl lock is not taken: see the note on write().
import { join } from "node:path";
import { asciiName } from "./_name.ts";
import { osReason, quote } from "./_text.ts";
import {
  type CacheEntry,
  type CacheSize,
  decodeEntry,
  encodeEntry,
  formatCacheSize,
  parseCacheSize,
} from "./cache_file.ts";
import { StsError } from "./errors.ts";
import { MAX_POLICY_BYTES } from "./policy.ts";

/** Courier's cache directory (compiled into Debian's binary). */
export const DEFAULT_STS_DIR = "/var/lib/courier/sts";
/** The file in the cache directory that holds the cache size (sts.md §13). */
export const CACHE_SIZE_FILE = ".cache_size";
/** The largest cache file read: the largest policy plus room for the header. */
export const MAX_ENTRY_BYTES: number = MAX_POLICY_BYTES + 1024;
const READ_ATTEMPTS = 5;

/** The outcome of {@linkcode StsStore.read}. */
export type EntryRead =
  /** No file. */
  | { kind: "absent"; path: string }
  /** A file that is not used, with the reason for stderr (`<path>: <reason>`). */
  | { kind: "ignored"; path: string; reason: string }
  /** A valid entry and its mtime in seconds, the time of its last fetch. */
  | { kind: "entry"; path: string; entry: CacheEntry; mtimeSec: number };

/** The outcome of {@linkcode StsStore.expire}. */
export interface ExpireResult {
  /** The entry names removed, oldest first. */
  removed: string[];
  /** Entries that could not be removed, as `<path>: <reason>`. */
  warnings: string[];
}

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
  const name = asciiName(domain);
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
   * Reads a domain's entry. Symbolic links, non-regular files, files over
   * {@linkcode MAX_ENTRY_BYTES} and files Courier would reject (first line not `1`, §3.1)
   * are ignored with a reason; so are unreadable ones, as in Courier.
   *
   * @param domain The domain as typed.
   * @returns The entry, or why there is none.
   * @throws {StsError} `INVALID_NAME`.
   */
  async read(domain: string): Promise<EntryRead> {
    const path = this.pathOf(domain);
    // A writer renaming a new file over the entry between lstat and open is normal (D5);
    // look again, a bounded number of times, as Courier re-checks its inode (sts.md §4).
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
   * locks; sts.md §4). A Courier process that holds its lock while we rename keeps writing
   * to the old inode and loses that one write; its next run re-checks the inode (§15).
   *
   * @param domain The domain as typed.
   * @param id The TXT id.
   * @param policy The policy text, in cache form (`StsPolicy.text`).
   * @throws {StsError} `INVALID_NAME`; `CACHE_WRITE` when the directory is read-only,
   *   missing or full.
   */
  async write(domain: string, id: string, policy: string): Promise<void> {
    const path = this.pathOf(domain);
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
    try {
      // utime follows links; the entry must be the regular file read() would use.
      if (!(await Deno.lstat(path)).isFile) throw new Error("Not a regular file");
      await Deno.utime(path, nowSec, nowSec);
    } catch (error) {
      rethrowRefusal(error);
      throw writeError("touch", path, error);
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
      rethrowRefusal(error);
      if (error instanceof Deno.errors.NotFound) return false;
      throw writeError("remove", path, error);
    }
  }

  /**
   * Trims the cache to `limit` entries, oldest mtime first (sts.md §12). Unlike Courier only
   * regular files with valid entry names count and may go (D9, S17): no dot-files, no
   * directories, links or foreign files; equal mtimes go in name order.
   *
   * @param limit The cache size; 0 or less does nothing, as in Courier.
   * @returns What was removed, and what could not be.
   * @throws {StsError} `CACHE_READ` when the directory cannot be listed.
   */
  async expire(limit: number): Promise<ExpireResult> {
    const result: ExpireResult = { removed: [], warnings: [] };
    if (limit <= 0) return result;
    const entries: { name: string; mtime: number }[] = [];
    try {
      for await (const item of Deno.readDir(this.dir)) {
        if (!item.isFile || asciiName(item.name) !== item.name) continue;
        try {
          const info = await Deno.lstat(join(this.dir, item.name));
          if (info.isFile) entries.push({ name: item.name, mtime: info.mtime?.getTime() ?? 0 });
        } catch {
          // Gone since the listing: one less to remove.
        }
      }
    } catch (error) {
      rethrowRefusal(error);
      throw new StsError("CACHE_READ", `Cannot list ${quote(this.dir)}: ${osReason(error)}`, {
        path: this.dir,
        cause: error,
      });
    }
    entries.sort((a, b) => a.mtime - b.mtime || (a.name < b.name ? -1 : 1));
    for (const { name } of entries.slice(0, Math.max(0, entries.length - limit))) {
      const path = join(this.dir, name);
      try {
        await Deno.remove(path);
        result.removed.push(name);
      } catch (error) {
        rethrowRefusal(error);
        if (!(error instanceof Deno.errors.NotFound)) {
          result.warnings.push(`${path}: ${osReason(error)}`);
        }
      }
    }
    return result;
  }

  /**
   * Reads `.cache_size` (sts.md §13, D10).
   *
   * @returns The size, with a warning naming the file when it is not a plain number.
   * @throws {StsError} `CACHE_READ` when it exists but cannot be read.
   */
  async readCacheSize(): Promise<CacheSize> {
    const path = join(this.dir, CACHE_SIZE_FILE);
    let text: string | undefined;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      rethrowRefusal(error);
      if (!(error instanceof Deno.errors.NotFound)) {
        throw new StsError("CACHE_READ", `Cannot read ${quote(path)}: ${osReason(error)}`, {
          path,
          cause: error,
        });
      }
    }
    return parseCacheSize(text, path);
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
    await this.#replace(join(this.dir, CACHE_SIZE_FILE), new TextEncoder().encode(text));
  }

  /**
   * Removes `.cache_size`, which restores the default size (`--sts-cache-enable`). Quiet when
   * there is none (D10; Courier complains).
   *
   * @throws {StsError} `CACHE_WRITE` with the reason.
   */
  async removeCacheSize(): Promise<void> {
    const path = join(this.dir, CACHE_SIZE_FILE);
    try {
      await Deno.remove(path);
    } catch (error) {
      rethrowRefusal(error);
      if (!(error instanceof Deno.errors.NotFound)) throw writeError("remove", path, error);
    }
  }

  async #replace(path: string, bytes: Uint8Array): Promise<void> {
    // A dot name, so that Courier's expiry and ours never count a leftover (sts.md §12).
    const random = crypto.getRandomValues(new Uint8Array(16));
    const temp = join(this.dir, `.tmp-${Array.from(random, hex).join("")}`);
    let created = false;
    try {
      // createNew is O_EXCL: never someone else's file, never through a planted link.
      const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o644 });
      created = true;
      try {
        let written = 0;
        while (written < bytes.length) written += await file.write(bytes.subarray(written));
        await file.syncData();
      } finally {
        file.close();
      }
      await adoptOwner(temp, this.dir);
      await Deno.rename(temp, path);
      created = false;
    } catch (error) {
      rethrowRefusal(error);
      if (created) await Deno.remove(temp).catch(() => {});
      throw writeError("write", path, error);
    }
    await syncDirectory(this.dir);
  }
}

async function readOnce(path: string): Promise<EntryRead | "replaced"> {
  const ignored = (reason: string): EntryRead => ({ kind: "ignored", path, reason });
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    rethrowRefusal(error);
    if (error instanceof Deno.errors.NotFound) return { kind: "absent", path };
    return ignored(osReason(error));
  }
  if (info.isSymlink) return ignored("is a symbolic link, not followed");
  if (!info.isFile) return ignored("is not a regular file");
  if (info.size > MAX_ENTRY_BYTES) {
    return ignored(`is ${info.size} bytes, over the limit of ${MAX_ENTRY_BYTES}`);
  }
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    rethrowRefusal(error);
    if (error instanceof Deno.errors.NotFound) return "replaced";
    return ignored(osReason(error));
  }
  try {
    // Deno has no O_NOFOLLOW: comparing the opened file with what lstat saw catches a link
    // or another file put there between the two calls.
    const opened = await file.stat();
    if (opened.ino !== info.ino || opened.dev !== info.dev) return "replaced";
    const bytes = await readCapped(file, MAX_ENTRY_BYTES);
    if (bytes === undefined) return ignored(`grew over ${MAX_ENTRY_BYTES} bytes while read`);
    const decoded = decodeEntry(bytes);
    if (!decoded.valid) return ignored(decoded.reason);
    const { id, policy, stub } = decoded;
    const mtimeSec = Math.floor((opened.mtime?.getTime() ?? 0) / 1000);
    return { kind: "entry", path, entry: { id, policy, stub }, mtimeSec };
  } catch (error) {
    rethrowRefusal(error);
    return ignored(osReason(error));
  } finally {
    file.close();
  }
}

async function readCapped(file: Deno.FsFile, cap: number): Promise<Uint8Array | undefined> {
  const buffer = new Uint8Array(cap + 1);
  let length = 0;
  // Each turn reads at least one byte or ends, so at most cap + 1 turns.
  while (length < buffer.length) {
    const n = await file.read(buffer.subarray(length));
    if (n === null) return buffer.subarray(0, length);
    length += n;
  }
  return undefined;
}

// D5, D16: as root, hand the file to the directory's owner (Courier runs as courier). A
// non-root caller cannot give files away; the chown then fails and the file stays ours.
async function adoptOwner(path: string, dir: string): Promise<void> {
  const [owner, file] = await Promise.all([Deno.stat(dir), Deno.stat(path)]);
  if (owner.uid === null || owner.gid === null) return;
  if (owner.uid === file.uid && owner.gid === file.gid) return;
  try {
    await Deno.chown(path, owner.uid, owner.gid);
  } catch (error) {
    rethrowRefusal(error);
    if (!(error instanceof Deno.errors.PermissionDenied)) throw error;
  }
}

// Makes the rename itself durable; a directory that cannot be opened only loses that.
async function syncDirectory(dir: string): Promise<void> {
  try {
    using handle = await Deno.open(dir, { read: true });
    await handle.sync();
  } catch {
    // Best effort: the entry is complete either way.
  }
}

/** A permission Deno refused is the CLI's to name (exit 77), not a cache problem. */
function rethrowRefusal(error: unknown): void {
  if (error instanceof Deno.errors.NotCapable) throw error;
}

function writeError(verb: string, path: string, error: unknown): StsError {
  if (error instanceof StsError) return error;
  return new StsError("CACHE_WRITE", `Cannot ${verb} ${quote(path)}: ${osReason(error)}`, {
    path,
    cause: error,
  });
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
