import assert from "node:assert/strict";
import { encodeEntry } from "../../lib/sts/cache_file.ts";
import { expireEntries, MAX_EXPIRE_WARNINGS, MAX_LISTED_REMOVALS } from "../../lib/sts/expire.ts";

const POLICY = "version: STSv1\nmode: enforce\nmx: *.sts.test\nmax_age: 86400\n";

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sts-expire-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("expireEntries() on a missing directory removes nothing and says nothing", async () => {
  await withDir(async (dir) => {
    assert.deepEqual(await expireEntries(`${dir}/none`, 10, Date.now()), {
      removed: [],
      removedCount: 0,
      warnings: [],
    });
  });
});

Deno.test("expireEntries() names the first things left alone and counts the rest in one line", async () => {
  await withDir(async (dir) => {
    const links = MAX_EXPIRE_WARNINGS + 30;
    for (let i = 0; i < links; i++) Deno.symlinkSync("/etc/passwd", `${dir}/l${i}.test`);
    const result = await expireEntries(dir, 5, Date.now());
    assert.equal(result.warnings.length, MAX_EXPIRE_WARNINGS + 1);
    for (const line of result.warnings.slice(0, -1)) {
      assert.match(line, /\/l\d+\.test: is a symbolic link, not followed, left alone$/);
    }
    assert.equal(result.warnings.at(-1), `${dir}: 30 more things left alone or not removed`);
    assert.equal([...Deno.readDirSync(dir)].length, links);
  });
});

Deno.test("expireEntries() keeps the newest entries of many, lists a capped number removed", async () => {
  await withDir(async (dir) => {
    const count = MAX_LISTED_REMOVALS + 200;
    const bytes = encodeEntry("a", POLICY);
    // Entry i has mtime i seconds: the newest ten are the highest numbers.
    for (let i = 0; i < count; i++) {
      const path = `${dir}/e${String(i).padStart(5, "0")}.test`;
      Deno.writeFileSync(path, bytes);
      Deno.utimeSync(path, i, i);
    }
    const result = await expireEntries(dir, 10, Date.now());
    assert.equal(result.removedCount, count - 10);
    assert.equal(result.removed.length, MAX_LISTED_REMOVALS);
    // The first removed, listed oldest first, all among the removed.
    assert.deepEqual(result.removed, [...result.removed].sort());
    for (const name of result.removed) assert.ok(name < `e0${count - 10}.test`, name);
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(left, Array.from({ length: 10 }, (_, i) => `e0${count - 10 + i}.test`));
  });
});
