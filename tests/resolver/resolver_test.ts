import assert from "node:assert/strict";
import { denoHost, type Host } from "../../lib/host.ts";
import { type ExchangeTrace, Resolver, type ResolverOptions } from "../../lib/resolver/resolver.ts";
import type { Message, ResourceRecord, ResponseSpec } from "../../lib/wire/message.ts";
import { FakeDnsServer, type Handler, ipv6Available, reply, rr } from "../fakes/dns_server.ts";

/** Small timeouts keep every test well under a second or two. */
const TIMEOUT_MS = 300;

function resolver(servers: FakeDnsServer[], options: ResolverOptions = {}): Resolver {
  return new Resolver({
    servers: servers.map((s) => s.nameServer),
    timeoutMs: TIMEOUT_MS,
    attempts: 1,
    ...options,
  });
}

function addresses(records: ResourceRecord[]): string[] {
  return records.map((r) => r.data.type === "A" || r.data.type === "AAAA" ? r.data.address : "?");
}

/** Answers an A query with 192.0.2.1 for the name asked. */
function answerA(q: Message): ResponseSpec {
  return reply(q, { answers: [rr.a(q.questions[0].name, "192.0.2.1")] });
}

Deno.test("Resolver.query() returns the records of the asked type from the reply", async () => {
  await using server = FakeDnsServer.start((q) =>
    reply(q, {
      answers: [rr.mx("x.test", 10, "mx1.x.test"), rr.mx("X.TEST", 20, "mx2.x.test")],
      additionals: [rr.mx("x.test", 30, "mx3.x.test"), rr.mx("other.test", 5, "mx.other.test")],
    })
  );
  const result = await resolver([server]).query("x.test", "mx");
  assert.equal(result.name, "x.test");
  assert.equal(result.canonicalName, "x.test");
  assert.equal(result.type, "MX");
  // Courier's rule: every MX of the name in any section, and nothing of other owners.
  assert.deepEqual(result.records.map((r) => r.data.type === "MX" && r.data.exchange), [
    "mx1.x.test",
    "mx2.x.test",
    "mx3.x.test",
  ]);
  assert.deepEqual(result.cnames, []);
  assert.equal(result.server, `127.0.0.1:${server.port}`);
  assert.equal(result.transport, "udp");
  assert.equal(result.ad, false);
  assert.equal(server.queries.length, 1);
  assert.equal(server.queries[0].message.edns, undefined);
  assert.equal(server.queries[0].message.rd, true);
});

Deno.test("Resolver.query() sends the name as given, case kept", async () => {
  await using server = FakeDnsServer.start(answerA);
  const result = await resolver([server]).query("MiXeD.Case.Test", "A");
  assert.equal(server.queries[0].message.questions[0].name, "MiXeD.Case.Test");
  assert.deepEqual(addresses(result.records), ["192.0.2.1"]);
});

Deno.test("Resolver.query() retries a truncated reply over TCP with the same query", async () => {
  await using server = FakeDnsServer.start((q, { transport }) =>
    transport === "udp"
      ? reply(q, { flags: { tc: true } })
      : reply(q, { answers: [rr.a("x.test", "192.0.2.1"), rr.a("x.test", "192.0.2.2")] })
  );
  const traces: ExchangeTrace[] = [];
  const result = await resolver([server], { onExchange: (t) => traces.push(t) }).query(
    "x.test",
    "A",
  );
  assert.equal(result.transport, "tcp");
  assert.deepEqual(addresses(result.records), ["192.0.2.1", "192.0.2.2"]);
  assert.deepEqual(server.queries.map((q) => q.transport), ["udp", "tcp"]);
  assert.deepEqual(server.queries[1].bytes, server.queries[0].bytes);
  assert.deepEqual(traces.map(({ ms: _, startedAt: _at, ...t }) => t), [
    {
      server: `127.0.0.1:${server.port}`,
      name: "x.test",
      type: "A",
      edns: false,
      transport: "udp",
      rcode: "NOERROR",
      truncated: true,
    },
    {
      server: `127.0.0.1:${server.port}`,
      name: "x.test",
      type: "A",
      edns: false,
      transport: "tcp",
      rcode: "NOERROR",
    },
  ]);
});

Deno.test("Resolver.query() times out when a truncated reply's TCP retry stays silent", async () => {
  await using server = FakeDnsServer.start((q, { transport }) =>
    transport === "udp" ? reply(q, { flags: { tc: true } }) : "silence"
  );
  await assert.rejects(resolver([server]).query("x.test", "A"), { kind: "TIMEOUT" });
});

Deno.test("Resolver.query() drops a garbage datagram and takes the real reply", async () => {
  await using server = FakeDnsServer.start((q) => [
    new Uint8Array([0xde, 0xad, 0xbe, 0xef]),
    answerA(q),
  ]);
  const result = await resolver([server]).query("x.test", "A");
  assert.deepEqual(addresses(result.records), ["192.0.2.1"]);
});

Deno.test("Resolver.query() drops a reply with a wrong ID and takes the right one", async () => {
  await using server = FakeDnsServer.start((q) => [
    reply(q, { id: q.id ^ 0x8000, answers: [rr.a("x.test", "192.0.2.66")] }),
    reply(q, { answers: [rr.a("x.test", "192.0.2.1")] }),
  ]);
  const result = await resolver([server]).query("x.test", "A");
  assert.deepEqual(addresses(result.records), ["192.0.2.1"]);
});

Deno.test("Resolver.query() drops a reply from another port and takes the right one", async () => {
  await using server = FakeDnsServer.start((q) => [
    { fromOtherPort: reply(q, { answers: [rr.a("x.test", "192.0.2.66")] }) },
    { delayMs: 20 },
    reply(q, { answers: [rr.a("x.test", "192.0.2.1")] }),
  ]);
  const result = await resolver([server]).query("x.test", "A");
  assert.deepEqual(addresses(result.records), ["192.0.2.1"]);
});

Deno.test("Resolver.query() drops a reply for another question and takes the right one", async () => {
  await using server = FakeDnsServer.start((q) => [
    reply(q, {
      questions: [{ name: "evil.test", type: "A" }],
      answers: [rr.a("x.test", "192.0.2.66")],
    }),
    reply(q, {
      questions: [{ name: "x.test", type: "AAAA" }],
      answers: [rr.a("x.test", "192.0.2.67")],
    }),
    reply(q, { answers: [rr.a("x.test", "192.0.2.1")] }),
  ]);
  const result = await resolver([server]).query("x.test", "A");
  assert.deepEqual(addresses(result.records), ["192.0.2.1"]);
});

Deno.test("Resolver.query() reports TIMEOUT after every attempt, within the deadline, with fresh IDs", async () => {
  await using server = FakeDnsServer.start(() => "silence");
  const started = Date.now();
  await assert.rejects(resolver([server], { attempts: 2, timeoutMs: 150 }).query("x.test", "MX"), {
    name: "DnsError",
    kind: "TIMEOUT",
    server: `127.0.0.1:${server.port}`,
    qname: "x.test",
    qtype: "MX",
    message: `No reply from 127.0.0.1:${server.port} for "x.test" MX after 2 attempts of 150 ms`,
  });
  const elapsed = Date.now() - started;
  // Two attempts of 150 ms, and no unbounded wait (a generous bound, not a speed goal).
  assert.ok(elapsed >= 290 && elapsed < 3000, `took ${elapsed} ms`);
  assert.equal(server.queries.length, 2);
  assert.notEqual(server.queries[0].message.id, server.queries[1].message.id);
  assert.notEqual(server.queries[0].from.port, server.queries[1].from.port);
});

Deno.test("Resolver.query() reports MALFORMED when only an undecodable reply with the right ID came", async () => {
  await using server = FakeDnsServer.start((q) => {
    const bytes = new Uint8Array([q.id >> 8, q.id & 0xff, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 9]);
    return [bytes];
  });
  await assert.rejects(resolver([server]).query("x.test", "A"), {
    kind: "MALFORMED",
    message: new RegExp(`^Malformed reply from 127\\.0\\.0\\.1:${server.port} for "x\\.test" A: `),
  });
});

Deno.test("Resolver.query() retries without EDNS after a FORMERR to a query with EDNS", async () => {
  await using server = FakeDnsServer.start((q) =>
    q.edns ? reply(q, { rcode: "FORMERR" }) : answerA(q)
  );
  const result = await resolver([server], { udpSize: 1232 }).query("x.test", "A");
  assert.deepEqual(addresses(result.records), ["192.0.2.1"]);
  // Courier's OPT record: the payload asked for, DO always set (docs/courier.md#the-query).
  assert.deepEqual(server.queries.map((q) => q.message.edns), [
    { udpSize: 1232, dnssecOk: true },
    undefined,
  ]);
});

Deno.test("Resolver.query() reports FORMERR when the server rejects the query without EDNS too", async () => {
  await using server = FakeDnsServer.start((q) => reply(q, { rcode: "FORMERR" }));
  await assert.rejects(resolver([server], { udpSize: 1232 }).query("x.test", "A"), {
    kind: "FORMERR",
  });
  assert.equal(server.queries.length, 2);
});

Deno.test("Resolver.query() moves on after SERVFAIL from the first server to the answer of the second", async () => {
  await using first = FakeDnsServer.start((q) => reply(q, { rcode: "SERVFAIL" }));
  await using second = FakeDnsServer.start(answerA);
  const result = await resolver([first, second]).query("x.test", "A");
  assert.equal(result.server, `127.0.0.1:${second.port}`);
  assert.deepEqual(addresses(result.records), ["192.0.2.1"]);
});

Deno.test("Resolver.query() reports REFUSED when every server refuses, in every round", async () => {
  await using first = FakeDnsServer.start((q) => reply(q, { rcode: "REFUSED" }));
  await using second = FakeDnsServer.start((q) => reply(q, { rcode: "REFUSED" }));
  await assert.rejects(resolver([first, second], { attempts: 2 }).query("x.test", "A"), {
    kind: "REFUSED",
    server: `127.0.0.1:${second.port}`,
    message: `Server 127.0.0.1:${second.port} answered REFUSED for "x.test" A`,
  });
  assert.equal(first.queries.length, 2);
  assert.equal(second.queries.length, 2);
});

Deno.test("Resolver.query() prefers an answer's error over another server's silence", async () => {
  await using first = FakeDnsServer.start((q) => reply(q, { rcode: "NOTIMP" }));
  await using second = FakeDnsServer.start(() => "silence");
  await assert.rejects(resolver([first, second]).query("x.test", "A"), { kind: "NOTIMP" });
});

Deno.test("Resolver.query() reports NXDOMAIN without asking the next server", async () => {
  await using first = FakeDnsServer.start((q) => reply(q, { rcode: "NXDOMAIN" }));
  await using second = FakeDnsServer.start(answerA);
  await assert.rejects(resolver([first, second]).query("nx.test", "A"), {
    kind: "NXDOMAIN",
    message: `No such domain "nx.test" (NXDOMAIN from 127.0.0.1:${first.port})`,
  });
  assert.equal(second.queries.length, 0);
});

Deno.test("Resolver.query() reports NODATA for NOERROR without a record of the type", async () => {
  await using server = FakeDnsServer.start((q) =>
    reply(q, { answers: [rr.aaaa("x.test", "2001:db8::1")] })
  );
  await assert.rejects(resolver([server]).query("x.test", "A"), {
    kind: "NODATA",
    message: `No A record for "x.test" at 127.0.0.1:${server.port}`,
  });
});

Deno.test("Resolver.query() follows a CNAME chain within one reply", async () => {
  await using server = FakeDnsServer.start((q) =>
    reply(q, {
      answers: [
        rr.cname("alias.test", "mid.test"),
        rr.cname("MID.test", "real.test"),
        rr.a("real.test", "192.0.2.1"),
      ],
    })
  );
  const result = await resolver([server]).query("alias.test", "A");
  assert.equal(result.canonicalName, "real.test");
  assert.deepEqual(result.cnames, ["mid.test", "real.test"]);
  assert.deepEqual(addresses(result.records), ["192.0.2.1"]);
  assert.equal(server.queries.length, 1);
});

Deno.test("Resolver.query() continues with a CNAME target found in the additional section", async () => {
  // The reply that crashed Courier 1.0.16 (docs/courier.md#cname-chains, defect).
  await using server = FakeDnsServer.start((q) =>
    reply(q, {
      answers: [rr.cname("alias.test", "real.test")],
      additionals: [rr.a("real.test", "192.0.2.1")],
    })
  );
  const result = await resolver([server]).query("alias.test", "A");
  assert.deepEqual(addresses(result.records), ["192.0.2.1"]);
  assert.equal(server.queries.length, 1);
});

Deno.test("Resolver.query() asks again for a CNAME target not in the reply", async () => {
  await using server = FakeDnsServer.start((q) =>
    q.questions[0].name === "alias.test"
      ? reply(q, { answers: [rr.cname("alias.test", "real.test")] })
      : answerA(q)
  );
  const result = await resolver([server]).query("alias.test", "A");
  assert.equal(result.canonicalName, "real.test");
  assert.deepEqual(addresses(result.records), ["192.0.2.1"]);
  assert.deepEqual(server.queries.map((q) => q.message.questions[0].name), [
    "alias.test",
    "real.test",
  ]);
});

Deno.test("Resolver.query() reports NXDOMAIN for a CNAME target that does not exist", async () => {
  await using server = FakeDnsServer.start((q) =>
    q.questions[0].name === "alias.test"
      ? reply(q, { answers: [rr.cname("alias.test", "gone.test")] })
      : reply(q, { rcode: "NXDOMAIN" })
  );
  await assert.rejects(resolver([server]).query("alias.test", "A"), {
    kind: "NXDOMAIN",
    qname: "alias.test",
    message:
      `No such domain "gone.test" (alias of "alias.test") (NXDOMAIN from 127.0.0.1:${server.port})`,
  });
});

/** c0 → c1 → … → c<length>, one CNAME per reply, then an A record. */
function chain(length: number): Handler {
  return (q) => {
    const name = q.questions[0].name;
    const n = Number(name.slice(1, name.indexOf(".")));
    return reply(q, {
      answers: [n < length ? rr.cname(name, `c${n + 1}.test`) : rr.a(name, "192.0.2.1")],
    });
  };
}

Deno.test("Resolver.query() follows a chain of 10 CNAMEs across queries", async () => {
  await using server = FakeDnsServer.start(chain(10));
  const result = await resolver([server]).query("c0.test", "A");
  assert.equal(result.canonicalName, "c10.test");
  assert.equal(result.cnames.length, 10);
  assert.equal(server.queries.length, 11);
});

Deno.test("Resolver.query() fails a chain of 11 CNAMEs with CNAME_LOOP", async () => {
  await using server = FakeDnsServer.start(chain(11));
  await assert.rejects(resolver([server]).query("c0.test", "A"), {
    kind: "CNAME_LOOP",
    message: 'CNAME chain of "c0.test" A is longer than 10',
  });
  assert.equal(server.queries.length, 11);
});

Deno.test("Resolver.query() fails a CNAME loop with CNAME_LOOP without using up the budget", async () => {
  await using server = FakeDnsServer.start((q) => {
    const name = q.questions[0].name;
    return reply(q, { answers: [rr.cname(name, name === "a.test" ? "b.test" : "A.Test")] });
  });
  await assert.rejects(resolver([server]).query("a.test", "A"), {
    kind: "CNAME_LOOP",
    message: 'CNAME chain of "a.test" A loops at "A.Test"',
  });
  assert.equal(server.queries.length, 2);
});

Deno.test("Resolver.query() fails a CNAME to itself with CNAME_LOOP", async () => {
  await using server = FakeDnsServer.start((q) =>
    reply(q, { answers: [rr.cname("self.test", "self.test")] })
  );
  await assert.rejects(resolver([server]).query("self.test", "A"), { kind: "CNAME_LOOP" });
});

Deno.test("Resolver.query() returns a CNAME record itself when CNAME is asked", async () => {
  await using server = FakeDnsServer.start((q) =>
    reply(q, { answers: [rr.cname("alias.test", "real.test")] })
  );
  const result = await resolver([server]).query("alias.test", "CNAME");
  assert.deepEqual(result.cnames, []);
  assert.deepEqual(result.records.map((r) => r.data), [{ type: "CNAME", target: "real.test" }]);
});

Deno.test("Resolver.query() passes the AD bit of the final reply through", async () => {
  await using server = FakeDnsServer.start((q) =>
    q.questions[0].name === "alias.test"
      ? reply(q, { answers: [rr.cname("alias.test", "signed.test")] })
      : reply(q, { flags: { ad: true }, answers: [rr.a("signed.test", "192.0.2.1")] })
  );
  assert.equal((await resolver([server]).query("alias.test", "A")).ad, true);
  assert.equal((await resolver([server]).query("signed.test", "A")).ad, true);
});

Deno.test("Resolver.query() rejects promptly with the signal's reason when aborted", async () => {
  await using server = FakeDnsServer.start(() => "silence");
  const controller = new AbortController();
  const started = Date.now();
  const pending = resolver([server], { timeoutMs: 5000, attempts: 2 }).query("x.test", "A", {
    signal: controller.signal,
  });
  const timer = setTimeout(() => controller.abort(), 50);
  try {
    await assert.rejects(pending, { name: "AbortError" });
  } finally {
    clearTimeout(timer);
  }
  assert.ok(Date.now() - started < 1000);
  assert.equal(server.queries.length, 1);
});

Deno.test("Resolver.query() rejects at once with an already aborted signal, sending nothing", async () => {
  await using server = FakeDnsServer.start(answerA);
  const signal = AbortSignal.abort(new Error("stop"));
  await assert.rejects(resolver([server]).query("x.test", "A", { signal }), { message: "stop" });
  assert.equal(server.queries.length, 0);
});

const IPV6 = ipv6Available();
if (!IPV6) console.warn("resolver_test.ts: ::1 is not available, the IPv6 server test is ignored");

Deno.test({
  name: "Resolver.query() asks an IPv6 server on ::1",
  ignore: !IPV6,
}, async () => {
  await using server = FakeDnsServer.start(answerA, { hostname: "::1" });
  const result = await resolver([server]).query("x.test", "A");
  assert.equal(result.server, `[::1]:${server.port}`);
  assert.deepEqual(addresses(result.records), ["192.0.2.1"]);
});

Deno.test("Resolver.query() runs concurrent queries on one resolver apart", async () => {
  await using server = FakeDnsServer.start((q) => {
    const name = q.questions[0].name;
    return [
      { delayMs: 30 - Number(name[1]) * 3 },
      reply(q, { answers: [rr.a(name, `192.0.2.${name[1]}`)] }),
    ];
  });
  const r = resolver([server]);
  const names = Array.from({ length: 8 }, (_, i) => `h${i}.test`);
  const results = await Promise.all(names.map((name) => r.query(name, "A")));
  assert.deepEqual(
    results.map((res) => addresses(res.records)[0]),
    names.map((_, i) => `192.0.2.${i}`),
  );
});

Deno.test("Resolver.query() starts each query at the next server with rotate", async () => {
  await using first = FakeDnsServer.start(answerA);
  await using second = FakeDnsServer.start(answerA);
  const r = resolver([first, second], { rotate: true });
  const servers = [];
  for (let i = 0; i < 3; i++) servers.push((await r.query("x.test", "A")).server);
  assert.deepEqual(servers, [first, second, first].map((s) => `127.0.0.1:${s.port}`));
});

Deno.test("Resolver.query() reports NETWORK when every send fails", async () => {
  const host: Host = {
    ...denoHost(),
    openUdp: () => ({
      send: () => Promise.reject(new Error("Network is unreachable")),
      receive: () => Promise.reject(new Error("closed")),
      close: () => {},
    }),
  };
  const r = new Resolver({ servers: [{ address: "192.0.2.53" }], timeoutMs: TIMEOUT_MS, host });
  await assert.rejects(r.query("x.test", "A"), {
    kind: "NETWORK",
    server: "192.0.2.53",
    message: 'Cannot send to 192.0.2.53 for "x.test" A: Network is unreachable',
  });
});

Deno.test("Resolver.query() reports each round trip to onExchange", async () => {
  await using first = FakeDnsServer.start(() => "silence");
  await using second = FakeDnsServer.start((q) => reply(q, { rcode: "SERVFAIL" }));
  const traces: ExchangeTrace[] = [];
  const r = resolver([first, second], { onExchange: (t) => traces.push(t), timeoutMs: 100 });
  await assert.rejects(r.query("x.test", "A"), { kind: "SERVFAIL" });
  assert.deepEqual(traces.map((t) => [t.server, t.transport, t.rcode, t.error]), [
    [`127.0.0.1:${first.port}`, "udp", undefined, "TIMEOUT"],
    [`127.0.0.1:${second.port}`, "udp", "SERVFAIL", undefined],
  ]);
  assert.ok(traces[0].ms >= 90);
});

Deno.test("new Resolver() rejects bad options", () => {
  assert.throws(() => new Resolver({ servers: [] }), RangeError);
  assert.throws(() => new Resolver({ servers: [{ address: "bogus" }] }), TypeError);
  assert.throws(() => new Resolver({ servers: [{ address: "::1", port: 0 }] }), RangeError);
  assert.throws(() => new Resolver({ timeoutMs: 0 }), RangeError);
  assert.throws(() => new Resolver({ attempts: 0 }), RangeError);
  assert.throws(() => new Resolver({ udpSize: 65536 }), RangeError);
});

Deno.test("Resolver.query() starts the next query at the server that answered last", async () => {
  await using silent = FakeDnsServer.start(() => "silence");
  await using good = FakeDnsServer.start((query) =>
    reply(query, { answers: [rr.a(query.questions[0].name, "192.0.2.1")] })
  );
  const resolver = new Resolver({
    servers: [silent.nameServer, good.nameServer],
    timeoutMs: 200,
    attempts: 1,
  });
  await resolver.query("one.test", "A");
  await resolver.query("two.test", "A");
  assert.equal(silent.queries.length, 1);
  assert.equal(good.queries.length, 2);
});

Deno.test("Resolver.query() reports each round trip to the query's own onExchange too", async () => {
  await using server = FakeDnsServer.start((query) =>
    reply(query, { answers: [rr.a(query.questions[0].name, "192.0.2.1")] })
  );
  const all: string[] = [];
  const resolver = new Resolver({
    servers: [server.nameServer],
    timeoutMs: 500,
    onExchange: (t) => all.push(t.name),
  });
  const mine: string[] = [];
  await resolver.query("one.test", "A", { onExchange: (t) => mine.push(t.name) });
  await resolver.query("two.test", "A");
  assert.deepEqual(mine, ["one.test"]);
  assert.deepEqual(all, ["one.test", "two.test"]);
});

/** A host that counts the UDP sockets opened and closed (a second close is not counted). */
function countingHost(): { host: Host; readonly opened: number; readonly closed: number } {
  const real = denoHost();
  let opened = 0;
  const closed = new Set<number>();
  const host: Host = {
    ...real,
    openUdp(family) {
      const socket = real.openUdp(family);
      const n = opened++;
      return {
        send: (bytes, to) => socket.send(bytes, to),
        receive: () => socket.receive(),
        close() {
          closed.add(n);
          socket.close();
        },
      };
    },
  };
  return {
    host,
    get opened() {
      return opened;
    },
    get closed() {
      return closed.size;
    },
  };
}

Deno.test("Resolver opens a fresh UDP socket, with a port of the kernel's choosing, for every query by default", async () => {
  await using server = FakeDnsServer.start(answerA);
  const counts = countingHost();
  const r = resolver([server], { host: counts.host });
  for (let i = 0; i < 5; i++) await r.query(`n${i}.test`, "A");
  assert.equal(counts.opened, 5);
  assert.equal(counts.closed, 5);
  // Each query came from the socket opened for it (the kernel may hand a freed port out again,
  // so the ports themselves need not all differ).
  assert.equal(server.queries.length, 5);
});

Deno.test("Resolver with socketReuse sends that many queries from a socket, then a new one", async () => {
  await using server = FakeDnsServer.start(answerA);
  const counts = countingHost();
  const r = resolver([server], { host: counts.host, socketReuse: 4 });
  for (let i = 0; i < 10; i++) {
    const result = await r.query(`n${i}.test`, "A");
    assert.deepEqual(addresses(result.records), ["192.0.2.1"]);
  }
  // 4 + 4 + 2: the third socket is still idle, and close() closes it.
  assert.equal(counts.opened, 3);
  assert.equal(counts.closed, 2);
  r.close();
  assert.equal(counts.closed, 3);
  const ports = server.queries.map((q) => q.from.port);
  // A socket keeps its port for its queries: 4 from the first, 4 from the second, 2 from the third.
  assert.equal(new Set(ports.slice(0, 4)).size, 1);
  assert.equal(new Set(ports.slice(4, 8)).size, 1);
  assert.equal(new Set(ports.slice(8)).size, 1);
  assert.deepEqual(ports.slice(0, 4), Array(4).fill(ports[0]));
  // Every query still has its own random ID.
  assert.equal(new Set(server.queries.map((q) => q.message.id)).size, 10);
});

Deno.test("Resolver with socketReuse never shares a socket between queries in flight", async () => {
  const inFlight = new Map<number, number>();
  let shared = 0;
  await using server = FakeDnsServer.start(async (q, { from }) => {
    inFlight.set(from.port, (inFlight.get(from.port) ?? 0) + 1);
    if (inFlight.get(from.port)! > 1) shared++;
    await new Promise((resolve) => setTimeout(resolve, 5));
    inFlight.set(from.port, inFlight.get(from.port)! - 1);
    return answerA(q);
  });
  const counts = countingHost();
  using r = resolver([server], { host: counts.host, socketReuse: 100 });
  await Promise.all(Array.from({ length: 20 }, (_, i) => r.query(`n${i}.test`, "A")));
  assert.equal(shared, 0);
  assert.equal(counts.opened, 20, "20 at once need 20 sockets");
  await Promise.all(Array.from({ length: 20 }, (_, i) => r.query(`m${i}.test`, "A")));
  assert.equal(counts.opened, 20, "the idle ones serve the next 20");
});

Deno.test("Resolver with socketReuse closes a socket after a timeout instead of reusing it", async () => {
  let first = true;
  await using server = FakeDnsServer.start((q) => {
    if (!first) return answerA(q);
    first = false;
    return "silence";
  });
  const counts = countingHost();
  using r = resolver([server], { host: counts.host, socketReuse: 10 });
  await assert.rejects(r.query("lost.test", "A"), { kind: "TIMEOUT" });
  assert.equal(counts.closed, 1);
  await r.query("next.test", "A");
  assert.equal(counts.opened, 2);
  const [lost, next] = server.queries.map((q) => q.from.port);
  assert.notEqual(lost, next);
});

Deno.test("Resolver rejects a socketReuse out of range", () => {
  assert.throws(() => new Resolver({ socketReuse: 0 }), RangeError);
  assert.throws(() => new Resolver({ socketReuse: 1.5 }), RangeError);
});

Deno.test("new Resolver({ dnssec: true }) asks with EDNS0 and DO, payload 1280 unless udpSize says", async () => {
  await using server = FakeDnsServer.start(answerA);
  await resolver([server], { dnssec: true }).query("x.test", "A");
  await resolver([server], { dnssec: true, udpSize: 4096 }).query("x.test", "A");
  assert.deepEqual(server.queries.map((q) => q.message.edns), [
    { udpSize: 1280, dnssecOk: true },
    { udpSize: 4096, dnssecOk: true },
  ]);
  assert.throws(() => new Resolver({ dnssec: true, udpSize: 0 }), RangeError);
});

/** A host whose UDP sockets record where they send and never receive anything. */
function silentHost(files: Record<string, string>): { host: Host; sent: string[] } {
  const sent: string[] = [];
  const host: Host = {
    ...denoHost(),
    readTextFile: (path) => Promise.resolve(files[path]),
    openUdp: () => {
      let close = () => {};
      const closed = new Promise<never>((_, reject) => close = () => reject(new Error("closed")));
      closed.catch(() => {});
      return {
        send: (_data, to) => {
          sent.push(`${to.hostname}:${to.port}`);
          return Promise.resolve();
        },
        receive: () => closed,
        close: () => close(),
      };
    },
  };
  return { host, sent };
}

Deno.test("Resolver.fromSystem() takes servers, attempts and domain from resolv.conf; options win", async () => {
  const { host, sent } = silentHost({
    "/etc/resolv.conf":
      "nameserver 192.0.2.53\nnameserver 2001:db8::53\ndomain Example.ORG\noptions timeout:1 attempts:1\n",
  });
  const r = await Resolver.fromSystem({ host, timeoutMs: 20 });
  assert.equal(r.defaultDomain, "example.org");
  await assert.rejects(r.query("x.test", "A"), {
    kind: "TIMEOUT",
    message: 'No reply from 192.0.2.53, 2001:db8::53 for "x.test" A after 1 attempts of 20 ms',
  });
  assert.deepEqual(sent, ["192.0.2.53:53", "2001:db8::53:53"]);
});

Deno.test("Resolver.fromSystem() reads another file, and defaults without one", async () => {
  const { host, sent } = silentHost({ "/srv/resolv.conf": "nameserver 198.51.100.1\n" });
  const other = await Resolver.fromSystem({ host, resolvConf: "/srv/resolv.conf", timeoutMs: 10 });
  await assert.rejects(other.query("x.test", "A"), { kind: "TIMEOUT" });
  assert.deepEqual(sent.splice(0), ["198.51.100.1:53", "198.51.100.1:53"]);
  // No file: glibc's defaults, 127.0.0.1 then ::1 (the sockets are fake: nothing is sent).
  const none = await Resolver.fromSystem({ host, timeoutMs: 10, attempts: 1 });
  assert.equal(none.defaultDomain, undefined);
  await assert.rejects(none.query("x.test", "A"), { kind: "TIMEOUT" });
  assert.deepEqual(sent, ["127.0.0.1:53", "::1:53"]);
});

Deno.test("Resolver says so when Deno.listenDatagram is missing (no --unstable-net)", async () => {
  const saved = Deno.listenDatagram;
  const message = "Deno.listenDatagram is not available: run with --unstable-net";
  // deno-lint-ignore no-explicit-any
  delete (Deno as any).listenDatagram;
  try {
    assert.throws(() => new Resolver(), { name: "TypeError", message });
    await assert.rejects(Resolver.fromSystem(), { name: "TypeError", message });
    // With the real host passed in, the first query fails the same way, not as a NETWORK error.
    const r = new Resolver({ servers: [{ address: "127.0.0.1", port: 9 }], host: denoHost() });
    await assert.rejects(r.query("x.test", "A"), { name: "TypeError", message });
  } finally {
    Deno.listenDatagram = saved;
  }
});

Deno.test("Resolver.query() says when each exchange began, on performance.now()'s clock", async () => {
  await using server = FakeDnsServer.start((query) => reply(query, { answers: [] }));
  const traces: ExchangeTrace[] = [];
  const before = performance.now();
  await resolver([server], { onExchange: (t) => traces.push(t) }).query("a.test", "MX")
    .catch(() => {});
  const after = performance.now();
  assert.equal(traces.length, 1);
  const startedAt = traces[0].startedAt!;
  assert.ok(startedAt >= before && startedAt <= after, `${before} ${startedAt} ${after}`);
});
