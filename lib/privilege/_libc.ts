// The C library calls the privilege switch needs and Deno does not offer: statx(2) of a path
// Deno's permissions do not cover (the cache directory's parents), readlink(2), and
// setgroups(2), setgid(2), setuid(2) (node:process has no setgroups). Loaded with Deno.dlopen
// only when root must look at those parents or switch, never by a non-root run.
import {
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  cString,
  decodeStatx,
  readErrno,
  STATX_BASIC_STATS,
  STATX_SIZE,
} from "../statx.ts";
import type { PathNode } from "./privilege.ts";

// Two sets, bound on first use: every root run looks at its path (each bound symbol costs
// start-up time: ~0.7 ms for two, measured), only a run that switches needs the rest.
const LOOK = {
  statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
  readlink: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
  geteuid: { parameters: [], result: "u32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

const SWITCH = {
  setgroups: { parameters: ["usize", "pointer"], result: "i32" },
  getgroups: { parameters: ["i32", "pointer"], result: "i32" },
  setgid: { parameters: ["u32"], result: "i32" },
  setuid: { parameters: ["u32"], result: "i32" },
  getuid: { parameters: [], result: "u32" },
  getgid: { parameters: [], result: "u32" },
  getegid: { parameters: [], result: "u32" },
} as const satisfies Deno.ForeignLibraryInterface;

let look: Deno.DynamicLibrary<typeof LOOK>["symbols"] | undefined;
let change: Deno.DynamicLibrary<typeof SWITCH>["symbols"] | undefined;

/** glibc's symbols; throws (NotCapable without `--allow-ffi`) when they cannot be loaded. */
function symbols(): Deno.DynamicLibrary<typeof LOOK>["symbols"] {
  look ??= Deno.dlopen("libc.so.6", LOOK).symbols;
  return look;
}

function switchSymbols(): Deno.DynamicLibrary<typeof SWITCH>["symbols"] {
  change ??= Deno.dlopen("libc.so.6", SWITCH).symbols;
  return change;
}

const ENOENT = 2;
const ENOTDIR = 20;

/** errno after a failed call, as a Deno error with the C library's words. */
function lastError(call: string, path?: string): Error {
  const errno = readErrno(symbols().__errno_location());
  const where = path === undefined ? call : `${call} '${path}'`;
  if (errno === ENOENT || errno === ENOTDIR) {
    return new Deno.errors.NotFound(`No such file or directory (os error ${errno}): ${where}`);
  }
  return new Error(`${call} failed (os error ${errno})${path === undefined ? "" : `: ${path}`}`);
}

/**
 * lstat(2) of `path` through statx(2), whose layout is the same on every architecture.
 *
 * @returns The node, or undefined when nothing is there.
 */
export function lstatPath(path: string): PathNode | undefined {
  const buffer = new Uint8Array(STATX_SIZE);
  const rc = symbols().statx(
    AT_FDCWD,
    cString(path),
    AT_SYMLINK_NOFOLLOW,
    STATX_BASIC_STATS,
    buffer,
  );
  if (rc !== 0) {
    const error = lastError("statx", path);
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const node = decodeStatx(buffer);
  return {
    path,
    uid: node.uid,
    gid: node.gid,
    mode: node.permissions,
    type: node.type === "directory" || node.type === "symlink" ? node.type : "other",
  };
}

/** readlink(2). */
export function readLinkPath(path: string): string {
  const buffer = new Uint8Array(4096);
  const n = Number(symbols().readlink(cString(path), buffer, BigInt(buffer.length)));
  if (n < 0) throw lastError("readlink", path);
  return new TextDecoder().decode(buffer.subarray(0, n));
}

/** The process's real and effective ids and supplementary groups. */
export interface Credentials {
  uid: number;
  euid: number;
  gid: number;
  egid: number;
  groups: number[];
}

/** The effective user id. */
export function effectiveUserId(): number {
  return symbols().geteuid();
}

/** The process's ids, as the kernel has them. */
export function credentials(): Credentials {
  const c = switchSymbols();
  const count = c.getgroups(0, null);
  if (count < 0) throw lastError("getgroups");
  const groups = new Uint32Array(Math.max(count, 1));
  const got = c.getgroups(count, Deno.UnsafePointer.of(groups));
  if (got < 0) throw lastError("getgroups");
  return {
    uid: c.getuid(),
    euid: symbols().geteuid(),
    gid: c.getgid(),
    egid: c.getegid(),
    groups: Array.from(groups.subarray(0, got)),
  };
}

/**
 * Becomes `uid`:`gid` with no supplementary group, for good: groups first, then the group,
 * then the user (after setuid(2) the others are no longer allowed). glibc applies each call
 * to every thread of the process.
 */
export function switchTo(uid: number, gid: number): void {
  const c = switchSymbols();
  if (c.setgroups(0n, null) !== 0) throw lastError("setgroups");
  if (c.setgid(gid) !== 0) throw lastError("setgid");
  if (c.setuid(uid) !== 0) throw lastError("setuid");
}

/** Whether setuid(0) is refused now (it must be, once the switch is done). */
export function cannotRegainRoot(): boolean {
  return switchSymbols().setuid(0) !== 0;
}
