import assert from "node:assert/strict";
import { parseAddress } from "../../lib/address.ts";
import { DnsError } from "../../lib/errors.ts";
import { failedReport, NO_STS, toDomainReport } from "../../lib/lookup/domain_report.ts";
import type { MxResult } from "../../lib/mx/lookup.ts";
import type { StsResult } from "../../lib/sts/lookup.ts";

const POLICY_TEXT = "version: STSv1\nmode: enforce\nmx: good.a.test\nmax_age: 86400\n";

function sts(mode: "enforce" | "testing" | "none"): StsResult {
  return {
    enabled: true,
    policy: { version: "STSv1", mode, maxAge: 86400, mx: ["good.a.test"], text: POLICY_TEXT },
    id: "id1",
    source: "fetch",
    timestampSec: 1_700_000_000,
    cache: "written",
    warnings: [],
  };
}

const entry = (host: string, priority: number, ip: string, dnssec = false) => ({
  host,
  priority,
  address: parseAddress(ip)!,
  family: ip.includes(":") ? 6 as const : 4 as const,
  dnssec,
});

const host = (name: string, priority: number, outcome: "ok" | "soft" | "hard" = "ok") => ({
  host: name,
  priority,
  outcome,
  source: "query" as const,
  errors: [],
});

/** Two listed hosts (bad.a.test sorts first), one host without addresses. */
const MX: MxResult = {
  domain: "a.test",
  queryName: "a.test",
  outcome: "ok",
  hosts: [host("good.a.test", 10), host("bad.a.test", 10), host("gone.a.test", 20, "hard")],
  entries: [
    entry("bad.a.test", 10, "192.0.2.2"),
    entry("good.a.test", 10, "192.0.2.1", true),
    entry("good.a.test", 10, "2001:db8::1", true),
  ],
  warnings: ["a warning"],
};

Deno.test("toDomainReport() nests addresses under hosts in print order, the rest after", () => {
  const report = toDomainReport({
    domain: "a.test",
    mx: MX,
    sts: NO_STS,
    trace: [],
    durationMs: 3,
  });
  assert.deepEqual(report.hosts.map((h) => [h.host, h.addresses]), [
    ["bad.a.test", [{ ip: "192.0.2.2", family: 4, dnssec: false }]],
    ["good.a.test", [
      { ip: "192.0.2.1", family: 4, dnssec: true },
      { ip: "2001:db8::1", family: 6, dnssec: true },
    ]],
    ["gone.a.test", []],
  ]);
  assert.equal(report.outcome, "ok");
  assert.equal(report.queryName, "a.test");
  assert.deepEqual(report.warnings, ["a warning"]);
  assert.equal(report.stsMode, undefined);
  assert.ok(report.hosts.every((h) => h.stsMatch === null && !h.local));
});

Deno.test("toDomainReport() decides each host's STS match only under an active policy", () => {
  for (const mode of ["enforce", "testing"] as const) {
    const report = toDomainReport({
      domain: "a.test",
      mx: MX,
      sts: sts(mode),
      trace: [],
      durationMs: 0,
    });
    assert.equal(report.stsMode, mode);
    assert.deepEqual(report.hosts.map((h) => [h.host, h.stsMatch]), [
      ["bad.a.test", false],
      ["good.a.test", true],
      ["gone.a.test", false],
    ]);
  }
  const none = toDomainReport({
    domain: "a.test",
    mx: MX,
    sts: sts("none"),
    trace: [],
    durationMs: 0,
  });
  assert.equal(none.stsMode, "none");
  assert.ok(none.hosts.every((h) => h.stsMatch === null));
});

Deno.test("toDomainReport() marks local hosts with the caller's test", () => {
  const report = toDomainReport({
    domain: "a.test",
    mx: MX,
    sts: NO_STS,
    isLocal: (name) => name === "good.a.test",
    trace: [],
    durationMs: 0,
  });
  assert.deepEqual(report.hosts.map((h) => h.local), [false, true, false]);
});

Deno.test("toDomainReport() without an MX result is the deadline, with its reason", () => {
  const reason = new DOMException("The domain's deadline was reached", "TimeoutError");
  const report = toDomainReport({
    domain: "a.test",
    sts: NO_STS,
    error: reason,
    trace: [],
    durationMs: 9,
  });
  assert.equal(report.outcome, "deadline");
  assert.equal(report.reason, "the run's deadline was reached");
  assert.equal(report.error, reason);
  assert.deepEqual(report.hosts, []);
});

Deno.test("toDomainReport() keeps the DNS error of a failed lookup", () => {
  const error = new DnsError("NXDOMAIN", '"a.test" does not exist');
  const mx: MxResult = { ...MX, outcome: "hard", entries: [], hosts: [], error, reason: "none" };
  const report = toDomainReport({ domain: "a.test", mx, sts: NO_STS, trace: [], durationMs: 0 });
  assert.equal(report.error, error);
  assert.equal(report.reason, "none");
});

Deno.test("failedReport() is an internal error, or aborted, keeping what was thrown", () => {
  const bug = new TypeError("Bug\nat somewhere");
  assert.deepEqual(
    [failedReport("a.test", bug).outcome, failedReport("a.test", bug).reason],
    ["internal", "Internal error: Bug"],
  );
  const aborted = failedReport("a.test", new DOMException("stop", "AbortError"), "aborted");
  assert.equal(aborted.outcome, "aborted");
  assert.equal((aborted.error as DOMException).name, "AbortError");
});
