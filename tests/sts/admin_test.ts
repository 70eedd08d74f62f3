import assert from "node:assert/strict";
import { expireCache, overrideMode, purgePolicy, setCacheSize } from "../../lib/sts/admin.ts";
import { COURIER_STUB_POLICY, encodeEntry } from "../../lib/sts/cache_file.ts";
import { CACHE_SIZE_FILE, StsStore } from "../../lib/sts/store.ts";

const POLICY = "version: STSv1\nmode: enforce\nmx: *.sts.test\nmax_age: 86400\n";

/** Runs `body` with a store on a fresh temporary directory, removed afterwards. */
async function withStore(body: (store: StsStore, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sts-admin-" });
  try {
    await body(new StsStore(dir), dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("purgePolicy() removes an entry, says when there is none, and refuses bad names", async () => {
  await withStore(async (store, dir) => {
    await store.write("sts.test", "id1", POLICY);
    assert.deepEqual(await purgePolicy(store, "STS.Test."), {
      kind: "removed",
      path: `${dir}/sts.test`,
    });
    assert.deepEqual(await purgePolicy(store, "sts.test"), {
      kind: "absent",
      path: `${dir}/sts.test`,
    });
    const invalid = await purgePolicy(store, "../etc");
    assert.equal(invalid.kind, "invalid");
    await Deno.mkdir(`${dir}/dir.test`);
    assert.deepEqual(await purgePolicy(store, "dir.test"), {
      kind: "failed",
      path: `${dir}/dir.test`,
      reason: "Is a directory",
    });
  });
});

Deno.test("overrideMode() rewrites the cached mode and keeps id and patterns", async () => {
  await withStore(async (store, dir) => {
    await store.write("sts.test", "id1", POLICY);
    assert.deepEqual(await overrideMode(store, "sts.test", "none"), {
      kind: "written",
      path: `${dir}/sts.test`,
      warnings: [],
    });
    const read = await store.read("sts.test");
    assert.ok(read.kind === "entry");
    assert.equal(read.entry.id, "id1");
    assert.equal(
      read.entry.policy,
      "version: STSv1\nmx: *.sts.test\nmax_age: 86400\n" +
        "info: this policy has been manually overridden, as follows\n" +
        'info: use "testmxlookup --sts-purge sts.test" to restore the default policy:\n' +
        "mode: none\n",
    );
  });
});

Deno.test("overrideMode() finds nothing to override: absent, stub, STS off", async () => {
  await withStore(async (store, dir) => {
    assert.deepEqual(await overrideMode(store, "sts.test", "testing"), {
      kind: "not-cached",
      warnings: [],
    });
    // Courier's stub, as Courier writes it (this tool's write() refuses what it cannot parse).
    await Deno.writeFile(`${dir}/stub.test`, encodeEntry("id1", COURIER_STUB_POLICY));
    assert.equal((await overrideMode(store, "stub.test", "testing")).kind, "not-cached");
    await store.write("sts.test", "id1", POLICY);
    await setCacheSize(store, 0);
    assert.deepEqual(await overrideMode(store, "sts.test", "testing"), {
      kind: "disabled",
      warnings: [],
    });
    const read = await store.read("sts.test");
    assert.ok(read.kind === "entry" && read.entry.policy === POLICY);
  });
});

Deno.test("overrideMode() names a questionable .cache_size and uses the default size", async () => {
  await withStore(async (store, dir) => {
    await store.write("sts.test", "id1", POLICY);
    // A link is not followed: the default size, with a warning.
    await Deno.writeTextFile(`${dir}/elsewhere`, "0\n");
    await Deno.symlink(`${dir}/elsewhere`, `${dir}/${CACHE_SIZE_FILE}`);
    const result = await overrideMode(store, "sts.test", "testing");
    assert.equal(result.kind, "written");
    assert.equal(result.warnings.length, 1);
    assert.match(result.warnings[0], /\.cache_size/);
  });
});

Deno.test("expireCache() keeps the newest .cache_size entries; a missing directory is nothing to trim", async () => {
  await withStore(async (store, dir) => {
    for (const [i, name] of ["a.test", "b.test", "c.test"].entries()) {
      await store.write(name, "id", POLICY);
      await Deno.utime(`${dir}/${name}`, 1000 + i, 1000 + i);
    }
    await setCacheSize(store, 2);
    assert.deepEqual(await expireCache(store), { warnings: [] });
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      ".cache_size",
      "b.test",
      "c.test",
    ]);
    const missing = await expireCache(new StsStore(`${dir}/none`));
    // As Courier: no cache directory (a stock install) prints nothing and is no failure.
    assert.deepEqual(missing, { warnings: [] });
  });
});

Deno.test("setCacheSize() writes .cache_size, and removes it for the default", async () => {
  await withStore(async (store, dir) => {
    await setCacheSize(store, 7);
    assert.equal(await Deno.readTextFile(`${dir}/${CACHE_SIZE_FILE}`), "7\n");
    await setCacheSize(store, undefined);
    assert.deepEqual(await store.readCacheSize(), { size: 1000 });
    await assert.rejects(setCacheSize(new StsStore(`${dir}/none`), 3), { kind: "CACHE_WRITE" });
  });
});
