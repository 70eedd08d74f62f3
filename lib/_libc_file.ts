// Files through the C library when Deno grants FFI (`deno task lookup` does): open(2) with the
// flags Deno.open lacks (O_NOFOLLOW, O_NONBLOCK, O_NOCTTY, O_EXCL, O_DIRECTORY), statx(2) of
// the open file, read(2), write(2), fchown(2), fdatasync(2), futimens(2), close(2). All of it
// synchronous: the files are small and local. The alternatives cost a lookup dearly: node:fs's
// first import ~20 ms and ~11 MiB (the Node compatibility layer), Deno's asynchronous open a
// hop through its blocking thread (~1-2 ms at start-up); binding these symbols ~1 ms.
// Without FFI (or Deno's permission for the path), or on another architecture or C library,
// `openWithLibc` returns undefined and the caller uses node:fs or Deno.

import { decodeStatx, readErrno, type Statx, STATX_BASIC_STATS, STATX_SIZE } from "./statx.ts";

/** What the cache and the configuration readers need of an open file; node:fs's FileHandle
 * has it too. */
export interface ReadHandle {
  /** fstat(2) of the open file. */
  stat(): Promise<OpenStats>;
  /** Reads into `buffer` at `offset`, at most `length` bytes, from the current position. */
  read(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: null,
  ): Promise<{ bytesRead: number }>;
  /** Closes the file. */
  close(): Promise<void>;
}

/** An open file the cache writes, changes the owner or the times of, or syncs. */
export interface WriteHandle extends ReadHandle {
  /** Writes `length` bytes of `buffer` from `offset`, or fewer; says how many. */
  write(buffer: Uint8Array, offset: number, length: number): Promise<{ bytesWritten: number }>;
  /** fchown(2). */
  chown(uid: number, gid: number): Promise<void>;
  /** fdatasync(2). */
  datasync(): Promise<void>;
  /** fsync(2) (a directory's, after a rename in it). */
  sync(): Promise<void>;
  /** futimens(2), times in seconds. */
  utimes(atime: number, mtime: number): Promise<void>;
}

/** `--resume FILE` opened for appending: read back at positions, cut, and locked. */
export interface AppendHandle extends WriteHandle {
  /** pread(2): reads at `position` without moving the file offset. */
  readAt(buffer: Uint8Array, position: number): Promise<{ bytesRead: number }>;
  /** ftruncate(2). */
  truncate(length: number): Promise<void>;
  /**
   * flock(2) `LOCK_EX|LOCK_NB`: false when another open file holds the lock (another process,
   * or another open of the same file); held until the file is closed.
   */
  tryLock(): boolean;
}

/** The fields of fstat(2) the callers look at. */
export interface OpenStats {
  ino: number;
  dev: number;
  nlink: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  isFile(): boolean;
  isDirectory(): boolean;
}

/**
 * How a file is opened: `read` a cache entry (no link followed), `config` a configuration file
 * (links followed: /etc/resolv.conf often is one), `directory` for its fsync, `create` a new
 * file that is not there yet (never through a link).
 */
export type OpenPurpose = "read" | "config" | "directory" | "create";

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
const O_CREAT = 0o100;
const O_EXCL = 0o200;
const O_NOCTTY = 0o400;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const AT_EMPTY_PATH = 0x1000;
const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;

/** strerror(3)'s words for what these calls can meet, as node:fs names them. */
const ERRNO: Record<number, [string, string]> = {
  1: ["EPERM", "operation not permitted"],
  2: ["ENOENT", "no such file or directory"],
  5: ["EIO", "i/o error"],
  6: ["ENXIO", "no such device or address"],
  13: ["EACCES", "permission denied"],
  11: ["EAGAIN", "resource temporarily unavailable"],
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

function flagsFor(purpose: OpenPurpose): number {
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
  }
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
  const c = symbols();
  if (c === null) return undefined;
  const permission = purpose === "create" ? "write" : "read";
  if (Deno.permissions.querySync({ name: permission, path }).state !== "granted") {
    return undefined;
  }
  const name = new TextEncoder().encode(`${path}\0`);
  const fd = c.open(name, flagsFor(purpose), mode);
  if (fd < 0) throw errnoError("open", path);
  return libcHandle(c, fd, path);
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
  if (c === null) return null;
  if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") return null;
  const buffer = new Uint8Array(STATX_SIZE);
  const name = new TextEncoder().encode(`${path}\0`);
  if (c.statx(AT_FDCWD, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, buffer) !== 0) {
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
  const c = symbols();
  if (c === null) return undefined;
  for (const name of ["read", "write"] as const) {
    if (Deno.permissions.querySync({ name, path }).state !== "granted") return undefined;
  }
  const O_RDWR = 2;
  const O_APPEND = 0o2000;
  const flags = O_RDWR | O_CREAT | O_APPEND | O_NOCTTY | O_NONBLOCK | O_CLOEXEC |
    ARCH_FLAGS[Deno.build.arch].nofollow;
  const fd = c.open(new TextEncoder().encode(`${path}\0`), flags, mode);
  if (fd < 0) throw errnoError("open", path);
  const handle = libcHandle(c, fd, path);
  return {
    ...handle,
    readAt: (buffer, position) =>
      settle(() => {
        const n = Number(appending().pread(fd, buffer, BigInt(buffer.length), BigInt(position)));
        if (n < 0) throw errnoError("read", path);
        return { bytesRead: n };
      }),
    truncate: (length) =>
      settle(() => {
        if (appending().ftruncate(fd, BigInt(length)) !== 0) throw errnoError("ftruncate", path);
      }),
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

function libcHandle(c: ReadSymbols, fd: number, path: string): WriteHandle {
  let closed = false;
  const check = (rc: number | bigint, call: string) => {
    if (Number(rc) < 0) throw errnoError(call, path);
  };
  return {
    stat: () =>
      settle(() => {
        const buffer = new Uint8Array(STATX_SIZE);
        check(c.statx(fd, new Uint8Array(1), AT_EMPTY_PATH, STATX_BASIC_STATS, buffer), "fstat");
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
        check(n, "read");
        return { bytesRead: n };
      }),
    write: (buffer, offset, length) =>
      settle(() => {
        const chunk = buffer.subarray(offset, offset + length);
        const n = Number(writing().write(fd, chunk, BigInt(chunk.length)));
        check(n, "write");
        return { bytesWritten: n };
      }),
    chown: (uid, gid) => settle(() => check(writing().fchown(fd, uid, gid), "fchown")),
    datasync: () => settle(() => check(writing().fdatasync(fd), "fdatasync")),
    sync: () => settle(() => check(writing().fsync(fd), "fsync")),
    utimes: (atime, mtime) =>
      settle(() => {
        // struct timespec[2]: seconds and nanoseconds, 64 bits each.
        const times = new BigInt64Array(4);
        for (const [i, seconds] of [atime, mtime].entries()) {
          times[2 * i] = BigInt(Math.floor(seconds));
          times[2 * i + 1] = BigInt(Math.round((seconds - Math.floor(seconds)) * 1e9));
        }
        check(writing().futimens(fd, new Uint8Array(times.buffer)), "futimens");
      }),
    close: () =>
      settle(() => {
        if (!closed) c.close(fd);
        closed = true;
      }),
  };
}
