// RFC 5452 in the fake world: an attacker who knows the query's port (the best case for
// the attacker) races the real server with forged replies, each wrong in one field the client
// checks. The figure: forged replies accepted, against forged replies sent and delivered.
import assert from "node:assert/strict";
import { denoHost, type Host, type UdpSocket } from "../../lib/host.ts";
import { acceptReply, type ExpectedReply } from "../../lib/resolver/exchange.ts";
import { Resolver } from "../../lib/resolver/resolver.ts";
import { encodeResponse, type Question, type ResponseSpec } from "../../lib/wire/message.ts";
import { FakeDnsServer, reply, rr, type Via } from "../fakes/dns_server.ts";

const NAME = "www.spoof.test";
const QUESTION: Question = { name: NAME, type: "A" };
const GENUINE = "192.0.2.1";
const QUERIES = 240;
/** Forged replies per class and query; five classes, so 50 per query, under MAX_DATAGRAMS. */
const PER_CLASS = 10;

/** The classes of forgery; each carries its own answer address to tell it apart. */
const CLASSES = {
  "wrong ID from the server's own address and port": "203.0.113.1",
  "right ID from another port of the server's address": "203.0.113.2",
  "right ID from another address (127.0.0.2)": "203.0.113.3",
  "right ID, address and port for another question": "203.0.113.4",
  "sent to the query's socket before the query": "203.0.113.5",
} as const;
type ForgeryClass = keyof typeof CLASSES;

function forged(id: number, forgery: ForgeryClass, spec: Partial<ResponseSpec> = {}): Uint8Array {
  return encodeResponse({
    id,
    questions: [QUESTION],
    answers: [rr.a(NAME, CLASSES[forgery])],
    ...spec,
  });
}

/** A random 16-bit ID other than `not`: a blind guess that missed. */
function otherId(not: number): number {
  const id = crypto.getRandomValues(new Uint16Array(1))[0];
  return id === not ? (id + 1) & 0xffff : id;
}

/** Replies that are right in everything but the question section or header. */
function otherQuestions(id: number): Uint8Array[] {
  const forgery = "right ID, address and port for another question";
  const classCh = forged(id, forgery);
  // QCLASS is the question's last two octets: 12 header + 16 name + 2 type.
  classCh[12 + 16 + 3] = 3;
  const statusOpcode = forged(id, forgery);
  statusOpcode[2] = 0x80 | (2 << 3) | 0x01;
  return [
    forged(id, forgery, { questions: [{ name: "www.spoof.test.evil", type: "A" }] }),
    forged(id, forgery, { questions: [{ name: "spoof.test", type: "A" }] }),
    forged(id, forgery, { questions: [{ name: NAME, type: "AAAA" }] }),
    forged(id, forgery, { questions: [{ name: NAME, type: "MX" }] }),
    classCh,
    statusOpcode,
    forged(id, forgery, { qr: false }),
    forged(id, forgery, { questions: [] }),
    forged(id, forgery, { questions: [QUESTION, QUESTION] }),
    forged(id, forgery, { questions: [{ name: "ww.spoof.test", type: "A" }] }),
  ];
}

Deno.test("Resolver.query() accepts no forged reply among 12,000 racing the real one (RFC 5452)", async () => {
  const sent = new Map<ForgeryClass, number>();
  const count = (forgery: ForgeryClass) => sent.set(forgery, (sent.get(forgery) ?? 0) + 1);
  const spoof = async (
    bytes: Uint8Array,
    to: Deno.NetAddr | { hostname: string; port: number },
    via: Via,
    forgery: ForgeryClass,
  ) => {
    count(forgery);
    await server.spoof(bytes, to, via);
  };
  // The handler runs only once a query arrives, after `server` is set.
  const server: FakeDnsServer = FakeDnsServer.start(async (query, { from }) => {
    // The attacker sees the query (so knows the port) but not its ID, except for the classes
    // that are wrong elsewhere; everything forged leaves before the real answer.
    for (let i = 0; i < PER_CLASS; i++) {
      const wrongId = "wrong ID from the server's own address and port";
      await spoof(forged(otherId(query.id), wrongId), from, "server", wrongId);
      const otherPort = "right ID from another port of the server's address";
      await spoof(forged(query.id, otherPort), from, "other-port", otherPort);
      const otherAddress = "right ID from another address (127.0.0.2)";
      await spoof(forged(query.id, otherAddress), from, "other-address", otherAddress);
    }
    for (const bytes of otherQuestions(query.id)) {
      await spoof(bytes, from, "server", "right ID, address and port for another question");
    }
    return reply(query, { answers: [rr.a(NAME, GENUINE)] });
  });
  try {
    let currentId = -1;
    const previousIds: number[] = [];
    let received = 0;
    const real = denoHost();
    // The real socket, plus an attacker who sprays it between its opening and the query:
    // replays of earlier replies (old IDs) and blind guesses, from the server's own address.
    const host: Host = {
      ...real,
      randomId() {
        currentId = real.randomId();
        return currentId;
      },
      openUdp(family): UdpSocket {
        const conn = Deno.listenDatagram({ transport: "udp", hostname: "0.0.0.0", port: 0 });
        assert.equal(family, 4);
        const port = (conn.addr as Deno.NetAddr).port;
        let closed = false;
        return {
          async send(data, to) {
            const before = "sent to the query's socket before the query";
            for (let i = 0; i < PER_CLASS; i++) {
              const replayed = previousIds.at(-1 - i);
              const id = replayed === undefined || replayed === currentId
                ? otherId(currentId)
                : replayed;
              await spoof(forged(id, before), { hostname: "127.0.0.1", port }, "server", before);
            }
            previousIds.push(currentId);
            await conn.send(data, { transport: "udp", ...to });
          },
          async receive() {
            const [data, from] = await conn.receive();
            received++;
            const addr = from as Deno.NetAddr;
            return [data, { hostname: addr.hostname, port: addr.port }];
          },
          close() {
            if (closed) return;
            closed = true;
            conn.close();
          },
        };
      },
    };
    const resolver = new Resolver({
      servers: [server.nameServer],
      timeoutMs: 5000,
      attempts: 1,
      host,
    });
    const accepted = new Map<string, number>();
    for (let i = 0; i < QUERIES; i++) {
      const result = await resolver.query(NAME, "A");
      for (const record of result.records) {
        const address = record.data.type === "A" ? record.data.address : "?";
        accepted.set(address, (accepted.get(address) ?? 0) + 1);
      }
    }
    const total = [...sent.values()].reduce((a, b) => a + b, 0);
    const genuine = accepted.get(GENUINE) ?? 0;
    const forgedAccepted = [...accepted].filter(([a]) => a !== GENUINE)
      .reduce((sum, [, n]) => sum + n, 0);
    const delivered = received - genuine;
    console.log(
      `spoofing: forged replies accepted ${forgedAccepted} of ${total} sent ` +
        `(${delivered} delivered to the query's socket); genuine answers ${genuine} of ${QUERIES}`,
    );
    for (const [forgery, address] of Object.entries(CLASSES)) {
      console.log(
        `  ${forgery}: ${sent.get(forgery as ForgeryClass) ?? 0} sent, ` +
          `${accepted.get(address) ?? 0} accepted`,
      );
    }
    assert.equal(forgedAccepted, 0);
    assert.equal(genuine, QUERIES);
    assert.equal(total, QUERIES * PER_CLASS * Object.keys(CLASSES).length);
    // Loopback loses nothing in practice; the margin keeps the figure honest if it does.
    assert.ok(delivered >= 10_000, `only ${delivered} forged replies reached the socket`);
  } finally {
    await server.close();
  }
});

Deno.test("acceptReply() rejects all 65,535 wrong IDs from the right address, port and question", () => {
  const server = { hostname: "127.0.0.1", port: 53 };
  const expected: ExpectedReply = { server, id: 0xbeef, question: QUESTION };
  const bytes = forged(0, "wrong ID from the server's own address and port");
  let accepted = 0;
  for (let id = 0; id <= 0xffff; id++) {
    if (id === expected.id) continue;
    bytes[0] = id >> 8;
    bytes[1] = id & 0xff;
    if ("message" in acceptReply(bytes, server, expected)) accepted++;
  }
  bytes[0] = 0xbe;
  bytes[1] = 0xef;
  console.log(`spoofing: wrong IDs accepted ${accepted} of 65535`);
  assert.equal(accepted, 0);
  // The one right guess is indistinguishable: the ID and port are all RFC 5452 has.
  assert.ok("message" in acceptReply(bytes, server, expected));
});
