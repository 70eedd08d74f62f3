// `deno task bench`: figures, not tests. Starts the test world and times this tool against
// Courier's own testmxlookup on the same case, next to a bare `deno run` of an empty script.
// Every loop is bounded; every packet stays inside the world's network namespace.
import { lookupFlags, MAIN as main } from "../tests/world/tool.ts";
import { startWorld, type World, worldUnavailableReason } from "../tests/world/world.ts";

const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? 15);
const DOMAIN = "equal-mx.test"; // 3 MX hosts, A and AAAA each

interface Figures {
  min: number;
  median: number;
  max: number;
}

function figures(samples: number[]): Figures {
  const sorted = [...samples].sort((a, b) => a - b);
  return { min: sorted[0], median: sorted[Math.floor(sorted.length / 2)], max: sorted.at(-1)! };
}

async function time(world: World, argv: string[]): Promise<Figures> {
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    const result = await world.run(argv, { timeoutMs: 30_000 });
    const elapsed = performance.now() - started;
    if (result.code !== 0) {
      throw new Error(
        `${argv.join(" ")} exited ${result.code}: ${new TextDecoder().decode(result.stderr)}`,
      );
    }
    samples.push(elapsed);
  }
  return figures(samples);
}

const show = (f: Figures) =>
  `median ${f.median.toFixed(1)} ms (min ${f.min.toFixed(1)}, max ${f.max.toFixed(1)})`;

const unavailable = worldUnavailableReason();
if (unavailable !== undefined) {
  console.error(`bench: the test world cannot start here: ${unavailable}`);
  Deno.exit(1);
}

const flags = await lookupFlags();
const empty = await Deno.makeTempFile({ suffix: ".ts" });

await using world = await startWorld();
try {
  console.log(`bench: ${RUNS} runs each, wall time per process, in the test world (loopback)`);
  const bare = await time(world, [Deno.execPath(), "run", empty]);
  console.log(`bare deno run (empty script)         ${show(bare)}`);
  const ours = await time(world, [Deno.execPath(), "run", ...flags, main, DOMAIN]);
  console.log(`testmxlookup (this tool) ${DOMAIN}   ${show(ours)}`);
  if (world.courierBin) {
    const courier = await time(world, [world.courierBin, DOMAIN]);
    console.log(`testmxlookup (Courier 1.0.16) ${DOMAIN} ${show(courier)}`);
    console.log(
      `ratio this tool / Courier (medians): ${(ours.median / courier.median).toFixed(2)}`,
    );
  } else {
    console.log(`Courier's binary unavailable: ${world.courierUnavailableReason}`);
  }
  console.log(`this tool over bare deno (medians): +${(ours.median - bare.median).toFixed(1)} ms`);
} finally {
  await Deno.remove(empty);
}
