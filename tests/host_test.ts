import assert from "node:assert/strict";
import { denoHost, MAX_TEXT_FILE_BYTES, openReadOnly } from "../lib/host.ts";

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
    await assert.rejects(host.readTextFile(`${dir}/fifo`), {
      name: "ConfigError",
      kind: "NOT_A_FILE",
      path: `${dir}/fifo`,
      message: "Not a regular file",
    });
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
    await assert.rejects(host.readTextFile(`${dir}/huge`), {
      kind: "TOO_LARGE",
      path: `${dir}/huge`,
      message: `Larger than ${MAX_TEXT_FILE_BYTES} bytes`,
    });
    await Deno.writeFile(`${dir}/limit`, new Uint8Array(MAX_TEXT_FILE_BYTES).fill(0x61));
    assert.equal((await host.readTextFile(`${dir}/limit`))?.length, MAX_TEXT_FILE_BYTES);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("denoHost().openUdp() receives whole datagrams that later receives do not overwrite", async () => {
  const host = denoHost();
  const peer = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const peerPort = (peer.addr as Deno.NetAddr).port;
  const sockets = [host.openUdp(4), host.openUdp(4)];
  try {
    // Learn each socket's port from a datagram it sends to the peer.
    const ports: number[] = [];
    for (const socket of sockets) {
      await socket.send(new Uint8Array([0]), { hostname: "127.0.0.1", port: peerPort });
      const [, from] = await peer.receive();
      ports.push((from as Deno.NetAddr).port);
    }
    const big = new Uint8Array(60_000).map((_, i) => i % 251);
    const small = new Uint8Array([1, 2, 3]);
    await peer.send(big, { transport: "udp", hostname: "127.0.0.1", port: ports[0] });
    const [first, from] = await sockets[0].receive();
    assert.equal(from.port, peerPort);
    assert.deepEqual(first, big);
    // The receive buffer goes on to the next receive; what was returned must not change.
    await peer.send(small, { transport: "udp", hostname: "127.0.0.1", port: ports[1] });
    const [second] = await sockets[1].receive();
    assert.deepEqual(second, small);
    assert.deepEqual(first, big);
    assert.equal(first.buffer.byteLength, big.length, "a copy of the datagram's own size");
  } finally {
    for (const socket of sockets) socket.close();
    peer.close();
  }
});

Deno.test("openReadOnly() stops waiting for a FIFO without a writer when its signal aborts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const mkfifo = await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
    assert.equal(mkfifo.code, 0);
    const stop = new AbortController();
    const opening = openReadOnly(`${dir}/fifo`, stop.signal);
    stop.abort();
    await assert.rejects(opening, /Not opened within/);
    // The open still pending in Deno's blocking thread ends when a writer comes (and the late
    // file is closed at once, so nothing is written: a write could meet a closed pipe).
    using _writer = await Deno.open(`${dir}/fifo`, { write: true });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
