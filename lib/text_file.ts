// Configuration files (resolv.conf, Courier's, CA bundles) and the --batch input: opened once,
// checked by fstat, capped, never waiting forever on a FIFO.
import type { ReadHandle } from "./_file_handles.ts";
import { openWithLibc } from "./_libc_file.ts";
import { TimeLimit } from "./deadlines.ts";
import { codeOf, ConfigError, isPermissionRefusal, reasonOf } from "./errors.ts";
import type { ReadTextFileOptions } from "./host.ts";

/** The largest configuration file read: a CA bundle is about 220 KiB. */
export const MAX_TEXT_FILE_BYTES: number = 4 * 1024 * 1024;

/** The longest wait for a configuration file to open. */
export const OPEN_TIMEOUT_MS = 5_000;

/**
 * A regular file's text, read through one open file: opened once (following links, as
 * /etc/resolv.conf often is one) and checked by fstat, so that nothing swapped in after a
 * check is read. A stat before refuses a FIFO or device at once. One swapped in between:
 * through the C library (FFI granted, lib/_libc_file.ts) the open does not wait (O_NONBLOCK)
 * and the fstat refuses it; through Deno the open would wait for a FIFO's writer, so it is
 * asynchronous and bounded by `signal` and {@linkcode OPEN_TIMEOUT_MS}. A FIFO or device
 * that does open is not read, so /dev/zero cannot fill memory.
 *
 * @param path The file.
 * @param options The signal that ends the wait for the open.
 * @returns The text, or undefined when there is no file.
 */
export async function readTextFile(
  path: string,
  options: ReadTextFileOptions = {},
): Promise<string | undefined> {
  let seen: Deno.FileInfo;
  let file: TextSource;
  try {
    // A quick refusal of what is not a regular file now; the fstat below decides.
    seen = Deno.statSync(path);
    if (!seen.isFile && !seen.isDirectory) {
      throw new ConfigError("NOT_A_FILE", path, "Not a regular file");
    }
    file = openWithLibc(path, "config") ??
      denoSource(await openReadOnly(path, options.signal));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || codeOf(error) === "ENOENT") return undefined;
    throw configError(path, error);
  }
  try {
    return await readOpenFile(file, seen, path);
  } catch (error) {
    throw configError(path, error);
  } finally {
    file.close();
  }
}

/**
 * An open file as {@linkcode readOpenFile} reads it: what it needs of a ReadHandle
 * (lib/_file_handles.ts), which the C library's open gives as it is.
 */
interface TextSource {
  stat(): Promise<
    { isFile(): boolean; isDirectory(): boolean; ino: number; dev: number; size: number }
  >;
  read: ReadHandle["read"];
  close(): unknown;
}

/** A file Deno opened, as a {@linkcode TextSource}. */
function denoSource(file: Deno.FsFile): TextSource {
  return {
    stat() {
      const info = file.statSync();
      return Promise.resolve({
        ino: info.ino ?? -1,
        dev: info.dev,
        size: info.size,
        isFile: () => info.isFile,
        isDirectory: () => info.isDirectory,
      });
    },
    // Synchronous: a regular file's reads do not block, and they are small.
    read: (buffer, offset, length) =>
      Promise.resolve({ bytesRead: file.readSync(buffer.subarray(offset, offset + length)) ?? 0 }),
    close: () => file.close(),
  };
}

/**
 * A read failure as a {@linkcode ConfigError} with the path, its message kept; a permission
 * Deno refused and a directory (which some readers accept) pass unchanged.
 */
function configError(path: string, error: unknown): unknown {
  if (error instanceof ConfigError || error instanceof Deno.errors.IsADirectory) return error;
  if (isPermissionRefusal(error)) return error;
  return new ConfigError("UNREADABLE", path, reasonOf(error), { cause: error });
}

/**
 * Opens `path` for reading, as `Deno.open` does, but waits at most {@linkcode OPEN_TIMEOUT_MS}
 * or until `signal` aborts: a FIFO without a writer never opens (`--batch FILE`).
 *
 * @param path The file.
 * @param signal Ends the wait.
 * @returns The open file.
 * @throws {Error} When the open does not complete in time; else as `Deno.open`.
 */
export async function openReadOnly(path: string, signal?: AbortSignal): Promise<Deno.FsFile> {
  using limit = new TimeLimit(OPEN_TIMEOUT_MS, signal);
  const opening = Deno.open(path, { read: true });
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Error(`Not opened within ${OPEN_TIMEOUT_MS / 1000} s (a FIFO?)`));
    limit.signal.addEventListener("abort", onAbort, { once: true });
    if (limit.signal.aborted) onAbort();
  });
  try {
    return await Promise.race([opening, aborted]);
  } catch (error) {
    // An open that completes after all must not leak.
    opening.then((late) => late.close(), () => {});
    throw error;
  } finally {
    limit.signal.removeEventListener("abort", onAbort!);
  }
}

async function readOpenFile(
  file: TextSource,
  seen: Deno.FileInfo,
  path: string,
): Promise<string> {
  const info = await file.stat();
  if (info.isDirectory()) throw new Deno.errors.IsADirectory("Is a directory");
  if (!info.isFile()) throw new ConfigError("NOT_A_FILE", path, "Not a regular file");
  if (info.ino !== (seen.ino ?? -1) || info.dev !== seen.dev) {
    throw new ConfigError("NOT_A_FILE", path, "Replaced while opened");
  }
  const tooLarge = () =>
    new ConfigError("TOO_LARGE", path, `Larger than ${MAX_TEXT_FILE_BYTES} bytes`);
  if (info.size > MAX_TEXT_FILE_BYTES) throw tooLarge();
  // Sized by the fstat, bounded even if the file grows while it is read.
  let bytes = new Uint8Array(info.size + 1);
  let length = 0;
  for (;;) {
    if (length === bytes.length) {
      if (length > MAX_TEXT_FILE_BYTES) throw tooLarge();
      const grown = new Uint8Array(Math.min(bytes.length * 2, MAX_TEXT_FILE_BYTES + 1));
      grown.set(bytes);
      bytes = grown;
    }
    const { bytesRead } = await file.read(bytes, length, bytes.length - length, null);
    if (bytesRead === 0) break;
    length += bytesRead;
  }
  return new TextDecoder().decode(bytes.subarray(0, length));
}
