// `deno task compile` builds the single binary; the binary must print the same bytes as
// `deno run` on a world case. `deno compile` needs the `denort` runtime, which it downloads
// unless DENORT_BIN names one: where neither is possible this test says so and is skipped,
// never passed.
import assert from "node:assert/strict";
import { buildOneFile, BUILT_FILE, lookupFlags, MAIN, ROOT, taskWords } from "./world/tool.ts";
import { startWorld, worldUnavailableReason } from "./world/world.ts";

const denort = Deno.env.get("DENORT_BIN");
const skip = denort === undefined
  ? "DENORT_BIN is not set: deno compile needs the denort runtime, which cannot be downloaded here"
  : worldUnavailableReason();
if (skip !== undefined) console.warn(`SKIPPING tests/compile_test.ts: ${skip}`);

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

Deno.test({
  name: "deno task compile builds a binary that prints what deno run prints",
  ignore: skip !== undefined,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "compile_test_" });
    try {
      // The task's dependency first: `deno task build` writes dist/testmxlookup.js (D40).
      await buildOneFile(`${out}/testmxlookup.js`);
      const words = await taskWords("compile");
      assert.deepEqual(words.slice(0, 2), ["deno", "compile"]);
      const args = words.slice(2).map((w) =>
        w === "dist/testmxlookup"
          ? `${out}/testmxlookup`
          : w === BUILT_FILE
          ? `${out}/testmxlookup.js`
          : w
      );
      const build = await new Deno.Command(Deno.execPath(), {
        args: ["compile", ...args],
        cwd: ROOT,
        env: { DENORT_BIN: denort! },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(build.code, 0, text(build.stderr));
      const lookup = await lookupFlags();
      await using world = await startWorld();
      for (const argv of [["two-mx.test"], ["--dnssec", "signed.test"], ["null-mx.test"]]) {
        const [binary, script] = await Promise.all([
          world.run([`${out}/testmxlookup`, ...argv]),
          world.run([Deno.execPath(), "run", ...lookup, `${MAIN}`, ...argv]),
        ]);
        assert.equal(text(binary.stdout), text(script.stdout));
        assert.equal(binary.code, script.code);
      }
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
