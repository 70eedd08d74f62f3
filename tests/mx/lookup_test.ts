import assert from "node:assert/strict";
import { formatAddress } from "../../lib/address.ts";
import { lookupMx, type MxResult } from "../../lib/mx/lookup.ts";
import { DnsError, type DnsErrorKind } from "../../lib/errors.ts";
import { type Querier, Resolver } from "../../lib/resolver/resolver.ts";
import { FakeDnsServer } from "../fakes/dns_server.ts";
import {
  a,
  aaaa,
  cname,
  InFlight,
  mx,
  record as r,
  type Zone,
  zoneHandler,
} from "../fakes/zone.ts";

async function lookup(
  zone: Zone,
  domain: string,
  options: { defaultDomain?: string; concurrency?: number; inFlight?: InFlight } = {},
): Promise<MxResult & { queries: string[] }> {
  await using server = FakeDnsServer.start(zoneHandler(zone, options.inFlight));
  const resolver = new Resolver({ servers: [server.nameServer], timeoutMs: 500, attempts: 1 });
  const result = await lookupMx(domain, { resolver, ...options });
  const queries = server.queries.map((q) =>
    `${q.message.questions[0].name} ${q.message.questions[0].type}`
  );
  return { ...result, queries };
}

const lines = (result: MxResult) =>
  result.entries.map((e) =>
    `${e.host} ${e.priority} ${formatAddress(e.address)}${e.dnssec ? " AD" : ""}`
  );

Deno.test("lookupMx() lists both families of every host, by priority then name", async () => {
  const result = await lookup({
    "two.test MX": {
      answers: [r("two.test", mx(20, "mx2.two.test")), r("two.test", mx(10, "MX1.two.test"))],
    },
    "mx1.two.test A": { answers: [r("mx1.two.test", a("192.0.2.1"))] },
    "mx1.two.test AAAA": { answers: [r("mx1.two.test", aaaa("2001:db8::1"))] },
    "mx2.two.test A": {
      answers: [r("mx2.two.test", a("192.0.2.2")), r("mx2.two.test", a("192.0.2.3"))],
    },
    "mx2.two.test AAAA": { answers: [r("mx2.two.test", aaaa("2001:db8::2"))] },
  }, "two.test");
  assert.equal(result.outcome, "ok");
  assert.deepEqual(lines(result), [
    "MX1.two.test 10 ::ffff:192.0.2.1",
    "MX1.two.test 10 2001:db8::1",
    "mx2.two.test 20 ::ffff:192.0.2.2",
    "mx2.two.test 20 ::ffff:192.0.2.3",
    "mx2.two.test 20 2001:db8::2",
  ]);
});

Deno.test("lookupMx() takes a family from the MX reply's additional section and asks for the other", async () => {
  const result = await lookup({
    "add.test MX": {
      answers: [r("add.test", mx(10, "mx.add.test"))],
      additionals: [r("mx.add.test", a("192.0.2.7"))],
      ad: true,
    },
    "mx.add.test AAAA": { answers: [r("mx.add.test", aaaa("2001:db8::7"))] },
  }, "add.test");
  assert.deepEqual(lines(result), [
    "mx.add.test 10 ::ffff:192.0.2.7 AD",
    "mx.add.test 10 2001:db8::7",
  ]);
  assert.deepEqual(result.queries.sort(), ["add.test MX", "mx.add.test AAAA"]);
});

Deno.test("lookupMx() reports a null MX as no mail", async () => {
  const result = await lookup({
    "null.test MX": {
      answers: [r("null.test", mx(0, "")), r("null.test", mx(10, "mx.null.test"))],
    },
  }, "null.test");
  assert.equal(result.outcome, "nomail");
  assert.match(result.reason!, /null MX \(RFC 7505\)/);
});

Deno.test("lookupMx() falls back to the implicit MX with priority -1", async () => {
  const result = await lookup(
    { "amx.test A": { answers: [r("amx.test", a("192.0.2.9"))] } },
    "amx.test",
  );
  assert.deepEqual(lines(result), ["amx.test -1 ::ffff:192.0.2.9"]);
  const none = await lookup({}, "nx.test");
  assert.equal(none.outcome, "hard");
  assert.match(none.reason!, /no MX record \(NXDOMAIN\) and no address/);
  // The hard outcome keeps its DNS error (D18).
  assert.equal(none.error?.kind, "NXDOMAIN");
});

Deno.test("lookupMx() is soft when the MX query fails", async () => {
  const result = await lookup({ "sf.test MX": { rcode: "SERVFAIL" } }, "sf.test");
  assert.equal(result.outcome, "soft");
  assert.equal(result.error?.kind, "SERVFAIL");
});

Deno.test("lookupMx() is soft, not hard, when a failure leaves every host without addresses (D13)", async () => {
  const result = await lookup({
    "d13.test MX": { answers: [r("d13.test", mx(10, "mx.d13.test"))] },
    "mx.d13.test A": { rcode: "SERVFAIL" },
    "mx.d13.test AAAA": {},
  }, "d13.test");
  assert.equal(result.outcome, "soft");
  assert.match(result.reason!, /mx\.d13\.test/);
});

Deno.test("lookupMx() lists the good hosts and warns about the soft ones", async () => {
  const result = await lookup({
    "part.test MX": {
      answers: [r("part.test", mx(10, "ok.part.test")), r("part.test", mx(20, "bad.part.test"))],
    },
    "ok.part.test A": { answers: [r("ok.part.test", a("192.0.2.1"))] },
    "bad.part.test A": { rcode: "SERVFAIL" },
    "bad.part.test AAAA": { rcode: "SERVFAIL" },
  }, "part.test");
  assert.equal(result.outcome, "ok");
  assert.deepEqual(lines(result), ["ok.part.test 10 ::ffff:192.0.2.1"]);
  assert.ok(result.warnings.some((w) => w.startsWith("MX host bad.part.test left out")));
});

Deno.test("lookupMx() is hard when no MX host has an address", async () => {
  const result = await lookup({
    "noaddr.test MX": { answers: [r("noaddr.test", mx(10, "gone.noaddr.test"))] },
  }, "noaddr.test");
  assert.equal(result.outcome, "hard");
});

Deno.test("lookupMx() prints an IP-literal MX target as its own host", async () => {
  const result = await lookup(
    { "lit.test MX": { answers: [r("lit.test", mx(10, "192.0.2.55"))] } },
    "lit.test",
  );
  assert.deepEqual(lines(result), ["::ffff:192.0.2.55 10 ::ffff:192.0.2.55"]);
  assert.ok(result.warnings.some((w) => /IP address/.test(w)));
});

Deno.test("lookupMx() ends with bad DNS on a CNAME loop of an MX host", async () => {
  const result = await lookup({
    "loop.test MX": { answers: [r("loop.test", mx(10, "a.loop.test"))] },
    "a.loop.test A": { answers: [r("a.loop.test", cname("b.loop.test"))] },
    "b.loop.test A": { answers: [r("b.loop.test", cname("a.loop.test"))] },
    "a.loop.test AAAA": {},
  }, "loop.test");
  assert.equal(result.outcome, "cname");
});

Deno.test("lookupMx() lists an MX host that is a CNAME under its MX name and warns (RFC 2181 §10.3)", async () => {
  const result = await lookup({
    "cn.test MX": { answers: [r("cn.test", mx(10, "alias.cn.test"))] },
    "alias.cn.test A": {
      answers: [r("alias.cn.test", cname("real.cn.test")), r("real.cn.test", a("192.0.2.4"))],
    },
    "alias.cn.test AAAA": { answers: [r("alias.cn.test", cname("real.cn.test"))] },
    "real.cn.test AAAA": {},
  }, "cn.test");
  assert.deepEqual(lines(result), ["alias.cn.test 10 ::ffff:192.0.2.4"]);
  assert.ok(result.warnings.some((w) => /is a CNAME/.test(w)));
});

Deno.test("lookupMx() completes a dotless MX target with the default domain", async () => {
  const result = await lookup(
    {
      "dl.test MX": { answers: [r("dl.test", mx(10, "relay"))] },
      "relay.world.test A": { answers: [r("relay.world.test", a("192.0.2.5"))] },
    },
    "dl.test",
    { defaultDomain: "world.test" },
  );
  assert.deepEqual(lines(result), ["relay 10 ::ffff:192.0.2.5"]);
});

Deno.test("lookupMx() sends every host's address queries at once", async () => {
  const zone: Zone = {
    "par.test MX": { answers: [1, 2, 3].map((i) => r("par.test", mx(10, `mx${i}.par.test`))) },
  };
  for (const i of [1, 2, 3]) {
    zone[`mx${i}.par.test A`] = {
      answers: [r(`mx${i}.par.test`, a(`192.0.2.${i}`))],
      delayMs: 100,
    };
    zone[`mx${i}.par.test AAAA`] = {
      answers: [r(`mx${i}.par.test`, aaaa(`2001:db8::${i}`))],
      delayMs: 100,
    };
  }
  const inFlight = new InFlight();
  const result = await lookup(zone, "par.test", { inFlight });
  assert.equal(result.entries.length, 6);
  assert.equal(inFlight.max, 6);
});

Deno.test("lookupMx() keeps address queries in flight under its concurrency bound", async () => {
  const hosts = Array.from({ length: 20 }, (_, i) => `h${i}.many.test`);
  const zone: Zone = { "many.test MX": { answers: hosts.map((h) => r("many.test", mx(10, h))) } };
  for (const h of hosts) zone[`${h} A`] = { answers: [r(h, a("192.0.2.1"))], delayMs: 20 };
  const inFlight = new InFlight();
  const result = await lookup(zone, "many.test", { inFlight, concurrency: 5 });
  assert.equal(result.entries.length, 20);
  assert.equal(inFlight.max, 5);
});

Deno.test("lookupMx() answers [address] without DNS and refuses a bare address", async () => {
  const literal = await lookup({}, "[192.0.2.1]");
  assert.deepEqual(lines(literal), ["[192.0.2.1] -1 ::ffff:192.0.2.1"]);
  assert.deepEqual(literal.queries, []);
  const bare = await lookup({}, "192.0.2.1");
  assert.equal(bare.outcome, "hard");
  assert.deepEqual(bare.queries, []);
});

Deno.test("lookupMx() ends the lookup by the DnsError's kind: CNAME_LOOP bad DNS, INVALID_NAME internal", async () => {
  const cases: [DnsErrorKind, string, MxResult["outcome"]][] = [
    ["CNAME_LOOP", "MX", "cname"],
    ["CNAME_LOOP", "AAAA", "cname"],
    ["INVALID_NAME", "MX", "internal"],
    ["INVALID_NAME", "A", "internal"],
  ];
  for (const [kind, failing, outcome] of cases) {
    const failure = new DnsError(kind, `${kind} for ${failing}`, { type: failing });
    const querier: Querier = {
      query(name, type) {
        if (type === failing) return Promise.reject(failure);
        return Promise.reject(new DnsError("NODATA", `No ${type} for ${name}`));
      },
    };
    const result = await lookupMx("fatal.test", { resolver: querier });
    assert.equal(result.outcome, outcome, `${kind} ${failing}`);
    assert.equal(result.error, failure);
    assert.equal(result.reason, failure.message);
  }
});

Deno.test("lookupMx() rejects with the signal's reason when aborted, and passes other errors on", async () => {
  const reason = new Error("stop now");
  const controller = new AbortController();
  const waiting: Querier = {
    query: (_name, _type, options) =>
      new Promise((_, reject) => {
        options?.signal?.addEventListener("abort", () => reject(options.signal?.reason));
        controller.abort(reason);
      }),
  };
  await assert.rejects(
    lookupMx("slow.test", { resolver: waiting, signal: controller.signal }),
    (error) => error === reason,
  );
  const broken: Querier = { query: () => Promise.reject(new TypeError("not a querier")) };
  await assert.rejects(lookupMx("broken.test", { resolver: broken }), TypeError);
});

Deno.test("lookupMx() asks the root for '' as Courier does, and finds no mail host there", async () => {
  for (const domain of ["", "."]) {
    const result = await lookup({}, domain);
    assert.equal(result.outcome, "hard", domain);
    assert.equal(result.queryName, "");
    // The root on the wire: one zero octet, decoded as the empty name.
    assert.deepEqual(result.queries.sort(), [" A", " AAAA", " MX"]);
  }
  const completed = await lookup({}, "", { defaultDomain: "world.test" });
  assert.equal(completed.outcome, "internal");
  assert.deepEqual(completed.queries, []);
});
