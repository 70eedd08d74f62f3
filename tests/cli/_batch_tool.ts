// The tool as a `--batch` subprocess on address literals, which need no DNS: no --allow-net,
// so nothing leaves the machine. Shared by batch_test.ts and batch_worker_test.ts.
import { MAIN } from "../world/tool.ts";

/** A temporary directory with a resolv.conf, a disabled STS cache and Courier's config dir. */
export async function workDir(prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  await Deno.writeTextFile(`${dir}/resolv.conf`, "nameserver 192.0.2.53\n");
  await Deno.mkdir(`${dir}/sts`);
  await Deno.writeTextFile(`${dir}/sts/.cache_size`, "0\n");
  return dir;
}

/**
 * `deno` arguments running the tool with `argv` on the files of {@linkcode workDir};
 * `allowWrite` lets it write in `dir` (for `--resume FILE`), `ffi` grants what `deno task
 * lookup` grants for libc's file calls (the lock of `--resume FILE`).
 */
export function toolArgs(dir: string, argv: string[], allowWrite = false, ffi = false): string[] {
  return [
    "run",
    "--no-prompt",
    "--allow-read",
    ...(allowWrite ? [`--allow-write=${dir}`] : []),
    ...(ffi ? ["--allow-ffi"] : []),
    "--allow-env",
    "--allow-sys=hostname",
    MAIN,
    ...argv,
    "--resolv-conf",
    `${dir}/resolv.conf`,
    "--sts-dir",
    `${dir}/sts`,
    "--config-dir",
    dir,
  ];
}

/** A spawned tool; disposing it stops the timer that would kill it. */
export interface SpawnedTool extends Disposable {
  /** The process, its stdin piped. */
  child: Deno.ChildProcess;
}

/**
 * Spawns the tool with {@linkcode toolArgs}, killed with SIGKILL after 60 s at most.
 * `output` is what becomes of its stdout and stderr.
 */
export function spawnTool(
  dir: string,
  argv: string[],
  options: { allowWrite?: boolean; output?: "piped" | "null"; ffi?: boolean } = {},
): SpawnedTool {
  const output = options.output ?? "piped";
  const child = new Deno.Command(Deno.execPath(), {
    args: toolArgs(dir, argv, options.allowWrite, options.ffi),
    stdin: "piped",
    stdout: output,
    stderr: output,
  }).spawn();
  const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return { child, [Symbol.dispose]: () => clearTimeout(killer) };
}
