// The cache directory as another account that can write it leaves it (README.md#security):
// links, directories, FIFOs, device files, hard links to files outside, crash leftovers, a
// huge entry. The store never follows a link out, never writes through one, never blocks on
// a FIFO, never reads past its caps, never widens a mode, and says what it skipped.
import assert from "node:assert/strict";
import {
  CACHE_SIZE_FILE,
  MAX_CACHE_SIZE_BYTES,
  MAX_ENTRY_BYTES,
  STALE_TEMP_MS,
  StsStore,
} from "../../lib/sts/store.ts";

const POLICY = "version: STSv1\nmode: enforce\nmx: *.sts.test\nmax_age: 86400\n";
const COURIER_FILE = "1\nid:abc123\n\n" + POLICY;
const SECRET = "root:$6$secret-hash:19000:0:99999:7:::\n";
const ROOT = Deno.uid() === 0;

/** A store on a fresh directory, and a file outside it standing for /etc/shadow. */
async function withHostileDir(
  body: (store: StsStore, dir: string, outside: string) => Promise<void>,
): Promise<void> {
  const base = await Deno.makeTempDir({ prefix: "sts-hostile-" });
  const dir = `${base}/sts`;
  const outside = `${base}/shadow`;
  await Deno.mkdir(dir);
  await Deno.writeTextFile(outside, SECRET);
  await Deno.utime(outside, 1000, 1000);
  try {
    await body(new StsStore(dir), dir, outside);
    // Whatever happened in the directory, the file outside is as it was.
    assert.equal(await Deno.readTextFile(outside), SECRET);
    assert.equal((await Deno.stat(outside)).mtime?.getTime(), 1000_000);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

/** Fails instead of hanging when an operation blocks (a FIFO opened for reading would). */
async function unblocked<T>(what: string, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} blocked`)), 10_000);
  });
  try {
    return await Promise.race([work, hang]);
  } finally {
    clearTimeout(timer);
  }
}

async function mkfifo(path: string): Promise<void> {
  const { code } = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.equal(code, 0, `mkfifo ${path}`);
}

function reasonOf(read: Awaited<ReturnType<StsStore["read"]>>): string {
  assert.equal(read.kind, "ignored");
  return read.kind === "ignored" ? read.reason : "";
}

Deno.test("StsStore.read() ignores a FIFO entry without opening it", async () => {
  await withHostileDir(async (store, dir) => {
    await mkfifo(`${dir}/sts.test`);
    const read = await unblocked("read()", store.read("sts.test"));
    assert.equal(reasonOf(read), "is not a regular file");
  });
});

Deno.test("StsStore.read() ignores a hard link to a file outside and never quotes its text", async () => {
  await withHostileDir(async (store, dir, outside) => {
    await Deno.link(outside, `${dir}/sts.test`);
    const reason = reasonOf(await store.read("sts.test"));
    assert.equal(reason, "has 2 hard links, not used");
    assert.doesNotMatch(reason, /secret/);
  });
});

Deno.test("StsStore.read() ignores a link to a device without reading from it", async () => {
  await withHostileDir(async (store, dir) => {
    await Deno.symlink("/dev/zero", `${dir}/sts.test`);
    const read = await unblocked("read()", store.read("sts.test"));
    assert.equal(reasonOf(read), "is a symbolic link, not followed");
  });
});

Deno.test({
  name: "StsStore.read() ignores a device node in the directory",
  ignore: !ROOT,
  async fn() {
    await withHostileDir(async (store, dir) => {
      const { code } = await new Deno.Command("mknod", { args: [`${dir}/sts.test`, "c", "1", "5"] })
        .output();
      assert.equal(code, 0);
      const read = await unblocked("read()", store.read("sts.test"));
      assert.equal(reasonOf(read), "is not a regular file");
    });
  },
});

Deno.test("StsStore.read() refuses a 100 MiB entry by its size", async () => {
  await withHostileDir(async (store, dir) => {
    const path = `${dir}/sts.test`;
    await Deno.writeTextFile(path, COURIER_FILE);
    await Deno.truncate(path, 100 * 1024 * 1024);
    assert.equal(
      reasonOf(await store.read("sts.test")),
      `is ${100 * 1024 * 1024} bytes, over the limit of ${MAX_ENTRY_BYTES}`,
    );
  });
});

Deno.test("StsStore.write() replaces a FIFO, a hard link and a link to outside, never writing through", async () => {
  await withHostileDir(async (store, dir, outside) => {
    await mkfifo(`${dir}/fifo.test`);
    await Deno.link(outside, `${dir}/hard.test`);
    await Deno.symlink(outside, `${dir}/soft.test`);
    for (const name of ["fifo.test", "hard.test", "soft.test"]) {
      await unblocked(`write(${name})`, store.write(name, "new", POLICY));
      const info = await Deno.lstat(`${dir}/${name}`);
      assert.ok(info.isFile && info.nlink === 1, name);
      const read = await store.read(name);
      assert.equal(read.kind === "entry" && read.entry.id, "new", name);
    }
  });
});

Deno.test("StsStore.write() fails on a directory in the entry's place and leaves no temporary file", async () => {
  await withHostileDir(async (store, dir) => {
    await Deno.mkdir(`${dir}/sts.test`);
    await Deno.writeTextFile(`${dir}/sts.test/keep`, "x");
    await assert.rejects(store.write("sts.test", "a", POLICY), { kind: "CACHE_WRITE" });
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["sts.test"]);
    assert.equal(await Deno.readTextFile(`${dir}/sts.test/keep`), "x");
  });
});

Deno.test("StsStore.write() never widens the mode of the entry it replaces", async () => {
  await withHostileDir(async (store, dir) => {
    await Deno.writeTextFile(`${dir}/sts.test`, COURIER_FILE, { mode: 0o600 });
    await Deno.chmod(`${dir}/sts.test`, 0o600);
    await store.write("sts.test", "b", POLICY);
    assert.equal((await Deno.stat(`${dir}/sts.test`)).mode! & 0o777, 0o600);
    await Deno.writeTextFile(`${dir}/${CACHE_SIZE_FILE}`, "5\n");
    await Deno.chmod(`${dir}/${CACHE_SIZE_FILE}`, 0o640);
    await store.writeCacheSize(7);
    assert.equal((await Deno.stat(`${dir}/${CACHE_SIZE_FILE}`)).mode! & 0o777, 0o640);
    // A new file gets Courier's 0644 at most, whatever was world-writable before it.
    await Deno.writeTextFile(`${dir}/wide.test`, COURIER_FILE);
    await Deno.chmod(`${dir}/wide.test`, 0o666);
    await store.write("wide.test", "c", POLICY);
    assert.equal((await Deno.stat(`${dir}/wide.test`)).mode! & 0o022, 0);
  });
});

Deno.test("StsStore.touch() refuses a link or a hard link, leaving the file outside unchanged", async () => {
  await withHostileDir(async (store, dir, outside) => {
    await Deno.symlink(outside, `${dir}/soft.test`);
    await Deno.link(outside, `${dir}/hard.test`);
    await assert.rejects(store.touch("soft.test", 5000), {
      kind: "CACHE_WRITE",
      message: `Cannot touch "${dir}/soft.test": Is a symbolic link, not followed`,
    });
    await assert.rejects(store.touch("hard.test", 5000), {
      kind: "CACHE_WRITE",
      message: `Cannot touch "${dir}/hard.test": Has 2 hard links, not used`,
    });
    await mkfifo(`${dir}/fifo.test`);
    await assert.rejects(unblocked("touch()", store.touch("fifo.test", 5000)), {
      kind: "CACHE_WRITE",
    });
  });
});

// [case, how to make .cache_size, the reason in the warning].
const CACHE_SIZES: [string, (path: string, outside: string) => Promise<void>, string][] = [
  ["a link to a file outside", (p, o) => Deno.symlink(o, p), "is a symbolic link, not followed"],
  ["a link to /dev/zero", (p) => Deno.symlink("/dev/zero", p), "is a symbolic link, not followed"],
  ["a FIFO", (p) => mkfifo(p), "is not a regular file"],
  ["a directory", (p) => Deno.mkdir(p), "is not a regular file"],
  ["a hard link to a file outside", (p, o) => Deno.link(o, p), "has 2 hard links, not used"],
];

for (const [name, make, reason] of CACHE_SIZES) {
  Deno.test(`StsStore.readCacheSize() uses the default size for ${name} and says why`, async () => {
    await withHostileDir(async (store, dir, outside) => {
      const path = `${dir}/${CACHE_SIZE_FILE}`;
      await make(path, outside);
      assert.deepEqual(await unblocked("readCacheSize()", store.readCacheSize()), {
        size: 1000,
        warning: `"${path}" ${reason}: using the default size 1000`,
      });
    });
  });
}

Deno.test("StsStore.readCacheSize() reads only the first line of a 100 MiB .cache_size", async () => {
  await withHostileDir(async (store, dir) => {
    const path = `${dir}/${CACHE_SIZE_FILE}`;
    await Deno.writeTextFile(path, "5\n");
    await Deno.truncate(path, 100 * 1024 * 1024);
    assert.deepEqual(await store.readCacheSize(), { size: 5 });
    // A first line longer than Courier's buffer is cut there, as Courier reads it.
    await Deno.writeTextFile(path, "7".repeat(MAX_CACHE_SIZE_BYTES * 4));
    const size = await store.readCacheSize();
    assert.equal(size.size, 0);
    assert.match(size.warning ?? "", /too large a number/);
  });
});

Deno.test("StsStore.writeCacheSize() replaces a planted link; removeCacheSize() refuses a directory", async () => {
  await withHostileDir(async (store, dir, outside) => {
    const path = `${dir}/${CACHE_SIZE_FILE}`;
    await Deno.symlink(outside, path);
    await store.writeCacheSize(3);
    assert.ok((await Deno.lstat(path)).isFile);
    assert.deepEqual(await store.readCacheSize(), { size: 3 });
    await Deno.remove(path);
    await Deno.mkdir(path);
    await assert.rejects(store.removeCacheSize(), {
      kind: "CACHE_WRITE",
      message: `Cannot remove "${path}": Is a directory`,
    });
    assert.ok((await Deno.lstat(path)).isDirectory);
  });
});

Deno.test("StsStore.expire() removes stale temporary files, keeps fresh ones and names what it left alone", async () => {
  await withHostileDir(async (store, dir, outside) => {
    const now = Date.now();
    const stale = `.tmp-${"a".repeat(32)}`;
    const fresh = `.tmp-${"b".repeat(32)}`;
    await Deno.writeTextFile(`${dir}/${stale}`, "1\nid:x\n");
    await Deno.utime(`${dir}/${stale}`, (now - STALE_TEMP_MS) / 1000 - 60, 0);
    await Deno.writeTextFile(`${dir}/${fresh}`, "0\n");
    await mkfifo(`${dir}/fifo.test`);
    await Deno.mkdir(`${dir}/dir.test`);
    await Deno.symlink(outside, `${dir}/soft.test`);
    await Deno.link(outside, `${dir}/hard.test`);
    await Deno.writeTextFile(`${dir}/a.test`, COURIER_FILE);
    await Deno.writeTextFile(`${dir}/b.test`, COURIER_FILE);
    await Deno.utime(`${dir}/a.test`, 10, 10);
    const result = await unblocked("expire()", store.expire(1, now));
    assert.deepEqual(result.removed, ["a.test"]);
    assert.deepEqual(result.warnings.sort(), [
      `${dir}/${stale}: a temporary file left by an interrupted write, removed`,
      `${dir}/dir.test: is not a regular file, left alone`,
      `${dir}/fifo.test: is not a regular file, left alone`,
      `${dir}/hard.test: has 2 hard links, not used, left alone`,
      `${dir}/soft.test: is a symbolic link, not followed, left alone`,
    ]);
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(left, [fresh, "b.test", "dir.test", "fifo.test", "hard.test", "soft.test"]);
  });
});
