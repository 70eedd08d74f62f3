// The driver of lib/privilege/privilege.ts: looks at the cache directory's path as root, and
// becomes its owner when another account could change it (D25), after the caller has read what
// only root may read. Nothing happens for a run that is not root's.
import { ConfigError } from "../errors.ts";
import {
  cannotRegainRoot,
  credentials,
  effectiveUserId,
  lstatPath,
  readLinkPath,
  switchTo,
} from "./_libc.ts";
import {
  decidePrivilege,
  type PathInspector,
  type PathNode,
  type PrivilegeDecision,
  walkPath,
} from "./privilege.ts";

/** Options of {@linkcode secureCacheAccess}. */
export interface CacheAccessOptions {
  /** Runs before the switch, while still root: read what only root may read. */
  beforeSwitch?: () => Promise<void>;
}

/**
 * lstat and readlink through the C library when FFI is allowed (`--allow-read` of the cache
 * does not cover its parents, whose owners matter), else through Deno (tests, `-A`).
 */
function inspector(ffi: boolean): PathInspector {
  if (ffi) return { lstat: lstatPath, readLink: readLinkPath };
  return {
    // Where Deno refuses, the C library is asked, whose refusal names --allow-ffi (exit 77).
    lstat(path) {
      try {
        return denoNode(path, Deno.lstatSync(path));
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return undefined;
        if (error instanceof Deno.errors.NotCapable) return lstatPath(path);
        throw error;
      }
    },
    readLink(path) {
      try {
        return Deno.readLinkSync(path);
      } catch (error) {
        if (error instanceof Deno.errors.NotCapable) return readLinkPath(path);
        throw error;
      }
    },
  };
}

function denoNode(path: string, info: Deno.FileInfo): PathNode {
  return {
    path,
    uid: info.uid ?? 0,
    gid: info.gid ?? 0,
    mode: (info.mode ?? 0) & 0o7777,
    type: info.isSymlink ? "symlink" : info.isDirectory ? "directory" : "other",
  };
}

/**
 * The effective user id, from whatever the run may ask without a prompt: `Deno.uid()` with
 * `--allow-sys=uid` (free), else the C library when FFI is allowed (its first use costs
 * ~3.7 MiB of RSS, so a run that is not root's avoids it); undefined when neither is granted.
 */
function effectiveUid(ffi: boolean): number | undefined {
  if (Deno.permissions.querySync({ name: "sys", kind: "uid" }).state === "granted") {
    return Deno.uid() ?? undefined;
  }
  return ffi ? effectiveUserId() : undefined;
}

/**
 * Makes cache work safe for root: when an account other than root owns a directory on the
 * path to `dir`, the process becomes that account (user, group, no supplementary group) for
 * the rest of the run, as Courier's testmxlookup becomes `courier`.
 *
 * @param dir The cache directory.
 * @param options What to read first.
 * @returns What was decided: `keep` or `switch` (done).
 * @throws {ConfigError} `UNSAFE` when no account keeps root safe (two owners, a directory
 *   every account may write); the CLI exits 78.
 * @throws {Deno.errors.NotCapable} Without `--allow-ffi`, when the path is not root's alone
 *   or its parents cannot be looked at through Deno.
 */
export async function secureCacheAccess(
  dir: string,
  options: CacheAccessOptions = {},
): Promise<PrivilegeDecision> {
  const ffi = Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  const euid = effectiveUid(ffi);
  if (euid !== undefined && euid !== 0) return { action: "keep" };
  const absolute = dir.startsWith("/") ? dir : `${Deno.cwd()}/${dir}`;
  let decision: PrivilegeDecision;
  try {
    // Decided as for root when who we are is unknown: a path only root can change needs no
    // more.
    decision = decidePrivilege(walkPath(absolute, inspector(ffi)).nodes, 0);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError("UNSAFE", dir, `Cannot check the STS cache directory ${dir}: ${reason}`);
  }
  if (decision.action === "keep") return decision;
  // Who we are matters now; asking the C library without --allow-ffi names it (exit 77).
  if ((euid ?? effectiveUserId()) !== 0) return { action: "keep" };
  if (decision.action === "refuse") {
    throw new ConfigError(
      "UNSAFE",
      decision.path,
      `Refusing to work as root in the STS cache directory ${dir}: ${decision.path} is ${decision.reason}`,
    );
  }
  await options.beforeSwitch?.();
  switchTo(decision.uid, decision.gid);
  const now = credentials();
  const ids = [now.uid, now.euid, now.gid, now.egid];
  const expected = [decision.uid, decision.uid, decision.gid, decision.gid];
  const extra = now.groups.filter((group) => group !== decision.gid);
  if (ids.some((id, i) => id !== expected[i]) || extra.length > 0 || !cannotRegainRoot()) {
    throw new Error(`Switching to uid ${decision.uid} left ids ${ids} groups ${now.groups}`);
  }
  return decision;
}
