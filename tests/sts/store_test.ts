import assert from "node:assert/strict";
import { encodeEntry } from "../../lib/sts/cache_file.ts";
import { CACHE_SIZE_FILE, entryName, MAX_ENTRY_BYTES, StsStore } from "../../lib/sts/store.ts";
import { type LibUrl, runAsNobody } from "./_as_nobody.ts";

const POLICY = "version: STSv1\nmode: enforce\nmx: *.sts.test\nmax_age: 86400\n";
const COURIER_FILE = "1\nid:abc123\n\n" + POLICY;

/** Runs `body` with a store on a fresh temporary directory, removed afterwards. */
async function withStore(body: (store: StsStore, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sts-store-" });
  try {
    await body(new StsStore(dir), dir);
  } finally {
    await Deno.chmod(dir, 0o755).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

// [domain as typed, file name or undefined when refused].
const NAMES: [string, string | undefined][] = [
  ["sts.test", "sts.test"],
  ["STS.Test", "sts.test"],
  ["sts.test.", "sts.test"],
  ["Bücher.Example", "xn--bcher-kva.example"],
  ["xn--bcher-kva.example", "xn--bcher-kva.example"],
  ["a_b.test", "a_b.test"],
  ["localhost", "localhost"],
  ["a/b", undefined],
  ["../etc", undefined],
  [".cache_size", undefined],
  [".hidden.test", undefined],
  [".", undefined],
  ["..", undefined],
  ["", undefined],
  ["a..b", undefined],
  ["a,25", undefined],
  ["[1.2.3.4]", undefined],
  ["a b.test", undefined],
  ["a\nb", undefined],
  [`${"a".repeat(63)}.test`, `${"a".repeat(63)}.test`],
  [`${"a".repeat(64)}.test`, undefined],
  [`${"a.".repeat(126)}a`, `${"a.".repeat(126)}a`],
  [`${"a.".repeat(126)}ab`, undefined],
];

for (const [domain, expected] of NAMES) {
  Deno.test(`entryName() ${expected ? "names" : "refuses"} ${JSON.stringify(domain.slice(0, 20))}`, () => {
    if (expected === undefined) assert.throws(() => entryName(domain), { kind: "INVALID_NAME" });
    else assert.equal(entryName(domain), expected);
  });
}

Deno.test("StsStore reads the file Courier wrote, with its mtime", async () => {
  await withStore(async (store, dir) => {
    await Deno.writeTextFile(`${dir}/sts.test`, COURIER_FILE);
    await Deno.utime(`${dir}/sts.test`, 1_700_000_000, 1_700_000_000);
    assert.deepEqual(await store.read("STS.Test."), {
      kind: "entry",
      path: `${dir}/sts.test`,
      entry: { id: "abc123", policy: POLICY, stub: false },
      mtimeSec: 1_700_000_000,
    });
  });
});

Deno.test("StsStore.write() produces Courier's bytes, mode 0644, and read() gets them back", async () => {
  await withStore(async (store, dir) => {
    await store.write("sts.test", "abc123", POLICY);
    assert.equal(await Deno.readTextFile(`${dir}/sts.test`), COURIER_FILE);
    assert.equal((await Deno.stat(`${dir}/sts.test`)).mode! & 0o7777 & ~0o644, 0);
    const read = await store.read("sts.test");
    assert.equal(read.kind, "entry");
    assert.deepEqual(read.kind === "entry" && read.entry, {
      id: "abc123",
      policy: POLICY,
      stub: false,
    });
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["sts.test"]);
  });
});

Deno.test("StsStore.read() says absent for no file", async () => {
  await withStore(async (store, dir) => {
    assert.deepEqual(await store.read("sts.test"), { kind: "absent", path: `${dir}/sts.test` });
  });
});

// [case, how to make the file, reason pattern].
const IGNORED: [string, (path: string, dir: string) => Promise<void>, RegExp][] = [
  ["a torn file", (p) => Deno.writeTextFile(p, "0\nid:a\n\nx"), /^first line is "0"/],
  [
    "a file Courier would reject",
    (p) => Deno.writeTextFile(p, "1\nid:a\n"),
    /does not end in an empty line/,
  ],
  ["an empty file", (p) => Deno.writeTextFile(p, ""), /^the file is empty$/],
  ["a symbolic link to a valid entry", async (p, dir) => {
    await Deno.writeTextFile(`${dir}/.target`, COURIER_FILE);
    await Deno.symlink(`${dir}/.target`, p);
  }, /^is a symbolic link, not followed$/],
  ["a dangling symbolic link", (p) => Deno.symlink("/nonexistent/x", p), /symbolic link/],
  ["a directory", (p) => Deno.mkdir(p), /^is not a regular file$/],
  [
    "a file over the size cap",
    (p) => Deno.writeFile(p, encodeEntry("a", "x".repeat(MAX_ENTRY_BYTES))),
    new RegExp(`^is \\d+ bytes, over the limit of ${MAX_ENTRY_BYTES}$`),
  ],
];

for (const [name, make, reason] of IGNORED) {
  Deno.test(`StsStore.read() ignores ${name} and says why`, async () => {
    await withStore(async (store, dir) => {
      await make(`${dir}/sts.test`, dir);
      const read = await store.read("sts.test");
      assert.equal(read.kind, "ignored");
      assert.match(read.kind === "ignored" ? read.reason : "", reason);
    });
  });
}

Deno.test("StsStore.write() replaces a planted symbolic link instead of writing through it", async () => {
  await withStore(async (store, dir) => {
    await Deno.writeTextFile(`${dir}/.victim`, "keep");
    await Deno.symlink(`${dir}/.victim`, `${dir}/sts.test`);
    await store.write("sts.test", "a", POLICY);
    assert.equal(await Deno.readTextFile(`${dir}/.victim`), "keep");
    assert.ok((await Deno.lstat(`${dir}/sts.test`)).isFile);
  });
});

Deno.test("StsStore.write() uses a new unpredictable temporary name in the directory each time", async () => {
  await withStore(async (store, dir) => {
    const temps: string[] = [];
    const rename = Deno.rename;
    (Deno as { rename: typeof Deno.rename }).rename = (from, to) => {
      temps.push(String(from));
      return rename(from, to);
    };
    try {
      for (let i = 0; i < 5; i++) await store.write("sts.test", `id${i}`, POLICY);
    } finally {
      (Deno as { rename: typeof Deno.rename }).rename = rename;
    }
    assert.equal(new Set(temps).size, 5);
    for (const temp of temps) assert.match(temp, new RegExp(`^${dir}/\\.tmp-[0-9a-f]{32}$`));
  });
});

Deno.test("StsStore.write() leaves no temporary file when the rename fails", async () => {
  await withStore(async (store, dir) => {
    await Deno.mkdir(`${dir}/sts.test`);
    await Deno.writeTextFile(`${dir}/sts.test/x`, "");
    await assert.rejects(store.write("sts.test", "a", POLICY), {
      kind: "CACHE_WRITE",
      path: `${dir}/sts.test`,
    });
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["sts.test"]);
  });
});

Deno.test("StsStore.write() to a missing directory fails with the reason", async () => {
  const store = new StsStore("/nonexistent-sts-dir");
  await assert.rejects(store.write("sts.test", "a", POLICY), {
    kind: "CACHE_WRITE",
    message: 'Cannot write "/nonexistent-sts-dir/sts.test": No such file or directory',
  });
  await assert.rejects(store.writeCacheSize(0), { kind: "CACHE_WRITE" });
});

Deno.test("StsStore never shows a mix of two concurrent writers", async () => {
  await withStore(async (store) => {
    const policies = Array.from(
      { length: 8 },
      (_, i) => POLICY + `x${i}: ${"y".repeat(4000 * i)}\n`,
    );
    const seen: string[] = [];
    let writing = true;
    const reader = (async () => {
      for (let i = 0; i < 2000 && writing; i++) {
        const read = await store.read("sts.test");
        if (read.kind === "ignored") throw new Error(read.reason);
        if (read.kind === "entry") seen.push(`${read.entry.id}:${read.entry.policy}`);
      }
    })();
    const writers = Promise.all(policies.map((p, i) => store.write("sts.test", `id${i}`, p)))
      .finally(() => writing = false);
    await Promise.all([reader, writers]);
    const valid = new Set(policies.map((policy, i) => `id${i}:${policy}`));
    for (const entry of seen) assert.ok(valid.has(entry));
    const last = await store.read("sts.test");
    assert.ok(last.kind === "entry" && valid.has(`${last.entry.id}:${last.entry.policy}`));
  });
});

Deno.test("StsStore.touch() sets the mtime", async () => {
  await withStore(async (store, dir) => {
    await store.write("sts.test", "a", POLICY);
    await store.touch("sts.test", 1_600_000_000);
    assert.equal((await Deno.stat(`${dir}/sts.test`)).mtime!.getTime(), 1_600_000_000_000);
    await assert.rejects(store.touch("other.test", 1), { kind: "CACHE_WRITE" });
  });
});

Deno.test("StsStore.remove() unlinks an entry, says when there was none and refuses directories", async () => {
  await withStore(async (store, dir) => {
    await store.write("sts.test", "a", POLICY);
    assert.equal(await store.remove("STS.test"), true);
    assert.equal(await store.remove("sts.test"), false);
    await Deno.mkdir(`${dir}/dir.test`);
    await assert.rejects(store.remove("dir.test"), {
      kind: "CACHE_WRITE",
      message: `Cannot remove "${dir}/dir.test": Is a directory`,
    });
    assert.ok((await Deno.stat(`${dir}/dir.test`)).isDirectory);
  });
});

Deno.test("StsStore.expire() removes the oldest valid entries only, ties in name order", async () => {
  await withStore(async (store, dir) => {
    const files: [string, number][] = [["e.test", 50], ["d.test", 40], ["b.test", 20], [
      "a.test",
      20,
    ], [
      "c.test",
      30,
    ]];
    for (const [name, mtime] of files) {
      await Deno.writeTextFile(`${dir}/${name}`, COURIER_FILE);
      await Deno.utime(`${dir}/${name}`, mtime, mtime);
    }
    // Foreign things Courier would count or delete (S17): all older than every entry.
    await Deno.mkdir(`${dir}/old.dir`);
    await Deno.writeTextFile(`${dir}/a,25`, "x");
    await Deno.writeTextFile(`${dir}/Upper.test`, "x");
    await Deno.writeTextFile(`${dir}/${CACHE_SIZE_FILE}`, "2\n");
    await Deno.symlink(`${dir}/e.test`, `${dir}/link.test`);
    for (const name of ["old.dir", "a,25", "Upper.test", CACHE_SIZE_FILE]) {
      await Deno.utime(`${dir}/${name}`, 1, 1);
    }
    const leftAlone = [
      `${dir}/link.test: is a symbolic link, not followed, left alone`,
      `${dir}/old.dir: is not a regular file, left alone`,
    ];
    const expired = await store.expire(2);
    assert.deepEqual({ ...expired, warnings: expired.warnings.sort() }, {
      removed: ["a.test", "b.test", "c.test"],
      removedCount: 3,
      warnings: leftAlone,
    });
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(left, [
      CACHE_SIZE_FILE,
      "Upper.test",
      "a,25",
      "d.test",
      "e.test",
      "link.test",
      "old.dir",
    ]);
    assert.deepEqual(await store.expire(0), { removed: [], removedCount: 0, warnings: [] });
    const again = await store.expire(5);
    assert.deepEqual({ ...again, warnings: again.warnings.sort() }, {
      removed: [],
      removedCount: 0,
      warnings: leftAlone,
    });
  });
});

Deno.test("StsStore reads, writes and removes .cache_size (D10)", async () => {
  await withStore(async (store, dir) => {
    assert.deepEqual(await store.readCacheSize(), { size: 1000 });
    await store.writeCacheSize(0);
    assert.equal(await Deno.readTextFile(`${dir}/.cache_size`), "0\n");
    assert.deepEqual(await store.readCacheSize(), { size: 0 });
    await store.writeCacheSize(7);
    assert.deepEqual(await store.readCacheSize(), { size: 7 });
    await Deno.writeTextFile(`${dir}/.cache_size`, "junk\n");
    assert.deepEqual(await store.readCacheSize(), {
      size: 0,
      warning: `"${dir}/.cache_size" holds "junk", not a number: STS is off`,
    });
    await store.removeCacheSize();
    await store.removeCacheSize();
    assert.deepEqual(await store.readCacheSize(), { size: 1000 });
  });
});

Deno.test({
  name: "StsStore.write() as root gives the file to the directory's owner (D5)",
  ignore: Deno.uid() !== 0,
  async fn() {
    await withStore(async (store, dir) => {
      await Deno.chown(dir, 65534, 65534);
      await store.write("sts.test", "a", POLICY);
      const info = await Deno.stat(`${dir}/sts.test`);
      assert.deepEqual([info.uid, info.gid], [65534, 65534]);
    });
  },
});

// Root ignores directory permissions, so as root the check runs as nobody through setpriv.
Deno.test("StsStore in a read-only directory reads entries and fails writes with the reason", async () => {
  await withStore(async (_, dir) => {
    await Deno.writeTextFile(`${dir}/sts.test`, COURIER_FILE);
    await Deno.chmod(dir, 0o555);
    const probe = (lib: LibUrl) => `
      import { StsStore } from ${lib("sts/store.ts")};
      const store = new StsStore(${JSON.stringify(dir)});
      const read = await store.read("sts.test");
      const failures = [];
      for (const step of [() => store.write("sts.test", "b", ${
      JSON.stringify(POLICY)
    }), () => store.remove("sts.test")]) {
        try { await step(); failures.push(null); } catch (e) { failures.push({ kind: e.kind, message: e.message }); }
      }
      console.log(JSON.stringify({ read: read.kind === "entry" ? read.entry.id : read.kind, failures }));
    `;
    assert.deepEqual(JSON.parse(await runAsNobody(probe)), {
      read: "abc123",
      failures: [
        { kind: "CACHE_WRITE", message: `Cannot write "${dir}/sts.test": Permission denied` },
        { kind: "CACHE_WRITE", message: `Cannot remove "${dir}/sts.test": Permission denied` },
      ],
    });
  });
});

Deno.test("StsStore.write() stores nothing the policy parser would reject", async () => {
  await withStore(async (store, dir) => {
    await Deno.writeTextFile(`${dir}/sts.test`, COURIER_FILE);
    const planted = "version: STSv1\nmode: enforce\nmax_age: 86400\nx: $(id > /tmp/x)\n";
    await assert.rejects(store.write("sts.test", "b", planted), {
      kind: "POLICY_INVALID",
      message:
        `Cannot store "${dir}/sts.test": Invalid policy: mode enforce needs at least one "mx" field`,
    });
    assert.equal(await Deno.readTextFile(`${dir}/sts.test`), COURIER_FILE);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["sts.test"]);
  });
});
