import assert from "node:assert/strict";
import { startConnectRelay } from "../../lib/sts/_connect_relay.ts";

/** A TCP server on 127.0.0.1 that answers each chunk with "echo:" and the chunk. */
function echoServer(): { port: number; accepted: () => number } & AsyncDisposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let accepted = 0;
  const serving = (async () => {
    for await (const conn of listener) {
      accepted++;
      (async () => {
        const buffer = new Uint8Array(1024);
        for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
          await conn.write(new TextEncoder().encode(`echo:${text(buffer.subarray(0, n))}`));
        }
      })().catch(() => {}).finally(() => conn.close());
    }
  })().catch(() => {});
  return {
    port: listener.addr.port,
    accepted: () => accepted,
    async [Symbol.asyncDispose]() {
      listener.close();
      await serving;
    },
  };
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Opens a connection to the relay and sends a CONNECT for `authority`. */
async function connectVia(relayUrl: string, authority: string): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(relayUrl).port) });
  await conn.write(
    new TextEncoder().encode(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`),
  );
  return conn;
}

async function readSome(conn: Deno.Conn): Promise<string> {
  const buffer = new Uint8Array(1024);
  const n = await conn.read(buffer);
  return n === null ? "" : text(buffer.subarray(0, n));
}

Deno.test("startConnectRelay() tunnels CONNECT to the first address that accepts", async () => {
  await using server = echoServer();
  const authority = `mta-sts.relay.test:${server.port}`;
  // 127.0.0.9 refuses (nothing listens there on this port), 127.0.0.1 accepts.
  await using relay = startConnectRelay(authority, ["127.0.0.9", "127.0.0.1"]);
  assert.match(relay.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  using conn = await connectVia(relay.url, authority.toUpperCase());
  assert.equal(await readSome(conn), "HTTP/1.1 200 Connection established\r\n\r\n");
  await conn.write(new TextEncoder().encode("hello"));
  assert.equal(await readSome(conn), "echo:hello");
  assert.equal(relay.failure, undefined);
});

Deno.test("startConnectRelay() holds the tunnel until its addresses are known", async () => {
  await using server = echoServer();
  const authority = `mta-sts.relay.test:${server.port}`;
  const addresses = Promise.withResolvers<string[]>();
  await using relay = startConnectRelay(authority, addresses.promise);
  using conn = await connectVia(relay.url, authority);
  const reply = readSome(conn);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(server.accepted(), 0, "no connection before the go");
  addresses.resolve(["127.0.0.1"]);
  assert.equal(await reply, "HTTP/1.1 200 Connection established\r\n\r\n");
  assert.equal(server.accepted(), 1);
});

Deno.test("startConnectRelay() answers 502 and keeps the reason when the addresses fail", async () => {
  const authority = "mta-sts.relay.test:443";
  const reason = new Error('No such domain "mta-sts.relay.test"');
  await using relay = startConnectRelay(authority, Promise.reject(reason));
  using conn = await connectVia(relay.url, authority);
  assert.equal(await readSome(conn), "HTTP/1.1 502 Bad Gateway\r\n\r\n");
  assert.equal(relay.failure, reason);
});

Deno.test("startConnectRelay() answers 502 with every connection error when none accepts", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close(); // now nothing listens on the port
  const authority = `mta-sts.relay.test:${port}`;
  await using relay = startConnectRelay(authority, ["127.0.0.1", "127.0.0.9"]);
  using conn = await connectVia(relay.url, authority);
  assert.equal(await readSome(conn), "HTTP/1.1 502 Bad Gateway\r\n\r\n");
  assert.match(String(relay.failure), /127\.0\.0\.1: .*refused.*; 127\.0\.0\.9: .*refused/i);
});

Deno.test("startConnectRelay() refuses a CONNECT to any other host or port", async () => {
  await using server = echoServer();
  await using relay = startConnectRelay(`mta-sts.relay.test:${server.port}`, ["127.0.0.1"]);
  for (const other of [`elsewhere.test:${server.port}`, `mta-sts.relay.test:${server.port + 1}`]) {
    using conn = await connectVia(relay.url, other);
    assert.equal(await readSome(conn), "HTTP/1.1 403 Forbidden\r\n\r\n");
  }
  assert.equal(server.accepted(), 0);
});

Deno.test("startConnectRelay() disposal ends a tunnel still waiting for its addresses", async () => {
  const authority = "mta-sts.relay.test:443";
  const relay = startConnectRelay(authority, new Promise<string[]>(() => {}));
  using conn = await connectVia(relay.url, authority);
  await new Promise((resolve) => setTimeout(resolve, 20));
  await relay[Symbol.asyncDispose](); // returns: nothing waits for the addresses any more
  assert.equal(await readSome(conn).catch(() => ""), "");
});
