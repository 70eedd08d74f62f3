/**
 * A decoy name server for the test world: listens on `<address>:53` over UDP and TCP, answers
 * every query REFUSED (so that a client moves on at once) and prints one line per datagram or
 * connection, `udp <bytes>` or `tcp`, after a first line `ready`. Run it inside the world's
 * namespace ({@linkcode World.spawn}); it refuses any address outside 127.0.0.0/8 and stops
 * itself after `time-limit-s` seconds or 10,000 packets.
 *
 * ```sh
 * deno run --unstable-net --allow-net tests/world/decoy_resolver.ts 127.0.0.53 120
 * ```
 *
 * @module
 */

const MAX_PACKETS = 10_000;

/** The query as a REFUSED reply: QR set, RCODE 5, everything else echoed. */
function refused(query: Uint8Array): Uint8Array | undefined {
  if (query.length < 12) return undefined;
  const reply = query.slice();
  reply[2] |= 0x80;
  reply[3] = (reply[3] & 0xf0) | 5;
  return reply;
}

async function serveUdp(address: string, count: () => boolean): Promise<void> {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: address, port: 53 });
  try {
    for (;;) {
      const [data, from] = await socket.receive();
      console.log(`udp ${data.length}`);
      if (!count()) return;
      const reply = refused(data);
      if (reply) await socket.send(reply, from).catch(() => {});
    }
  } finally {
    socket.close();
  }
}

async function serveTcp(address: string, count: () => boolean): Promise<void> {
  const listener = Deno.listen({ transport: "tcp", hostname: address, port: 53 });
  try {
    for (;;) {
      const conn = await listener.accept();
      console.log("tcp");
      conn.close();
      if (!count()) return;
    }
  } finally {
    listener.close();
  }
}

if (import.meta.main) {
  const [address, limit] = Deno.args;
  if (!/^127\.\d+\.\d+\.\d+$/.test(address ?? "")) {
    console.error("usage: decoy_resolver.ts 127.x.y.z [time-limit-s]");
    Deno.exit(2);
  }
  let packets = 0;
  const count = () => ++packets < MAX_PACKETS;
  const stop = AbortSignal.timeout(Number(limit ?? 120) * 1000);
  stop.addEventListener("abort", () => Deno.exit(0));
  const serving = Promise.race([serveUdp(address, count), serveTcp(address, count)]);
  console.log("ready");
  await serving;
  Deno.exit(0);
}
