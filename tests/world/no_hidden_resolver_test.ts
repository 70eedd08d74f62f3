// Every DNS packet the tool causes goes to the servers of the run (D1), and nothing in the
// process reads resolv.conf through glibc: resolv.conf names a decoy that counts what it
// receives, the tool runs with `@<Unbound>`, and the decoy must hear nothing, with the policy
// downloaded, read from the cache, or absent. Then resolv.conf files that make glibc abort
// (a 3,000-character `search` name, a `domain` line of 65,000 dots) give the normal report.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { mailServersUnavailableReason, startMailServers } from "./mail_servers.ts";
import { lookupFlags, MAIN } from "./tool.ts";
import { type RunResult, startWorld, type World, worldUnavailableReason } from "./world.ts";

const unavailable = worldUnavailableReason();
if (unavailable !== undefined) {
  console.warn(
    `SKIPPING tests/world/no_hidden_resolver_test.ts: test world unavailable: ${unavailable}`,
  );
}

/** Where the decoy listens: a loopback address nothing else in the world uses. */
const DECOY = "127.0.0.53";
/** The world's Unbound. */
const RESOLVER = "127.0.0.1";
const DECOY_SCRIPT = fileURLToPath(new URL("./decoy_resolver.ts", import.meta.url));
const ENV = { TZ: "UTC" };

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const sortedLines = (bytes: Uint8Array): string[] => text(bytes).split("\n").sort();

function describe(argv: string[], r: RunResult): string {
  return `${argv.join(" ")}: exit ${r.code}\n--- stdout\n${text(r.stdout)}` +
    `--- stderr\n${text(r.stderr)}`;
}

/** The decoy's output lines so far (`ready`, then one per packet). */
async function decoyLines(world: World): Promise<string[]> {
  try {
    return (await Deno.readTextFile(`${world.dir}/decoy.out`)).split("\n").filter((l) => l);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/** Packets the decoy has received so far. */
async function decoyPackets(world: World): Promise<number> {
  return (await decoyLines(world)).filter((l) => l !== "ready").length;
}

async function startDecoy(world: World): Promise<void> {
  world.spawn("decoy", [
    Deno.execPath(),
    "run",
    "--unstable-net",
    "--allow-net",
    DECOY_SCRIPT,
    DECOY,
    "300",
  ]);
  // Bounded: 200 polls of 25 ms.
  for (let i = 0; i < 200; i++) {
    if ((await decoyLines(world)).includes("ready")) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`the decoy did not start: ${(await decoyLines(world)).join(" ")}`);
}

Deno.test({
  name: "world: with @server no DNS packet reaches resolv.conf's name server, policy or not",
  ignore: unavailable !== undefined,
  async fn(t) {
    await using world = await startWorld({ stsCacheSize: null });
    await startDecoy(world);
    await world.writeEtc("resolv.conf", `nameserver ${DECOY}\n`);
    const flags = await lookupFlags();
    const ours = (argv: string[]) =>
      world.run([Deno.execPath(), "run", ...flags, MAIN, ...argv], { env: ENV });

    await t.step("the decoy counts what a run without @server sends it", async () => {
      const argv = ["two-mx.test"];
      const r = await ours(argv);
      assert.equal(text(r.stdout), "two-mx.test: soft error.\n", describe(argv, r));
      assert.ok(await decoyPackets(world) > 0);
    });

    const cases: [string, string, (r: RunResult) => void][] = [
      ["sts-enforce.test", "empty cache: the policy is downloaded", (r) => {
        assert.match(text(r.stdout), /^Domain sts-enforce\.test:\nSTS: enforcing\n/);
      }],
      ["sts-enforce.test", "the policy is cached", (r) => {
        assert.match(text(r.stdout), /^Domain sts-enforce\.test:\nSTS: enforcing\n/);
      }],
      ["two-mx.test", "no policy", (r) => {
        assert.match(text(r.stdout), /^Domain two-mx\.test:\n/);
      }],
      ["sts-no-host.test", "a TXT id but no policy host", (r) => {
        assert.match(text(r.stdout), /^Domain sts-no-host\.test:\n/);
      }],
    ];
    await world.resetSts(null);
    for (const [domain, what, check] of cases) {
      await t.step(`${domain} (${what}): 0 packets to the decoy`, async () => {
        const before = await decoyPackets(world);
        const requests = (await world.policyRequests()).length;
        const argv = [`@${RESOLVER}`, domain];
        const r = await ours(argv);
        assert.equal(r.code, 0, describe(argv, r));
        check(r);
        assert.equal(await decoyPackets(world) - before, 0, describe(argv, r));
        const downloads = (await world.policyRequests()).length - requests;
        assert.equal(downloads, what.startsWith("empty cache") ? 1 : 0, describe(argv, r));
      });
    }

    // --probe: TLSA, TLS-RPT and the SMTP connections (to addresses only) add no resolution.
    const noMail = mailServersUnavailableReason();
    await t.step({
      name: "--probe (TLSA, TLS-RPT, SMTP and TLS): 0 packets to the decoy",
      ignore: noMail !== undefined,
      async fn() {
        await startMailServers(world);
        for (const domain of ["probe-good.test", "dane-mx.signed.test"]) {
          const before = await decoyPackets(world);
          const argv = [`@${RESOLVER}`, "--probe", domain];
          const r = await ours(argv);
          assert.equal(r.code, 0, describe(argv, r));
          assert.match(
            text(r.stdout),
            /^Probe: (all \d+ addresses accept|the only address accepts) delivery$/m,
          );
          assert.equal(await decoyPackets(world) - before, 0, describe(argv, r));
        }
      },
    });
  },
});

Deno.test({
  name: "world: resolv.conf lines that make glibc abort give the normal report, no abort",
  ignore: unavailable !== undefined,
  async fn(t) {
    await using world = await startWorld({ stsCacheSize: null });
    const flags = await lookupFlags();
    const ours = (argv: string[]) =>
      world.run([Deno.execPath(), "run", ...flags, MAIN, ...argv], { env: ENV });
    const argv = ["sts-enforce.test"];
    await world.resetSts(null);
    const normal = await ours(argv);
    assert.equal(normal.code, 0, describe(argv, normal));
    const odd: [string, string][] = [
      ["a search name of 3,000 characters", `search ${"a".repeat(3000)}.test\n`],
      ["a domain line of 65,000 dots", `domain ${".".repeat(65_000)}\n`],
    ];
    for (const [what, line] of odd) {
      await t.step(what, async () => {
        await world.writeEtc("resolv.conf", `nameserver ${RESOLVER}\n${line}`);
        // The download is where the system resolver used to be asked: an empty cache each time.
        await world.resetSts(null);
        const r = await ours(argv);
        assert.notEqual(r.code, 134, describe(argv, r));
        assert.equal(r.code, normal.code, describe(argv, r));
        assert.equal(text(r.stdout), text(normal.stdout), describe(argv, r));
        assert.equal((await world.readSts()).has("sts-enforce.test"), true);
        if (world.courierBin !== undefined) {
          await world.resetSts(null);
          const c = await world.run([world.courierBin, ...argv], { env: ENV });
          const label = describe(["courier", ...argv], c);
          assert.equal(c.code, r.code, label);
          // Courier's MX lines, in its random order: compared as sets. Its policy download is
          // wget, which resolves through glibc and fails on such a file, so Courier has no
          // policy here (no STS line); this tool downloads it as with a normal file.
          const relays = (bytes: Uint8Array) =>
            sortedLines(bytes).filter((l) => l !== "STS: enforcing");
          assert.deepEqual(relays(c.stdout), relays(r.stdout), label);
          assert.doesNotMatch(text(c.stdout), /^STS:/m, label);
        }
      });
    }
  },
});
