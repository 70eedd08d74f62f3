// The open files the cache, the configuration readers and `--resume` work with: the part of
// node:fs's FileHandle they use, which lib/_libc_file.ts gives through the C library.

/** What the cache and the configuration readers need of an open file (node:fs's has it). */
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
