// Reading a cache file through the C library when Deno grants FFI (`deno task lookup` does):
// open(2) with O_NOFOLLOW|O_NONBLOCK|O_NOCTTY as node:fs would, statx(2) of the open file,
// read(2), close(2). The first import of node:fs costs ~20 ms and ~11 MiB (measured: the
// Node compatibility layer), most of a lookup with a cached policy; binding these symbols
// costs ~1 ms. Without FFI, or on another architecture, _cache_io.ts uses node:fs.

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
const STATX_BASIC_STATS = 0x7ff;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

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
  const c = symbols()!;
  const at = c.__errno_location();
  const errno = at === null ? 0 : new Deno.UnsafePointerView(at).getInt32();
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
      const buffer = new Uint8Array(256);
      if (c.statx(fd, new Uint8Array(1), AT_EMPTY_PATH, STATX_BASIC_STATS, buffer) !== 0) {
        return Promise.reject(errnoError("fstat", path));
      }
      // struct statx: nlink at 16, mode (u16) at 28, ino at 32, mtime at 112 (s, then ns at
      // 120), dev major and minor at 136 and 140.
      const view = new DataView(buffer.buffer);
      const mode = view.getUint16(28, true);
      const major = view.getUint32(136, true);
      const minor = view.getUint32(140, true);
      return Promise.resolve({
        ino: Number(view.getBigUint64(32, true)),
        // glibc's makedev(3), as Deno's stat reports `dev`.
        dev: Number(
          (BigInt(major & 0xfffff000) << 32n) | (BigInt(major & 0xfff) << 8n) |
            (BigInt(minor & 0xffffff00) << 12n) | BigInt(minor & 0xff),
        ),
        nlink: view.getUint32(16, true),
        mtimeMs: Number(view.getBigInt64(112, true)) * 1000 + view.getUint32(120, true) / 1e6,
        isFile: () => (mode & S_IFMT) === S_IFREG,
      });
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
