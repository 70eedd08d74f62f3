import assert from "node:assert/strict";
import {
  decidePrivilege,
  type PathInspector,
  type PathNode,
  walkPath,
} from "../../lib/privilege/privilege.ts";

function dir(path: string, uid = 0, gid = 0, mode = 0o755): PathNode {
  return { path, uid, gid, mode, type: "directory" };
}

const COURIER = 101;

Deno.test("decidePrivilege() keeps root when root owns every directory on the path", () => {
  const nodes = [dir("/"), dir("/var"), dir("/var/lib"), dir("/var/lib/courier/sts")];
  assert.deepEqual(decidePrivilege(nodes, 0), { action: "keep" });
});

Deno.test("decidePrivilege() does nothing for a caller that is not root", () => {
  const nodes = [dir("/"), dir("/tmp", 0, 0, 0o777)];
  assert.deepEqual(decidePrivilege(nodes, 1000), { action: "keep" });
});

Deno.test("decidePrivilege() switches to Debian's courier, owner of /var/lib/courier", () => {
  const nodes = [
    dir("/"),
    dir("/var"),
    dir("/var/lib"),
    dir("/var/lib/courier", COURIER, COURIER, 0o750),
    dir("/var/lib/courier/sts", COURIER, COURIER, 0o755),
  ];
  assert.deepEqual(decidePrivilege(nodes, 0), {
    action: "switch",
    uid: COURIER,
    gid: COURIER,
    path: "/var/lib/courier/sts",
  });
});

Deno.test("decidePrivilege() switches for a root-owned cache inside an account's directory", () => {
  const nodes = [dir("/"), dir("/srv", COURIER, COURIER), dir("/srv/sts")];
  assert.deepEqual(decidePrivilege(nodes, 0), {
    action: "switch",
    uid: COURIER,
    gid: COURIER,
    path: "/srv",
  });
});

Deno.test("decidePrivilege() accepts a sticky world-writable directory such as /tmp", () => {
  const nodes = [dir("/"), dir("/tmp", 0, 0, 0o1777), dir("/tmp/sts")];
  assert.deepEqual(decidePrivilege(nodes, 0), { action: "keep" });
});

Deno.test("decidePrivilege() refuses what no single account can be made safe for", () => {
  const table: [string, PathNode[], RegExp][] = [
    ["two owners", [dir("/"), dir("/a", 101, 101), dir("/a/b", 102, 102)], /uid 102.*uid 101/],
    ["world-writable", [dir("/"), dir("/a", 0, 0, 0o777)], /every account/],
    ["root's, group-writable", [dir("/"), dir("/a", 0, 50, 0o775)], /group 50/],
    ["another group", [dir("/"), dir("/a", 0, 50, 0o775), dir("/a/b", 101, 101)], /group 50/],
    ["group root", [dir("/"), dir("/a", 101, 0)], /group root/],
  ];
  for (const [name, nodes, reason] of table) {
    const decision = decidePrivilege(nodes, 0);
    assert.equal(decision.action, "refuse", name);
    assert.match(decision.action === "refuse" ? decision.reason : "", reason, name);
  }
});

Deno.test("decidePrivilege() accepts a directory writable by the owner's own group", () => {
  const nodes = [dir("/"), dir("/a", 101, 101, 0o775), dir("/a/sts", 101, 101, 0o2775)];
  assert.equal(decidePrivilege(nodes, 0).action, "switch");
});

/** A file system of nodes and links, for walkPath(). */
function fakeFs(nodes: PathNode[], links: Record<string, string>): PathInspector {
  const byPath = new Map(nodes.map((node) => [node.path, node]));
  for (const path of Object.keys(links)) {
    byPath.set(path, { path, uid: 0, gid: 0, mode: 0o777, type: "symlink" });
  }
  return {
    lstat: (path) => byPath.get(path),
    readLink: (path) => links[path],
  };
}

Deno.test("walkPath() follows an administrator's link and checks where it leads", () => {
  const fs = fakeFs(
    [dir("/"), dir("/var"), dir("/srv", COURIER, COURIER), dir("/srv/sts")],
    { "/var/sts": "../srv/sts" },
  );
  const walk = walkPath("/var/sts", fs);
  assert.deepEqual(walk.nodes.map((node) => node.path), [
    "/",
    "/var",
    "/var/sts",
    "/srv",
    "/srv/sts",
  ]);
  assert.equal(walk.end, "/srv/sts");
  assert.equal(walk.exists, true);
  assert.equal(decidePrivilege(walk.nodes, 0).action, "switch");
});

Deno.test("walkPath() stops at the first missing part and reports the cache as absent", () => {
  const fs = fakeFs([dir("/"), dir("/var", COURIER, COURIER)], {});
  const walk = walkPath("/var/lib/sts", fs);
  assert.equal(walk.exists, false);
  assert.equal(walk.end, "/var/lib");
  assert.equal(decidePrivilege(walk.nodes, 0).action, "switch");
});

Deno.test("walkPath() gives up on a loop of links", () => {
  const fs = fakeFs([dir("/")], { "/a": "/b", "/b": "/a" });
  assert.throws(() => walkPath("/a/sts", fs), /Too many levels/);
  assert.throws(() => walkPath("relative", fs), RangeError);
});

Deno.test("decidePrivilege() counts an account's link in a sticky directory such as /tmp", () => {
  const link: PathNode = { path: "/tmp/sts", uid: 101, gid: 101, mode: 0o777, type: "symlink" };
  const nodes = [dir("/"), dir("/tmp", 0, 0, 0o1777), link, dir("/root"), dir("/root/x")];
  assert.deepEqual(decidePrivilege(nodes, 0), {
    action: "switch",
    uid: 101,
    gid: 101,
    path: "/tmp/sts",
  });
  // A root-owned link (the administrator's) changes nothing.
  const own = { ...link, uid: 0, gid: 0 };
  assert.deepEqual(decidePrivilege([dir("/"), dir("/tmp", 0, 0, 0o1777), own, dir("/srv")], 0), {
    action: "keep",
  });
});
