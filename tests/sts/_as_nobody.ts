// Runs a probe script as another user: root ignores directory permissions, so a check of how
// the cache behaves in a read-only directory runs as nobody through setpriv. Nobody may not be
// able to read the checkout (a clone under a 0700 directory), so the probe imports a copy of
// `lib/` made in a directory of its own.

/** Where `lib/` is, for a probe's imports. */
export type LibUrl = (path: string) => string;

const LIB = new URL("../../lib/", import.meta.url);

/**
 * Runs the TypeScript that `makeProbe` returns, as nobody when we are root, and returns what
 * it printed; throws with its stderr when it fails.
 *
 * @param makeProbe Gets `lib`, which turns a path in `lib/` (`"sts/store.ts"`) into a quoted
 *   URL for an import, and returns the probe's source.
 */
export async function runAsNobody(makeProbe: (lib: LibUrl) => string): Promise<string> {
  const root = Deno.uid() === 0;
  const dir = await Deno.makeTempDir({ prefix: "sts-probe-" });
  const timeout = AbortSignal.timeout(20_000);
  try {
    await Deno.chmod(dir, 0o777);
    let lib = LIB;
    if (root) {
      const copy = await new Deno.Command("cp", {
        args: ["-R", LIB.pathname, `${dir}/lib`],
        signal: timeout,
      }).output();
      if (!copy.success) throw new Error(`cp: ${new TextDecoder().decode(copy.stderr)}`);
      lib = new URL(`file://${dir}/lib/`);
    }
    const probe = makeProbe((path) => JSON.stringify(new URL(path, lib).href));
    const deno = [Deno.execPath(), "eval", "--no-config", "--allow-read", "--allow-write"];
    const argv = [...deno, "--ext=ts", probe];
    const env = { DENO_DIR: dir, HOME: dir, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
    const command = root
      ? new Deno.Command("setpriv", {
        args: ["--reuid=65534", "--regid=65534", "--clear-groups", ...argv],
        env,
        signal: timeout,
      })
      : new Deno.Command(argv[0], { args: argv.slice(1), env, signal: timeout });
    const { code, stdout, stderr } = await command.output();
    if (code !== 0) throw new Error(`probe exited ${code}: ${new TextDecoder().decode(stderr)}`);
    return new TextDecoder().decode(stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
