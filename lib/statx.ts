// Linux's struct statx (statx(2)), whose layout is the same on every architecture, and what else
// the two modules that call the C library directly share: the privilege switch's look at the
// cache directory's parents (lib/privilege/_libc.ts) and the files opened through it
// (lib/_libc_file.ts).

/** The `dirfd` of the `*at` calls for "relative to the working directory". */
export const AT_FDCWD = -100;
/** statx(2) of the link itself, as lstat(2). */
export const AT_SYMLINK_NOFOLLOW = 0x100;
/** statx(2) of the open file `dirfd` itself, as fstat(2). */
export const AT_EMPTY_PATH = 0x1000;

/** `text` as a NUL-terminated C string. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(text);
  const buffer = new Uint8Array(bytes.length + 1);
  buffer.set(bytes);
  return buffer;
}

/** statx(2)'s mask for the fields stat(2) has. */
export const STATX_BASIC_STATS = 0x7ff;

/** The size of the buffer statx(2) fills. */
export const STATX_SIZE = 256;

const S_IFMT = 0o170000;

/** The fields of struct statx the tool looks at. */
export interface Statx {
  /** What the node is, from `stx_mode`. */
  type: "file" | "directory" | "symlink" | "other";
  /** The permission bits of `stx_mode` (set-id and sticky bits included). */
  permissions: number;
  uid: number;
  gid: number;
  nlink: number;
  ino: number;
  size: number;
  /** The device as Deno's stat reports `dev` (glibc's makedev(3)). */
  dev: number;
  mtimeMs: number;
}

/** Reads a buffer statx(2) filled. */
export function decodeStatx(buffer: Uint8Array): Statx {
  // nlink at 16, uid at 20, gid at 24, mode (u16) at 28, ino at 32, size at 40, mtime at 112
  // (seconds, then nanoseconds at 120), dev major and minor at 136 and 140.
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const mode = view.getUint16(28, true);
  const format = mode & S_IFMT;
  const major = view.getUint32(136, true);
  const minor = view.getUint32(140, true);
  return {
    type: format === 0o100000
      ? "file"
      : format === 0o040000
      ? "directory"
      : format === 0o120000
      ? "symlink"
      : "other",
    permissions: mode & 0o7777,
    uid: view.getUint32(20, true),
    gid: view.getUint32(24, true),
    nlink: view.getUint32(16, true),
    ino: Number(view.getBigUint64(32, true)),
    size: Number(view.getBigUint64(40, true)),
    dev: Number(
      (BigInt(major & 0xfffff000) << 32n) | (BigInt(major & 0xfff) << 8n) |
        (BigInt(minor & 0xffffff00) << 12n) | BigInt(minor & 0xff),
    ),
    mtimeMs: Number(view.getBigInt64(112, true)) * 1000 + view.getUint32(120, true) / 1e6,
  };
}

/** errno after a failed call, from the pointer the C library's `__errno_location()` gives. */
export function readErrno(location: Deno.PointerValue): number {
  return location === null ? 0 : new Deno.UnsafePointerView(location).getInt32();
}
