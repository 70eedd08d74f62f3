// `deno run` with the documented permissions is enough, and each one removed in turn gives
// one line naming what is missing: no prompt, no stack trace, exit 77 (EXIT_NOPERM).
import assert from "node:assert/strict";
import { lookupFlags, MAIN } from "../world/tool.ts";
import { startWorld, worldUnavailableReason } from "../world/world.ts";

const unavailable = worldUnavailableReason();
if (unavailable !== undefined) {
  console.warn(`SKIPPING tests/cli/permissions_test.ts: test world unavailable: ${unavailable}`);
}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

Deno.test({
  name: "deno run with the documented permissions works, and each one missing is named",
  ignore: unavailable !== undefined,
  async fn(t) {
    const flags = await lookupFlags();
    // STS on, with a domain whose policy is downloaded and cached: every permission is used.
    await using world = await startWorld({ stsCacheSize: null });
    const run = async (argv: string[]) => {
      await world.resetSts(null);
      return await world.run([Deno.execPath(), "run", ...argv, MAIN, "sts-enforce.test"], {
        timeoutMs: 20_000,
      });
    };

    await t.step("all documented permissions: the report, the policy cached", async () => {
      const result = await run(flags);
      assert.equal(result.code, 0, text(result.stderr));
      assert.match(text(result.stdout), /^Domain sts-enforce\.test:\nSTS: enforcing\nRelay: /);
      assert.ok((await world.readSts()).has("sts-enforce.test"));
    });

    const granting = flags.filter((f) => f.startsWith("--allow-"));
    assert.deepEqual(granting.map((f) => f.split("=")[0]).sort(), [
      "--allow-env",
      "--allow-ffi",
      "--allow-net",
      "--allow-read",
      "--allow-sys",
      "--allow-write",
    ]);
    for (const removed of granting) {
      const kind = removed.split("=")[0].slice("--allow-".length);
      await t.step(`without ${removed.split("=")[0]}: one line naming ${kind} access`, async () => {
        const result = await run(flags.filter((f) => f !== removed));
        const stderr = text(result.stderr);
        assert.equal(result.code, 77, stderr);
        assert.equal(text(result.stdout), "");
        assert.equal(stderr.split("\n").length, 2, stderr);
        assert.match(
          stderr,
          new RegExp(
            `^testmxlookup: Missing Deno permission: Requires ${kind} access .*--allow-${kind}`,
          ),
        );
      });
    }
  },
});
