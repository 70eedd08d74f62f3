// `deno task bench [latency] [startup] [batch]`: the speed goals, figures and
// PASS/FAIL, not tests. Each group starts its own test world and times this tool against
// its anchor in the same run: Courier's own testmxlookup (latency), a bare `deno run` of an
// empty script (start-up), Node's c-ares resolver (batch). Every packet stays inside the
// world's network namespace; every loop is bounded.
//
// Environment: BENCH_RUNS (runs per figure, default 15), BENCH_BATCH_RUNS (default 3),
// BENCH_CONCURRENCY (batch, default 50), DENORT_BIN (also time the compiled binary).
import { fileURLToPath } from "node:url";
import {
  LATENCY_DNS_ADDRESS,
  LATENCY_TLS_ADDRESS,
  POLICY_ADDRESS,
} from "../tests/world/sts_sites.ts";
import { lookupFlags, MAIN, ROOT, taskWords } from "../tests/world/tool.ts";
import {
  startWorld,
  type World,
  WORLD_DOMAIN,
  worldUnavailableReason,
} from "../tests/world/world.ts";

const RUNS = boundedInt("BENCH_RUNS", 15, 1, 200);
const BATCH_RUNS = boundedInt("BENCH_BATCH_RUNS", 3, 1, 20);
const CONCURRENCY = boundedInt("BENCH_CONCURRENCY", 50, 1, 1000);

/** The latency case: 3 MX hosts with A and AAAA each, and an enforce policy. */
const STS_DOMAIN = "sts-bench.test";
/** The same shape without MTA-STS. */
const DNS_DOMAIN = "equal-mx.test";
/** Added by the latency proxy in each direction. */
const DELAY_MS = 25;

const GOALS = {
  latencyEmpty: 0.35,
  latencyCached: 0.45,
  startupMs: 10,
  startupRssKib: 15 * 1024,
  batchThroughput: 1.0,
};

const BATCH_ZONE = "batch.test";
const BATCH_SIZES = [10_000, 100_000] as const;

const PROXY = fileURLToPath(new URL("../tests/world/latency_proxy.ts", import.meta.url));
const NODE_ANCHOR = fileURLToPath(new URL("./bench_node_resolver.mjs", import.meta.url));

function boundedInt(name: string, fallback: number, min: number, max: number): number {
  const value = Number(Deno.env.get(name) ?? fallback);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

interface Figures {
  min: number;
  median: number;
  max: number;
}

function figures(samples: number[]): Figures {
  const sorted = [...samples].sort((a, b) => a - b);
  return { min: sorted[0], median: sorted[Math.floor(sorted.length / 2)], max: sorted.at(-1)! };
}

const ms = (f: Figures) =>
  `median ${f.median.toFixed(1)} ms (min ${f.min.toFixed(1)}, max ${f.max.toFixed(1)})`;
const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
const rss = (f: Figures) => `median ${mib(f.median)} (min ${mib(f.min)}, max ${mib(f.max)})`;
const verdict = (pass: boolean) => pass ? "PASS" : "FAIL";
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** One timed run: wall time around `world.run`, peak RSS from `/usr/bin/time` when asked. */
interface Sample {
  ms: number;
  rssKib?: number;
  stdout: string;
}

const RSS_MARK = "bench-peak-rss-kib=";

async function runOnce(
  world: World,
  argv: string[],
  options: { rss?: boolean; env?: Record<string, string> } = {},
): Promise<Sample> {
  const full = options.rss ? ["/usr/bin/time", "-f", `${RSS_MARK}%M`, ...argv] : argv;
  const started = performance.now();
  const result = await world.run(full, { timeoutMs: 120_000, env: options.env });
  const elapsed = performance.now() - started;
  const stderr = text(result.stderr);
  if (result.code !== 0) {
    throw new Error(`${argv.join(" ")} exited ${result.code}: ${stderr}`);
  }
  const mark = stderr.lastIndexOf(RSS_MARK);
  return {
    ms: elapsed,
    rssKib: mark < 0 ? undefined : Number.parseInt(stderr.slice(mark + RSS_MARK.length), 10),
    stdout: text(result.stdout),
  };
}

/** Runs each command RUNS times, interleaved so that drift hits every command alike. */
async function timeInterleaved(
  world: World,
  commands: Array<{ argv: string[]; before?: () => Promise<void> }>,
  options: { rss?: boolean } = {},
): Promise<Array<{ ms: Figures; rssKib?: Figures; last: Sample }>> {
  const samples = commands.map(() => [] as Sample[]);
  for (let i = 0; i < RUNS; i++) {
    for (const [n, command] of commands.entries()) {
      await command.before?.();
      samples[n].push(await runOnce(world, command.argv, options));
    }
  }
  return samples.map((list) => ({
    ms: figures(list.map((s) => s.ms)),
    rssKib: options.rss ? figures(list.map((s) => s.rssKib ?? NaN)) : undefined,
    last: list.at(-1)!,
  }));
}

async function emptyScript(): Promise<string> {
  return await Deno.makeTempFile({ prefix: "bench_empty_", suffix: ".ts" });
}

// ---- latency-bound lookups ------------------------------------------------------------

/**
 * Starts a latency proxy named `name` inside the world with `delayMs` each way for the given
 * `--udp`/`--tcp` mappings; resolves once it says it is ready (bounded).
 */
async function startProxy(
  world: World,
  name: string,
  delayMs: number,
  maps: string[],
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
    "1800",
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

async function stopProxy(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch { /* already gone */ }
  await child.status;
}

async function latencyGroup(world: World, bare: Figures, ours: string[]): Promise<void> {
  if (!world.courierBin) {
    console.log(
      `\nCourier's binary unavailable: ${world.courierUnavailableReason}; latency skipped`,
    );
    return;
  }
  const dns = `${LATENCY_DNS_ADDRESS}:53=127.0.0.1:53`;
  const dnsProxy = await startProxy(world, "latency-dns", DELAY_MS, ["--udp", dns, "--tcp", dns]);
  try {
    for (const tlsDelayMs of [0, DELAY_MS]) {
      const tlsProxy = await startProxy(world, `latency-tls-${tlsDelayMs}`, tlsDelayMs, [
        "--tcp",
        `${LATENCY_TLS_ADDRESS}:443=${POLICY_ADDRESS}:443`,
      ]);
      try {
        await latencyVariant(world, bare, ours, tlsDelayMs);
      } finally {
        await stopProxy(tlsProxy);
      }
    }
  } finally {
    await stopProxy(dnsProxy);
  }
}

async function latencyVariant(
  world: World,
  bare: Figures,
  ours: string[],
  tlsDelayMs: number,
): Promise<void> {
  console.log(
    `\n## Latency-bound lookups: ${STS_DOMAIN} (3 MX, A+AAAA each, MTA-STS enforce), ` +
      `${DELAY_MS} ms each way on DNS (UDP+TCP)` +
      (tlsDelayMs > 0 ? ` and ${tlsDelayMs} ms on the policy server's TLS` : ", TLS not delayed"),
  );
  const courierBin = world.courierBin!;
  // Both tools read /etc/resolv.conf (Courier nothing else, even for the TXT query);
  // wget resolves mta-sts.* through it too, and this tool through its own resolver.
  await world.writeEtc(
    "resolv.conf",
    `domain ${WORLD_DOMAIN}\nnameserver ${LATENCY_DNS_ADDRESS}\n`,
  );
  try {
    // Calibration: one query through the proxy, as drill times it (Unbound answers from cache).
    const rttSamples = [];
    for (let i = 0; i < RUNS; i++) {
      const probe = await world.run(["drill", `@${LATENCY_DNS_ADDRESS}`, STS_DOMAIN, "MX"]);
      const time = /;; Query time: (\d+) msec/.exec(text(probe.stdout));
      if (time !== null) rttSamples.push(Number(time[1]));
    }
    console.log(`one DNS round trip through the proxy (drill): ${ms(figures(rttSamples))}`);
    const courier = [courierBin, STS_DOMAIN];
    const ourLookup = [...ours, STS_DOMAIN];
    const requestsBefore = (await world.policyRequests()).length;
    const empty = await timeInterleaved(world, [
      { argv: ourLookup, before: () => world.resetSts(null) },
      { argv: courier, before: () => world.resetSts(null) },
    ]);
    const downloads = (await world.policyRequests()).length - requestsBefore;
    // Cached: one run fills the cache, then every run finds the TXT id unchanged.
    const cached = [];
    for (const argv of [ourLookup, courier]) {
      await world.resetSts(null);
      await runOnce(world, argv);
      cached.push((await timeInterleaved(world, [{ argv }]))[0]);
    }
    const downloadsCached = (await world.policyRequests()).length - requestsBefore - downloads;
    const check = (label: string, out: string) => {
      if (!out.includes("enforcing") && !out.includes("STS")) {
        console.log(`  warning: ${label} printed no STS line:\n${out}`);
      }
    };
    check("this tool", empty[0].last.stdout);
    check("Courier", empty[1].last.stdout);

    const rows: Array<[string, Figures, Figures, number]> = [
      ["empty cache", empty[0].ms, empty[1].ms, GOALS.latencyEmpty],
      ["policy cached", cached[0].ms, cached[1].ms, GOALS.latencyCached],
    ];
    for (const [label, ourMs, courierMs, goal] of rows) {
      const ratio = ourMs.median / courierMs.median;
      console.log(`${label}:`);
      console.log(`  Courier 1.0.16  ${ms(courierMs)}`);
      console.log(`  this tool       ${ms(ourMs)}`);
      console.log(
        `  ratio this tool / Courier ${ratio.toFixed(2)}× (goal ≤ ${goal}×) ${
          verdict(ratio <= goal)
        }`,
      );
    }
    // The issue's limit: MX ∥ TXT, then every address query ∥ the policy fetch.
    const rtt = 2 * DELAY_MS;
    const limit = 2 * rtt + bare.median;
    // The download's own path: TXT ∥ mta-sts A/AAAA, then the TLS 1.3 handshake and the GET
    // (the proxy cannot delay the TCP handshake, see latency_proxy.ts).
    // TLS 1.3 and the GET each cost a round trip of the TLS path; TXT ∥ address one of DNS's.
    const tlsRtt = 2 * tlsDelayMs;
    const fetchFloor = rtt + 2 * tlsRtt + bare.median;
    console.log(
      `limit (2 resolver round trips of ${rtt} ms + bare deno start-up ${
        bare.median.toFixed(1)
      } ms) = ${limit.toFixed(1)} ms:`,
    );
    console.log(
      `  policy cached: this tool ${cached[0].ms.median.toFixed(1)} ms = limit ${
        signed(cached[0].ms.median - limit)
      } ms`,
    );
    console.log(
      `  empty cache:   this tool ${empty[0].ms.median.toFixed(1)} ms = limit ${
        signed(empty[0].ms.median - limit)
      } ms; with the download's own round trips (TXT ∥ mta-sts address, then TLS handshake, ` +
        `GET: ${rtt} + 2 × ${tlsRtt} ms + start-up = ${fetchFloor.toFixed(1)} ms) ${
          signed(empty[0].ms.median - fetchFloor)
        } ms`,
    );
    console.log(
      `  (policy downloads seen by the server: ${downloads} in ${2 * RUNS} empty-cache runs, ` +
        `${downloadsCached} in the cached runs, the 2 warm-up runs included)`,
    );
  } finally {
    await world.writeEtc("resolv.conf", `domain ${WORLD_DOMAIN}\nnameserver 127.0.0.1\n`);
  }
}

function signed(n: number): string {
  return `${n >= 0 ? "+" : "−"} ${Math.abs(n).toFixed(1)}`;
}

// ---- start-up ---------------------------------------------------------------------------

async function startupGroup(
  world: World,
  label: string,
  bareArgv: string[],
  oursArgv: string[],
): Promise<Figures> {
  console.log(
    `\n## Local resolver, start-up (${label}): loopback without delay, Unbound answering from cache`,
  );
  const courier = world.courierBin;
  await world.resetSts(null);
  await runOnce(world, [...oursArgv, STS_DOMAIN]); // fills the policy cache and Unbound's
  await runOnce(world, [...oursArgv, DNS_DOMAIN]);
  const commands = [
    { argv: bareArgv },
    { argv: [...oursArgv, STS_DOMAIN] },
    { argv: [...oursArgv, DNS_DOMAIN] },
  ];
  // Courier on the same cases, reading the cache entry this tool wrote (the same format).
  if (courier) commands.push({ argv: [courier, STS_DOMAIN] }, { argv: [courier, DNS_DOMAIN] });
  const [bare, sts, dnsOnly, courierSts, courierDns] = await timeInterleaved(world, commands, {
    rss: true,
  });
  console.log(`bare (empty script)              ${ms(bare.ms)}, peak RSS ${rss(bare.rssKib!)}`);
  const rows = [
    [`${STS_DOMAIN} (policy cached)`, sts, courierSts],
    [DNS_DOMAIN, dnsOnly, courierDns],
  ] as const;
  for (const [name, row, anchor] of rows) {
    const extraMs = row.ms.median - bare.ms.median;
    const extraKib = row.rssKib!.median - bare.rssKib!.median;
    console.log(`full lookup ${name.padEnd(26)} ${ms(row.ms)}, peak RSS ${rss(row.rssKib!)}`);
    if (anchor) console.log(`  Courier 1.0.16: ${ms(anchor.ms)}, peak RSS ${rss(anchor.rssKib!)}`);
    console.log(
      `  over bare: ${signed(extraMs)} ms (goal ≤ +${GOALS.startupMs} ms) ${
        verdict(extraMs <= GOALS.startupMs)
      }, ${signed(extraKib / 1024)} MiB (goal ≤ +${GOALS.startupRssKib / 1024} MiB) ${
        verdict(extraKib <= GOALS.startupRssKib)
      }`,
    );
  }
  if (courier) {
    // Empty cache: each run downloads the policy (Courier through wget).
    const [oursEmpty, courierEmpty] = await timeInterleaved(world, [
      { argv: [...oursArgv, STS_DOMAIN], before: () => world.resetSts(null) },
      { argv: [courier, STS_DOMAIN], before: () => world.resetSts(null) },
    ], { rss: true });
    console.log(
      `full lookup ${`${STS_DOMAIN} (empty cache)`.padEnd(26)} ${ms(oursEmpty.ms)}, ` +
        `peak RSS ${rss(oursEmpty.rssKib!)}`,
    );
    console.log(`  Courier 1.0.16: ${ms(courierEmpty.ms)}, peak RSS ${rss(courierEmpty.rssKib!)}`);
    console.log(
      `  this tool − Courier: ${signed(oursEmpty.ms.median - courierEmpty.ms.median)} ms ` +
        `(goal ≤ 0) ${verdict(oursEmpty.ms.median <= courierEmpty.ms.median)}`,
    );
  } else {
    console.log(`Courier's binary unavailable: ${world.courierUnavailableReason}; no anchors`);
  }
  return bare.ms;
}

async function compiledStartup(world: World): Promise<void> {
  const denort = Deno.env.get("DENORT_BIN");
  if (denort === undefined) {
    console.log("\n## Start-up (compiled binary): skipped, DENORT_BIN is not set");
    return;
  }
  const out = await Deno.makeTempDir({ prefix: "bench_compile_" });
  const empty = await emptyScript();
  try {
    const words = await taskWords("compile");
    const args = words.slice(2).map((w) => w === "dist/testmxlookup" ? `${out}/testmxlookup` : w);
    for (const argv of [args, ["--no-config", "-o", `${out}/empty`, empty]]) {
      const build = await new Deno.Command(Deno.execPath(), {
        args: ["compile", ...argv],
        cwd: ROOT,
        env: { DENORT_BIN: denort },
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!build.success) throw new Error(`deno compile failed: ${text(build.stderr)}`);
    }
    await startupGroup(world, "compiled binary", [`${out}/empty`], [`${out}/testmxlookup`]);
  } finally {
    await Deno.remove(out, { recursive: true });
    await Deno.remove(empty);
  }
}

// ---- batch -------------------------------------------------------------------------------

/** `d000001.batch.test` …: one MX host each, with A and AAAA. */
function batchZone(count: number): { zone: string; domains: string[] } {
  const lines = [
    `$ORIGIN ${BATCH_ZONE}.`,
    "$TTL 3600",
    `@ SOA ns.test. hostmaster.test. 1 3600 600 86400 300`,
    "@ NS ns.test.",
  ];
  const domains = [];
  for (let i = 1; i <= count; i++) {
    const label = `d${String(i).padStart(6, "0")}`;
    const [hi, lo] = [(i >> 8) & 0xff, i & 0xff];
    lines.push(
      `${label} MX 10 mx.${label}`,
      `mx.${label} A 198.51.${hi}.${lo}`,
      `mx.${label} AAAA 2001:db8:b:${(i >> 16).toString(16)}::${(i & 0xffff).toString(16)}`,
    );
    domains.push(`${label}.${BATCH_ZONE}`);
  }
  return { zone: lines.join("\n") + "\n", domains };
}

interface BatchFigures {
  ms: number;
  rssKib: number;
}

/**
 * The command line of this tool's `--batch` run over `file` with `concurrency` lookups in
 * flight: `deno task lookup`'s flags with read access to the list added.
 */
function ourBatchArgv(ours: string[], file: string, concurrency: number): string[] {
  const argv = ours.map((word) => word.startsWith("--allow-read=") ? `${word},${file}` : word);
  return [...argv, "--batch", file, "--concurrency", String(concurrency)];
}

async function runOurBatch(
  world: World,
  ours: string[],
  listFile: string,
  count: number,
): Promise<BatchFigures> {
  // The first `count` domains, as the anchor's --limit takes them.
  const file = `${listFile}.${count}`;
  const lines = (await Deno.readTextFile(listFile)).split("\n").slice(0, count);
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
  const sample = await runOnce(world, ourBatchArgv(ours, file, CONCURRENCY), { rss: true });
  return { ms: sample.ms, rssKib: sample.rssKib! };
}

async function runNodeBatch(
  world: World,
  node: string,
  listFile: string,
  count: number,
): Promise<BatchFigures & { ok: number; queries: number }> {
  const sample = await runOnce(world, [
    node,
    NODE_ANCHOR,
    "--server",
    "127.0.0.1",
    "--concurrency",
    String(CONCURRENCY),
    "--domains",
    listFile,
    "--limit",
    String(count),
    "--time-limit-s",
    "300",
  ], { rss: true });
  const report = JSON.parse(sample.stdout);
  if (report.ok !== count) throw new Error(`Node's resolver failed: ${sample.stdout}`);
  return { ms: report.ms, rssKib: sample.rssKib!, ok: report.ok, queries: report.queries };
}

async function batchGroup(ours: string[]): Promise<void> {
  const node = findNode();
  console.log(
    `\n## Batch: domains of a generated zone (${BATCH_ZONE}, MX → one host with A and AAAA), ` +
      `${CONCURRENCY} in flight, Unbound on 127.0.0.1`,
  );
  if (node === undefined) {
    console.log("node not found: the anchor cannot run; group skipped");
    return;
  }
  // The 100,000-domain zone only when there is a batch mode to measure with it.
  const size = BATCH_SIZES[1];
  const { zone, domains } = batchZone(size);
  const started = performance.now();
  await using world = await startWorld({
    extraZones: { [BATCH_ZONE]: zone },
    startTimeoutMs: 120_000,
  });
  console.log(
    `(world with ${size} generated domains up in ${(performance.now() - started).toFixed(0)} ms)`,
  );
  const nodeVersion = (await runOnce(world, [node, "--version"])).stdout.trim();
  const listFile = `${world.dir}/batch-domains.txt`;
  await Deno.writeTextFile(listFile, domains.join("\n") + "\n");
  const count = BATCH_SIZES[0];
  // One pass fills Unbound's cache, so both tools then meet the same warm resolver.
  await runNodeBatch(world, node, listFile, count);
  const nodeRuns = [];
  const ourRuns = [];
  for (let i = 0; i < BATCH_RUNS; i++) {
    nodeRuns.push(await runNodeBatch(world, node, listFile, count));
    ourRuns.push(await runOurBatch(world, ours, listFile, count));
  }
  const nodeRate = figures(nodeRuns.map((r) => count / (r.ms / 1000)));
  const rate = (f: Figures) =>
    `median ${f.median.toFixed(0)} domains/s (min ${f.min.toFixed(0)}, max ${f.max.toFixed(0)})`;
  console.log(
    `Node ${nodeVersion} dns.promises.Resolver, ${count} domains ` +
      `(${nodeRuns[0].queries} queries): ${rate(nodeRate)}, peak RSS ${
        rss(figures(nodeRuns.map((r) => r.rssKib)))
      }`,
  );
  const ourRate = figures(ourRuns.map((r) => count / (r.ms / 1000)));
  const ratio = ourRate.median / nodeRate.median;
  console.log(`this tool --batch, ${count} domains: ${rate(ourRate)}`);
  console.log(
    `  throughput this tool / Node ${ratio.toFixed(2)}× (goal ≥ ${GOALS.batchThroughput}×) ${
      verdict(ratio >= GOALS.batchThroughput)
    }`,
  );
  const small = figures(ourRuns.map((r) => r.rssKib));
  const big = await runOurBatch(world, ours, listFile, BATCH_SIZES[1]);
  const growth = big.rssKib / small.median;
  console.log(
    `  peak RSS ${count} → ${BATCH_SIZES[1]} domains: ${mib(small.median)} → ${mib(big.rssKib)} (×${
      growth.toFixed(2)
    }; flat = ≤ ×1.10) ${verdict(growth <= 1.1)}`,
  );
}

function findNode(): string | undefined {
  for (
    const dir of (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/bin", "/usr/local/bin"])
  ) {
    try {
      if (dir !== "" && Deno.statSync(`${dir}/node`).isFile) return `${dir}/node`;
    } catch { /* not here */ }
  }
  return undefined;
}

// ---- main ----------------------------------------------------------------------------------

const unavailable = worldUnavailableReason();
if (unavailable !== undefined) {
  console.error(`bench: the test world cannot start here: ${unavailable}`);
  Deno.exit(1);
}
const groups = new Set(Deno.args.length > 0 ? Deno.args : ["startup", "latency", "batch"]);
for (const group of groups) {
  if (!["startup", "latency", "batch"].includes(group)) {
    console.error(`bench: unknown group "${group}" (startup, latency, batch)`);
    Deno.exit(2);
  }
}

const ours = [Deno.execPath(), "run", ...await lookupFlags(), MAIN];
const empty = await emptyScript();
console.log(
  `bench: ${RUNS} runs per figure (min/median/max), wall time per process as World.run ` +
    `sees it (namespace entry included), deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs`,
);
try {
  if (groups.has("startup") || groups.has("latency")) {
    await using world = await startWorld({ stsCacheSize: null });
    const runner = (await timeInterleaved(world, [{ argv: ["true"] }]))[0].ms;
    console.log(`runner alone (World.run of /bin/true): ${ms(runner)}`);
    const bare = await startupGroup(world, "deno run", [Deno.execPath(), "run", empty], ours);
    if (groups.has("startup")) await compiledStartup(world);
    if (groups.has("latency")) await latencyGroup(world, bare, ours);
  }
  if (groups.has("batch")) await batchGroup(ours);
} finally {
  await Deno.remove(empty);
}
