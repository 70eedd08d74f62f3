// Abusive zones through the real resolver and the fake server: answers too large for UDP
// (truncated, then TCP as a real server does), 1,000 MX hosts, 100 addresses a host, CNAME
// chains, a TXT record of thousands of strings. The output must stay right, the address
// queries in flight under the bound, the run inside the caller's deadline.
import assert from "node:assert/strict";
import { formatAddress, parseAddress } from "../../lib/address.ts";
import { lookupMx, type MxResult } from "../../lib/mx/lookup.ts";
import { Resolver } from "../../lib/resolver/resolver.ts";
import { lookupSts } from "../../lib/sts/lookup.ts";
import { FakeDnsServer } from "../fakes/dns_server.ts";
import { memoryServer } from "../sts/_memory_http.ts";
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

/** The caller's deadline: a lookup that overran it would reject with a TimeoutError. */
const DEADLINE_MS = 30_000;
/** lookupMx's default bound on address queries in flight. */
const CONCURRENCY = 32;

interface Run {
  result: MxResult;
  queries: number;
  tcp: number;
  inFlight: InFlight;
  ms: number;
}

async function run(zone: Zone, domain: string): Promise<Run> {
  const inFlight = new InFlight();
  await using server = FakeDnsServer.start(zoneHandler(zone, inFlight, { truncate: true }));
  const resolver = new Resolver({ servers: [server.nameServer], timeoutMs: 2000, attempts: 1 });
  const started = performance.now();
  const result = await lookupMx(domain, { resolver, signal: AbortSignal.timeout(DEADLINE_MS) });
  const ms = Math.round(performance.now() - started);
  const tcp = server.queries.filter((q) => q.transport === "tcp").length;
  return { result, queries: server.queries.length, tcp, inFlight, ms };
}

function report(what: string, { result, queries, tcp, inFlight, ms }: Run): void {
  console.log(
    `abusive zone: ${what}: ${result.outcome}, ${result.entries.length} entries, ` +
      `${queries} queries (${tcp} over TCP), at most ${inFlight.max} in flight, ` +
      `${ms} ms (deadline ${DEADLINE_MS} ms)`,
  );
}

Deno.test("lookupMx() lists all of 1,000 MX hosts in order, with the address queries bounded", async () => {
  const hosts = Array.from({ length: 1000 }, (_, i) => `h${i}.big.test`);
  const zone: Zone = {
    // Preferences from 0 to 9 out of order, so that sorting has work to do.
    "big.test MX": { answers: hosts.map((h, i) => r("big.test", mx((i * 7) % 10, h))) },
  };
  hosts.forEach((h, i) => {
    // Held a little, so that queries overlap and the bound is what limits them.
    zone[`${h} A`] = { answers: [r(h, a(`10.0.${i >> 8}.${i & 0xff}`))], delayMs: 5 };
    zone[`${h} AAAA`] = { delayMs: 5 };
  });
  const got = await run(zone, "big.test");
  report("1,000 MX records", got);
  const { result } = got;
  assert.equal(result.outcome, "ok");
  assert.equal(result.entries.length, 1000);
  // Every host once, with its own address, by preference then name.
  const seen = new Map(result.entries.map((e) => [e.host, formatAddress(e.address)]));
  assert.equal(seen.size, 1000);
  hosts.forEach((h, i) => {
    assert.equal(seen.get(h), `::ffff:10.0.${i >> 8}.${i & 0xff}`);
  });
  const priorities = result.entries.map((e) => e.priority);
  assert.deepEqual(priorities, [...priorities].sort((x, y) => x - y));
  assert.equal(result.entries[0].priority, 0);
  assert.equal(got.tcp, 1); // only the MX reply is too large for UDP
  assert.equal(got.queries, 1 + 1 + 2 * 1000);
  assert.ok(got.inFlight.max <= CONCURRENCY, `${got.inFlight.max} in flight`);
});

Deno.test("lookupMx() lists 100 addresses of each family for each of 20 hosts", async () => {
  const hosts = Array.from({ length: 20 }, (_, i) => `m${i}.wide.test`);
  const zone: Zone = {
    "wide.test MX": { answers: hosts.map((h) => r("wide.test", mx(10, h))) },
  };
  hosts.forEach((h, i) => {
    zone[`${h} A`] = {
      answers: Array.from({ length: 100 }, (_, j) => r(h, a(`10.${i}.0.${j}`))),
      delayMs: 20,
    };
    zone[`${h} AAAA`] = {
      answers: Array.from({ length: 100 }, (_, j) => r(h, aaaa(`2001:db8:${i}::${j}`))),
      delayMs: 20,
    };
  });
  const got = await run(zone, "wide.test");
  report("20 MX hosts with 100 A and 100 AAAA each", got);
  const { result } = got;
  assert.equal(result.outcome, "ok");
  assert.equal(result.entries.length, 20 * 200);
  for (const [i, h] of hosts.entries()) {
    const mine = result.entries.filter((e) => e.host === h).map((e) => formatAddress(e.address));
    assert.equal(mine.length, 200);
    // IPv4 first (Courier's order without ESMTP_PREFER_IPV6_MX), each in answer order.
    assert.deepEqual(
      mine.slice(0, 100),
      Array.from({ length: 100 }, (_, j) => `::ffff:10.${i}.0.${j}`),
    );
    const v6 = (j: number) => formatAddress(parseAddress(`2001:db8:${i}::${j}`)!);
    assert.deepEqual(mine.slice(100), Array.from({ length: 100 }, (_, j) => v6(j)));
  }
  // Every reply is over 512 octets: asked again over TCP.
  assert.equal(got.tcp, 1 + 40);
  assert.ok(got.inFlight.max <= CONCURRENCY, `${got.inFlight.max} in flight`);
});

Deno.test("lookupMx() stops a 50-link CNAME chain of an MX host after 10 links as bad DNS", async () => {
  const zone: Zone = { "chain.test MX": { answers: [r("chain.test", mx(10, "c0.chain.test"))] } };
  for (let i = 0; i < 50; i++) {
    const link = r(`c${i}.chain.test`, cname(`c${i + 1}.chain.test`));
    zone[`c${i}.chain.test A`] = { answers: [link] };
    zone[`c${i}.chain.test AAAA`] = { answers: [link] };
  }
  zone["c50.chain.test A"] = { answers: [r("c50.chain.test", a("192.0.2.1"))] };
  const got = await run(zone, "chain.test");
  report("an MX host behind a 50-link CNAME chain", got);
  assert.equal(got.result.outcome, "cname");
  assert.equal(got.result.error?.kind, "CNAME_LOOP");
  assert.match(got.result.reason ?? "", /longer than 10$/);
  // The MX query, then at most 11 queries per family: the chain is never walked to its end.
  assert.ok(got.queries <= 1 + 2 * 11, `${got.queries} queries`);
});

Deno.test("lookupSts() reads the id from a TXT record of 16,000 one-octet strings", async () => {
  const id = "A".repeat(32);
  const text = `v=STSv1; id=${id};` +
    Array.from({ length: 2000 }, (_, i) => ` e${i}=x;`).join("");
  const strings = [...text].map((c) => new TextEncoder().encode(c));
  assert.ok(strings.length > 16_000);
  const zone: Zone = {
    "_mta-sts.many.test TXT": {
      answers: [{ name: "_mta-sts.many.test", data: { type: "TXT", strings } }],
    },
  };
  await using server = FakeDnsServer.start(zoneHandler(zone, undefined, { truncate: true }));
  const resolver = new Resolver({ servers: [server.nameServer], timeoutMs: 2000, attempts: 1 });
  const policy = "version: STSv1\nmode: testing\nmx: mx.many.test\nmax_age: 86400\n";
  const policyServer = memoryServer(() =>
    new Response(policy, { headers: { "content-type": "text/plain" } })
  );
  const fetched = policyServer.urls;
  const started = performance.now();
  const sts = await lookupSts("many.test", {
    resolver,
    connect: policyServer.connect,
    signal: AbortSignal.timeout(DEADLINE_MS),
  });
  const ms = Math.round(performance.now() - started);
  console.log(
    `abusive zone: a TXT record of ${strings.length} strings: id ${
      sts.id === id ? "read whole" : "WRONG"
    }, ${server.queries.length} queries (${
      server.queries.filter((q) => q.transport === "tcp").length
    } over TCP), ${ms} ms`,
  );
  assert.equal(sts.txt?.kind, "id");
  assert.equal(sts.id, id);
  assert.equal(sts.policy?.mode, "testing");
  assert.deepEqual(fetched, ["https://mta-sts.many.test/.well-known/mta-sts.txt"]);
});
