// Proves the test world works: DNS answers inside the namespace, DNSSEC validation,
// the run environment (hostname, /etc, STS directory, timeouts) and Courier's binary
// against every case in cases.ts. Skips loudly when the machine cannot host a world.
import assert from "node:assert/strict";
import { matchesCase, WORLD_CASES } from "./cases.ts";
import { normaliseCtime, servedPolicy, STS_CASES, STS_SEQUENCE } from "./sts_cases.ts";
import { POLICY_PATH, startWorld, type World, worldUnavailableReason } from "./world.ts";

const unavailable = worldUnavailableReason();
if (unavailable !== undefined) {
  console.warn(`SKIPPING tests/world/world_test.ts: test world unavailable: ${unavailable}`);
}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** What the host has at the paths a run overlays, to prove they stay untouched. */
async function hostSnapshot(): Promise<string> {
  const parts = [];
  for (
    const path of ["/etc/resolv.conf", "/etc/passwd", "/etc/group", "/etc/hosts", "/etc/wgetrc"]
  ) {
    parts.push(`${path}=${await Deno.readTextFile(path).catch(() => "<absent>")}`);
  }
  // nginx must not create or touch anything of its own installation.
  for (const dir of ["/var/lib/nginx", "/var/log/nginx", "/run"]) {
    const names: string[] = [];
    try {
      for await (const entry of Deno.readDir(dir)) {
        if (dir !== "/run" || entry.name.startsWith("nginx")) names.push(entry.name);
      }
    } catch { /* absent */ }
    parts.push(`${dir}/: ${names.sort().join(" ")}`);
  }
  for (const path of ["/etc/courier", "/var/lib/courier", "/etc/wgetrc.world"]) {
    parts.push(`${path}:${await Deno.stat(path).then(() => "present", () => "absent")}`);
  }
  parts.push(`hostname=${Deno.hostname()}`);
  return parts.join("\n");
}

function dig(world: World, ...args: string[]): Promise<string> {
  return world.run(["dig", "+time=2", "+tries=1", "@127.0.0.1", ...args], { timeoutMs: 10_000 })
    .then((r) => {
      assert.equal(r.code, 0, text(r.stderr));
      return text(r.stdout);
    });
}

const flags = (digOutput: string): string[] =>
  /;; flags: ([a-z ]+);/.exec(digOutput)?.[1].trim().split(" ") ?? [];

Deno.test({
  name: "test world answers, validates and runs Courier's testmxlookup",
  ignore: unavailable !== undefined,
  sanitizeResources: true,
  sanitizeOps: true,
  async fn(t) {
    const before = await hostSnapshot();
    const started = performance.now();
    const world = await startWorld();
    const startMs = performance.now() - started;
    try {
      await t.step("dig inside the namespace gets the MX of a case", async () => {
        const out = await dig(world, "+short", "two-mx.test", "MX");
        assert.deepEqual(out.trim().split("\n").sort(), [
          "10 mx1.two-mx.test.",
          "20 mx2.two-mx.test.",
        ]);
      });

      await t.step("signed.test validates (AD), unsigned.test does not", async () => {
        assert.ok(flags(await dig(world, "+dnssec", "signed.test", "MX")).includes("ad"));
        assert.ok(!flags(await dig(world, "+dnssec", "unsigned.test", "MX")).includes("ad"));
        assert.match(await dig(world, "+dnssec", "bogus.test", "MX"), /status: SERVFAIL/);
      });

      await t.step("big.test is truncated over UDP without EDNS", async () => {
        const out = await dig(world, "+noedns", "+ignore", "big.test", "MX");
        assert.ok(flags(out).includes("tc"), out);
      });

      await t.step("a run sees the world's hostname, /etc and STS directory", async () => {
        const r = await world.run([
          "sh",
          "-c",
          "hostname; cat /etc/resolv.conf; id -un courier; cat /var/lib/courier/sts/.cache_size",
        ]);
        assert.equal(r.code, 0, text(r.stderr));
        assert.equal(
          text(r.stdout),
          "worldhost\ndomain world.test\nnameserver 127.0.0.1\ncourier\n0\n",
        );
        await world.writeEtc("courier/me", "mail.world.test\n");
        const me = await world.run(["cat", "/etc/courier/me"]);
        assert.equal(text(me.stdout), "mail.world.test\n");
        await world.writeEtc("courier/me", null);
      });

      await t.step("the STS directory is shared between runs and the host", async () => {
        const r = await world.run(["sh", "-c", "echo x >/var/lib/courier/sts/probe"]);
        assert.equal(r.code, 0, text(r.stderr));
        assert.equal(await Deno.readTextFile(`${world.stsDir}/probe`), "x\n");
        await world.resetSts(null);
        assert.deepEqual([...Deno.readDirSync(world.stsDir)], []);
        await world.resetSts();
      });

      await t.step("run passes stdin and kills on timeout", async () => {
        const cat = await world.run(["cat"], { stdin: "hello\n" });
        assert.equal(text(cat.stdout), "hello\n");
        const t0 = performance.now();
        const slow = await world.run(["sh", "-c", "sleep 20 & sleep 20"], { timeoutMs: 300 });
        assert.ok(performance.now() - t0 < 5000);
        assert.equal(slow.timedOut, true);
        assert.equal(slow.code, 137);
      });

      await t.step("wget in a run fetches policies over HTTPS with the world's CA", async () => {
        const wget = (domain: string) =>
          world.run([
            "wget",
            "--no-hsts",
            "--server-response",
            "--timeout=5",
            "--tries=1",
            "--max-redirect=0",
            "-q",
            "-O",
            "-",
            `https://mta-sts.${domain}${POLICY_PATH}`,
          ], { timeoutMs: 10_000 });
        const ok = await wget("sts-enforce.test");
        assert.equal(ok.code, 0, text(ok.stderr));
        assert.equal(text(ok.stdout), servedPolicy("sts-enforce.test"));
        assert.match(text(ok.stderr), /^ {2}Content-Type: text\/plain$/m);
        const html = await wget("sts-html.test");
        assert.match(text(html.stderr), /^ {2}Content-Type: text\/html$/m);
        // The untrusted certificate fails verification (wget: exit 5, SSL failure).
        const untrusted = await wget("sts-untrusted.test");
        assert.equal(untrusted.code, 5, text(untrusted.stderr));
        // The CA the runs trust, through the paths both tools read.
        const etc = await world.run(["sh", "-c", "cat /etc/wgetrc /etc/courier/courierd"]);
        assert.equal(
          text(etc.stdout).split("\n").filter((l) => !l.startsWith("#")).join("\n"),
          `ca_certificate = ${world.caFile}\nTLS_TRUSTCERTS=${world.caFile}\n`,
        );
      });

      await t.step("policy files: readSts, setStsMtime, writePolicy, policyRequests", async () => {
        await world.resetSts(null);
        await Deno.writeTextFile(`${world.stsDir}/probe.test`, "1\nid:x\n\nmode: none\n");
        await world.setStsMtime("probe.test", 1_000_000_000);
        const files = await world.readSts();
        assert.deepEqual([...files.keys()], ["probe.test"]);
        assert.equal(files.get("probe.test")!.mtime, 1_000_000_000);
        const before = (await world.policyRequests()).length;
        await world.writePolicy("sts-testing.test", "changed\n");
        const r = await world.run([
          "wget",
          "--no-hsts",
          "-q",
          "-O",
          "-",
          `https://mta-sts.sts-testing.test${POLICY_PATH}`,
        ]);
        assert.equal(text(r.stdout), "changed\n");
        await world.writePolicy("sts-testing.test", servedPolicy("sts-testing.test"));
        assert.deepEqual((await world.policyRequests()).slice(before), [
          `mta-sts.sts-testing.test GET ${POLICY_PATH} 200 8`,
        ]);
        await world.resetSts();
      });

      await t.step({
        name: "Courier prints STS: enforcing for sts-enforce.test",
        ignore: world.courierBin === undefined,
        async fn() {
          await world.resetSts(null);
          const r = await world.run([world.courierBin!, "sts-enforce.test"]);
          assert.equal(r.code, 0, text(r.stderr));
          assert.equal(text(r.stdout).split("\n")[1], "STS: enforcing");
          await world.resetSts();
        },
      });

      await t.step({
        name: "Courier's STS results match sts_cases.ts (each case on an empty cache)",
        ignore: world.courierBin === undefined,
        async fn() {
          for (const kase of STS_CASES) {
            await world.resetSts(null);
            const before = (await world.policyRequests()).length;
            const r = await world.run([world.courierBin!, kase.domain], { env: { TZ: "UTC" } });
            const label = `testmxlookup ${kase.domain}`;
            const lines = (list: string[]) => list.map((l) => `${l}\n`).join("");
            assert.equal(r.code, kase.exit, `${label}: exit ${r.code}`);
            assert.equal(text(r.stdout), lines(kase.stdout), label);
            assert.equal(text(r.stderr), lines(kase.stderr), label);
            const cache = Object.fromEntries(
              [...await world.readSts()].map(([name, file]) => [name, text(file.bytes)]),
            );
            assert.deepEqual(cache, kase.cache, `${label}: cache`);
            assert.deepEqual((await world.policyRequests()).slice(before), kase.requests, label);
          }
          await world.resetSts();
        },
      });

      await t.step({
        name: "Courier's cache sequence matches sts_cases.ts",
        ignore: world.courierBin === undefined,
        async fn() {
          await world.resetSts(null);
          for (const step of STS_SEQUENCE) {
            const now = Math.floor(Date.now() / 1000);
            for (const [name, age] of Object.entries(step.ageBefore ?? {})) {
              await world.setStsMtime(name, now - age);
            }
            const label = `testmxlookup ${step.argv.join(" ")}`;
            const started = Math.floor(Date.now() / 1000);
            const r = await world.run([world.courierBin!, ...step.argv], { env: { TZ: "UTC" } });
            const ended = Math.ceil(Date.now() / 1000);
            const lines = (list: string[]) => list.map((l) => `${l}\n`).join("");
            const out = normaliseCtime(text(r.stdout));
            assert.equal(r.code, step.exit, `${label}: exit ${r.code}`);
            assert.equal(out.stdout, lines(step.stdout), label);
            if (out.timestamp !== undefined) {
              // The displayed timestamp is the fetch, or the cache file's mtime.
              assert.ok(out.timestamp >= started - 5 && out.timestamp <= ended, label);
            }
            assert.equal(text(r.stderr), lines(step.stderr), label);
            const cache = Object.fromEntries(
              [...await world.readSts()].map(([name, file]) => [name, text(file.bytes)]),
            );
            assert.deepEqual(cache, step.cache, `${label}: cache`);
          }
          await world.resetSts();
        },
      });

      await t.step({
        name: "Courier's testmxlookup prints the recorded output for every case",
        ignore: world.courierBin === undefined,
        async fn() {
          const bin = world.courierBin!;
          for (const kase of WORLD_CASES) {
            const r = await world.run([bin, ...kase.argv], { timeoutMs: 20_000 });
            const out = text(r.stdout);
            const label = `testmxlookup ${kase.argv.join(" ")}`;
            assert.equal(r.code, kase.exit, `${label}: exit ${r.code}\n${out}`);
            assert.ok(matchesCase(kase, out), `${label}:\n${out}`);
            assert.equal(text(r.stderr), "", `${label}: stderr`);
          }
        },
      });
      if (world.courierBin === undefined) {
        console.warn(`SKIPPING Courier cases: ${world.courierUnavailableReason}`);
      }
    } finally {
      const stopped = performance.now();
      await world.stop();
      console.log(
        `world start ${Math.round(startMs)} ms, stop ${Math.round(performance.now() - stopped)} ms`,
      );
    }

    assert.equal(await hostSnapshot(), before, "host /etc, /var/lib or hostname changed");
    const namespaces = new TextDecoder().decode(
      (await new Deno.Command("ip", { args: ["netns", "list"] }).output()).stdout,
    );
    assert.ok(!namespaces.includes(world.ns), `namespace ${world.ns} left behind`);
    await assert.rejects(Deno.stat(world.dir), Deno.errors.NotFound);
    await assert.rejects(Deno.stat(`/etc/netns/${world.ns}`), Deno.errors.NotFound);
  },
});
