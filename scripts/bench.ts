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
import { startProxy, stopProxy } from "../tests/world/latency_proxies.ts";
import {
  buildInRepository,
  BUILT_FILE,
  lookupFlags,
  MAIN,
  ROOT,
  taskWords,
} from "../tests/world/tool.ts";
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

const NODE_ANCHOR = fileURLToPath(new URL("./bench_node_resolver.mjs", import.meta.url));
const LIBRARY_BATCH = fileURLToPath(new URL("./bench_lookup_many.ts", import.meta.url));

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

/**
 * One timed run: wall time around `world.run`; peak RSS and CPU time (user + system) from
 * `/usr/bin/time` when asked.
 */
interface Sample {
  ms: number;
  rssKib?: number;
  cpuMs?: number;
  stdout: string;
}

const RSS_MARK = "bench-peak-rss-kib=";
const CPU_MARK = "bench-cpu-s=";

async function runOnce(
  world: World,
  argv: string[],
  options: { rss?: boolean; env?: Record<string, string> } = {},
): Promise<Sample> {
  const full = options.rss
    ? ["/usr/bin/time", "-f", `${RSS_MARK}%M ${CPU_MARK}%U+%S`, ...argv]
    : argv;
  const started = performance.now();
  const result = await world.run(full, { timeoutMs: 120_000, env: options.env });
  const elapsed = performance.now() - started;
  const stderr = text(result.stderr);
  if (result.code !== 0) {
    throw new Error(`${argv.join(" ")} exited ${result.code}: ${stderr}`);
  }
  const mark = stderr.lastIndexOf(RSS_MARK);
  const cpu = new RegExp(`${CPU_MARK}([0-9.]+)\\+([0-9.]+)`).exec(stderr);
  return {
    ms: elapsed,
    rssKib: mark < 0 ? undefined : Number.parseInt(stderr.slice(mark + RSS_MARK.length), 10),
    cpuMs: cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : undefined,
    stdout: text(result.stdout),
  };
}

/** Runs each command RUNS times, interleaved so that drift hits every command alike. */
async function timeInterleaved(
  world: World,
  commands: Array<{ argv: string[]; before?: () => Promise<void> }>,
  options: { rss?: boolean; env?: Record<string, string> } = {},
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

/** A way to run this tool: `deno run main.ts`, or the one file `deno task build` makes (D40). */
interface Form {
  label: string;
  argv: string[];
}

async function latencyGroup(world: World, bare: Figures, forms: Form[]): Promise<void> {
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
        await latencyVariant(world, bare, forms, tlsDelayMs);
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
  forms: Form[],
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
    const lookups = forms.map((form) => [...form.argv, STS_DOMAIN]);
    const requestsBefore = (await world.policyRequests()).length;
    const empty = await timeInterleaved(
      world,
      [...lookups, courier].map((argv) => ({ argv, before: () => world.resetSts(null) })),
    );
    const downloads = (await world.policyRequests()).length - requestsBefore;
    // Cached: one run fills the cache, then every run finds the TXT id unchanged.
    const cached = [];
    for (const argv of [...lookups, courier]) {
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
    for (const [n, form] of forms.entries()) check(form.label, empty[n].last.stdout);
    const courierEmpty = empty[forms.length].ms;
    const courierCached = cached[forms.length].ms;
    check("Courier", empty[forms.length].last.stdout);
    for (
      const [label, runs, courierMs, goal] of [
        ["empty cache", empty, courierEmpty, GOALS.latencyEmpty],
        ["policy cached", cached, courierCached, GOALS.latencyCached],
      ] as const
    ) {
      console.log(`${label}:`);
      console.log(`  Courier 1.0.16  ${ms(courierMs)}`);
      for (const [n, form] of forms.entries()) {
        const ratio = runs[n].ms.median / courierMs.median;
        console.log(`  ${form.label.padEnd(14)} ${ms(runs[n].ms)}`);
        console.log(
          `    ratio to Courier ${ratio.toFixed(2)}× (goal ≤ ${goal}×) ${verdict(ratio <= goal)}`,
        );
      }
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
      } ms) = ${limit.toFixed(1)} ms; with the download's own round trips (TXT ∥ mta-sts ` +
        `address, then TLS handshake, GET: ${rtt} + 2 × ${tlsRtt} ms + start-up) ` +
        `${fetchFloor.toFixed(1)} ms:`,
    );
    for (const [n, form] of forms.entries()) {
      console.log(
        `  ${form.label}: cached ${cached[n].ms.median.toFixed(1)} ms = limit ${
          signed(cached[n].ms.median - limit)
        } ms; empty ${empty[n].ms.median.toFixed(1)} ms = limit ${
          signed(empty[n].ms.median - limit)
        } ms, download floor ${signed(empty[n].ms.median - fetchFloor)} ms`,
      );
    }
    console.log(
      `  (policy downloads seen by the server: ${downloads} in ${
        (forms.length + 1) * RUNS
      } empty-cache runs, ${downloadsCached} in the cached runs, the warm-up runs included)`,
    );
  } finally {
    await world.writeEtc("resolv.conf", `domain ${WORLD_DOMAIN}\nnameserver 127.0.0.1\n`);
  }
}

function signed(n: number): string {
  return `${n >= 0 ? "+" : "−"} ${Math.abs(n).toFixed(1)}`;
}

// ---- start-up ---------------------------------------------------------------------------

let relays = 0;

/**
 * mta-sts.sts-bench.test is 127.0.0.11, the latency group's TLS relay: outside that group a
 * relay without delay stands there, so that the policy really downloads (and then is cached).
 */
async function withPolicyRelay<T>(world: World, body: () => Promise<T>): Promise<T> {
  const relay = await startProxy(world, `policy-relay-${++relays}`, 0, [
    "--tcp",
    `${LATENCY_TLS_ADDRESS}:443=${POLICY_ADDRESS}:443`,
  ]);
  try {
    return await body();
  } finally {
    await stopProxy(relay);
  }
}

/** Policy downloads nginx saw while `body` ran. */
async function downloadsDuring(world: World, body: () => Promise<void>): Promise<number> {
  const before = (await world.policyRequests()).length;
  await body();
  return (await world.policyRequests()).length - before;
}

/** Gives the cache directory and what is in it to root (no D25 switch) or to courier. */
async function ownStsBy(world: World, owner: "root" | "courier"): Promise<void> {
  const { uid, gid } = owner === "root" ? { uid: 0, gid: 0 } : world.courierIds;
  await Deno.chown(world.stsDir, uid, gid);
  for await (const entry of Deno.readDir(world.stsDir)) {
    await Deno.chown(`${world.stsDir}/${entry.name}`, uid, gid);
  }
}

async function startupGroup(
  world: World,
  label: string,
  bareArgv: string[],
  oursArgv: string[],
): Promise<Figures> {
  console.log(
    `\n## Local resolver, start-up (${label}): loopback without delay, Unbound answering from cache`,
  );
  return await withPolicyRelay(world, () => startupRows(world, label, bareArgv, oursArgv));
}

async function startupRows(
  world: World,
  label: string,
  bareArgv: string[],
  oursArgv: string[],
): Promise<Figures> {
  const courier = world.courierBin;
  await world.resetSts(null);
  // Fills the policy cache (one download) and Unbound's.
  const filled = await downloadsDuring(world, async () => {
    await runOnce(world, [...oursArgv, STS_DOMAIN]);
    await runOnce(world, [...oursArgv, DNS_DOMAIN]);
  });
  const cachedFile = (await world.readSts()).has(STS_DOMAIN);
  const commands = [
    { argv: bareArgv },
    { argv: [...oursArgv, STS_DOMAIN] },
    { argv: [...oursArgv, DNS_DOMAIN] },
  ];
  // Courier on the same cases, reading the cache entry this tool wrote (the same format).
  if (courier) commands.push({ argv: [courier, STS_DOMAIN] }, { argv: [courier, DNS_DOMAIN] });
  let timed: Awaited<ReturnType<typeof timeInterleaved>> = [];
  const cachedDownloads = await downloadsDuring(world, async () => {
    timed = await timeInterleaved(world, commands, { rss: true });
  });
  const [bare, sts, dnsOnly, courierSts, courierDns] = timed;
  console.log(
    `policy cache: the first run downloaded ${filled} time(s) and saved it (${
      cachedFile ? "entry present" : "NO ENTRY"
    }); the ${commands.length * RUNS} runs after it downloaded ${cachedDownloads} time(s) ${
      verdict(filled === 1 && cachedFile && cachedDownloads === 0)
    }`,
  );
  // The same cached lookup with a root-owned cache directory: root stays root (no D25 switch).
  await ownStsBy(world, "root");
  const [rootOwned] = await timeInterleaved(world, [{ argv: [...oursArgv, STS_DOMAIN] }], {
    rss: true,
  });
  await ownStsBy(world, "courier");
  // And run by the cache's owner itself, not root: no path walk, no switch.
  const asOwner = await asCacheOwner(world, oursArgv);
  const [unprivileged] = asOwner === undefined ? [undefined] : await timeInterleaved(world, [{
    argv: [...asOwner.argv, STS_DOMAIN],
  }], { rss: true, env: asOwner.env });
  await asOwner?.remove();
  console.log(`bare (empty script)              ${ms(bare.ms)}, peak RSS ${rss(bare.rssKib!)}`);
  const rows = [
    [`${STS_DOMAIN} (policy cached)`, sts, courierSts],
    [`  same, root-owned cache`, rootOwned, undefined],
    ...unprivileged ? [[`  same, run as courier`, unprivileged, undefined] as const] : [],
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
  console.log(
    `  root → courier switch (D25) vs root-owned cache: ${
      signed(sts.ms.median - rootOwned.ms.median)
    } ms, ${signed((sts.rssKib!.median - rootOwned.rssKib!.median) / 1024)} MiB`,
  );
  if (unprivileged) {
    console.log(
      `  root → courier switch (D25) vs the same lookup run as courier: ${
        signed(sts.ms.median - unprivileged.ms.median)
      } ms, ${signed((sts.rssKib!.median - unprivileged.rssKib!.median) / 1024)} MiB`,
    );
  } else {
    console.log("  (run as courier: only for the built file; main.ts needs root's npm cache)");
  }
  if (courier) {
    // Empty cache: each run downloads the policy (Courier through wget).
    let empty: Awaited<ReturnType<typeof timeInterleaved>> = [];
    const emptyDownloads = await downloadsDuring(world, async () => {
      empty = await timeInterleaved(world, [
        { argv: [...oursArgv, STS_DOMAIN], before: () => world.resetSts(null) },
        { argv: [courier, STS_DOMAIN], before: () => world.resetSts(null) },
      ], { rss: true });
    });
    const [oursEmpty, courierEmpty] = empty;
    console.log(
      `full lookup ${`${STS_DOMAIN} (empty cache)`.padEnd(26)} ${ms(oursEmpty.ms)}, ` +
        `peak RSS ${rss(oursEmpty.rssKib!)}`,
    );
    console.log(`  Courier 1.0.16: ${ms(courierEmpty.ms)}, peak RSS ${rss(courierEmpty.rssKib!)}`);
    console.log(
      `  this tool − Courier: ${signed(oursEmpty.ms.median - courierEmpty.ms.median)} ms ` +
        `(goal ≤ 0) ${verdict(oursEmpty.ms.median <= courierEmpty.ms.median)}; ` +
        `downloads ${emptyDownloads} in ${2 * RUNS} runs ${verdict(emptyDownloads === 2 * RUNS)}`,
    );
  } else {
    console.log(`Courier's binary unavailable: ${world.courierUnavailableReason}; no anchors`);
  }
  if (label === "deno run main.ts") await timelines(world, oursArgv);
  return bare.ms;
}

/**
 * `oursArgv` as the `courier` account runs it (setpriv, no supplementary groups): a copy of the
 * deno binary where that account can reach it (root's home is closed) and a Deno cache of its
 * own. Only for a program without npm packages (the built file, D40); undefined otherwise.
 */
async function asCacheOwner(
  world: World,
  oursArgv: string[],
): Promise<{ argv: string[]; env: Record<string, string>; remove(): Promise<void> } | undefined> {
  if (!oursArgv.at(-1)!.endsWith(".js")) return undefined;
  const dir = await Deno.makeTempDir({ prefix: "bench_courier_" });
  await Deno.chmod(dir, 0o755);
  await Deno.copyFile(oursArgv[0], `${dir}/deno`);
  await Deno.chmod(`${dir}/deno`, 0o755);
  await Deno.mkdir(`${dir}/deno-dir`);
  const { uid, gid } = world.courierIds;
  await Deno.chown(`${dir}/deno-dir`, uid, gid);
  const ids = ["--reuid", String(uid), "--regid", String(gid), "--clear-groups", "--"];
  const argv = ["setpriv", ...ids, `${dir}/deno`, ...oursArgv.slice(1)];
  const env = { DENO_DIR: `${dir}/deno-dir`, HOME: dir };
  // One run fills its Deno cache (the code cache), as root's runs had theirs.
  await runOnce(world, [...argv, STS_DOMAIN], { env });
  return { argv, env, remove: () => Deno.remove(dir, { recursive: true }) };
}

/** The `--json` trace of one run of each case: where the time of a lookup goes (D37). */
async function timelines(world: World, oursArgv: string[]): Promise<void> {
  console.log("timelines (--json trace: start ms from the process start, + duration):");
  const cases: Array<[string, string, boolean]> = [
    ["MX only", DNS_DOMAIN, false],
    ["policy cached", STS_DOMAIN, false],
    ["empty cache", STS_DOMAIN, true],
  ];
  await world.resetSts(null);
  await runOnce(world, [...oursArgv, STS_DOMAIN]);
  for (const [name, domain, reset] of cases) {
    if (reset) await world.resetSts(null);
    const { stdout } = await runOnce(world, [...oursArgv, "--json", domain]);
    const report = JSON.parse(stdout);
    console.log(`  ${name} (${domain}), whole run ${report.durationMs.toFixed(1)} ms:`);
    const trace = [...report.trace].sort((a, b) => a.startMs - b.startMs);
    for (const t of trace) {
      console.log(
        `    ${t.startMs.toFixed(1).padStart(6)} +${t.ms.toFixed(1).padStart(5)}  ${
          t.transport.padEnd(5)
        } ${t.type.padEnd(7)} ${t.name}${t.error ? ` (${t.error})` : ""}`,
      );
    }
  }
}

async function compiledStartup(world: World, built: string): Promise<void> {
  const denort = Deno.env.get("DENORT_BIN");
  if (denort === undefined) {
    console.log("\n## Start-up (compiled binary): skipped, DENORT_BIN is not set");
    return;
  }
  const out = await Deno.makeTempDir({ prefix: "bench_compile_" });
  const empty = await emptyScript();
  try {
    const words = await taskWords("compile");
    // `deno task compile` runs `deno task build` first; the bench built it already.
    const args = words.slice(2).map((w) =>
      w === "dist/testmxlookup" ? `${out}/testmxlookup` : w === BUILT_FILE ? built : w
    );
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
  /** The process's wall time. */
  ms: number;
  /** Its user + system CPU time. */
  cpuMs: number;
  rssKib: number;
  /** Unbound's CPU time meanwhile. */
  unboundCpuMs: number;
}

/** Unbound's CPU time so far (user + system), from /proc: the world's only unbound. */
async function unboundCpuMs(world: World): Promise<number> {
  const pids = await new Deno.Command("ip", { args: ["netns", "pids", world.ns] }).output();
  const ticks = 100; // sysconf(_SC_CLK_TCK) on Linux
  for (const pid of text(pids.stdout).split("\n").filter((p) => p !== "")) {
    const comm = await Deno.readTextFile(`/proc/${pid}/comm`).catch(() => "");
    if (comm.trim() !== "unbound") continue;
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the command.
    return (Number(fields[11]) + Number(fields[12])) * 1000 / ticks;
  }
  return NaN;
}

async function timedBatch(world: World, argv: string[]): Promise<BatchFigures & Sample> {
  const before = await unboundCpuMs(world);
  const sample = await runOnce(world, argv, { rss: true });
  const unbound = (await unboundCpuMs(world)) - before;
  return { ...sample, cpuMs: sample.cpuMs!, rssKib: sample.rssKib!, unboundCpuMs: unbound };
}

/**
 * The command line of this tool's `--batch` run over `file` with `concurrency` lookups in
 * flight: `deno task lookup`'s flags with read access to the list added.
 */
function ourBatchArgv(ours: string[], file: string, concurrency: number): string[] {
  const argv = ours.map((word) => word.startsWith("--allow-read=") ? `${word},${file}` : word);
  return [...argv, "--batch", file, "--concurrency", String(concurrency)];
}

/** The first `count` domains of the list in a file of their own. */
async function listOf(listFile: string, count: number): Promise<string> {
  const file = `${listFile}.${count}`;
  const lines = (await Deno.readTextFile(listFile)).split("\n").slice(0, count);
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
  return file;
}

async function runOurBatch(
  world: World,
  ours: string[],
  listFile: string,
  count: number,
): Promise<BatchFigures> {
  const file = await listOf(listFile, count);
  return await timedBatch(world, ourBatchArgv(ours, file, CONCURRENCY));
}

async function runLibraryBatch(
  world: World,
  ours: string[],
  listFile: string,
  count: number,
): Promise<BatchFigures & { innerMs: number }> {
  const file = await listOf(listFile, count);
  const flags = ours.slice(2, -1).map((word) =>
    word.startsWith("--allow-read=") ? `${word},${file}` : word
  );
  const sample = await timedBatch(world, [
    ours[0],
    "run",
    ...flags,
    LIBRARY_BATCH,
    "--server",
    "127.0.0.1",
    "--concurrency",
    String(CONCURRENCY),
    "--domains",
    file,
  ]);
  const report = JSON.parse(sample.stdout);
  if (report.ok !== count) throw new Error(`lookupMany failed: ${sample.stdout}`);
  return { ...sample, innerMs: report.ms };
}

async function runNodeBatch(
  world: World,
  node: string,
  listFile: string,
  count: number,
  txt = false,
): Promise<BatchFigures & { innerMs: number; queries: number }> {
  const sample = await timedBatch(world, [
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
    "--txt",
    txt ? "yes" : "no",
  ]);
  const report = JSON.parse(sample.stdout);
  if (report.ok !== count) throw new Error(`Node's resolver failed: ${sample.stdout}`);
  return { ...sample, innerMs: report.ms, queries: report.queries };
}

/**
 * The same batch with MTA-STS on, as on a Courier install (no `.cache_size`: the `_mta-sts` TXT
 * query and a cache look per domain), against Node asking the TXT record too. Not a goal of its
 * own: what the STS work costs each.
 */
async function stsBatchRows(
  world: World,
  node: string,
  ours: string[],
  listFile: string,
  count: number,
): Promise<void> {
  await world.resetSts(null);
  try {
    // One pass fills Unbound's negative cache for the TXT names.
    await runNodeBatch(world, node, listFile, count, true);
    const nodeRuns = [];
    const ourRuns = [];
    for (let i = 0; i < BATCH_RUNS; i++) {
      nodeRuns.push(await runNodeBatch(world, node, listFile, count, true));
      ourRuns.push(await runOurBatch(world, ours, listFile, count));
    }
    const nodeRate = figures(nodeRuns.map((r) => count / (r.ms / 1000)));
    const ourRate = figures(ourRuns.map((r) => count / (r.ms / 1000)));
    const cpu = (runs: BatchFigures[]) => figures(runs.map((r) => r.cpuMs * 1000 / count)).median;
    console.log(
      `with MTA-STS on (TXT asked by both, the cache looked at by this tool): Node ${
        nodeRate.median.toFixed(0)
      } domains/s (${cpu(nodeRuns).toFixed(0)} µs CPU each), --batch ${
        ourRate.median.toFixed(0)
      } domains/s (${cpu(ourRuns).toFixed(0)} µs); ratio ${
        (ourRate.median / nodeRate.median).toFixed(2)
      }× (min/max ${ourRate.min.toFixed(0)}/${ourRate.max.toFixed(0)} vs ${
        nodeRate.min.toFixed(0)
      }/${nodeRate.max.toFixed(0)})`,
    );
  } finally {
    await world.resetSts("0\n");
  }
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
  const libraryRuns = [];
  for (let i = 0; i < BATCH_RUNS; i++) {
    nodeRuns.push(await runNodeBatch(world, node, listFile, count));
    ourRuns.push(await runOurBatch(world, ours, listFile, count));
    libraryRuns.push(await runLibraryBatch(world, ours, listFile, count));
  }
  const rate = (f: Figures) =>
    `median ${f.median.toFixed(0)} domains/s (min ${f.min.toFixed(0)}, max ${f.max.toFixed(0)})`;
  const perDomain = (runs: BatchFigures[], key: "cpuMs" | "unboundCpuMs") =>
    figures(runs.map((r) => r[key] * 1000 / count));
  const us = (f: Figures) =>
    `median ${f.median.toFixed(1)} µs (min ${f.min.toFixed(1)}, max ${f.max.toFixed(1)})`;
  // Whole processes against whole processes: start-up and reading the list count for all.
  const nodeRate = figures(nodeRuns.map((r) => count / (r.ms / 1000)));
  const nodeInner = figures(nodeRuns.map((r) => count / (r.innerMs / 1000)));
  console.log(
    `Node ${nodeVersion} dns.promises.Resolver, ${count} domains (${nodeRuns[0].queries} ` +
      `queries): process ${rate(nodeRate)}; its own timer ${rate(nodeInner)}; peak RSS ${
        rss(figures(nodeRuns.map((r) => r.rssKib)))
      }`,
  );
  console.log(
    `  CPU per domain: Node ${us(perDomain(nodeRuns, "cpuMs"))}, Unbound meanwhile ${
      us(perDomain(nodeRuns, "unboundCpuMs"))
    }`,
  );
  const rows = [
    ["this tool --batch", ourRuns],
    ["lookupMany (library)", libraryRuns],
  ] as const;
  for (const [label, runs] of rows) {
    const ourRate = figures(runs.map((r) => count / (r.ms / 1000)));
    const ratio = ourRate.median / nodeRate.median;
    console.log(`${label}, ${count} domains: process ${rate(ourRate)}`);
    console.log(
      `  CPU per domain: ${us(perDomain(runs, "cpuMs"))}, Unbound meanwhile ${
        us(perDomain(runs, "unboundCpuMs"))
      }; peak RSS ${rss(figures(runs.map((r) => r.rssKib)))}`,
    );
    console.log(
      `  throughput / Node ${ratio.toFixed(2)}× (goal ≥ ${GOALS.batchThroughput}×) ${
        verdict(ratio >= GOALS.batchThroughput)
      }`,
    );
  }
  await stsBatchRows(world, node, ours, listFile, count);
  const small = figures(ourRuns.map((r) => r.rssKib));
  const big = await runOurBatch(world, ours, listFile, BATCH_SIZES[1]);
  const growth = big.rssKib / small.median;
  console.log(
    `  --batch peak RSS ${count} → ${BATCH_SIZES[1]} domains: ${mib(small.median)} → ${
      mib(big.rssKib)
    } (×${growth.toFixed(2)}; flat = ≤ ×1.10) ${verdict(growth <= 1.1)}`,
  );
  const smallLibrary = figures(libraryRuns.map((r) => r.rssKib));
  const bigLibrary = await runLibraryBatch(world, ours, listFile, BATCH_SIZES[1]);
  const growthLibrary = bigLibrary.rssKib / smallLibrary.median;
  console.log(
    `  lookupMany peak RSS ${count} → ${BATCH_SIZES[1]} domains: ${mib(smallLibrary.median)} → ${
      mib(bigLibrary.rssKib)
    } (×${growthLibrary.toFixed(2)}; flat = ≤ ×1.10) ${verdict(growthLibrary <= 1.1)}`,
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

const flags = await lookupFlags();
// `deno task build`'s one file (D40), what `deno task compile` embeds.
const { dir: builtDir, file: built } = await buildInRepository("bench_build_");
const forms: Form[] = [
  { label: "main.ts", argv: [Deno.execPath(), "run", ...flags, MAIN] },
  { label: "built file", argv: [Deno.execPath(), "run", ...flags, built] },
];
const ours = forms[0].argv;
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
    const bare = await startupGroup(
      world,
      "deno run main.ts",
      [Deno.execPath(), "run", empty],
      ours,
    );
    if (groups.has("startup")) {
      await startupGroup(world, "deno run of deno task build's file, D40", [
        Deno.execPath(),
        "run",
        empty,
      ], forms[1].argv);
      await compiledStartup(world, built);
    }
    if (groups.has("latency")) await latencyGroup(world, bare, forms);
  }
  if (groups.has("batch")) await batchGroup(ours);
} finally {
  await Deno.remove(empty);
  await Deno.remove(builtDir, { recursive: true });
}
