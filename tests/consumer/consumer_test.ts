// The library as an outside developer meets it: the three programs of this folder, copied to
// a directory outside the repository (no deno.json there), type-checked against mod.ts by its
// file URL, and run in the test world (skipped loudly without it).
import assert from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";
import type { JsonReport } from "../../mod.ts";
import { assertValidReport } from "../_schema.ts";
import { startWorld, WORLD_CA_FILE, worldUnavailableReason } from "../world/world.ts";

const PROGRAMS = ["check_domains.ts", "monitor.ts", "policy_inspector.ts"];
const MOD_URL = new URL("../../mod.ts", import.meta.url).href;
const WIRE_DIR = new URL("../../lib/wire/", import.meta.url).href;
/** The committed codec bundle whose types name the bare `dns-packet` only deno.json resolves. */
const BUNDLE_TYPES = fromFileUrl(new URL("../../lib/wire/_dns_packet.d.ts", import.meta.url));
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** Copies the programs to a new temporary directory, importing mod.ts by its file URL. */
async function copyPrograms(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "testmxlookup-consumer-" });
  for (const name of PROGRAMS) {
    const source = await Deno.readTextFile(new URL(name, import.meta.url));
    assert.ok(source.includes('from "../../mod.ts"'), name);
    await Deno.writeTextFile(
      `${dir}/${name}`,
      source.replace('from "../../mod.ts"', `from ${JSON.stringify(MOD_URL)}`),
    );
  }
  return dir;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("a consumer outside the repository type-checks against mod.ts without deno.json", async () => {
  const dir = await copyPrograms();
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--no-config", "--no-lock", ...PROGRAMS],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const errors = text(output.stderr);
    if (output.success) return;
    // Every error's location: none may be in the programs or in lib/ outside the codec.
    const places = [...errors.matchAll(/^\s+at (file:\/\/\S+?):\d+:\d+$/gm)].map((m) => m[1]);
    assert.ok(places.length > 0, errors);
    const elsewhere = places.filter((place) => !place.startsWith(WIRE_DIR));
    assert.deepEqual(elsewhere, [], errors);
    // Only the committed bundle's bare `dns-packet` types may still fail, while it is there.
    assert.ok(exists(BUNDLE_TYPES), errors);
    console.warn(
      `tests/consumer: ${places.length} type errors, all in lib/wire/ (its bundle's types ` +
        "import the bare `dns-packet`, which only the repository's deno.json resolves)",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const unavailable = worldUnavailableReason();
if (unavailable !== undefined) {
  console.warn(`SKIPPING tests/consumer world test: test world unavailable: ${unavailable}`);
}

Deno.test({
  name: "the consumer programs run against mod.ts in the test world",
  ignore: unavailable !== undefined,
  async fn() {
    const dir = await copyPrograms();
    const world = await startWorld();
    try {
      const run = (name: string) =>
        world.run(
          [
            Deno.execPath(),
            "run",
            "--no-config",
            "--no-lock",
            "--no-check",
            "--unstable-net",
            "-A",
            `${dir}/${name}`,
          ],
          { env: { CA_FILE: WORLD_CA_FILE }, timeoutMs: 60_000 },
        );

      const check = await run("check_domains.ts");
      const out = text(check.stdout);
      // nxdomain, null-mx and the non-matching MX of sts-mismatch are the problems: exit 1.
      assert.equal(check.code, 1, `${out}${text(check.stderr)}`);
      for (
        const line of [
          "two-mx.test: ok",
          "  10 mx1.two-mx.test [192.0.2.1, 2001:db8::1]",
          "  MTA-STS: enforce, mx=mx1.sts-enforce.test,*.backup.sts-enforce.test",
          "  10 mx1.sts-mismatch.test [203.0.113.31] sts:ok",
          "  20 mx2.sts-mismatch.test [203.0.113.32, 2001:db8:113::32] sts:MISMATCH",
          "nxdomain.test: hard",
          "null-mx.test: nomail",
        ]
      ) {
        assert.ok(out.split("\n").some((l) => l.startsWith(line)), `${line}\n--- in\n${out}`);
      }

      const monitor = await run("monitor.ts");
      assert.equal(monitor.code, 0, text(monitor.stderr));
      const reports: JsonReport[] = JSON.parse(text(monitor.stdout));
      assert.equal(reports.length, 200);
      for (const report of reports) assertValidReport(report);
      const byDomain = new Map(reports.map((r) => [r.domain, r]));
      assert.equal(byDomain.get("two-mx.test")?.outcome, "ok");
      assert.equal(byDomain.get("host7.nxdomain.test")?.outcome, "hard");
      assert.equal(byDomain.get("host7.nxdomain.test")?.errorKind, "NXDOMAIN");

      const inspect = await run("policy_inspector.ts");
      assert.equal(inspect.code, 0, text(inspect.stderr));
      assert.ok(text(inspect.stdout).includes("mode:    enforce\n"), text(inspect.stdout));
      assert.ok(text(inspect.stdout).includes("mx:      mx1.sts-enforce.test\n"));
    } finally {
      await world.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
