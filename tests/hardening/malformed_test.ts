// Malformed and abusive replies: each ends in a typed DnsError before the caller's deadline,
// with what is read bounded (datagrams per attempt, octets per TCP connection). The figures:
// each case's outcome, time and the most read.
import assert from "node:assert/strict";
import { DnsError, type DnsErrorKind } from "../../lib/errors.ts";
import { denoHost, type Host } from "../../lib/host.ts";
import { MAX_DATAGRAMS, MAX_TCP_MESSAGES } from "../../lib/resolver/exchange.ts";
import { Resolver } from "../../lib/resolver/resolver.ts";
import {
  decodeMessage,
  encodeQuery,
  encodeResponse,
  type Message,
} from "../../lib/wire/message.ts";
import { FakeDnsServer, type Handler, type Replies, reply, rr } from "../fakes/dns_server.ts";

const TIMEOUT_MS = 300;
const ATTEMPTS = 2;
/** The caller's deadline: a query that overran it would reject with a TimeoutError instead. */
const DEADLINE_MS = 5000;
/** The most a TCP message can be: a 65535-octet message after its two-octet length. */
const TCP_MESSAGE_CAP = 65535 + 2;

/** A reply to "x.test" A that decodes, as bytes to corrupt. */
function good(id: number, extra: Partial<Parameters<typeof encodeResponse>[0]> = {}) {
  return encodeResponse({
    id,
    questions: [{ name: "x.test", type: "A" }],
    answers: [rr.a("x.test", "192.0.2.1")],
    ...extra,
  });
}

/** The header and question of a reply to `id`, with the counts given, then `rest`. */
function crafted(id: number, counts: [number, number, number], rest: number[]): Uint8Array {
  const head = good(id, { answers: [] }); // 12 + 12 octets
  head[6] = counts[0] >> 8;
  head[7] = counts[0] & 0xff;
  head[8] = counts[1] >> 8;
  head[9] = counts[1] & 0xff;
  head[10] = counts[2] >> 8;
  head[11] = counts[2] & 0xff;
  return new Uint8Array([...head, ...rest]);
}

const A_TAIL = [0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 1];
const QUESTION_END = 24;

/** An A record named by a compression pointer to itself. */
const pointerToItself = (id: number) => crafted(id, [1, 0, 0], [0xc0, QUESTION_END, ...A_TAIL]);
/** Two records whose names point at each other: the first one forwards. */
const pointerLoop = (id: number) =>
  crafted(id, [2, 0, 0], [
    0xc0,
    QUESTION_END + 16,
    ...A_TAIL,
    0xc0,
    QUESTION_END,
    ...A_TAIL,
  ]);
const pointerPastEnd = (id: number) => crafted(id, [1, 0, 0], [0xff, 0xff, ...A_TAIL]);
const countsTooLarge = (id: number) => crafted(id, [65535, 65535, 65535], [0xc0, 12, ...A_TAIL]);
/** An AAAA record whose data stops after 8 of its 16 octets, the message's end. */
const cutAaaa = (id: number) =>
  crafted(id, [1, 0, 0], [0xc0, 12, 0, 28, 0, 1, 0, 0, 1, 44, 0, 16, 32, 1, 13, 184, 0, 0, 0, 0]);
/** An A record of 2 octets followed by another record: dns-packet would read into it. */
const shortA = (id: number) =>
  crafted(id, [2, 0, 0], [0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 2, 192, 0, 0xc0, 12, ...A_TAIL]);

/**
 * A chain of pointers, each to the one before, inside a NULL record, then records named by
 * its last link: without a bound on pointers, decoding costs chain × records steps.
 */
function pointerChain(id: number, links = 12_000, records = 2_400): Uint8Array {
  const rest: number[] = [0, 0, 10, 0, 1, 0, 0, 0, 0];
  const length = 1 + 2 * links;
  rest.push(length >> 8, length & 0xff);
  const start = QUESTION_END + rest.length;
  rest.push(0);
  for (let i = 0; i < links; i++) {
    const target = i === 0 ? start : start + 1 + 2 * (i - 1);
    rest.push(0xc0 | (target >> 8), target & 0xff);
  }
  const last = start + 1 + 2 * (links - 1);
  for (let i = 0; i < records; i++) rest.push(0xc0 | (last >> 8), last & 0xff, ...A_TAIL);
  return crafted(id, [1 + records, 0, 0], rest);
}

/** A valid reply of exactly 65535 octets: 2976 A records and a NULL record to fill up. */
function fullReply(query: Message): Uint8Array {
  const answers = Array.from(
    { length: 2976 },
    (_, i) => rr.a("x.test", `10.${i >> 16}.${(i >> 8) & 0xff}.${i & 0xff}`),
  );
  const bytes = encodeResponse(reply(query, {
    answers: [...answers, { name: "x.test", data: { type: "OTHER", raw: new Uint8Array(21) } }],
  }));
  assert.equal(bytes.length, 65535);
  return bytes;
}

/** Junk of `length` octets that starts with `id` and QR set, so only decoding rejects it. */
function junk(id: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length).fill(0xc0);
  bytes.set([id >> 8, id & 0xff, 0x81, 0x80, 0, 1, 0xff, 0xff], 0);
  return bytes;
}

/** Over UDP only a truncated reply, so that the client asks again over TCP. */
function overTcp(tcp: (query: Message) => Replies): Handler {
  return (query, { transport }) =>
    transport === "udp" ? reply(query, { flags: { tc: true } }) : tcp(query);
}

/** How much one query made the client read. */
interface Reads {
  /** The most datagrams received on one UDP socket. */
  datagrams: number;
  /** The most octets read from one TCP connection. */
  tcpOctets: number;
}

/** The real host, counting what each socket reads. */
function countingHost(reads: Reads): Host {
  const real = denoHost();
  return {
    ...real,
    openUdp(family) {
      const socket = real.openUdp(family);
      let datagrams = 0;
      return {
        ...socket,
        async receive() {
          const received = await socket.receive();
          reads.datagrams = Math.max(reads.datagrams, ++datagrams);
          return received;
        },
      };
    },
    async connectTcp(to, signal) {
      const conn = await real.connectTcp(to, signal);
      let octets = 0;
      return {
        ...conn,
        async read(buffer) {
          const n = await conn.read(buffer);
          octets += n ?? 0;
          reads.tcpOctets = Math.max(reads.tcpOctets, octets);
          return n;
        },
      };
    },
  };
}

interface Case {
  name: string;
  /** The server's behaviour; `server` is the server itself, for floods. */
  handler: (server: () => FakeDnsServer) => Handler;
  /** The error kind expected, or "ok" with a check of the answer. */
  expect: DnsErrorKind | "ok";
  check?: (records: number) => void;
  /** A pattern for the error message. */
  message?: RegExp;
  /** Octets one TCP connection may make us read. */
  tcpBound?: number;
}

/** Sends up to `count` datagrams to the query's port while the client waits; bounded. */
function flood(server: () => FakeDnsServer, make: (id: number, i: number) => Uint8Array): Handler {
  return async (query, { from }): Promise<Replies> => {
    for (let i = 0; i < 2000; i++) await server().spoof(make(query.id, i), from, "server");
    return "silence";
  };
}

const CASES: Case[] = [
  {
    name: "a compression pointer to itself",
    handler: () => (q) => pointerToItself(q.id),
    expect: "MALFORMED",
    message: /does not point back \(a loop\)/,
  },
  {
    name: "two names pointing at each other",
    handler: () => (q) => pointerLoop(q.id),
    expect: "MALFORMED",
    message: /does not point back/,
  },
  {
    name: "a compression pointer past the end",
    handler: () => (q) => pointerPastEnd(q.id),
    expect: "MALFORMED",
    message: /past the end/,
  },
  {
    name: "section counts of 65535 in a 40-octet message",
    handler: () => (q) => countsTooLarge(q.id),
    expect: "MALFORMED",
    message: /answer record 2: name runs past the end/,
  },
  {
    name: "an AAAA record cut at the message's end",
    handler: () => (q) => cutAaaa(q.id),
    expect: "MALFORMED",
    message: /data of 16 octets runs past the end/,
  },
  {
    name: "an A record of 2 octets",
    handler: () => (q) => shortA(q.id),
    expect: "MALFORMED",
    message: /A data of 2 octets, not 4/,
  },
  {
    name: "2,400 names behind a chain of 12,000 compression pointers",
    handler: () => (q) => pointerChain(q.id),
    expect: "MALFORMED",
    message: /more than 127 compression pointers/,
  },
  {
    name: "a 64 KiB TCP reply of 2,976 A records",
    handler: () => overTcp((q) => fullReply(q)),
    expect: "ok",
    check: (records) => assert.equal(records, 2976),
    tcpBound: TCP_MESSAGE_CAP,
  },
  {
    name: "a 64 KiB TCP reply of junk with the right ID",
    handler: () => overTcp((q) => junk(q.id, 65535)),
    expect: "MALFORMED",
    tcpBound: TCP_MESSAGE_CAP,
  },
  {
    name: "a TCP server that trickles one byte a second",
    handler: () => overTcp((q) => ({ trickle: reply(q), everyMs: 1000 })),
    expect: "TIMEOUT",
  },
  {
    name: "a TCP server that never answers and never closes",
    handler: () => overTcp(() => "silence"),
    expect: "TIMEOUT",
  },
  {
    name: "a TCP reply cut half-way, then closed",
    handler: () =>
      overTcp((q) => {
        const bytes = encodeResponse(reply(q, { answers: [rr.a("x.test", "192.0.2.1")] }));
        const half = bytes.subarray(0, bytes.length >> 1);
        return [{ raw: new Uint8Array([bytes.length >> 8, bytes.length & 0xff, ...half]) }, {
          close: true,
        }];
      }),
    expect: "NETWORK",
    message: /closed without a matching reply/,
  },
  {
    name: "a TCP reply cut half-way, connection left open",
    handler: () =>
      overTcp((q) => {
        const bytes = encodeResponse(reply(q));
        return { raw: new Uint8Array([0, bytes.length, ...bytes.subarray(0, 10)]) };
      }),
    expect: "TIMEOUT",
  },
  {
    name: "an endless TCP stream of 64 KiB replies to another ID",
    handler: () => overTcp((q) => Array.from({ length: 20 }, () => junk(q.id ^ 1, 65535))),
    expect: "NETWORK",
    message: new RegExp(`sent ${MAX_TCP_MESSAGES} messages without a matching reply`),
    tcpBound: MAX_TCP_MESSAGES * TCP_MESSAGE_CAP,
  },
  {
    name: "a UDP flood of junk to the query's port",
    handler: (server) =>
      flood(server, (_id, i) => crypto.getRandomValues(new Uint8Array(12 + (i % 500)))),
    expect: "TIMEOUT",
    message: new RegExp(`No reply from .* after ${ATTEMPTS} attempts`),
  },
  {
    name: "a UDP flood of undecodable replies with the right ID",
    handler: (server) => flood(server, (id, i) => junk(id, 12 + (i % 500))),
    expect: "MALFORMED",
  },
];

for (const c of CASES) {
  Deno.test(`Resolver.query() ends ${c.name} with ${c.expect}, within the deadline`, async () => {
    // The handler reads `server` only once a query arrives, after it is set.
    const server: FakeDnsServer = FakeDnsServer.start(c.handler(() => server));
    try {
      const reads: Reads = { datagrams: 0, tcpOctets: 0 };
      const resolver = new Resolver({
        servers: [server.nameServer],
        timeoutMs: TIMEOUT_MS,
        attempts: ATTEMPTS,
        host: countingHost(reads),
      });
      const started = performance.now();
      const outcome = await resolver.query("x.test", "A", {
        signal: AbortSignal.timeout(DEADLINE_MS),
      }).then((result) => result, (error: unknown) => error);
      const ms = Math.round(performance.now() - started);
      const label = outcome instanceof DnsError
        ? outcome.kind
        : outcome instanceof Error
        ? outcome.name
        : "ok";
      console.log(
        `abusive reply: ${c.name}: ${label} in ${ms} ms (deadline ${DEADLINE_MS} ms); ` +
          `read at most ${reads.datagrams} datagrams per socket, ${reads.tcpOctets} octets per connection`,
      );
      if (c.expect === "ok") {
        assert.ok(!(outcome instanceof Error), String(outcome));
        c.check?.((outcome as { records: unknown[] }).records.length);
      } else {
        // A DnsError, not the deadline's TimeoutError: the query ended on its own, in time.
        assert.ok(outcome instanceof DnsError, `${label}: ${outcome}`);
        assert.equal(outcome.kind, c.expect, outcome.message);
        if (c.message) assert.match(outcome.message, c.message);
      }
      assert.ok(reads.datagrams <= MAX_DATAGRAMS);
      assert.ok(reads.tcpOctets <= (c.tcpBound ?? TCP_MESSAGE_CAP));
    } finally {
      await server.close();
    }
  });
}

Deno.test("Resolver.query() stops a trickling TCP server at once when the caller aborts", async () => {
  await using server = FakeDnsServer.start(
    overTcp((q) => ({ trickle: reply(q), everyMs: 1000 })),
  );
  const resolver = new Resolver({ servers: [server.nameServer], timeoutMs: 60_000 });
  const controller = new AbortController();
  const pending = resolver.query("x.test", "A", { signal: controller.signal });
  // Abort once the TCP connection is in: its query is the second the server sees.
  for (let i = 0; i < 200 && server.queries.length < 2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(server.queries[1]?.transport, "tcp");
  controller.abort(new Error("stop"));
  await assert.rejects(pending, { message: "stop" });
});

Deno.test("decodeMessage() refuses what dns-packet would misread, naming the place", () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ["a cut AAAA record", cutAaaa(1), /answer record 1: data of 16 octets runs past the end$/],
    ["an A record of 2 octets", shortA(1), /answer record 1: A data of 2 octets, not 4$/],
    ["a pointer to itself", pointerToItself(1), /answer record 1: compression pointer to 24/],
    ["a pointer past the end", pointerPastEnd(1), /compression pointer to 16383, past the end$/],
    ["a pointer chain", pointerChain(1, 200, 1), /more than 127 compression pointers$/],
    [
      "a TXT string past its data",
      good(1, { answers: [rr.txt("x.test", "v=STSv1; id=1")] }).map((b, i, all) =>
        i === all.length - 14 ? 200 : b
      ),
      /TXT strings run past the data$/,
    ],
    [
      "an MX target running into the next record",
      crafted(1, [2, 0, 0], [0xc0, 12, 0, 15, 0, 1, 0, 0, 1, 44, 0, 3, 0, 10, 1, 0, ...A_TAIL]),
      /MX target: /,
    ],
    [
      "a CNAME with octets after its name",
      crafted(1, [1, 0, 0], [0xc0, 12, 0, 5, 0, 1, 0, 0, 1, 44, 0, 4, 0xc0, 12, 0, 0]),
      /CNAME data of 4 octets holds more than a name$/,
    ],
    ["a label type 0x40", crafted(1, [1, 0, 0], [0x40, ...A_TAIL]), /label type 0x40/],
    ["a header of 11 octets", new Uint8Array(11), /shorter than a header$/],
  ];
  for (const [name, bytes, message] of cases) {
    assert.throws(() => decodeMessage(bytes), (error: unknown) => {
      assert.ok(error instanceof DnsError, name);
      assert.equal(error.kind, "MALFORMED", name);
      assert.match(error.message, message, name);
      return true;
    });
  }
});

Deno.test("decodeMessage() still takes compressed names, a 255-octet name and trailing octets", () => {
  const long = Array.from({ length: 4 }, () => "a".repeat(62)).join(".") + ".b";
  const bytes = encodeResponse({
    id: 1,
    questions: [{ name: long, type: "CNAME" }],
    answers: [{ name: long, data: { type: "CNAME", target: "x.test" } }],
  });
  assert.equal(decodeMessage(bytes).answers[0].name, long);
  // "x.test" A with the answer's owner and the MX target compressed to the question.
  const compressed = crafted(7, [1, 0, 0], [
    0xc0,
    12,
    0,
    15,
    0,
    1,
    0,
    0,
    1,
    44,
    0,
    4,
    0,
    5,
    0xc0,
    12,
  ]);
  const message = decodeMessage(new Uint8Array([...compressed, 0, 0, 0]));
  assert.deepEqual(message.answers[0].data, { type: "MX", preference: 5, exchange: "x.test" });
  assert.equal(decodeMessage(encodeQuery({ name: "x.test", type: "A" }, { id: 3 })).id, 3);
});
