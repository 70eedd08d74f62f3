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
 * `allowWrite` lets it write in `dir` (for `--resume FILE`).
 */
export function toolArgs(dir: string, argv: string[], allowWrite = false): string[] {
  return [
    "run",
    "--no-prompt",
    "--allow-read",
    ...(allowWrite ? [`--allow-write=${dir}`] : []),
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
