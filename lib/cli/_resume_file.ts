// `--resume FILE`: the batch's output file, opened so that it never blocks and never leads
// root elsewhere (D19): no link followed, nothing but a regular file with one link used, locked
// against a second worker (through libc, when FFI is granted), the earlier lines scanned
// (lib/lookup/resume.ts), a torn last line cut off, then appended to.
import { openAppendWithLibc } from "../_libc_file.ts";
import { codeOf, isPermissionRefusal, reasonOf } from "../errors.ts";
import { type LineSet, scanResume } from "../lookup/resume.ts";

/** Bytes read from FILE at a time while scanning it. */
const SCAN_CHUNK_BYTES = 64 * 1024;

/** A resume file that cannot be opened or used (not one whose content is foreign). */
export class ResumeOpenError extends Error {
  /**
   * Creates an error.
   *
   * @param message One line, without the path.
   * @param options The cause.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ResumeOpenError";
  }
}

/** FILE is locked by another run that writes it (D19): two workers must not share one. */
export class ResumeBusyError extends ResumeOpenError {
  /**
   * Creates an error.
   *
   * @param message One line, without the path.
   */
  constructor(message: string) {
    super(message);
    this.name = "ResumeBusyError";
  }
}

/** What the resume file needs of an open file, through libc or node:fs. */
interface OpenResume {
  stat(): Promise<{ isFile(): boolean; nlink: number; size: number }>;
  readAt(buffer: Uint8Array, position: number): Promise<{ bytesRead: number }>;
  truncate(length: number): Promise<void>;
  /** Appends some of `bytes`; says how many. */
  append(bytes: Uint8Array): Promise<number>;
  close(): Promise<void>;
}

/** An opened resume file: what it reported, and appending to it. */
export interface ResumeFile {
  /** The input lines reported in the file already. */
  done: LineSet;
  /** Appends all of `text`. */
  write(text: string): Promise<void>;
  /** Closes the file. */
  close(): Promise<void>;
}

const encoder = new TextEncoder();

/**
 * Opens (or creates) the resume file at `path`, reads what it reports and cuts off a torn
 * last line.
 *
 * @throws {ResumeOpenError} When FILE is a link, not a regular file, has more than one link,
 *   or the system refuses it; {@linkcode ResumeBusyError} when another run holds its lock.
 * @throws {ResumeFileError} When its complete lines are not this tool's output (FILE is then
 *   left as it was).
 */
export async function openResumeFile(path: string): Promise<ResumeFile> {
  // Nothing but a regular file is opened: a device's open alone can act (a tape rewinds).
  const seen = await Deno.lstat(path).catch((error) => {
    if (isPermissionRefusal(error)) throw error;
    return undefined;
  });
  if (seen?.isSymlink) throw new ResumeOpenError("Is a symbolic link");
  if (seen && !seen.isFile) throw new ResumeOpenError("Not a regular file");
  let handle: OpenResume;
  let locked: boolean | undefined;
  try {
    // O_NOFOLLOW: a link in FILE's place fails (ELOOP) instead of leading the run, root's
    // perhaps, to another file; O_NONBLOCK: a FIFO opens at once and is refused below;
    // O_APPEND: every write lands at the end, after what the scan kept.
    const viaLibc = openAppendWithLibc(path, 0o666);
    if (viaLibc !== undefined) {
      handle = {
        ...viaLibc,
        append: async (bytes) => (await viaLibc.write(bytes, 0, bytes.length)).bytesWritten,
      };
      // Before anything is read or cut: a second worker on FILE would repeat and interleave.
      locked = viaLibc.tryLock();
    } else {
      handle = await openWithNodeFs(path);
    }
  } catch (error) {
    if (isPermissionRefusal(error)) throw error;
    throw new ResumeOpenError(
      codeOf(error) === "ELOOP" ? "Is a symbolic link" : reasonOf(error),
      { cause: error },
    );
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new ResumeOpenError("Not a regular file");
    // A hard link would let whoever made it choose which file gets the lines.
    if (info.nlink > 1) throw new ResumeOpenError("Has more than one hard link");
    if (locked === false) {
      throw new ResumeBusyError("Another testmxlookup --resume is writing it");
    }
    const state = await scanResume(chunks(handle));
    if (state.completeBytes < info.size) await handle.truncate(state.completeBytes);
    return {
      done: state.done,
      async write(text) {
        let bytes = encoder.encode(text);
        while (bytes.length > 0) bytes = bytes.subarray(await handle.append(bytes));
      },
      close: () => handle.close(),
    };
  } catch (error) {
    await handle.close().catch(() => {});
    throw error;
  }
}

/** FILE through node:fs, when FFI is not granted: the same flags, but no lock. */
async function openWithNodeFs(path: string): Promise<OpenResume> {
  const { constants: c, open } = await import("node:fs/promises");
  const handle = await open(
    path,
    c.O_RDWR | c.O_CREAT | c.O_APPEND | c.O_NOFOLLOW | c.O_NONBLOCK | c.O_NOCTTY,
    0o666,
  );
  return {
    stat: () => handle.stat(),
    readAt: (buffer, position) => handle.read(buffer, 0, buffer.length, position),
    truncate: (length) => handle.truncate(length),
    append: async (bytes) => (await handle.write(bytes)).bytesWritten,
    close: () => handle.close(),
  };
}

async function* chunks(handle: OpenResume): AsyncGenerator<Uint8Array> {
  let position = 0;
  for (;;) {
    const buffer = new Uint8Array(SCAN_CHUNK_BYTES);
    const { bytesRead } = await handle.readAt(buffer, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    yield buffer.subarray(0, bytesRead);
  }
}
