// Reading a cache file through the C library when Deno grants FFI (`deno task lookup` does):
// open(2) with O_NOFOLLOW|O_NONBLOCK|O_NOCTTY as node:fs would, statx(2) of the open file,
// read(2), close(2). The first import of node:fs costs ~20 ms and ~11 MiB (measured: the
// Node compatibility layer), most of a lookup with a cached policy; binding these symbols
// costs ~1 ms. Without FFI, or on another architecture, _cache_io.ts uses node:fs.

import { decodeStatx, readErrno, STATX_BASIC_STATS, STATX_SIZE } from "../statx.ts";

/** What reading a cache file needs of an open file: node:fs's FileHandle has it too. */
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

/** The fields of fstat(2) the cache looks at. */
export interface OpenStats {
  ino: number;
  dev: number;
  nlink: number;
  mtimeMs: number;
  isFile(): boolean;
}

const LIBC = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

// Linux's flags; O_NOFOLLOW differs between architectures (asm-generic vs x86).
const O_NOFOLLOW: Record<string, number> = { x86_64: 0o400000, aarch64: 0o100000 };
const O_RDONLY_FLAGS = 0o400 /* O_NOCTTY */ | 0o4000 /* O_NONBLOCK */ | 0o2000000; // O_CLOEXEC
const AT_EMPTY_PATH = 0x1000;

/** strerror(3)'s words for what an open can meet, as node:fs names them. */
const ERRNO: Record<number, [string, string]> = {
  2: ["ENOENT", "no such file or directory"],
  6: ["ENXIO", "no such device or address"],
  13: ["EACCES", "permission denied"],
  21: ["EISDIR", "illegal operation on a directory"],
  40: ["ELOOP", "too many levels of symbolic links"],
};

let libc: Deno.DynamicLibrary<typeof LIBC>["symbols"] | null | undefined;

/** The symbols, or null when FFI is not granted (never asked: no prompt) or unusable here. */
function symbols(): Deno.DynamicLibrary<typeof LIBC>["symbols"] | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (Deno.build.os !== "linux" || !(Deno.build.arch in O_NOFOLLOW)) return libc;
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return libc;
  try {
    libc = Deno.dlopen("libc.so.6", LIBC).symbols;
  } catch {
    // Another C library (musl): node:fs it is.
  }
  return libc;
}

/** An error as node:fs words it ("ELOOP: too many levels of symbolic links, open '/x'"). */
function errnoError(call: string, path: string): Error & { code: string } {
  const errno = readErrno(symbols()!.__errno_location());
  const [code, text] = ERRNO[errno] ?? [`E${errno}`, `os error ${errno}`];
  return Object.assign(new Error(`${code}: ${text}, ${call} '${path}'`), { code });
}

/**
 * Opens `path` for reading without following a link or blocking on a FIFO, through the C
 * library; undefined when FFI is not available, so that the caller uses node:fs.
 *
 * @throws {Error} With a node:fs `code` (`ENOENT`, `ELOOP`) when open(2) fails.
 */
export function openWithLibc(path: string): ReadHandle | undefined {
  const c = symbols();
  if (c === null) return undefined;
  const name = new TextEncoder().encode(`${path}\0`);
  const fd = c.open(name, O_RDONLY_FLAGS | O_NOFOLLOW[Deno.build.arch]);
  if (fd < 0) throw errnoError("open", path);
  let closed = false;
  return {
    stat() {
      const buffer = new Uint8Array(STATX_SIZE);
      if (c.statx(fd, new Uint8Array(1), AT_EMPTY_PATH, STATX_BASIC_STATS, buffer) !== 0) {
        return Promise.reject(errnoError("fstat", path));
      }
      const { ino, dev, nlink, mtimeMs, type } = decodeStatx(buffer);
      return Promise.resolve({ ino, dev, nlink, mtimeMs, isFile: () => type === "file" });
    },
    read(buffer, offset, length) {
      // A regular file on a local disk: read(2) does not wait (see readOnce's lstat).
      const n = Number(c.read(fd, buffer.subarray(offset, offset + length), BigInt(length)));
      if (n < 0) return Promise.reject(errnoError("read", path));
      return Promise.resolve({ bytesRead: n });
    },
    close() {
      if (!closed) c.close(fd);
      closed = true;
      return Promise.resolve();
    },
  };
}
