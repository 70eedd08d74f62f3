// File operations of the STS cache (store.ts, expire.ts) in a directory another account may
// write: opens that never follow a link, block on a FIFO or adopt a terminal, capped reads,
// owner and mode handed on through open files, and the reasons for stderr.
import { codeOf, reasonOf, rethrowPermissionRefusal } from "../errors.ts";
import { quote } from "./_text.ts";
import { decodeEntry } from "./cache_file.ts";
import { StsError } from "./errors.ts";
import type { EntryRead } from "./store.ts";
import { MAX_POLICY_BYTES } from "./policy.ts";
import {
  libcAvailable,
  lstatWithLibc,
  type OpenStats,
  openWithLibc,
  type ReadHandle,
  type WriteHandle,
} from "../_libc_file.ts";

/** The largest cache file read: the largest policy plus room for the header. */
export const MAX_ENTRY_BYTES: number = MAX_POLICY_BYTES + 1024;

// Deno.open has neither flag, node:fs passes them through. The directory may be writable by
// another account (D25): O_NOFOLLOW makes a planted link fail (ELOOP) instead of being
// followed, O_NONBLOCK keeps a FIFO swapped in after lstat from blocking the open, O_NOCTTY
// keeps a terminal from becoming ours. Device nodes cannot be planted: making one needs
// CAP_MKNOD and a hard link cannot cross into /dev.
// O_EXCL on create: never someone else's file, never through a planted link (it also implies
// no follow). O_DIRECTORY for the directory's sync: a FIFO or link put in its place fails
// (ENOTDIR) before it is opened.
type OpenFor = "read" | "create" | "directory";

let nodeFs: Promise<typeof import("node:fs/promises")> | undefined;

/**
 * Opens `path` with the flags above: through the C library when FFI is granted (see
 * lib/_libc_file.ts), else through node:fs, loaded on the first open, not with this module:
 * its first import costs ~16 ms and 11 MiB (the Node compatibility layer).
 */
export async function openFile(
  path: string,
  purpose: OpenFor,
  mode?: number,
): Promise<WriteHandle> {
  const viaLibc = openWithLibc(path, purpose, mode);
  if (viaLibc !== undefined) return viaLibc;
  nodeFs ??= import("node:fs/promises");
  const { constants: c, open } = await nodeFs;
  const flags = purpose === "read"
    ? c.O_RDONLY | c.O_NOFOLLOW | c.O_NONBLOCK | c.O_NOCTTY
    : purpose === "directory"
    ? c.O_RDONLY | c.O_DIRECTORY | c.O_NONBLOCK | c.O_NOCTTY
    : c.O_WRONLY | c.O_CREAT | c.O_EXCL | c.O_NOFOLLOW;
  return await open(path, flags, mode);
}

/**
 * Starts loading node:fs ahead of the first open, for a caller with time to spare (a lookup
 * waiting on the network before it writes the cache); nothing when the C library does the
 * opens.
 */
export function preloadFileLayer(): void {
  if (libcAvailable()) return;
  nodeFs ??= import("node:fs/promises");
}

/** `name` in `dir`, without node:path (see openFile). */
export function join(dir: string, name: string): string {
  if (dir === "") return name;
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

const utf8 = new TextDecoder();

/** Bytes as UTF-8 text. */
export function decodeUtf8(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/**
 * Why a directory entry is not used as a file of ours, or undefined when it may be. A second
 * hard link may be a file from outside the directory that another account linked in: it is
 * neither read (its text could end up quoted on stderr) nor touched.
 */
export function foreignReason(
  isSymlink: boolean,
  isFile: boolean,
  nlink: number | null,
): string | undefined {
  if (isSymlink) return "is a symbolic link, not followed";
  if (!isFile) return "is not a regular file";
  if (nlink !== null && nlink > 1) return `has ${nlink} hard links, not used`;
  return undefined;
}

/** What lstat(2) says of a directory entry, as far as the cache looks. */
export interface EntryStats {
  isSymlink: boolean;
  isFile: boolean;
  nlink: number | null;
  size: number;
  ino: number | null;
  dev: number;
}

/**
 * lstat(2) of `path`, undefined when nothing is there: through the C library when it may be
 * asked (no exception object for a missing entry), else Deno. Synchronous: a local lstat does
 * not block, and each asynchronous file call is a hop through a blocking thread that Deno
 * starts on first use (1–2 MiB of RSS, measured at start-up).
 */
export function lstatEntry(path: string): EntryStats | undefined {
  const viaLibc = lstatWithLibc(path);
  if (viaLibc === undefined) return undefined;
  if (viaLibc !== null) {
    const { type, nlink, size, ino, dev } = viaLibc;
    return { isSymlink: type === "symlink", isFile: type === "file", nlink, size, ino, dev };
  }
  try {
    return Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** One look at an entry; "replaced" when it changed between lstat and open. */
export async function readOnce(path: string): Promise<EntryRead | "replaced"> {
  const ignored = (reason: string): EntryRead => ({ kind: "ignored", path, reason });
  let info: EntryStats;
  try {
    const seen = lstatEntry(path);
    if (seen === undefined) return { kind: "absent", path };
    info = seen;
  } catch (error) {
    rethrowPermissionRefusal(error);
    return ignored(reasonOf(error));
  }
  const foreign = foreignReason(info.isSymlink, info.isFile, info.nlink);
  if (foreign !== undefined) return ignored(foreign);
  if (info.size > MAX_ENTRY_BYTES) {
    return ignored(`is ${info.size} bytes, over the limit of ${MAX_ENTRY_BYTES}`);
  }
  let handle: ReadHandle;
  try {
    handle = await openFile(path, "read");
  } catch (error) {
    rethrowPermissionRefusal(error);
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
    rethrowPermissionRefusal(error);
    return ignored(reasonOf(error));
  } finally {
    await handle.close();
  }
}

function sameFile(opened: OpenStats, seen: EntryStats): boolean {
  return opened.ino === seen.ino && opened.dev === seen.dev;
}

/** The file's bytes, or undefined when it holds more than `cap`. */
async function readCapped(handle: ReadHandle, cap: number): Promise<Uint8Array | undefined> {
  const bytes = await readPrefix(handle, cap + 1);
  return bytes.length > cap ? undefined : bytes;
}

/** The file's first `max` bytes, or all of a shorter one. */
export async function readPrefix(handle: ReadHandle, max: number): Promise<Uint8Array> {
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

/** The mode for a new file at `path`: `mode`, narrowed to the file it replaces. */
export async function keptMode(path: string, mode: number): Promise<number> {
  try {
    const info = await Deno.lstat(path);
    if (info.isFile && info.mode !== null) return mode & info.mode;
  } catch (error) {
    rethrowPermissionRefusal(error);
  }
  return mode;
}

// D5, D16: as root, hand the file to the directory's owner (Courier runs as courier). A
// non-root caller cannot give files away; the chown then fails and the file stays ours.
export async function adoptOwner(handle: WriteHandle, dir: string): Promise<void> {
  const [owner, file] = await Promise.all([Deno.stat(dir), handle.stat()]);
  if (owner.uid === null || owner.gid === null) return;
  if (owner.uid === file.uid && owner.gid === file.gid) return;
  try {
    await handle.chown(owner.uid, owner.gid);
  } catch (error) {
    rethrowPermissionRefusal(error);
    if (codeOf(error) !== "EPERM") throw error;
  }
}

// Makes the rename itself durable; a directory that cannot be opened only loses that. The open
// cannot block: a FIFO put in the directory's place fails O_DIRECTORY.
export async function syncDirectory(dir: string): Promise<void> {
  let handle: WriteHandle | undefined;
  try {
    handle = await openFile(dir, "directory");
    await handle.sync();
  } catch {
    // Best effort: the entry is complete either way.
  } finally {
    await handle?.close().catch(() => {});
  }
}

/** `text` with a capital first letter. */
export function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A `CACHE_WRITE` error for `verb` on `path`, unless `error` is already an StsError. */
export function writeError(verb: string, path: string, error: unknown): StsError {
  if (error instanceof StsError) return error;
  return new StsError("CACHE_WRITE", `Cannot ${verb} ${quote(path)}: ${reasonOf(error)}`, {
    path,
    cause: error,
  });
}

/** A random name for a temporary file: a dot name, so that no expiry counts a leftover. */
export function temporaryName(): string {
  const random = crypto.getRandomValues(new Uint8Array(16));
  return `.tmp-${Array.from(random, (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

/** What a temporary file's name looks like. */
export const TEMP_NAME = /^\.tmp-[0-9a-f]{32}$/;
