// `--probe` through the command line, end to end in the test world: the tool as `deno task
// lookup` runs it, against Unbound and the mail servers of mail_servers.ts (zones: probe-*.test,
// dane-*mx.signed.test). Text lines, the `--json` report (validated against the schema), and the
// exit status of D33 (0, 2, 3) and of `--batch` (the worst domain's, D35).
import assert from "node:assert/strict";
import { assertValidReport } from "../_schema.ts";
import { mailServersUnavailableReason, startMailServers } from "./mail_servers.ts";
import { toolCommand } from "./tool.ts";
import { type RunResult, startWorld, type World, worldUnavailableReason } from "./world.ts";

const unavailable = worldUnavailableReason() ?? mailServersUnavailableReason();
if (unavailable !== undefined) {
  console.warn(`SKIPPING tests/world/probe_cli_test.ts: mail servers unavailable: ${unavailable}`);
}

const RESOLVER = "@127.0.0.1";
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

function describe(argv: readonly string[], r: RunResult): string {
  return `${argv.join(" ")}: exit ${r.code}\n--- stdout\n${text(r.stdout)}` +
    `--- stderr\n${text(r.stderr)}`;
}

async function tool(world: World, argv: string[], stdin?: string): Promise<RunResult> {
  return await world.run(await toolCommand([RESOLVER, ...argv]), {
    env: { TZ: "UTC" },
    timeoutMs: 60_000,
    ...(stdin === undefined ? {} : { stdin }),
  });
}

// deno-lint-ignore no-explicit-any
type Json = any;

async function json(world: World, domain: string, code: number): Promise<Json> {
  const argv = ["--probe", "--probe-timeout", "5", "--json", domain];
  const r = await tool(world, argv);
  assert.equal(r.code, code, describe(argv, r));
  const report = JSON.parse(text(r.stdout));
  assertValidReport(report);
  assert.equal(report.exitCode, code);
  return report;
}

/** Each address's probe as [ip, reached, starttls, dane, sts, fails]. */
function verdicts(report: Json): unknown[][] {
  return report.mx.flatMap((host: Json) =>
    host.addresses.map((a: Json) => [
      a.ip,
      a.probe.reached,
      a.probe.starttls,
      a.probe.dane,
      a.probe.sts,
      a.probe.fails,
    ])
  );
}

Deno.test({
  name: "world: --probe through the command line: text, JSON, exit status 0/2/3, --batch",
  ignore: unavailable !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    // STS on (no `.cache_size`), as on a fresh machine: probe-sts.test has a policy.
    await using world = await startWorld({ stsCacheSize: null });
    await startMailServers(world);

    await t.step("a healthy domain: text lines under each Relay line, exit 0", async () => {
      const argv = ["--probe", "--helo", "client.world.test", "probe-good.test"];
      const r = await tool(world, argv);
      assert.equal(r.code, 0, describe(argv, r));
      const lines = text(r.stdout).split("\n");
      const relay4 = "Relay: mx.probe.test, Priority: 10, Address: ::ffff:127.0.25.1";
      const relay6 = "Relay: mx.probe.test, Priority: 10, Address: 2001:db8:25::1";
      assert.equal(lines[0], "Domain probe-good.test:", describe(argv, r));
      for (const relay of [relay4, relay6]) {
        const at = lines.indexOf(relay);
        assert.ok(at > 0, describe(argv, r));
        assert.match(lines[at + 1], /^ {2}SMTP: greeted, STARTTLS, TLSv1\.[23] \S+$/);
        assert.match(
          lines[at + 2],
          /^ {2}Certificate: trusted, valid for mx\.probe\.test, expires \d{4}-\d\d-\d\d \(\d+ days left\); key SHA-256 [0-9a-f]{64}$/,
        );
        assert.equal(lines[at + 3], "  Verdict: ok");
      }
      assert.deepEqual(lines.slice(-3), [
        "TLS-RPT: reports to mailto:tls@probe-good.test",
        "Probe: all 2 addresses accept delivery",
        "",
      ]);
    });

    await t.step("without --probe, no probe line", async () => {
      const argv = ["probe-good.test"];
      const r = await tool(world, argv);
      assert.equal(r.code, 0, describe(argv, r));
      assert.equal(
        text(r.stdout),
        "Domain probe-good.test:\n" +
          "Relay: mx.probe.test, Priority: 10, Address: ::ffff:127.0.25.1\n" +
          "Relay: mx.probe.test, Priority: 10, Address: 2001:db8:25::1\n",
      );
    });

    await t.step("the healthy domain as JSON, against the schema", async () => {
      const report = await json(world, "probe-good.test", 0);
      assert.deepEqual(verdicts(report), [
        ["127.0.25.1", true, true, "none", null, false],
        ["2001:db8:25::1", true, true, "none", null, false],
      ]);
      const cert = report.mx[0].addresses[0].probe.certificate;
      assert.deepEqual(
        [cert.trusted, cert.nameMatches, cert.expired, cert.notYetValid],
        [true, true, false, false],
      );
      assert.deepEqual(report.tlsRpt, {
        status: "valid",
        record: "v=TLSRPTv1; rua=mailto:tls@probe-good.test",
        rua: ["mailto:tls@probe-good.test"],
        reason: null,
      });
      // The DO bit on every query of a probing run, TLSA and TLS-RPT through our resolver.
      // (The trace also holds the cache read, which is no query: D37.)
      const queries = report.trace.filter((e: Json) =>
        e.transport === "udp" || e.transport === "tcp"
      );
      assert.ok(queries.every((e: Json) => e.edns), JSON.stringify(report.trace));
      assert.ok(report.trace.some((e: Json) => e.name === "_25._tcp.mx.probe.test"));
    });

    await t.step("an expired certificate without a policy is a warning: exit 0", async () => {
      const argv = ["--probe", "probe-warn.test"];
      const r = await tool(world, argv);
      assert.equal(r.code, 0, describe(argv, r));
      assert.match(
        text(r.stdout),
        /^ {2}Certificate: trusted, NOT valid for expired\.probe\.test .*EXPIRED on /m,
      );
      assert.match(text(r.stdout), /^ {2}Verdict: delivers \(warnings above\)$/m);
      assert.match(
        text(r.stdout),
        /^TLS-RPT: none published\nProbe: the only address accepts delivery\n$/m,
      );
    });

    await t.step("one MX refuses connections, the other works: exit 2", async () => {
      const report = await json(world, "probe-some.test", 2);
      assert.deepEqual(verdicts(report), [
        ["127.0.25.1", true, true, "none", null, false],
        ["2001:db8:25::1", true, true, "none", null, false],
        ["127.0.25.11", false, null, "none", null, true],
      ]);
      assert.equal(report.mx[1].addresses[0].probe.errorKind, "REFUSED");
      assert.equal(report.tlsRpt.status, "none");
    });

    await t.step("every address fails: exit 3, in words", async () => {
      const argv = ["--probe", "probe-down.test"];
      const r = await tool(world, argv);
      assert.equal(r.code, 3, describe(argv, r));
      assert.match(text(r.stdout), /^ {2}SMTP: not reached: /m);
      assert.match(text(r.stdout), /^ {2}Verdict: FAILS$/m);
      assert.match(text(r.stdout), /^Probe: the only address FAILS: mail will not be delivered$/m);
      await json(world, "probe-down.test", 3);
    });

    await t.step(
      "DANE-EE through the validated MX: matched (exit 0), mismatched (exit 3)",
      async () => {
        const good = await json(world, "dane-mx.signed.test", 0);
        assert.deepEqual(verdicts(good), [["127.0.25.1", true, true, "matched", null, false]]);
        assert.equal(good.mx[0].addresses[0].dnssec, true);
        const bad = await json(world, "dane-bad-mx.signed.test", 3);
        assert.deepEqual(verdicts(bad), [["127.0.25.1", true, true, "mismatched", null, true]]);
        const argv = ["--probe", "dane-bad-mx.signed.test"];
        const r = await tool(world, argv);
        assert.equal(r.code, 3, describe(argv, r));
        assert.match(text(r.stdout), /^ {2}DANE: MISMATCH: DANE senders will not deliver here/m);
      },
    );

    await t.step("MTA-STS enforce: an expired MX and one not listed fail, exit 2", async () => {
      const argv = ["--probe", "--probe-timeout", "5", "probe-sts.test"];
      const r = await tool(world, argv);
      assert.equal(r.code, 2, describe(argv, r));
      const out = text(r.stdout);
      assert.match(out, /^Domain probe-sts\.test:\nSTS: enforcing\n/, describe(argv, r));
      // The probe's lines follow Courier's error line of the address.
      assert.match(
        out,
        /^Relay: other\.probe\.test, Priority: 30, Address: ::ffff:127\.0\.25\.1\nERROR: STS Policy verification failed: other\.probe\.test\n {2}SMTP: greeted, STARTTLS, /m,
      );
      assert.match(out, /^ {2}MTA-STS: FAIL \(MX host not in the policy's mx list\)$/m);
      assert.match(out, /^ {2}MTA-STS: FAIL \(certificate not valid for the MX host name\)$/m);
      assert.match(out, /^Probe: 2 of 4 addresses FAIL$/m);
      const report = await json(world, "probe-sts.test", 2);
      assert.deepEqual(verdicts(report), [
        ["127.0.25.1", true, true, "none", "pass", false],
        ["2001:db8:25::1", true, true, "none", "pass", false],
        ["127.0.25.2", true, true, "none", "fail", true],
        ["127.0.25.1", true, true, "none", "fail", true],
      ]);
    });

    await t.step("a lookup failure keeps Courier's line and status 1", async () => {
      const argv = ["--probe", "nxdomain-probe.test"];
      const r = await tool(world, argv);
      assert.equal(r.code, 1, describe(argv, r));
      assert.equal(text(r.stdout), "nxdomain-probe.test: hard error.\n");
    });

    await t.step("--batch --probe: one line each, the worst status", async () => {
      const argv = ["--batch", "-", "--probe", "--probe-timeout", "5"];
      const r = await tool(world, argv, "probe-good.test\nprobe-some.test\nprobe-down.test\n");
      assert.equal(r.code, 3, describe(argv, r));
      const reports = text(r.stdout).trimEnd().split("\n").map((l) => JSON.parse(l));
      for (const report of reports) assertValidReport(report);
      assert.deepEqual(reports.map((x) => [x.domain, x.exitCode]), [
        ["probe-good.test", 0],
        ["probe-some.test", 2],
        ["probe-down.test", 3],
      ]);
      const some = await tool(world, argv, "probe-good.test\nprobe-some.test\n");
      assert.equal(some.code, 2, describe(argv, some));
    });
  },
});
