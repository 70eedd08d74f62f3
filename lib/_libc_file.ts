// Files through the C library when Deno grants FFI (`deno task lookup` does): open(2) with the
// flags Deno.open lacks (O_NOFOLLOW, O_NONBLOCK, O_NOCTTY, O_EXCL, O_DIRECTORY), statx(2) of
// the open file, read(2), write(2), fchown(2), fdatasync(2), futimens(2), close(2). All of it
// synchronous: the files are small and local. The alternatives cost a lookup dearly: node:fs's
// first import ~20 ms and ~11 MiB (the Node compatibility layer), Deno's asynchronous open a
// hop through its blocking thread (~1-2 ms at start-up); binding these symbols ~1 ms.
// Without FFI (or Deno's permission for the path), or on another architecture or C library,
// `openWithLibc` returns undefined and the caller uses node:fs or Deno.

import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  cString,
  decodeStatx,
  readErrno,
  type Statx,
  STATX_BASIC_STATS,
  STATX_SIZE,
} from "./statx.ts";
import type { AppendHandle, OpenPurpose, WriteHandle } from "./_file_handles.ts";

export type {
  AppendHandle,
  OpenPurpose,
  OpenStats,
  ReadHandle,
  WriteHandle,
} from "./_file_handles.ts";

const READ = {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

// Bound on the first write: a lookup that only reads never pays for them.
const WRITE = {
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  fchown: { parameters: ["i32", "u32", "u32"], result: "i32" },
  fdatasync: { parameters: ["i32"], result: "i32" },
  fsync: { parameters: ["i32"], result: "i32" },
  futimens: { parameters: ["i32", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

// Bound on the first `--resume FILE`.
const APPEND = {
  pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  flock: { parameters: ["i32", "i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;
const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = 11;

// Linux's flags; O_NOFOLLOW and O_DIRECTORY differ between architectures (asm-generic vs x86).
const ARCH_FLAGS: Record<string, { nofollow: number; directory: number }> = {
  x86_64: { nofollow: 0o400000, directory: 0o200000 },
  aarch64: { nofollow: 0o100000, directory: 0o40000 },
};
const O_WRONLY = 1;
const O_RDWR = 2;
const O_CREAT = 0o100;
const O_EXCL = 0o200;
const O_NOCTTY = 0o400;
const O_APPEND = 0o2000;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;

/** strerror(3)'s words for what these calls can meet, as node:fs names them. */
const ERRNO: Record<number, [string, string]> = {
  1: ["EPERM", "operation not permitted"],
  2: ["ENOENT", "no such file or directory"],
  5: ["EIO", "i/o error"],
  6: ["ENXIO", "no such device or address"],
  11: ["EAGAIN", "resource temporarily unavailable"],
  13: ["EACCES", "permission denied"],
  17: ["EEXIST", "file already exists"],
  20: ["ENOTDIR", "not a directory"],
  21: ["EISDIR", "illegal operation on a directory"],
  24: ["EMFILE", "too many open files"],
  28: ["ENOSPC", "no space left on device"],
  30: ["EROFS", "read-only file system"],
  36: ["ENAMETOOLONG", "name too long"],
  40: ["ELOOP", "too many levels of symbolic links"],
  122: ["EDQUOT", "disk quota exceeded"],
};

type ReadSymbols = Deno.DynamicLibrary<typeof READ>["symbols"];
type WriteSymbols = Deno.DynamicLibrary<typeof WRITE>["symbols"];
type AppendSymbols = Deno.DynamicLibrary<typeof APPEND>["symbols"];

let readSymbols: ReadSymbols | null | undefined;
let writeSymbols: WriteSymbols | undefined;
let appendSymbols: AppendSymbols | undefined;

/** The symbols, or null when FFI is not granted (never asked: no prompt) or unusable here. */
function symbols(): ReadSymbols | null {
  if (readSymbols !== undefined) return readSymbols;
  readSymbols = null;
  if (Deno.build.os !== "linux" || !(Deno.build.arch in ARCH_FLAGS)) return readSymbols;
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return readSymbols;
  try {
    readSymbols = Deno.dlopen("libc.so.6", READ).symbols;
  } catch {
    // Another C library (musl): node:fs and Deno it is.
  }
  return readSymbols;
}

/** Whether {@linkcode openWithLibc} can open files here (FFI granted, glibc, Linux). */
export function libcAvailable(): boolean {
  return symbols() !== null;
}

function writing(): WriteSymbols {
  writeSymbols ??= Deno.dlopen("libc.so.6", WRITE).symbols;
  return writeSymbols;
}

function appending(): AppendSymbols {
  appendSymbols ??= Deno.dlopen("libc.so.6", APPEND).symbols;
  return appendSymbols;
}

/** An error as node:fs words it ("ELOOP: too many levels of symbolic links, open '/x'"). */
function errnoError(call: string, path: string): Error & { code: string } {
  const errno = readErrno(symbols()!.__errno_location());
  const [code, text] = ERRNO[errno] ?? [`E${errno}`, `os error ${errno}`];
  return Object.assign(new Error(`${code}: ${text}, ${call} '${path}'`), { code });
}

function flagsFor(purpose: OpenPurpose | "append"): number {
  const arch = ARCH_FLAGS[Deno.build.arch];
  switch (purpose) {
    case "read":
      return O_NOCTTY | O_NONBLOCK | O_CLOEXEC | arch.nofollow;
    case "config":
      return O_NOCTTY | O_NONBLOCK | O_CLOEXEC;
    case "directory":
      return O_NOCTTY | O_NONBLOCK | O_CLOEXEC | arch.directory;
    case "create":
      // O_EXCL: never someone else's file, never through a planted link.
      return O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | arch.nofollow;
    case "append":
      return O_RDWR | O_CREAT | O_APPEND | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | arch.nofollow;
  }
}

/** What Deno must allow for `path` before libc opens it for each purpose. */
const ACCESS: Record<OpenPurpose | "append", readonly ("read" | "write")[]> = {
  read: ["read"],
  config: ["read"],
  directory: ["read"],
  create: ["write"],
  append: ["read", "write"],
};

/** Whether Deno's permissions allow `access` to `path`: libc is used only then. */
function allowed(path: string, access: readonly ("read" | "write")[]): boolean {
  return access.every((name) => Deno.permissions.querySync({ name, path }).state === "granted");
}

/** open(2) of `path` for `purpose`; undefined when FFI or Deno's permission is not granted. */
function openFd(
  path: string,
  purpose: OpenPurpose | "append",
  mode: number,
): { c: ReadSymbols; fd: number } | undefined {
  const c = symbols();
  if (c === null || !allowed(path, ACCESS[purpose])) return undefined;
  const fd = c.open(cString(path), flagsFor(purpose), mode);
  if (fd < 0) throw errnoError("open", path);
  return { c, fd };
}

/**
 * Opens `path` through the C library, without blocking on a FIFO (O_NONBLOCK) or adopting a
 * terminal (O_NOCTTY); undefined when FFI, or Deno's read (write, to create) permission for
 * `path`, is not granted: the caller then goes through node:fs or Deno, whose refusal names
 * the permission.
 *
 * @param path The file.
 * @param purpose How it is opened (see {@linkcode OpenPurpose}).
 * @param mode The permission bits of a created file.
 * @throws {Error} With a node:fs `code` (`ENOENT`, `ELOOP`, `EEXIST`) when open(2) fails.
 */
export function openWithLibc(
  path: string,
  purpose: OpenPurpose = "read",
  mode = 0o600,
): WriteHandle | undefined {
  const opened = openFd(path, purpose, mode);
  return opened && libcHandle(opened.c, opened.fd, path);
}

/**
 * lstat(2) of `path` through the C library: no exception object for a missing file (a cache
 * lookup of a domain without an entry, every domain of most batches). `null` when it cannot be
 * asked (see {@linkcode openWithLibc}); undefined when nothing is there.
 *
 * @throws {Error} With a node:fs `code` for another failure (`ENOTDIR`, `EACCES`).
 */
export function lstatWithLibc(path: string): Statx | undefined | null {
  const c = symbols();
  if (c === null || !allowed(path, ["read"])) return null;
  const buffer = new Uint8Array(STATX_SIZE);
  if (c.statx(AT_FDCWD, cString(path), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, buffer) !== 0) {
    const error = errnoError("lstat", path);
    if (error.code === "ENOENT") return undefined;
    throw error;
  }
  return decodeStatx(buffer);
}

/**
 * Opens `--resume FILE` for reading it back and appending (created with `mode` if missing): no
 * link followed, no FIFO waited for, no terminal adopted. Undefined when it cannot be asked, as
 * {@linkcode openWithLibc}.
 *
 * @throws {Error} With a node:fs `code` (`ELOOP`, `EACCES`) when open(2) fails.
 */
export function openAppendWithLibc(path: string, mode: number): AppendHandle | undefined {
  const opened = openFd(path, "append", mode);
  if (opened === undefined) return undefined;
  const { c, fd } = opened;
  return {
    ...libcHandle(c, fd, path),
    readAt: (buffer, position) =>
      settle(() => {
        const n = Number(appending().pread(fd, buffer, BigInt(buffer.length), BigInt(position)));
        check(n, "read", path);
        return { bytesRead: n };
      }),
    truncate: (length) =>
      settle(() => check(appending().ftruncate(fd, BigInt(length)), "ftruncate", path)),
    tryLock() {
      if (appending().flock(fd, LOCK_EX | LOCK_NB) === 0) return true;
      if (readErrno(c.__errno_location()) === EWOULDBLOCK) return false;
      throw errnoError("flock", path);
    },
  };
}

/** Runs `body` and answers as a promise, as node:fs's methods do: a failure rejects. */
function settle<T>(body: () => T): Promise<T> {
  try {
    return Promise.resolve(body());
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Throws what `call` on `path` failed with, when its return code says it failed. */
function check(rc: number | bigint, call: string, path: string): void {
  if (Number(rc) < 0) throw errnoError(call, path);
}

function libcHandle(c: ReadSymbols, fd: number, path: string): WriteHandle {
  let closed = false;
  return {
    stat: () =>
      settle(() => {
        const buffer = new Uint8Array(STATX_SIZE);
        check(
          c.statx(fd, new Uint8Array(1), AT_EMPTY_PATH, STATX_BASIC_STATS, buffer),
          "fstat",
          path,
        );
        const stats = decodeStatx(buffer);
        return {
          ...stats,
          isFile: () => stats.type === "file",
          isDirectory: () => stats.type === "directory",
        };
      }),
    read: (buffer, offset, length) =>
      settle(() => {
        // A regular file on a local disk: read(2) does not wait.
        const n = Number(c.read(fd, buffer.subarray(offset, offset + length), BigInt(length)));
        check(n, "read", path);
        return { bytesRead: n };
      }),
    write: (buffer, offset, length) =>
      settle(() => {
        const chunk = buffer.subarray(offset, offset + length);
        const n = Number(writing().write(fd, chunk, BigInt(chunk.length)));
        check(n, "write", path);
        return { bytesWritten: n };
      }),
    chown: (uid, gid) => settle(() => check(writing().fchown(fd, uid, gid), "fchown", path)),
    datasync: () => settle(() => check(writing().fdatasync(fd), "fdatasync", path)),
    sync: () => settle(() => check(writing().fsync(fd), "fsync", path)),
    utimes: (atime, mtime) =>
      settle(() => {
        // struct timespec[2]: seconds and nanoseconds, 64 bits each.
        const times = new BigInt64Array(4);
        for (const [i, seconds] of [atime, mtime].entries()) {
          times[2 * i] = BigInt(Math.floor(seconds));
          times[2 * i + 1] = BigInt(Math.round((seconds - Math.floor(seconds)) * 1e9));
        }
        check(writing().futimens(fd, new Uint8Array(times.buffer)), "futimens", path);
      }),
    close: () =>
      settle(() => {
        if (!closed) c.close(fd);
        closed = true;
      }),
  };
}
