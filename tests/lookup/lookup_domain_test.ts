import assert from "node:assert/strict";
import { DnsError } from "../../lib/errors.ts";
import { lookupDomain } from "../../lib/lookup/lookup_domain.ts";
import { StsStore } from "../../lib/sts/store.ts";
import { renderJson } from "../../lib/report/json.ts";
import { StsError } from "../../lib/sts/errors.ts";
import { assertValidReport } from "../_schema.ts";
import type { Querier, ResolverQueryOptions } from "../../lib/resolver/resolver.ts";
import type { ResourceRecord } from "../../lib/wire/message.ts";
import { answer } from "../fakes/answer.ts";

const rr = (name: string, data: ResourceRecord["data"]): ResourceRecord => ({
  name,
  type: data.type,
  class: "IN",
  ttl: 300,
  data,
});

/** a.test: MX 10 mx.a.test at 192.0.2.1; no AAAA, no STS record; `slow` names never answer. */
const querier: Querier = {
  query(name: string, type: string, options?: ResolverQueryOptions) {
    options?.onExchange?.({ server: "fake", name, type, transport: "udp", edns: false, ms: 1 });
    if (name.startsWith("slow")) {
      return new Promise((_, reject) =>
        options?.signal?.addEventListener("abort", () => reject(options.signal?.reason))
      );
    }
    if (name === "a.test" && type === "MX") {
      return Promise.resolve(answer(name, type, [rr(name, {
        type: "MX",
        preference: 10,
        exchange: "mx.a.test",
      })]));
    }
    if (name === "mx.a.test" && type === "A") {
      return Promise.resolve(answer(name, type, [rr(name, { type: "A", address: "192.0.2.1" })]));
    }
    return Promise.reject(new DnsError("NODATA", `${name} has no ${type}`, { name, type }));
  },
};

Deno.test("lookupDomain() reports hosts, [ LOCAL ] from the configuration, and its round trips", async () => {
  const report = await lookupDomain("a.test", {
    resolver: querier,
    local: { locals: "mx.a.test\n", hostname: "vm" },
  });
  assert.equal(report.outcome, "ok");
  assert.deepEqual(report.hosts.map((h) => [h.host, h.priority, h.local, h.addresses]), [
    ["mx.a.test", 10, true, [{ ip: "192.0.2.1", family: 4, dnssec: false }]],
  ]);
  assert.deepEqual(report.trace.map((t) => `${t.name} ${t.type}`).sort(), [
    "_mta-sts.a.test TXT",
    "a.test MX",
    "mx.a.test A",
    "mx.a.test AAAA",
  ]);
  assert.equal(report.sts.policy, undefined);
});

Deno.test("lookupDomain() ends at its deadline with the outcome deadline", async () => {
  const report = await lookupDomain("slow.test", { resolver: querier, deadlineMs: 5 });
  assert.equal(report.outcome, "deadline");
  assert.equal((report.error as DOMException).name, "TimeoutError");
  assert.deepEqual(report.hosts, []);
});

Deno.test("lookupDomain() rejects with the caller's abort reason", async () => {
  const controller = new AbortController();
  const lookup = lookupDomain("slow.test", { resolver: querier, signal: controller.signal });
  controller.abort(new Error("Stopped"));
  await assert.rejects(lookup, { message: "Stopped" });
});

Deno.test("lookupDomain() gives one reason for a name neither MX nor STS can use", async () => {
  const long = `${"a".repeat(64)}.test`;
  const report = await lookupDomain(long, { resolver: querier });
  assert.equal(report.outcome, "internal");
  assert.match(report.reason ?? "", /label longer than 63 octets/);
  assert.equal(report.sts.reason, undefined);
});

Deno.test("lookupDomain() times every trace entry from its start (or traceOrigin), the cache read included", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lookup_domain_trace_" });
  try {
    const before = performance.now();
    const report = await lookupDomain("a.test", { resolver: querier, store: new StsStore(dir) });
    const after = performance.now();
    const file = report.trace.filter((t) => t.transport === "file");
    assert.deepEqual(file.map((t) => [t.server, t.name, t.type, t.rcode]), [
      ["cache", "a.test", "POLICY", "NONE"],
    ]);
    assert.equal(report.trace.length, 5);
    for (const t of report.trace) {
      assert.ok(t.startMs >= 0 && t.startMs <= after - before, `${t.name} ${t.type}`);
    }
    // Counted from the process's start instead: no entry can begin before this test did.
    const fromStart = await lookupDomain("a.test", { resolver: querier, traceOrigin: 0 });
    for (const t of fromStart.trace) assert.ok(t.startMs >= before, `${t.name} ${t.type}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lookupDomain() carries the StsError beside the STS reason; --json gives its kind", async () => {
  // a.test as above, but the TXT query fails: the policy's state is unknown.
  const servfail: Querier = {
    query: (name, type, options) =>
      type === "TXT"
        ? Promise.reject(new DnsError("SERVFAIL", `${name}: SERVFAIL`, { name, type }))
        : querier.query(name, type, options),
  };
  const report = await lookupDomain("a.test", { resolver: servfail });
  assert.equal(report.outcome, "ok");
  assert.equal(report.sts.reason, "Cannot look up the MTA-STS record: _mta-sts.a.test: SERVFAIL");
  assert.ok(report.sts.error instanceof StsError);
  assert.equal(report.sts.error.kind, "TXT_LOOKUP");
  assert.equal((report.sts.error.cause as DnsError).kind, "SERVFAIL");
  const json = JSON.parse(JSON.stringify(renderJson(report)));
  assertValidReport(json);
  assert.deepEqual([json.sts.reason, json.sts.errorKind], [report.sts.reason, "TXT_LOOKUP"]);
  const fine = renderJson(await lookupDomain("a.test", { resolver: querier }));
  assert.deepEqual([fine.sts.reason, fine.sts.errorKind], [null, null]);
});
