// `deno task build` makes the one file that `deno task compile` embeds (D40): it must behave as
// `deno run main.ts` does, byte for byte, on every path that loads code lazily (--batch, --sts,
// --probe) as on a plain lookup, in the test world.
import assert from "node:assert/strict";
import { mailServersUnavailableReason, startMailServers } from "./world/mail_servers.ts";
import { buildInRepository, lookupFlags, MAIN } from "./world/tool.ts";
import { type RunResult, startWorld, worldUnavailableReason } from "./world/world.ts";

const unavailable = worldUnavailableReason() ?? mailServersUnavailableReason();
if (unavailable !== undefined) {
  console.warn(`SKIPPING tests/build_test.ts: the test world is unavailable: ${unavailable}`);
}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/**
 * A JSON line without what differs from run to run: timings, the order answers came in, and the
 * second a policy was downloaded in (its timestamp, and so its expiration; a cached policy's
 * come from the file's mtime, which each run gets the same).
 */
function steady(line: string): string {
  if (!line.startsWith("{")) return line;
  const report = JSON.parse(line);
  const trace: Array<Record<string, unknown>> = report.trace ?? [];
  const timeless = trace.map(({ startMs: _, ms: __, ...rest }) => JSON.stringify(rest));
  const policy = report.sts?.policy;
  if (policy?.source === "fetch") {
    // The same max_age apart in both runs: checked, then set aside.
    const lifetime = Date.parse(policy.expiration) - Date.parse(policy.timestamp);
    assert.equal(lifetime, policy.maxAge * 1000, line);
    policy.timestamp = policy.expiration = "downloaded";
  }
  return JSON.stringify({ ...report, durationMs: 0, trace: timeless.sort() });
}

function comparable(r: RunResult): string {
  const out = text(r.stdout).split("\n").map(steady).join("\n");
  return `exit ${r.code}\n${out}--- stderr\n${text(r.stderr)}`;
}

Deno.test({
  name: "deno task build's one file prints what deno run main.ts prints",
  ignore: unavailable !== undefined,
  async fn() {
    const { dir: out, file: bundle } = await buildInRepository("build_test_");
    try {
      const flags = await lookupFlags();
      await using world = await startWorld({ stsCacheSize: null });
      await startMailServers(world);
      const filledAt = Math.floor(Date.now() / 1000) - 60;
      // Each run starts from an empty policy cache, or from one `deno run` filled (`cached`).
      const cases: Array<{ argv: string[]; stdin?: string; cached?: string }> = [
        { argv: ["two-mx.test"] },
        { argv: ["--dnssec", "signed.test"] },
        { argv: ["null-mx.test"] },
        { argv: ["no-such-domain.test"] },
        { argv: ["sts-enforce.test"] },
        { argv: ["sts-enforce.test"], cached: "sts-enforce.test" },
        { argv: ["sts-mismatch.test"] },
        { argv: ["--json", "sts-enforce.test"] },
        { argv: ["--sts", "sts-enforce.test"], cached: "sts-enforce.test" },
        { argv: ["--batch", "-"], stdin: "two-mx.test\nnull-mx.test\nsts-enforce.test\n" },
        { argv: ["--probe", "--helo", "client.world.test", "probe-good.test"] },
      ];
      for (const { argv, stdin, cached } of cases) {
        const run = async (program: string) => {
          await world.resetSts(null);
          if (cached) {
            await world.run([Deno.execPath(), "run", ...flags, MAIN, cached]);
            await world.setStsMtime(cached, filledAt);
          }
          return await world.run([Deno.execPath(), "run", ...flags, program, ...argv], {
            env: { TZ: "UTC" },
            ...(stdin === undefined ? {} : { stdin }),
          });
        };
        const script = await run(MAIN);
        const built = await run(bundle);
        assert.equal(comparable(built), comparable(script), argv.join(" "));
        assert.notEqual(text(script.stdout), "", argv.join(" "));
      }
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
