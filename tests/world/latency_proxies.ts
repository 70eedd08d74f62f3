// Starting and stopping latency_proxy.ts inside a test world, for the benches
// (scripts/bench.ts, tests/world/probe_bench.ts).
import { fileURLToPath } from "node:url";
import type { World } from "./world.ts";

const PROXY = fileURLToPath(new URL("./latency_proxy.ts", import.meta.url));

/**
 * Starts a latency proxy named `name` inside the world with `delayMs` each way for the given
 * `--udp`/`--tcp` mappings, ending itself after `timeLimitS`; resolves once it says it is
 * ready (bounded).
 */
export async function startProxy(
  world: World,
  name: string,
  delayMs: number,
  maps: string[],
  timeLimitS = 1800,
): Promise<Deno.ChildProcess> {
  const child = world.spawn(name, [
    Deno.execPath(),
    "run",
    "--no-config",
    "--unstable-net",
    "--allow-net",
    PROXY,
    "--delay-ms",
    String(delayMs),
    ...maps,
    "--time-limit-s",
    String(timeLimitS),
  ]);
  const out = `${world.dir}/${name}.out`;
  for (let attempt = 0; attempt < 200; attempt++) {
    const said = await Deno.readTextFile(out).catch(() => "");
    if (said.includes("ready")) return child;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill("SIGKILL");
  throw new Error(`The latency proxy ${name} did not start; see ${out}`);
}

/** Stops a proxy of {@linkcode startProxy} and waits for it to end. */
export async function stopProxy(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch { /* already gone */ }
  await child.status;
}
