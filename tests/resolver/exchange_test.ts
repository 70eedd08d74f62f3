import assert from "node:assert/strict";
import { denoHost, type Network, type SocketAddress } from "../../lib/host.ts";
import {
  acceptReply,
  exchangeTcp,
  exchangeUdp,
  type ExpectedReply,
  MAX_DATAGRAMS,
  serverLabel,
} from "../../lib/resolver/exchange.ts";
import { encodeQuery, encodeResponse, type ResponseSpec } from "../../lib/wire/message.ts";
import { FakeDnsServer, reply, rr } from "../fakes/dns_server.ts";

const SERVER: SocketAddress = { hostname: "127.0.0.1", port: 5353 };
const EXPECTED: ExpectedReply = {
  server: SERVER,
  id: 0x1234,
  question: { name: "x.test", type: "MX" },
};

function response(spec: Partial<ResponseSpec> = {}): Uint8Array {
  return encodeResponse({
    id: EXPECTED.id,
    questions: [EXPECTED.question],
    answers: [rr.mx("x.test", 10, "mx.x.test")],
    ...spec,
  });
}

function patched(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = bytes.slice();
  copy[offset] = value;
  return copy;
}

interface Case {
  name: string;
  bytes: Uint8Array;
  from?: SocketAddress;
  /** Undefined: accepted; else a pattern the reason must match. */
  reject?: RegExp;
  malformed?: boolean;
}

// "x.test" is 8 octets on the wire, so QTYPE is at 20-21 and QCLASS at 22-23.
const CASES: Case[] = [
  { name: "accepts the exact reply", bytes: response() },
  {
    name: "accepts the question echoed in another case",
    bytes: response({ questions: [{ name: "X.Test", type: "MX" }] }),
  },
  {
    name: "accepts an IPv4-mapped source address for an IPv4 server",
    bytes: response(),
    from: { hostname: "::ffff:127.0.0.1", port: 5353 },
  },
  {
    name: "rejects another source port",
    bytes: response(),
    from: { hostname: "127.0.0.1", port: 5354 },
    reject: /^from 127\.0\.0\.1:5354, not 127\.0\.0\.1:5353$/,
  },
  {
    name: "rejects another source address",
    bytes: response(),
    from: { hostname: "127.0.0.2", port: 5353 },
    reject: /^from 127\.0\.0\.2:5353/,
  },
  { name: "rejects fewer bytes than a header", bytes: new Uint8Array(11), reject: /no DNS header/ },
  { name: "rejects a wrong ID", bytes: response({ id: 0x1235 }), reject: /^wrong ID 4661$/ },
  { name: "rejects QR clear", bytes: response({ qr: false }), reject: /^QR bit clear$/ },
  {
    name: "keeps an undecodable reply with the right ID as malformed",
    bytes: response().subarray(0, 20),
    reject: /cannot be decoded/,
    malformed: true,
  },
  {
    name: "rejects an undecodable datagram with a wrong ID without calling it malformed",
    bytes: response({ id: 1 }).subarray(0, 20),
    reject: /^wrong ID 1$/,
  },
  {
    name: "rejects opcode other than QUERY",
    bytes: patched(response(), 2, 0x80 | (2 << 3) | 0x01),
    reject: /^opcode STATUS$/,
  },
  { name: "rejects no question", bytes: response({ questions: [] }), reject: /^0 questions$/ },
  {
    name: "rejects two questions",
    bytes: response({ questions: [EXPECTED.question, EXPECTED.question] }),
    reject: /^2 questions$/,
  },
  {
    name: "rejects another name",
    bytes: response({ questions: [{ name: "y.test", type: "MX" }] }),
    reject: /^question "y\.test" MX$/,
  },
  {
    name: "rejects another type",
    bytes: response({ questions: [{ name: "x.test", type: "A" }] }),
    reject: /^question "x\.test" A$/,
  },
  {
    name: "rejects class CH",
    bytes: patched(response(), 23, 3),
    reject: /^question class CH$/,
  },
];

Deno.test("acceptReply() takes only our reply", async (t) => {
  for (const c of CASES) {
    await t.step(c.name, () => {
      const verdict = acceptReply(c.bytes, c.from ?? SERVER, EXPECTED);
      if (c.reject === undefined) {
        assert.ok("message" in verdict, JSON.stringify(verdict));
        assert.equal(verdict.message.answers.length, 1);
        return;
      }
      assert.ok("reject" in verdict);
      assert.match(verdict.reject, c.reject);
      assert.equal(verdict.malformed?.kind, c.malformed ? "MALFORMED" : undefined);
    });
  }
});

Deno.test("acceptReply() names server, question and cause in a malformed reply", () => {
  const verdict = acceptReply(response().subarray(0, 20), SERVER, EXPECTED);
  assert.ok("reject" in verdict && verdict.malformed);
  assert.match(
    verdict.malformed.message,
    /^Malformed reply from 127\.0\.0\.1:5353 for "x\.test" MX: /,
  );
  assert.equal(verdict.malformed.server, "127.0.0.1:5353");
  assert.equal(verdict.malformed.qname, "x.test");
});

Deno.test("serverLabel() shows port 53 as the bare address and brackets IPv6", () => {
  assert.equal(serverLabel({ hostname: "192.0.2.1", port: 53 }), "192.0.2.1");
  assert.equal(serverLabel({ hostname: "::1", port: 53 }), "::1");
  assert.equal(serverLabel({ hostname: "192.0.2.1", port: 5353 }), "192.0.2.1:5353");
  assert.equal(serverLabel({ hostname: "::1", port: 5353 }), "[::1]:5353");
});

function query(id: number): Uint8Array {
  return encodeQuery({ name: "x.test", type: "A" }, { id });
}

Deno.test("exchangeUdp() gives up after MAX_DATAGRAMS unacceptable datagrams, before the deadline", async () => {
  await using server = FakeDnsServer.start((q) =>
    Array.from({ length: MAX_DATAGRAMS + 1 }, () => reply(q, { id: q.id ^ 1 }))
  );
  const expected = { server: server.address, id: 7, question: { name: "x.test", type: "A" } };
  const started = Date.now();
  await assert.rejects(exchangeUdp(query(7), expected, { host: denoHost(), timeoutMs: 3000 }), {
    kind: "TIMEOUT",
    message: new RegExp(`among ${MAX_DATAGRAMS} datagrams$`),
  });
  assert.ok(Date.now() - started < 2000);
});

Deno.test("exchangeTcp() skips a message with a wrong ID on the connection and takes the next", async () => {
  await using server = FakeDnsServer.start((q) => [
    reply(q, { id: q.id ^ 1, answers: [rr.a("x.test", "192.0.2.66")] }),
    reply(q, { answers: [rr.a("x.test", "192.0.2.1")] }),
  ]);
  const expected = { server: server.address, id: 9, question: { name: "x.test", type: "A" } };
  const message = await exchangeTcp(query(9), expected, { host: denoHost(), timeoutMs: 500 });
  assert.deepEqual(message.answers.map((r) => r.data), [{ type: "A", address: "192.0.2.1" }]);
  assert.equal(server.queries[0].transport, "tcp");
});

Deno.test("exchangeTcp() times out when the only TCP reply has a wrong ID", async () => {
  await using server = FakeDnsServer.start((q) => reply(q, { id: q.id ^ 1 }));
  const expected = { server: server.address, id: 9, question: { name: "x.test", type: "A" } };
  await assert.rejects(exchangeTcp(query(9), expected, { host: denoHost(), timeoutMs: 300 }), {
    kind: "TIMEOUT",
  });
});

Deno.test("exchangeUdp() reports NETWORK with the server when sending fails, and closes the socket", async () => {
  let closed = 0;
  const network: Network = {
    openUdp: () => ({
      send: () => Promise.reject(new Error("Network is unreachable")),
      receive: () => new Promise(() => {}),
      close: () => void closed++,
    }),
    connectTcp: () => Promise.reject(new Error("unused")),
  };
  const expected = { server: SERVER, id: 1, question: { name: "x.test", type: "A" } };
  await assert.rejects(exchangeUdp(query(1), expected, { host: network, timeoutMs: 300 }), {
    kind: "NETWORK",
    server: "127.0.0.1:5353",
    message: 'Cannot send to 127.0.0.1:5353 for "x.test" A: Network is unreachable',
  });
  assert.ok(closed >= 1);
});
