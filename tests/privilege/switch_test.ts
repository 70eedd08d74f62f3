// The driver for real: a root process with supplementary groups becomes the owner of a cache
// directory's parent and keeps no group of root's (`Groups:` in /proc/self/status).
import assert from "node:assert/strict";

const SWITCH = new URL("../../lib/privilege/switch.ts", import.meta.url).href;
const root = Deno.uid() === 0;
const haveSetpriv = new Deno.Command("sh", { args: ["-c", "command -v setpriv"] }).outputSync()
  .success;

/**
 * Runs secureCacheAccess(dir) as root with groups 0 and 4, then tries to write in `rootOnly`
 * (root's, 0700); returns what it printed.
 */
async function probe(
  dir: string,
  rootOnly: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = `
    import { secureCacheAccess } from ${JSON.stringify(SWITCH)};
    let before = false;
    const decision = await secureCacheAccess(${JSON.stringify(dir)}, {
      beforeSwitch: async () => { before = true; },
    });
    const status = Deno.readTextFileSync("/proc/self/status");
    const field = (name) => new RegExp("^" + name + ":[ \\\\t]*(.*)$", "m").exec(status)[1].trim();
    let wrote = true;
    try { Deno.writeTextFileSync(${
    JSON.stringify(`${rootOnly}/x`)
  }, "x"); } catch { wrote = false; }
    console.log(JSON.stringify({ decision, before, uid: field("Uid"), gid: field("Gid"), groups: field("Groups"), wrote }));
  `;
  const output = await new Deno.Command("setpriv", {
    args: ["--groups=0,4", "--reuid=0", "--regid=0", Deno.execPath(), "eval", "--ext=ts", script],
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    signal: AbortSignal.timeout(20_000),
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: text(output.stdout), stderr: text(output.stderr) };
}

Deno.test({
  name: "secureCacheAccess() as root becomes the parent's owner with no group of root's left",
  ignore: !root || !haveSetpriv,
  async fn() {
    const base = await Deno.makeTempDir({ prefix: "switch-" });
    try {
      await Deno.chmod(base, 0o755);
      await Deno.mkdir(`${base}/parent/sts`, { recursive: true });
      await Deno.chown(`${base}/parent`, 65534, 65534);
      await Deno.mkdir(`${base}/root-only`, { mode: 0o700 });
      const run = await probe(`${base}/parent/sts`, `${base}/root-only`);
      assert.equal(run.code, 0, run.stderr);
      const result = JSON.parse(run.stdout);
      assert.deepEqual(result.decision, {
        action: "switch",
        uid: 65534,
        gid: 65534,
        path: `${base}/parent`,
      });
      assert.equal(result.before, true);
      assert.equal(result.uid, "65534\t65534\t65534\t65534");
      assert.equal(result.gid, "65534\t65534\t65534\t65534");
      assert.equal(result.groups, "");
      assert.equal(result.wrote, false);
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  },
});

Deno.test({
  name: "secureCacheAccess() as root stays root for a cache only root can change",
  ignore: !root || !haveSetpriv,
  async fn() {
    const base = await Deno.makeTempDir({ prefix: "switch-" });
    try {
      await Deno.mkdir(`${base}/sts`);
      await Deno.mkdir(`${base}/root-only`, { mode: 0o700 });
      const run = await probe(`${base}/sts`, `${base}/root-only`);
      assert.equal(run.code, 0, run.stderr);
      const result = JSON.parse(run.stdout);
      assert.deepEqual(result.decision, { action: "keep" });
      assert.equal(result.before, false);
      assert.equal(result.uid, "0\t0\t0\t0");
      assert.equal(result.groups, "0 4");
      assert.equal(result.wrote, true);
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  },
});
