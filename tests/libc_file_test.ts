// The C library's file calls (lib/_libc_file.ts): what node:fs's open with
// O_NOFOLLOW|O_NONBLOCK gives, without loading node:fs.
import assert from "node:assert/strict";
import { openWithLibc } from "../lib/_libc_file.ts";

/**
 * What `program` (a `deno eval` that prints JSON) prints, with `--allow-read` and `flags`: with
 * `--allow-ffi` (the libc path) if `ffi`, else without (Deno's or node:fs's).
 */
async function evaluated(program: string, ffi: boolean, flags: string[] = []) {
  const args = ["eval", "--no-config", "--allow-read", ...flags];
  if (ffi) args.push("--allow-ffi");
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...args, program],
    stdout: "piped",
  }).output();
  assert.ok(out.success);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("openWithLibc() reads a regular file and reports what Deno's stat does", async () => {
  const dir = await Deno.makeTempDir({ prefix: "libc_file_" });
  try {
    const path = `${dir}/example.com`;
    await Deno.writeTextFile(path, "1\nid:abc\n\nversion: STSv1\n");
    await Deno.utime(path, 1_700_000_000.25, 1_700_000_000.5);
    const handle = openWithLibc(path);
    assert.ok(handle, "FFI is granted to the tests");
    try {
      const stats = await handle.stat();
      const seen = Deno.lstatSync(path);
      assert.deepEqual(
        [stats.ino, stats.dev, stats.nlink, stats.isFile(), stats.mtimeMs],
        [seen.ino, seen.dev, 1, true, 1_700_000_000_500],
      );
      const buffer = new Uint8Array(64);
      const first = await handle.read(buffer, 0, 5, null);
      const rest = await handle.read(buffer, 5, 59, null);
      const end = await handle.read(buffer, 5 + rest.bytesRead, 1, null);
      assert.deepEqual([first.bytesRead, rest.bytesRead, end.bytesRead], [5, 20, 0]);
      assert.equal(
        new TextDecoder().decode(buffer.subarray(0, 25)),
        "1\nid:abc\n\nversion: STSv1\n",
      );
    } finally {
      await handle.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openWithLibc() follows no link, and opens a FIFO without waiting for a writer", async () => {
  const dir = await Deno.makeTempDir({ prefix: "libc_file_" });
  try {
    await Deno.writeTextFile(`${dir}/target`, "secret");
    await Deno.symlink(`${dir}/target`, `${dir}/link`);
    assert.throws(() => openWithLibc(`${dir}/link`), {
      code: "ELOOP",
      message: `ELOOP: too many levels of symbolic links, open '${dir}/link'`,
    });
    assert.throws(() => openWithLibc(`${dir}/missing`), { code: "ENOENT" });
    const mkfifo = await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
    assert.ok(mkfifo.success);
    const fifo = openWithLibc(`${dir}/fifo`)!;
    try {
      assert.equal((await fifo.stat()).isFile(), false);
    } finally {
      await fifo.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("StsStore.read() finds the same through libc (FFI granted) as through node:fs (not granted)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "libc_file_" });
  try {
    await Deno.writeTextFile(`${dir}/.cache_size`, "3\n");
    await Deno.writeTextFile(
      `${dir}/a.test`,
      "1\nid:abc\n\nversion: STSv1\nmode: enforce\nmx: mx.a.test\nmax_age: 86400\n",
    );
    await Deno.utime(`${dir}/a.test`, 1_700_000_000, 1_700_000_000);
    await Deno.writeTextFile(`${dir}/elsewhere`, "1\nid:x\n\nversion: STSv1\n");
    await Deno.symlink(`${dir}/elsewhere`, `${dir}/b.test`);
    await Deno.link(`${dir}/elsewhere`, `${dir}/c.test`);
    const mkfifo = await new Deno.Command("mkfifo", { args: [`${dir}/d.test`] }).output();
    assert.ok(mkfifo.success);
    await Deno.mkdir(`${dir}/f.test`);
    const store = new URL("../lib/sts/store.ts", import.meta.url).href;
    // And a "cache directory" that is a file: every lstat below it fails with ENOTDIR.
    const program = `
      import { StsStore } from ${JSON.stringify(store)};
      const store = new StsStore(${JSON.stringify(dir)});
      const found = [await store.readCacheSize()];
      for (const name of ["a.test", "b.test", "c.test", "d.test", "e.test", "f.test"]) {
        found.push(await store.read(name));
      }
      found.push(await new StsStore(${JSON.stringify(`${dir}/elsewhere`)}).read("a.test"));
      console.log(JSON.stringify(found));`;
    const run = (ffi: boolean) => evaluated(program, ffi);
    const [withLibc, withNode] = await Promise.all([run(true), run(false)]);
    assert.deepEqual(withLibc, withNode);
    assert.deepEqual(
      withLibc.map((r: { kind?: string; size?: number; reason?: string }) => r.kind ?? r.size),
      [3, "entry", "ignored", "ignored", "ignored", "absent", "ignored", "ignored"],
    );
    assert.equal(withLibc.at(-1).reason, "Not a directory");
    assert.equal(withLibc[1].mtimeSec, 1_700_000_000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openWithLibc() creates only a new file, never through a link, and writes, chowns, syncs and sets times", async () => {
  const dir = await Deno.makeTempDir({ prefix: "libc_file_" });
  try {
    await Deno.writeTextFile(`${dir}/target`, "keep");
    await Deno.symlink(`${dir}/target`, `${dir}/link`);
    assert.throws(() => openWithLibc(`${dir}/link`, "create"), { code: "EEXIST" });
    assert.throws(() => openWithLibc(`${dir}/target`, "create"), { code: "EEXIST" });
    assert.equal(await Deno.readTextFile(`${dir}/target`), "keep");
    const handle = openWithLibc(`${dir}/new`, "create", 0o640)!;
    try {
      const bytes = new TextEncoder().encode("hello, world");
      assert.deepEqual(await handle.write(bytes, 7, 5), { bytesWritten: 5 });
      const { uid, gid } = Deno.lstatSync(`${dir}/new`);
      await handle.chown(uid!, gid!);
      await handle.datasync();
      await handle.utimes(1_700_000_000, 1_700_000_000.5);
      const stats = await handle.stat();
      assert.deepEqual([stats.size, stats.isFile(), stats.isDirectory()], [5, true, false]);
    } finally {
      await handle.close();
    }
    const info = Deno.lstatSync(`${dir}/new`);
    assert.equal(await Deno.readTextFile(`${dir}/new`), "world");
    assert.equal(info.mode! & 0o777, 0o640 & ~Deno.umask());
    assert.equal(info.mtime!.getTime(), 1_700_000_000_500);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openWithLibc() follows links for a configuration file, and opens only a directory for its sync", async () => {
  const dir = await Deno.makeTempDir({ prefix: "libc_file_" });
  try {
    await Deno.writeTextFile(`${dir}/target`, "nameserver 127.0.0.1\n");
    await Deno.symlink(`${dir}/target`, `${dir}/resolv.conf`);
    const config = openWithLibc(`${dir}/resolv.conf`, "config")!;
    try {
      assert.equal((await config.stat()).ino, Deno.statSync(`${dir}/target`).ino);
    } finally {
      await config.close();
    }
    const mkfifo = await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
    assert.ok(mkfifo.success);
    assert.throws(() => openWithLibc(`${dir}/fifo`, "directory"), { code: "ENOTDIR" });
    const directory = openWithLibc(dir, "directory")!;
    try {
      await directory.sync();
      assert.equal((await directory.stat()).isDirectory(), true);
    } finally {
      await directory.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("StsStore.write() and touch() leave the same through libc (FFI granted) as through node:fs", async () => {
  const store = new URL("../lib/sts/store.ts", import.meta.url).href;
  const run = async (ffi: boolean) => {
    const dir = await Deno.makeTempDir({ prefix: "libc_file_" });
    try {
      const program = `
        import { StsStore } from ${JSON.stringify(store)};
        const store = new StsStore(${JSON.stringify(dir)});
        const policy = "version: STSv1\\nmode: enforce\\nmx: mx.a.test\\nmax_age: 86400\\n";
        await store.write("a.test", "id1", policy);
        await store.write("a.test", "id2", policy);
        await store.touch("a.test", 1_700_000_000);
        const errors = [];
        await Deno.symlink(${JSON.stringify(dir)} + "/a.test", ${JSON.stringify(dir)} + "/b.test");
        await store.touch("b.test", 1_700_000_000).catch((e) => errors.push(e.kind));
        const { path: _, ...read } = await store.read("a.test");
        console.log(JSON.stringify({ read, errors }));`;
      const printed = await evaluated(program, ffi, ["--allow-write"]);
      const names = [...Deno.readDirSync(dir)].map((entry) => entry.name).sort();
      const mode = Deno.lstatSync(`${dir}/a.test`).mode! & 0o777;
      return { ...printed, names, mode };
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  };
  const [withLibc, withNode] = await Promise.all([run(true), run(false)]);
  assert.deepEqual(withLibc, withNode);
  assert.equal(withLibc.read.entry.id, "id2");
  assert.equal(withLibc.read.mtimeSec, 1_700_000_000);
  assert.deepEqual(withLibc.names, ["a.test", "b.test"]);
  assert.deepEqual(withLibc.errors, ["CACHE_WRITE"]);
});

Deno.test("readTextFile() reads and refuses the same through libc (FFI granted) as through Deno", async () => {
  const dir = await Deno.makeTempDir({ prefix: "libc_file_" });
  try {
    await Deno.writeTextFile(`${dir}/resolv.conf`, "nameserver 127.0.0.1\n");
    await Deno.symlink(`${dir}/resolv.conf`, `${dir}/link`);
    await Deno.mkdir(`${dir}/directory`);
    const mkfifo = await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
    assert.ok(mkfifo.success);
    const module = new URL("../lib/text_file.ts", import.meta.url).href;
    const program = `
      import { readTextFile } from ${JSON.stringify(module)};
      const found = [];
      for (const name of ["resolv.conf", "link", "directory", "fifo", "missing"]) {
        found.push(await readTextFile(${JSON.stringify(dir)} + "/" + name).then(
          (text) => ({ text }),
          (error) => ({ error: error.name, kind: error.kind, message: error.message }),
        ));
      }
      console.log(JSON.stringify(found));`;
    const run = (ffi: boolean) => evaluated(program, ffi);
    const [withLibc, withDeno] = await Promise.all([run(true), run(false)]);
    assert.deepEqual(withLibc, withDeno);
    assert.deepEqual(withLibc, [
      { text: "nameserver 127.0.0.1\n" },
      { text: "nameserver 127.0.0.1\n" },
      { error: "IsADirectory", message: "Is a directory" },
      { error: "ConfigError", kind: "NOT_A_FILE", message: "Not a regular file" },
      {},
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
