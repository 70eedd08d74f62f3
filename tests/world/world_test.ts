// Proves the test world works: DNS answers inside the namespace, DNSSEC validation,
// the run environment (hostname, /etc, STS directory, timeouts) and Courier's binary
// against every case in cases.ts. Skips loudly when the machine cannot host a world.
import assert from "node:assert/strict";
import { matchesCase, WORLD_CASES } from "./cases.ts";
import { startWorld, type World, worldUnavailableReason } from "./world.ts";

const unavailable = worldUnavailableReason();
if (unavailable !== undefined) {
  console.warn(`SKIPPING tests/world/world_test.ts: test world unavailable: ${unavailable}`);
}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** What the host has at the paths a run overlays, to prove they stay untouched. */
async function hostSnapshot(): Promise<string> {
  const parts = [];
  for (const path of ["/etc/resolv.conf", "/etc/passwd", "/etc/group", "/etc/hosts"]) {
    parts.push(`${path}=${await Deno.readTextFile(path).catch(() => "<absent>")}`);
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
      assert.ok(startMs < 3000, `start-up took ${Math.round(startMs)} ms`);

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
