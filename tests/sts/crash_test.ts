// Crash safety of the cache as a figure (D5): writer processes killed with SIGKILL in the middle
// of StsStore.write, and many writers at once, must never leave a torn entry behind.
import assert from "node:assert/strict";
import { decodeEntry } from "../../lib/sts/cache_file.ts";
import { entryName, StsStore } from "../../lib/sts/store.ts";
import { writerId, writerPolicy } from "../fakes/sts_writer.ts";

const WRITER = new URL("../fakes/sts_writer.ts", import.meta.url).pathname;
const SEED = 0x5eed_8461;
const KILLS = 100;
// Parallel lanes, each killing its own writer on its own domain in turn.
const LANES = 4;
const KILL_BUDGET_MS = 15_000;
const MAX_KILL_DELAY_MS = 25;

/** mulberry32: a small seeded PRNG, so that a failing run can be repeated. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function writer(
  dir: string,
  prefix: string,
  count: number,
  domains: string[],
  signal?: AbortSignal,
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-config",
      "--no-prompt",
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
      WRITER,
      dir,
      prefix,
      String(count),
      ...domains,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
    signal,
  });
}

/** What a cache file holds: absent, an entry the writers could have written (its id), or torn. */
async function inspect(dir: string, domain: string): Promise<
  { kind: "absent" } | { kind: "entry"; id: string } | { kind: "corrupt"; reason: string }
> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(`${dir}/${domain}`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { kind: "absent" };
    throw error;
  }
  const decoded = decodeEntry(bytes);
  if (!decoded.valid) return { kind: "corrupt", reason: decoded.reason };
  if (decoded.policy !== writerPolicy(decoded.id)) {
    return { kind: "corrupt", reason: `policy of ${decoded.id} differs (${bytes.length} bytes)` };
  }
  return { kind: "entry", id: decoded.id };
}

function temps(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith(".tmp-"));
}

/** Reads lines from a child's stdout until the first complete one, or `ms` pass. */
async function firstLine(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  chunks: Uint8Array[],
  ms: number,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => timer = setTimeout(resolve, ms, "timeout"));
  try {
    // Each turn consumes one chunk or ends; the timeout bounds the waiting.
    for (;;) {
      const next = await Promise.race([reader.read(), timeout]);
      if (next === "timeout" || next.done) return false;
      chunks.push(next.value);
      if (next.value.includes(0x0a)) return true;
    }
  } finally {
    clearTimeout(timer);
  }
}

interface LaneResult {
  kills: number;
  corrupted: string[];
  /** Kills that came after the writer had finished a write and before the next one did. */
  midWrite: number;
}

/**
 * One lane: spawn a writer on `domain`, wait for its first completed write, kill it with
 * SIGKILL after a random delay, check the entry, repeat.
 */
async function lane(
  dir: string,
  index: number,
  kills: number,
  random: () => number,
  deadline: number,
): Promise<LaneResult> {
  const domain = `lane${index}.crash.test`;
  const result: LaneResult = { kills: 0, corrupted: [], midWrite: 0 };
  // The id in the file before this writer started: what a kill before its first rename leaves.
  let previous: string | undefined;
  for (let k = 0; k < kills && Date.now() < deadline; k++) {
    const prefix = `l${index}k${k}`;
    const delay = Math.floor(random() * MAX_KILL_DELAY_MS);
    const child = writer(dir, prefix, 100_000, [domain]).spawn();
    const reader = child.stdout.getReader();
    const chunks: Uint8Array[] = [];
    try {
      const started = await firstLine(reader, chunks, 10_000);
      assert.ok(started, `writer ${prefix} wrote nothing within 10 s`);
      await sleep(delay);
    } finally {
      child.kill("SIGKILL");
      // The pipe ends with the process: bounded.
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
      }
      reader.releaseLock();
      await child.status;
    }
    result.kills++;
    // Complete lines only: the writer prints after each finished rename.
    const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
    const printed = text.split("\n").slice(0, -1).map((line) => line.split(" ")[1]);
    const last = printed.at(-1);
    const lastIndex = last === undefined ? -1 : Number(last.slice(prefix.length + 1));
    // Old (the last write reported) or new (the one in flight, renamed but not yet reported).
    const allowed = [last ?? previous, writerId(prefix, lastIndex + 1)];
    const found = await inspect(dir, domain);
    if (found.kind === "corrupt") {
      result.corrupted.push(`${domain} after kill ${k}: ${found.reason}`);
    } else if (found.kind === "absent" || !allowed.includes(found.id)) {
      const what = found.kind === "absent" ? "absent" : found.id;
      result.corrupted.push(`${domain} after kill ${k}: ${what}, expected ${allowed.join(" or ")}`);
    } else {
      if (found.id !== last) result.midWrite++;
      previous = found.id;
    }
    // The reader this tool uses agrees.
    const read = await new StsStore(dir).read(domain);
    if (read.kind !== "entry") result.corrupted.push(`${domain}: store.read() says ${read.kind}`);
  }
  return result;
}

Deno.test("StsStore entries survive SIGKILL in the middle of writes: never torn, leftovers never read", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sts-crash-" });
  try {
    const random = prng(SEED);
    const seeds = Array.from({ length: LANES }, () => Math.floor(random() * 2 ** 32));
    const started = Date.now();
    const deadline = started + KILL_BUDGET_MS;
    const perLane = Math.ceil(KILLS / LANES);
    const results = await Promise.all(
      seeds.map((seed, i) => lane(dir, i, perLane, prng(seed), deadline)),
    );
    const kills = results.reduce((n, r) => n + r.kills, 0);
    const corrupted = results.flatMap((r) => r.corrupted);
    const leftovers = temps(dir);
    const renamedUnreported = results.reduce((n, r) => n + r.midWrite, 0);
    console.log(
      `${kills} kills, ${corrupted.length} corrupted entries, ${leftovers.length} leftover temp ` +
        `files (seed ${SEED.toString(16)}, ${renamedUnreported} kills between rename and report, ` +
        `${Date.now() - started} ms)`,
    );
    assert.deepEqual(corrupted, []);
    // Slow machines get fewer kills within the budget, but never too few to mean anything.
    assert.ok(kills >= 20, `only ${kills} kills within ${KILL_BUDGET_MS} ms`);

    // Leftover temporary files are no entries: not a valid name, not counted or removed by
    // --sts-expire, which trims the real entries only.
    for (const name of leftovers) assert.throws(() => entryName(name), { kind: "INVALID_NAME" });
    const store = new StsStore(dir);
    const expired = await store.expire(1);
    assert.equal(expired.removed.length, LANES - 1);
    for (const name of expired.removed) assert.match(name, /^lane\d\.crash\.test$/);
    assert.deepEqual(temps(dir), leftovers);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("StsStore with 20 concurrent writer processes on 3 domains leaves only whole entries", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sts-writers-" });
  const domains = ["a.crash.test", "b.crash.test", "c.crash.test"];
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), 20_000);
  try {
    const writers = Array.from({ length: 20 }, (_, w) =>
      // Each writer starts on a different domain, so all three see contention.
      writer(
        dir,
        `w${w}`,
        12,
        [...domains.slice(w % 3), ...domains.slice(0, w % 3)],
        timeout.signal,
      )
        .output());
    // Meanwhile read every entry as this tool does: never a torn one.
    const seen: string[] = [];
    let done = false;
    const reading = (async () => {
      const store = new StsStore(dir);
      for (let i = 0; i < 5000 && !done; i++) {
        for (const domain of domains) {
          const read = await store.read(domain);
          if (read.kind === "ignored") seen.push(`${domain}: ${read.reason}`);
          if (read.kind === "entry" && read.entry.policy !== writerPolicy(read.entry.id)) {
            seen.push(`${domain}: policy of ${read.entry.id} differs`);
          }
        }
      }
    })();
    const outputs = await Promise.all(writers).finally(() => done = true);
    await reading;
    const written = new Map<string, Set<string>>(domains.map((d) => [d, new Set()]));
    for (const output of outputs) {
      assert.equal(output.code, 0);
      for (const line of new TextDecoder().decode(output.stdout).trim().split("\n")) {
        const [domain, id] = line.split(" ");
        written.get(domain)!.add(id);
      }
    }
    assert.equal([...written.values()].reduce((n, ids) => n + ids.size, 0), 20 * 12);
    const corrupted = [...seen];
    for (const domain of domains) {
      const found = await inspect(dir, domain);
      if (found.kind !== "entry") corrupted.push(`${domain}: ${JSON.stringify(found)}`);
      else if (!written.get(domain)!.has(found.id)) corrupted.push(`${domain}: ${found.id}?`);
    }
    console.log(
      `20 writers x 12 writes on 3 domains: ${corrupted.length} corrupted entries, ` +
        `${temps(dir).length} leftover temp files`,
    );
    assert.deepEqual(corrupted, []);
    assert.deepEqual(temps(dir), []);
  } finally {
    clearTimeout(timer);
    await Deno.remove(dir, { recursive: true });
  }
});
