import assert from "node:assert/strict";
import { answer, record } from "../fakes/answer.ts";
import {
  type DomainItem,
  lookupMany,
  type LookupManyResult,
} from "../../lib/lookup/lookup_many.ts";
import { DnsError } from "../../lib/errors.ts";
import {
  type Querier,
  type QueryResult,
  Resolver,
  type ResolverQueryOptions,
} from "../../lib/resolver/resolver.ts";
import type { ResourceRecord } from "../../lib/wire/message.ts";
import { FakeDnsServer, reply, rr } from "../fakes/dns_server.ts";

/** The domain a query serves: `d1.test` for `d1.test MX`, `mx.d1.test A`, `_mta-sts.d1.test TXT`. */
const domainOf = (name: string): string => name.replace(/^(_mta-sts|mx)\./, "");

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * A resolver without sockets: `dN.test` has one MX, `mx.dN.test`, at 192.0.2.N; names
 * starting with `nx` do not exist; there is no STS record. It counts the domains with a
 * query outstanding, which is at least as many as the lookups in flight could be seen.
 */
class FakeQuerier implements Querier {
  /** Queries outstanding, by domain. */
  readonly outstanding = new Map<string, number>();
  /** The most domains with a query outstanding at once. */
  maxDomains = 0;
  /** `name TYPE` of every query answered. */
  readonly answered: string[] = [];
  /** `name TYPE` of every query aborted. */
  readonly aborted: string[] = [];
  /** How long a query takes; `Infinity` waits until aborted. */
  delayMs: (name: string, type: string) => number = () => 0;
  /** Every query waits for it first. */
  gate?: Promise<void>;

  async query(name: string, type: string, options?: ResolverQueryOptions): Promise<QueryResult> {
    const domain = domainOf(name);
    this.outstanding.set(domain, (this.outstanding.get(domain) ?? 0) + 1);
    this.maxDomains = Math.max(this.maxDomains, this.outstanding.size);
    try {
      await this.gate;
      const ms = this.delayMs(name, type);
      try {
        await sleep(ms === Infinity ? 2 ** 31 - 1 : ms, options?.signal);
      } catch (error) {
        this.aborted.push(`${name} ${type}`);
        throw error;
      }
      this.answered.push(`${name} ${type}`);
      return this.#answer(name, type);
    } finally {
      const left = this.outstanding.get(domain)! - 1;
      if (left === 0) this.outstanding.delete(domain);
      else this.outstanding.set(domain, left);
    }
  }

  #answer(name: string, type: string): QueryResult {
    if (domainOf(name).startsWith("nx") || type === "TXT") {
      throw new DnsError("NXDOMAIN", `${name} does not exist`, { name, type });
    }
    let records: ResourceRecord[] = [];
    const n = /^d(\d+)\./.exec(domainOf(name))?.[1] ?? "0";
    if (type === "MX") {
      records = [record(name, { type: "MX", preference: 10, exchange: `mx.${name}` })];
    } else if (type === "A") {
      records = [record(name, { type: "A", address: `192.0.2.${Number(n) % 250}` })];
    } else throw new DnsError("NODATA", `${name} has no ${type}`, { name, type });
    return answer(name, type, records, "fake");
  }
}

/** Deterministic "random" delays: a linear congruential generator. */
function delays(seed: number, maxMs: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % (maxMs + 1);
  };
}

const names = (count: number, prefix = "d"): string[] =>
  Array.from({ length: count }, (_, i) => `${prefix}${i}.test`);

async function collect<T extends DomainItem>(
  results: AsyncIterable<LookupManyResult<T>>,
): Promise<LookupManyResult<T>[]> {
  const all: LookupManyResult<T>[] = [];
  for await (const result of results) all.push(result);
  return all;
}

/** Waits until `ready()` holds, checking every millisecond, at most 2000 times. */
async function until(ready: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !ready(); i++) await sleep(1);
  assert.ok(ready(), "the condition never held");
}

Deno.test("lookupMany() yields every domain once, in input order, whatever order they finish in", async () => {
  const resolver = new FakeQuerier();
  const next = delays(7, 8);
  resolver.delayMs = () => next();
  const domains = names(60);
  const results = await collect(lookupMany(domains, { resolver, concurrency: 6 }));
  assert.deepEqual(results.map((r) => r.index), domains.map((_, i) => i));
  assert.deepEqual(results.map((r) => r.item), domains);
  for (const r of results) {
    assert.equal(r.error, undefined);
    assert.equal(r.report.outcome, "ok", r.item);
    assert.deepEqual(r.report.hosts.map((h) => h.host), [`mx.${r.item}`]);
    assert.deepEqual(r.report.hosts[0].addresses.map((a) => a.ip), [
      `192.0.2.${Number(r.item.slice(1, -5)) % 250}`,
    ]);
  }
});

Deno.test("lookupMany() gives failures and invalid names a result of their own, in place", async () => {
  const resolver = new FakeQuerier();
  const domains = ["d1.test", "nx.test", "", "a..b.test", "[192.0.2.9]", "d2.test"];
  const results = await collect(lookupMany(domains, { resolver }));
  assert.deepEqual(results.map((r) => [r.item, r.report.outcome]), [
    ["d1.test", "ok"],
    ["nx.test", "hard"],
    // The root, as Courier asks it: no mail host there.
    ["", "hard"],
    ["a..b.test", "internal"],
    ["[192.0.2.9]", "ok"],
    ["d2.test", "ok"],
  ]);
});

Deno.test("lookupMany() never has more lookups in flight than its concurrency", async () => {
  const resolver = new FakeQuerier();
  const next = delays(11, 5);
  resolver.delayMs = () => next();
  await collect(lookupMany(names(80), { resolver, concurrency: 5 }));
  assert.ok(resolver.maxDomains <= 5, `${resolver.maxDomains} domains at once`);
  assert.ok(resolver.maxDomains >= 2, "the lookups never overlapped");
});

Deno.test("lookupMany() fills every slot while one slow domain holds the output back", async () => {
  const resolver = new FakeQuerier();
  let release = () => {};
  resolver.gate = new Promise<void>((resolve) => release = resolve);
  const done = collect(lookupMany(names(12), { resolver, concurrency: 5 }));
  await until(() => resolver.outstanding.size === 5);
  release();
  const results = await done;
  assert.equal(resolver.maxDomains, 5);
  assert.deepEqual(results.map((r) => r.item), names(12));
});

Deno.test("lookupMany() holds at most 4 × concurrency domains, however long the input", async () => {
  const resolver = new FakeQuerier();
  const next = delays(3, 1);
  resolver.delayMs = () => next();
  let pulled = 0;
  function* source(): Generator<string> {
    for (let i = 0; i < 1000; i++) {
      pulled++;
      yield `d${i}.test`;
    }
  }
  let delivered = 0;
  let most = 0;
  for await (const _ of lookupMany(source(), { resolver, concurrency: 4 })) {
    delivered++;
    most = Math.max(most, pulled - delivered);
  }
  assert.equal(delivered, 1000);
  // The window of 16 plus the one domain read and not yet started.
  assert.ok(most <= 4 * 4 + 1, `${most} domains held`);
});

Deno.test("lookupMany() on abort delivers what finished, in order, and the rest as aborted", async () => {
  const resolver = new FakeQuerier();
  resolver.delayMs = (name) => name === "d2.test" ? Infinity : 0;
  const controller = new AbortController();
  const got: LookupManyResult<string>[] = [];
  for await (
    const r of lookupMany(names(10), { resolver, concurrency: 3, signal: controller.signal })
  ) {
    got.push(r);
    if (got.length === 2) {
      // Aborted once d3 and d4 have finished behind the stuck d2: they still come out.
      until(() => resolver.answered.includes("mx.d4.test A")).then(() => controller.abort());
    }
  }
  assert.deepEqual(got.slice(0, 5).map((r) => [r.item, r.report.outcome]), [
    ["d0.test", "ok"],
    ["d1.test", "ok"],
    ["d2.test", "aborted"],
    ["d3.test", "ok"],
    ["d4.test", "ok"],
  ]);
  assert.equal((got[2].error as DOMException).name, "AbortError");
  assert.deepEqual(got.map((r) => r.index), got.map((_, i) => i));
  for (const r of got) assert.ok(["ok", "aborted"].includes(r.report.outcome), r.item);
  assert.ok(resolver.aborted.includes("d2.test MX"), resolver.aborted.join(", "));
  assert.ok(
    !resolver.answered.some((q) => q.startsWith("d9.test")),
    "d9 was started after the abort",
  );
});

Deno.test("lookupMany() with ordered: false yields each result as it finishes", async () => {
  const resolver = new FakeQuerier();
  resolver.delayMs = (name) => name.startsWith("d0.") ? 30 : 0;
  const results = await collect(lookupMany(names(4), { resolver, ordered: false }));
  assert.equal(results.at(-1)?.item, "d0.test");
  assert.deepEqual(results.map((r) => r.index).sort(), [0, 1, 2, 3]);
  for (const r of results) assert.equal(r.report.outcome, "ok", r.item);
});

Deno.test("lookupMany() carries the caller's items through to their results", async () => {
  const resolver = new FakeQuerier();
  const items = [{ line: 3, domain: "d1.test" }, { line: 7, domain: "nx.test" }];
  const results = await collect(lookupMany(items, { resolver }));
  assert.deepEqual(results.map((r) => [r.item, r.report.domain, r.report.outcome]), [
    [items[0], "d1.test", "ok"],
    [items[1], "nx.test", "hard"],
  ]);
  // A hard outcome keeps the DNS error behind it.
  assert.equal((results[1].report.error as DnsError).kind, "NXDOMAIN");
});

Deno.test("lookupMany() gives a domain past its deadline a result without MX, and goes on", async () => {
  const resolver = new FakeQuerier();
  resolver.delayMs = (name) => name === "d1.test" ? Infinity : 0;
  const results = await collect(lookupMany(names(3), { resolver, deadlineMs: 20 }));
  assert.deepEqual(results.map((r) => r.report.outcome), ["ok", "deadline", "ok"]);
  assert.equal(results[1].error, undefined);
  assert.ok(resolver.aborted.includes("d1.test MX"));
});

Deno.test("lookupMany() aborts the lookups in flight when the caller stops early", async () => {
  const resolver = new FakeQuerier();
  resolver.delayMs = (name) => domainOf(name) === "d0.test" ? 0 : Infinity;
  let closed = false;
  async function* source(): AsyncGenerator<string> {
    try {
      yield* names(100);
    } finally {
      closed = true;
    }
  }
  for await (const r of lookupMany(source(), { resolver, concurrency: 4 })) {
    assert.equal(r.item, "d0.test");
    await until(() => resolver.outstanding.size === 3);
    break;
  }
  assert.deepEqual(resolver.aborted.filter((q) => q.endsWith(" MX")).sort(), [
    "d1.test MX",
    "d2.test MX",
    "d3.test MX",
  ]);
  assert.ok(closed, "the source was not closed");
});

Deno.test("lookupMany() delivers the domains read before the input failed, then its error", async () => {
  const resolver = new FakeQuerier();
  async function* source(): AsyncGenerator<string> {
    yield "d0.test";
    yield "d1.test";
    throw new Error("Input error");
  }
  const got: string[] = [];
  await assert.rejects(async () => {
    for await (const r of lookupMany(source(), { resolver })) got.push(r.item);
  }, { message: "Input error" });
  assert.deepEqual(got, ["d0.test", "d1.test"]);
});

Deno.test("lookupMany() passes on what a lookup throws as that domain's error", async () => {
  const fake = new FakeQuerier();
  const failing: Querier = {
    query: (name, type, options) =>
      name.includes("bug") ? Promise.reject(new TypeError("Bug")) : fake.query(name, type, options),
  };
  const results = await collect(lookupMany(["d1.test", "bug.test"], { resolver: failing }));
  assert.equal(results[0].report.outcome, "ok");
  assert.ok(results[1].error instanceof TypeError);
  assert.equal(results[1].report.outcome, "internal");
  assert.equal(results[1].report.reason, "Internal error: Bug");
});

Deno.test("lookupMany() rejects a concurrency below 1 and a deadline of 0", async () => {
  const resolver = new FakeQuerier();
  await assert.rejects(collect(lookupMany(["d1.test"], { resolver, concurrency: 0 })), RangeError);
  await assert.rejects(
    collect(lookupMany(["d1.test"], { resolver, concurrency: 1.5 })),
    RangeError,
  );
  await assert.rejects(collect(lookupMany(["d1.test"], { resolver, deadlineMs: 0 })), RangeError);
});

Deno.test("lookupMany() gives each domain only its own round trips from a shared resolver", async () => {
  await using server = FakeDnsServer.start(async (query) => {
    const q = query.questions[0];
    // Overlap the two lookups' exchanges.
    await sleep(q.name.startsWith("b") ? 1 : 5);
    if (q.type === "MX") return reply(query, { answers: [rr.mx(q.name, 10, `mx.${q.name}`)] });
    if (q.type === "A") return reply(query, { answers: [rr.a(q.name, "192.0.2.1")] });
    return reply(query, { rcode: q.type === "TXT" ? "NXDOMAIN" : "NOERROR" });
  });
  const resolver = new Resolver({
    servers: [server.nameServer],
    timeoutMs: 2000,
    attempts: 1,
  });
  const results = await collect(lookupMany(["a.test", "b.test"], { resolver }));
  for (const { item: domain, report } of results) {
    const asked = report.trace.map((t) => `${t.name} ${t.type}`).sort();
    assert.deepEqual(asked, [
      `_mta-sts.${domain} TXT`,
      `${domain} MX`,
      `mx.${domain} A`,
      `mx.${domain} AAAA`,
    ]);
  }
});
