// Root and the cache directory's owner (D16, D25). Root works in a directory that another
// account may be able to change: whoever can rename an entry on the path can swap a symbolic
// link in, and root would then write or delete where that account chose. So root works in the
// cache as the account that could change it, as Courier's testmxlookup works as `courier`.
// Pure: the walk of a path and the decision; lib/privilege/switch.ts acts on it.

/** One step of a path, as lstat(2) sees it. */
export interface PathNode {
  /** The path looked at (every link before it resolved). */
  path: string;
  /** Owner. */
  uid: number;
  /** Group. */
  gid: number;
  /** Permission bits, sticky bit included (`0o1777`). */
  mode: number;
  /** What it is. */
  type: "directory" | "symlink" | "other";
}

/** lstat(2) and readlink(2), passed in. */
export interface PathInspector {
  /** The node at `path`, or undefined when nothing is there. */
  lstat(path: string): PathNode | undefined;
  /** The target of the link at `path`. */
  readLink(path: string): string;
}

/** The links followed at most, as the kernel's MAXSYMLINKS (40). */
export const MAX_LINKS = 40;

/** The nodes on the way to a directory. */
export interface PathWalk {
  /** Every node met, `/` first, each link and the directory it led to. */
  nodes: PathNode[];
  /** Where the walk ended: the directory's real path, or the first missing part. */
  end: string;
  /** Whether the directory exists (as a directory). */
  exists: boolean;
}

/**
 * Walks `dir` from `/`, following links as the kernel would, and records each node met.
 *
 * @param dir An absolute path.
 * @param inspector lstat and readlink.
 * @returns The nodes, and whether the directory exists.
 * @throws {RangeError} For a relative path, or more than {@linkcode MAX_LINKS} links.
 */
export function walkPath(dir: string, inspector: PathInspector): PathWalk {
  if (!dir.startsWith("/")) throw new RangeError(`Not an absolute path: ${dir}`);
  const root = inspector.lstat("/");
  const nodes: PathNode[] = root === undefined ? [] : [root];
  let current = "/";
  let pending = dir.split("/").filter((part) => part !== "" && part !== ".");
  let links = 0;
  // Each turn consumes a part or follows a link (at most MAX_LINKS), so the loop is bounded.
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === "..") {
      current = current === "/" ? "/" : current.slice(0, current.lastIndexOf("/")) || "/";
      continue;
    }
    const path = current === "/" ? `/${part}` : `${current}/${part}`;
    const node = inspector.lstat(path);
    if (node === undefined) return { nodes, end: path, exists: false };
    nodes.push(node);
    if (node.type === "symlink") {
      if (++links > MAX_LINKS) throw new RangeError(`Too many levels of symbolic links: ${dir}`);
      const target = inspector.readLink(path);
      if (target.startsWith("/")) current = "/";
      pending = [...target.split("/").filter((p) => p !== "" && p !== "."), ...pending];
      continue;
    }
    if (node.type !== "directory") return { nodes, end: path, exists: false };
    current = path;
  }
  return { nodes, end: current, exists: true };
}

/** What root does before it works in the cache directory. */
export type PrivilegeDecision =
  /** Work as root: only root can change the path (or the caller is not root). */
  | { action: "keep" }
  /** Become `uid`:`gid`, the account that owns `path`, before any cache work. */
  | { action: "switch"; uid: number; gid: number; path: string }
  /** No account can be chosen that keeps root safe: exit 78 with `reason`. */
  | { action: "refuse"; path: string; reason: string };

const STICKY = 0o1000;

/**
 * Decides whether root must become another account to work in a directory, given the nodes
 * on its path ({@linkcode walkPath}). An account other than root that owns a directory on
 * the path (or the directory itself) can swap what follows it: root becomes that account,
 * with the group of the directory it owns nearest the cache; a symbolic link it owns counts
 * too (in a sticky directory its owner may replace it). A directory writable by a group
 * other than root's, or by everyone, lets more than one account do it, unless its sticky bit
 * keeps them from renaming what they do not own (the next node's owner is then checked).
 *
 * @param nodes The nodes from `/` to the directory.
 * @param euid The caller's effective user id.
 * @returns Keep root, switch to an account, or refuse.
 */
export function decidePrivilege(nodes: readonly PathNode[], euid: number): PrivilegeDecision {
  if (euid !== 0) return { action: "keep" };
  let owner: PathNode | undefined;
  const groupWritable: PathNode[] = [];
  for (const node of nodes) {
    if (node.type === "other") continue;
    if (node.uid !== 0) {
      if (owner !== undefined && owner.uid !== node.uid) {
        return {
          action: "refuse",
          path: node.path,
          reason: `owned by uid ${node.uid}, while ${owner.path} is owned by uid ${owner.uid}`,
        };
      }
      // A link's owner can replace it in a sticky directory such as /tmp: it counts, but the
      // group comes from a directory of that account's when there is one.
      if (node.type === "directory" || owner === undefined) owner = node;
    }
    // A link's own mode means nothing; its directory's was checked.
    if (node.type !== "directory") continue;
    const sticky = (node.mode & STICKY) !== 0;
    if ((node.mode & 0o002) !== 0 && !sticky) {
      return { action: "refuse", path: node.path, reason: "writable by every account" };
    }
    if ((node.mode & 0o020) !== 0 && node.gid !== 0 && !sticky) groupWritable.push(node);
  }
  if (owner === undefined) {
    const group = groupWritable[0];
    if (group === undefined) return { action: "keep" };
    return {
      action: "refuse",
      path: group.path,
      reason: `owned by root but writable by group ${group.gid}`,
    };
  }
  if (owner.gid === 0) {
    return {
      action: "refuse",
      path: owner.path,
      reason: `owned by uid ${owner.uid} with group root: no group to work as`,
    };
  }
  const other = groupWritable.find((node) => node.gid !== owner.gid);
  if (other !== undefined) {
    return {
      action: "refuse",
      path: other.path,
      reason: `writable by group ${other.gid}, while ${owner.path} is owned by uid ${owner.uid}`,
    };
  }
  return { action: "switch", uid: owner.uid, gid: owner.gid, path: owner.path };
}
