// The shared policy cache directory (sts.md §2-§4, §12-§14), safe for Courier to share (D5, D9)
// and for another account that can write it (#7): validated names, capped reads that never
// follow a link or block on a FIFO, exclusive temporary files renamed into place.
// Courier's fcntl lock is not taken: see the note on write().
import type { Stats } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { policyName } from "../names.ts";
import { osReason, quote } from "./_text.ts";
import {
  type CacheEntry,
  type CacheSize,
  decodeEntry,
  DEFAULT_CACHE_SIZE,
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
/** The largest `.cache_size` read; Courier reads one line of up to 1023 bytes (sts.md §13). */
export const MAX_CACHE_SIZE_BYTES = 1024;
/** A temporary file older than this is a crash's leftover, which expire() removes. */
export const STALE_TEMP_MS: number = 3600_000;
const READ_ATTEMPTS = 5;
const TEMP_NAME = /^\.tmp-[0-9a-f]{32}$/;

// Deno.open has neither flag, node:fs passes them through. The directory may be writable by
// another account (#7): O_NOFOLLOW makes a planted link fail (ELOOP) instead of being
// followed, O_NONBLOCK keeps a FIFO swapped in after lstat from blocking the open, O_NOCTTY
// keeps a terminal from becoming ours. Device nodes cannot be planted: making one needs
// CAP_MKNOD and a hard link cannot cross into /dev.
// O_EXCL on create: never someone else's file, never through a planted link (it also implies
// no follow).
type OpenFor = "read" | "create";

let nodeFs: Promise<typeof import("node:fs/promises")> | undefined;

/**
 * Opens `path` with the flags above. node:fs is loaded on the first open, not with this
 * module: its first import costs ~16 ms and 11 MiB (the Node compatibility layer, #6), which
 * a lookup for a domain without a cached policy never pays.
 */
async function openFile(path: string, purpose: OpenFor, mode?: number): Promise<FileHandle> {
  nodeFs ??= import("node:fs/promises");
  const { constants: c, open } = await nodeFs;
  const flags = purpose === "read"
    ? c.O_RDONLY | c.O_NOFOLLOW | c.O_NONBLOCK | c.O_NOCTTY
    : c.O_WRONLY | c.O_CREAT | c.O_EXCL | c.O_NOFOLLOW;
  return await open(path, flags, mode);
}

/**
 * Starts loading node:fs ahead of the first open, for a caller with time to spare (a lookup
 * waiting on the network before it writes the cache).
 */
export function preloadFileLayer(): void {
  nodeFs ??= import("node:fs/promises");
}

/** `name` in `dir`, without node:path (see openFile). */
function join(dir: string, name: string): string {
  if (dir === "") return name;
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}
// Courier's mode (sts.md §15); a replaced file's mode is never widened.
const ENTRY_MODE = 0o644;

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
  /**
   * As `<path>: <reason>`: entries that could not be removed, things in the directory that
   * are not entries and were left alone (links, directories, FIFOs, hard-linked files), and
   * temporary files of interrupted writes that were removed.
   */
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
   * reject (first line not `1`, §3.1) are ignored with a reason; so are unreadable ones, as
   * in Courier.
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
    let handle: FileHandle | undefined;
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
      rethrowRefusal(error);
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
   * Temporary files of writes cut short (older than {@linkcode STALE_TEMP_MS}) are removed,
   * and links, directories, FIFOs and hard-linked files are named and left alone.
   *
   * @param limit The cache size; 0 or less does nothing, as in Courier.
   * @param nowMs The time, milliseconds since the epoch, to age temporary files.
   * @returns What was removed, and what could not be or was left alone.
   * @throws {StsError} `CACHE_READ` when the directory cannot be listed.
   */
  async expire(limit: number, nowMs: number = Date.now()): Promise<ExpireResult> {
    const result: ExpireResult = { removed: [], warnings: [] };
    if (limit <= 0) return result;
    const entries: { name: string; mtime: number }[] = [];
    const stale: string[] = [];
    try {
      for await (const item of Deno.readDir(this.dir)) {
        const path = join(this.dir, item.name);
        const leftover = TEMP_NAME.test(item.name);
        // Other dot-files (.cache_size) and names Courier made (`a,25`) are not ours to judge.
        if (!leftover && policyName(item.name) !== item.name) continue;
        let info: Deno.FileInfo;
        try {
          info = await Deno.lstat(path);
        } catch {
          continue; // Gone since the listing: one less to remove.
        }
        const mtime = info.mtime?.getTime() ?? 0;
        if (leftover) {
          // A writer renames its file within milliseconds; one this old was cut short.
          if (!info.isDirectory && nowMs - mtime > STALE_TEMP_MS) stale.push(item.name);
          continue;
        }
        const foreign = foreignReason(info.isSymlink, info.isFile, info.nlink);
        if (foreign === undefined) entries.push({ name: item.name, mtime });
        else result.warnings.push(`${path}: ${foreign}, left alone`);
      }
    } catch (error) {
      rethrowRefusal(error);
      throw new StsError("CACHE_READ", `Cannot list ${quote(this.dir)}: ${reasonOf(error)}`, {
        path: this.dir,
        cause: error,
      });
    }
    for (const name of stale.sort()) {
      const path = join(this.dir, name);
      const removed = await this.#unlink(path, result);
      if (removed) {
        result.warnings.push(`${path}: a temporary file left by an interrupted write, removed`);
      }
    }
    entries.sort((a, b) => a.mtime - b.mtime || (a.name < b.name ? -1 : 1));
    for (const { name } of entries.slice(0, Math.max(0, entries.length - limit))) {
      if (await this.#unlink(join(this.dir, name), result)) result.removed.push(name);
    }
    return result;
  }

  // unlink(2) removes a link or a name, never what it points to.
  async #unlink(path: string, result: ExpireResult): Promise<boolean> {
    try {
      await Deno.remove(path);
      return true;
    } catch (error) {
      rethrowRefusal(error);
      if (!(error instanceof Deno.errors.NotFound)) {
        result.warnings.push(`${path}: ${reasonOf(error)}`);
      }
      return false;
    }
  }

  /**
   * Reads `.cache_size` (sts.md §13, D10): its first 1024 bytes, as Courier reads one line.
   * A link, a non-regular or a hard-linked file gives the default size with a warning.
   *
   * @returns The size, with a warning naming the file when it is not a plain number.
   * @throws {StsError} `CACHE_READ` when it exists but cannot be read.
   */
  async readCacheSize(): Promise<CacheSize> {
    const path = join(this.dir, CACHE_SIZE_FILE);
    const cannot = (error: unknown) =>
      new StsError("CACHE_READ", `Cannot read ${quote(path)}: ${reasonOf(error)}`, {
        path,
        cause: error,
      });
    const skipped = (reason: string): CacheSize => ({
      size: DEFAULT_CACHE_SIZE,
      warning: `${quote(path)} ${reason}: using the default size ${DEFAULT_CACHE_SIZE}`,
    });
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(path); // no blocking thread for this (see readOnce)
    } catch (error) {
      rethrowRefusal(error);
      if (error instanceof Deno.errors.NotFound) return parseCacheSize(undefined, path);
      throw cannot(error);
    }
    const foreign = foreignReason(info.isSymlink, info.isFile, info.nlink);
    if (foreign !== undefined) return skipped(foreign);
    let handle: FileHandle;
    try {
      handle = await openFile(path, "read");
    } catch (error) {
      rethrowRefusal(error);
      if (codeOf(error) === "ENOENT") return parseCacheSize(undefined, path);
      if (codeOf(error) === "ELOOP") return skipped(foreignReason(true, false, 1)!);
      throw cannot(error);
    }
    try {
      const opened = await handle.stat();
      const changed = foreignReason(false, opened.isFile(), opened.nlink);
      if (changed !== undefined) return skipped(changed);
      const bytes = await readPrefix(handle, MAX_CACHE_SIZE_BYTES);
      return parseCacheSize(utf8.decode(bytes), path);
    } catch (error) {
      rethrowRefusal(error);
      throw cannot(error);
    } finally {
      await handle.close();
    }
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
   * @throws {StsError} `CACHE_WRITE` with the reason, also when it is a directory.
   */
  async removeCacheSize(): Promise<void> {
    const path = join(this.dir, CACHE_SIZE_FILE);
    try {
      // Deno.remove would delete an empty directory; unlink(2) would not.
      if ((await Deno.lstat(path)).isDirectory) throw new Error("Is a directory");
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
      const handle = await openFile(temp, "create", await keptMode(path));
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
      rethrowRefusal(error);
      if (created) await Deno.remove(temp).catch(() => {});
      throw writeError("write", path, error);
    }
    await syncDirectory(this.dir);
  }
}

const utf8 = new TextDecoder();

/**
 * Why a directory entry is not used as a file of ours, or undefined when it may be. A second
 * hard link may be a file from outside the directory that another account linked in: it is
 * neither read (its text could end up quoted on stderr) nor touched.
 */
function foreignReason(
  isSymlink: boolean,
  isFile: boolean,
  nlink: number | null,
): string | undefined {
  if (isSymlink) return "is a symbolic link, not followed";
  if (!isFile) return "is not a regular file";
  if (nlink !== null && nlink > 1) return `has ${nlink} hard links, not used`;
  return undefined;
}

async function readOnce(path: string): Promise<EntryRead | "replaced"> {
  const ignored = (reason: string): EntryRead => ({ kind: "ignored", path, reason });
  let info: Deno.FileInfo;
  try {
    // Synchronous: a local lstat does not block, and each asynchronous file call is a hop through
    // a blocking thread that Deno starts on first use (1–2 MiB of RSS, measured at start-up).
    info = Deno.lstatSync(path);
  } catch (error) {
    rethrowRefusal(error);
    if (error instanceof Deno.errors.NotFound) return { kind: "absent", path };
    return ignored(reasonOf(error));
  }
  const foreign = foreignReason(info.isSymlink, info.isFile, info.nlink);
  if (foreign !== undefined) return ignored(foreign);
  if (info.size > MAX_ENTRY_BYTES) {
    return ignored(`is ${info.size} bytes, over the limit of ${MAX_ENTRY_BYTES}`);
  }
  let handle: FileHandle;
  try {
    handle = await openFile(path, "read");
  } catch (error) {
    rethrowRefusal(error);
    // Gone, or a link put there since lstat: the next look says which.
    if (codeOf(error) === "ENOENT" || codeOf(error) === "ELOOP") return "replaced";
    return ignored(reasonOf(error));
  }
  try {
    // Another file put there between lstat and open (a FIFO, a hard link) shows here.
    const opened = await handle.stat();
    if (!sameFile(opened, info) || !opened.isFile() || opened.nlink > 1) return "replaced";
    const bytes = await readCapped(handle, MAX_ENTRY_BYTES);
    if (bytes === undefined) return ignored(`grew over ${MAX_ENTRY_BYTES} bytes while read`);
    const decoded = decodeEntry(bytes);
    if (!decoded.valid) return ignored(decoded.reason);
    const { id, policy, stub } = decoded;
    const mtimeSec = Math.floor(opened.mtimeMs / 1000);
    return { kind: "entry", path, entry: { id, policy, stub }, mtimeSec };
  } catch (error) {
    rethrowRefusal(error);
    return ignored(reasonOf(error));
  } finally {
    await handle.close();
  }
}

function sameFile(opened: Stats, seen: Deno.FileInfo): boolean {
  return opened.ino === seen.ino && opened.dev === seen.dev;
}

/** The file's bytes, or undefined when it holds more than `cap`. */
async function readCapped(handle: FileHandle, cap: number): Promise<Uint8Array | undefined> {
  const bytes = await readPrefix(handle, cap + 1);
  return bytes.length > cap ? undefined : bytes;
}

/** The file's first `max` bytes, or all of a shorter one. */
async function readPrefix(handle: FileHandle, max: number): Promise<Uint8Array> {
  const buffer = new Uint8Array(max);
  let length = 0;
  // Each turn reads at least one byte or ends, so at most `max` turns.
  while (length < buffer.length) {
    const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
    if (bytesRead === 0) break;
    length += bytesRead;
  }
  return buffer.subarray(0, length);
}

/** The mode for a new file at `path`: Courier's, narrowed to the file it replaces. */
async function keptMode(path: string): Promise<number> {
  try {
    const info = await Deno.lstat(path);
    if (info.isFile && info.mode !== null) return ENTRY_MODE & info.mode;
  } catch (error) {
    rethrowRefusal(error);
  }
  return ENTRY_MODE;
}

// D5, D16: as root, hand the file to the directory's owner (Courier runs as courier). A
// non-root caller cannot give files away; the chown then fails and the file stays ours.
async function adoptOwner(handle: FileHandle, dir: string): Promise<void> {
  const [owner, file] = await Promise.all([Deno.stat(dir), handle.stat()]);
  if (owner.uid === null || owner.gid === null) return;
  if (owner.uid === file.uid && owner.gid === file.gid) return;
  try {
    await handle.chown(owner.uid, owner.gid);
  } catch (error) {
    rethrowRefusal(error);
    if (codeOf(error) !== "EPERM") throw error;
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

/** The errno name of a node:fs error (`ELOOP`), if it is one. */
function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * The reason as strerror(3) words it, from a `Deno.errors.*` error or a node:fs one
 * ("EACCES: permission denied, open '/x'" becomes "Permission denied").
 */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const node = /^E[A-Z0-9]+: ([^,]+)/.exec(message);
  return node ? capitalised(node[1]) : osReason(error);
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function writeError(verb: string, path: string, error: unknown): StsError {
  if (error instanceof StsError) return error;
  return new StsError("CACHE_WRITE", `Cannot ${verb} ${quote(path)}: ${reasonOf(error)}`, {
    path,
    cause: error,
  });
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
