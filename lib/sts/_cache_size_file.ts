// Reading `.cache_size` (D10) in a directory another account may write: a link, a FIFO or a
// hard-linked file gives the default size with a warning; at most 1024 bytes are read.
import { codeOf, reasonOf, rethrowPermissionRefusal } from "../errors.ts";
import { quote } from "./_text.ts";
import {
  decodeUtf8,
  type EntryStats,
  foreignReason,
  lstatEntry,
  openFile,
  readPrefix,
} from "./_cache_io.ts";
import type { ReadHandle } from "../_libc_file.ts";
import { type CacheSize, DEFAULT_CACHE_SIZE, parseCacheSize } from "./cache_file.ts";
import { StsError } from "./errors.ts";

/** The largest `.cache_size` read; Courier reads one line of up to 1023 bytes. */
export const MAX_CACHE_SIZE_BYTES = 1024;

/**
 * Reads the `.cache_size` file at `path`: its first 1024 bytes, as Courier reads one line.
 *
 * @returns The size, with a warning naming the file when it is not a plain number.
 * @throws {StsError} `CACHE_READ` when it exists but cannot be read.
 */
export async function readCacheSizeFile(path: string): Promise<CacheSize> {
  const cannot = (error: unknown) =>
    new StsError("CACHE_READ", `Cannot read ${quote(path)}: ${reasonOf(error)}`, {
      path,
      cause: error,
    });
  const skipped = (reason: string): CacheSize => ({
    size: DEFAULT_CACHE_SIZE,
    warning: `${quote(path)} ${reason}: using the default size ${DEFAULT_CACHE_SIZE}`,
  });
  let info: EntryStats;
  try {
    const seen = lstatEntry(path);
    if (seen === undefined) return parseCacheSize(undefined, path);
    info = seen;
  } catch (error) {
    rethrowPermissionRefusal(error);
    throw cannot(error);
  }
  const foreign = foreignReason(info.isSymlink, info.isFile, info.nlink);
  if (foreign !== undefined) return skipped(foreign);
  let handle: ReadHandle;
  try {
    handle = await openFile(path, "read");
  } catch (error) {
    rethrowPermissionRefusal(error);
    if (codeOf(error) === "ENOENT") return parseCacheSize(undefined, path);
    if (codeOf(error) === "ELOOP") return skipped(foreignReason(true, false, 1)!);
    throw cannot(error);
  }
  try {
    const opened = await handle.stat();
    const changed = foreignReason(false, opened.isFile(), opened.nlink);
    if (changed !== undefined) return skipped(changed);
    const bytes = await readPrefix(handle, MAX_CACHE_SIZE_BYTES);
    return parseCacheSize(decodeUtf8(bytes), path);
  } catch (error) {
    rethrowPermissionRefusal(error);
    throw cannot(error);
  } finally {
    await handle.close();
  }
}

/**
 * `.cache_size` as a lookup uses it: a file that exists but cannot be read counts as missing,
 * as Courier cannot tell them apart (the default size, the reason as the warning).
 *
 * @param path The file.
 * @returns The size, with a warning when the file is not a plain number or not readable.
 */
export function usableCacheSize(path: string): Promise<CacheSize> {
  return readCacheSizeFile(path).catch((error) => {
    if (!(error instanceof StsError)) throw error;
    return { size: DEFAULT_CACHE_SIZE, warning: error.message };
  });
}
