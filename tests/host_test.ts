import assert from "node:assert/strict";
import { denoHost, MAX_TEXT_FILE_BYTES } from "../lib/host.ts";

const host = denoHost();

Deno.test("denoHost().readTextFile() reads a file and gives undefined for a missing one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/resolv.conf`, "nameserver 127.0.0.1\n");
    assert.equal(await host.readTextFile(`${dir}/resolv.conf`), "nameserver 127.0.0.1\n");
    assert.equal(await host.readTextFile(`${dir}/missing`), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("denoHost().readTextFile() refuses a FIFO, a device and a directory without blocking", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const mkfifo = await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
    assert.equal(mkfifo.code, 0);
    await assert.rejects(host.readTextFile(`${dir}/fifo`), { message: "Not a regular file" });
    await Deno.symlink("/dev/zero", `${dir}/zero`);
    await assert.rejects(host.readTextFile(`${dir}/zero`), { message: "Not a regular file" });
    await assert.rejects(host.readTextFile(dir), Deno.errors.IsADirectory);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("denoHost().readTextFile() refuses a file over MAX_TEXT_FILE_BYTES", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/huge`, new Uint8Array(MAX_TEXT_FILE_BYTES + 1));
    await assert.rejects(host.readTextFile(`${dir}/huge`), /Larger than/);
    await Deno.writeFile(`${dir}/limit`, new Uint8Array(MAX_TEXT_FILE_BYTES).fill(0x61));
    assert.equal((await host.readTextFile(`${dir}/limit`))?.length, MAX_TEXT_FILE_BYTES);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
