// How tests, the demo and the bench run this tool: `deno run` with exactly the permission
// flags of `deno task lookup`, so that the documented line is the one tested.
import { fileURLToPath } from "node:url";

/** The absolute path of main.ts. */
export const MAIN: string = fileURLToPath(new URL("../../main.ts", import.meta.url));

/** The absolute path of the repository. */
export const ROOT: string = fileURLToPath(new URL("../..", import.meta.url));

/**
 * The words of a `deno.json` task.
 *
 * @param name The task name.
 * @returns The task's command line split on white space.
 */
export async function taskWords(name: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
  const task: unknown = config.tasks?.[name];
  // A task is its command, or an object with its command and the tasks run before it.
  const command = typeof task === "object" && task !== null && "command" in task
    ? task.command
    : task;
  if (typeof command !== "string") throw new Error(`deno.json has no task "${name}"`);
  return command.split(/\s+/);
}

/**
 * The flags of `deno task lookup` between `deno run` and `main.ts`.
 *
 * @returns The flags.
 */
export async function lookupFlags(): Promise<string[]> {
  const words = await taskWords("lookup");
  if (words[0] !== "deno" || words[1] !== "run" || words.at(-1) !== "main.ts") {
    throw new Error(`deno.json task "lookup" is not "deno run … main.ts": ${words.join(" ")}`);
  }
  return words.slice(2, -1);
}

/**
 * The command that runs this tool as `deno task lookup` does.
 *
 * @param argv The tool's arguments.
 * @returns The argv for `World.run`.
 */
export async function toolCommand(argv: readonly string[]): Promise<string[]> {
  return [Deno.execPath(), "run", ...await lookupFlags(), MAIN, ...argv];
}

/** Where `deno task build` writes the one file (D40); the helpers below write elsewhere. */
export const BUILT_FILE = "dist/testmxlookup.js";

/**
 * Runs `deno task build`'s own command with `file` in place of {@linkcode BUILT_FILE}, so that
 * the file tested and timed is the one the task makes.
 *
 * @param file Where to write it: inside the repository, where deno.json applies to it.
 * @throws {Error} When the task is not `deno bundle … dist/testmxlookup.js`, or with the
 *   bundler's stderr when the build fails.
 */
export async function buildOneFile(file: string): Promise<void> {
  const words = await taskWords("build");
  if (words[0] !== "deno" || words[1] !== "bundle" || !words.includes(BUILT_FILE)) {
    throw new Error(
      `deno.json task "build" is not "deno bundle … ${BUILT_FILE}": ${words.join(" ")}`,
    );
  }
  const build = await new Deno.Command(Deno.execPath(), {
    args: words.slice(1).map((word) => word === BUILT_FILE ? file : word),
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!build.success) {
    throw new Error(`deno task build failed: ${new TextDecoder().decode(build.stderr)}`);
  }
}

/**
 * {@linkcode buildOneFile} into a new directory of the repository's `.cache/` (git ignores it),
 * where deno.json applies to the file as it does to dist/ (`--unstable-net`), readable by every
 * account.
 *
 * @param prefix The directory's name prefix.
 * @returns The directory, for the caller to remove, and the file in it.
 */
export async function buildInRepository(prefix: string): Promise<{ dir: string; file: string }> {
  await Deno.mkdir(`${ROOT}/.cache`, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: `${ROOT}/.cache`, prefix });
  await Deno.chmod(dir, 0o755);
  const file = `${dir}/testmxlookup.js`;
  await buildOneFile(file);
  return { dir, file };
}
