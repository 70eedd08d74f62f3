// `--sts-expire` (as Courier: keep the newest `limit` entries, oldest mtime first), over a
// directory that may hold anything another account put there: one pass, memory bounded by the
// number of entries kept, and the things left alone counted, with only the first few named.
import { reasonOf, rethrowPermissionRefusal } from "../errors.ts";
import { policyName } from "../names.ts";
import { quote } from "./_text.ts";
import { foreignReason, join, TEMP_NAME } from "./_cache_io.ts";
import { StsError } from "./errors.ts";

/** A temporary file older than this is a crash's leftover, which expire() removes. */
export const STALE_TEMP_MS: number = 3600_000;
/** The warnings listed at most; the rest are counted in one last line. */
export const MAX_EXPIRE_WARNINGS = 20;
/** The removed names listed at most (`removedCount` counts them all). */
export const MAX_LISTED_REMOVALS = 1000;

/** The outcome of {@linkcode expireEntries}. */
export interface ExpireResult {
  /**
   * The entry names removed, oldest first: all of them, or the first
   * {@linkcode MAX_LISTED_REMOVALS} removed when there were more.
   */
  removed: string[];
  /** How many entries were removed. */
  removedCount: number;
  /**
   * As `<path>: <reason>`: entries that could not be removed, things in the directory that
   * are not entries and were left alone (links, directories, FIFOs, hard-linked files), and
   * temporary files of interrupted writes that were removed. At most
   * {@linkcode MAX_EXPIRE_WARNINGS}, then one line that counts the others.
   */
  warnings: string[];
}

interface Kept {
  name: string;
  mtime: number;
}

/** Whether `a` goes before `b`: older first, equal times in name order. */
function older(a: Kept, b: Kept): boolean {
  return a.mtime < b.mtime || (a.mtime === b.mtime && a.name < b.name);
}

/** A binary heap whose top is the oldest of the entries kept so far. */
class OldestFirst {
  readonly items: Kept[] = [];

  push(item: Kept): void {
    const items = this.items;
    items.push(item);
    for (let i = items.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!older(items[i], items[parent])) break;
      [items[i], items[parent]] = [items[parent], items[i]];
      i = parent;
    }
  }

  /** Replaces the oldest with `item` and returns it. */
  replaceTop(item: Kept): Kept {
    const items = this.items;
    const top = items[0];
    items[0] = item;
    for (let i = 0;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < items.length && older(items[left], items[least])) least = left;
      if (right < items.length && older(items[right], items[least])) least = right;
      if (least === i) break;
      [items[i], items[least]] = [items[least], items[i]];
      i = least;
    }
    return top;
  }
}

/** Warnings up to the cap, the rest counted. */
class Warnings {
  readonly lines: string[] = [];
  omitted = 0;

  add(line: string): void {
    if (this.lines.length < MAX_EXPIRE_WARNINGS) this.lines.push(line);
    else this.omitted++;
  }

  result(dir: string): string[] {
    if (this.omitted === 0) return this.lines;
    return [...this.lines, `${dir}: ${this.omitted} more things left alone or not removed`];
  }
}

/**
 * Trims the cache in `dir` to `limit` entries, oldest mtime first. Unlike Courier only
 * regular files with valid entry names count and may go (D9): no dot-files, no directories,
 * links or foreign files; equal mtimes go in name order. An entry is removed as soon as
 * `limit` newer ones are known, so memory grows with `limit`, not with the directory.
 * Temporary files of writes cut short (older than {@linkcode STALE_TEMP_MS}) are removed.
 *
 * @param dir The cache directory.
 * @param limit The cache size; 0 or less does nothing, as in Courier.
 * @param nowMs The time, milliseconds since the epoch, to age temporary files.
 * @returns What was removed, and what could not be or was left alone.
 * @throws {StsError} `CACHE_READ` when the directory exists but cannot be listed.
 */
export async function expireEntries(
  dir: string,
  limit: number,
  nowMs: number,
): Promise<ExpireResult> {
  const warnings = new Warnings();
  const removed: Kept[] = [];
  let removedCount = 0;
  if (limit <= 0) return { removed: [], removedCount, warnings: [] };
  const kept = new OldestFirst();
  const remove = (item: Kept) => {
    if (!unlink(join(dir, item.name), warnings)) return;
    removedCount++;
    if (removed.length < MAX_LISTED_REMOVALS) removed.push(item);
  };
  try {
    for await (const item of Deno.readDir(dir)) {
      const path = join(dir, item.name);
      const leftover = TEMP_NAME.test(item.name);
      // Other dot-files (.cache_size) and names Courier made (`a,25`) are not ours to judge.
      if (!leftover && policyName(item.name) !== item.name) continue;
      let info: Deno.FileInfo;
      try {
        info = Deno.lstatSync(path);
      } catch {
        continue; // Gone since the listing: one less to remove.
      }
      const mtime = info.mtime?.getTime() ?? 0;
      if (leftover) {
        // A writer renames its file within milliseconds; one this old was cut short.
        if (!info.isDirectory && nowMs - mtime > STALE_TEMP_MS && unlink(path, warnings)) {
          warnings.add(`${path}: a temporary file left by an interrupted write, removed`);
        }
        continue;
      }
      const foreign = foreignReason(info.isSymlink, info.isFile, info.nlink);
      if (foreign !== undefined) {
        warnings.add(`${path}: ${foreign}, left alone`);
        continue;
      }
      const entry = { name: item.name, mtime };
      if (kept.items.length < limit) kept.push(entry);
      else if (older(entry, kept.items[0])) remove(entry);
      else remove(kept.replaceTop(entry));
    }
  } catch (error) {
    rethrowPermissionRefusal(error);
    // No directory, no cache to trim: Courier says nothing and exits 0.
    if (error instanceof Deno.errors.NotFound) return { removed: [], removedCount, warnings: [] };
    throw new StsError("CACHE_READ", `Cannot list ${quote(dir)}: ${reasonOf(error)}`, {
      path: dir,
      cause: error,
    });
  }
  removed.sort((a, b) => (older(a, b) ? -1 : 1));
  return {
    removed: removed.map((item) => item.name),
    removedCount,
    warnings: warnings.result(dir),
  };
}

// unlink(2) removes a link or a name, never what it points to.
function unlink(path: string, warnings: Warnings): boolean {
  try {
    Deno.removeSync(path);
    return true;
  } catch (error) {
    rethrowPermissionRefusal(error);
    if (!(error instanceof Deno.errors.NotFound)) warnings.add(`${path}: ${reasonOf(error)}`);
    return false;
  }
}
