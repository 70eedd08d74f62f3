// lib/wire imports its codec with a full `npm:` specifier, so that code outside this
// repository, without its deno.json, type-checks and runs it. A bare specifier resolved only
// by deno.json's "imports" would pass every other test and fail every consumer.
import assert from "node:assert/strict";

const WIRE = new URL("../../lib/wire/", import.meta.url);
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

Deno.test("lib/wire type-checks and runs from a directory without deno.json", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wire_standalone_" });
  try {
    const program = `${dir}/consumer.ts`;
    await Deno.writeTextFile(
      program,
      [
        `import { decodeMessage, encodeResponse } from "${new URL("message.ts", WIRE)}";`,
        `import { parseTlsa } from "${new URL("tlsa.ts", WIRE)}";`,
        "const raw = Uint8Array.of(3, 1, 1, ...new Array(32).fill(7));",
        'const answers = [{ name: "_25._tcp.mx.test", data: { type: "TLSA" as const, raw } }];',
        "const [record] = decodeMessage(encodeResponse({ id: 1, answers })).answers;",
        'if (record.data.type !== "TLSA") throw new Error(record.data.type);',
        "const { usage, selector, matchingType, data } = parseTlsa(record.data.raw);",
        "console.log(usage, selector, matchingType, data.length);",
      ].join("\n"),
    );
    // --cached-only: the package is in the cache already (this suite imports it); no download.
    const flags = ["--no-config", "--no-lock", "--cached-only", "--quiet"];
    for (const command of ["check", "run"]) {
      const result = await new Deno.Command(Deno.execPath(), {
        args: [command, ...flags, ...(command === "run" ? ["--no-prompt"] : []), program],
        cwd: dir,
        env: { DENO_NO_UPDATE_CHECK: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(result.code, 0, `deno ${command}: ${text(result.stderr)}`);
      if (command === "run") assert.equal(text(result.stdout), "3 1 1 32\n");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
