// The growth target of scripts/fuzz.ts: every reader of outside input (scripts/_growth_readers.ts)
// is fed one input shape grown fourfold up to the largest input it accepts, and timed. Time
// growing faster than the input (a regular expression retried at every position, a splice per
// character) is a finding, as is the largest input taking over GROWTH_LIMIT_MS. Timing lives
// here, in `deno task fuzz`, never in the test suite.
import { fill, type Reader, READERS, type Shape } from "./_growth_readers.ts";
import type { Target } from "./fuzz.ts";

/** The largest input a reader accepts is read within this many milliseconds. */
export const GROWTH_LIMIT_MS = 50;

/**
 * Time ratio between an input and one four times smaller above which the growth counts as
 * super-linear: linear time gives 4, quadratic 16.
 */
export const SUPERLINEAR_RATIO = 8;

/** Times under this are too short for their ratio to mean anything. */
const MEASURABLE_MS = 2;

/** Sizes measured: the largest input and three fourfold steps below it. */
const STEPS = [64, 16, 4, 1];

/** Every hand-made shape, one table row each; input indexes past these get seeded shapes. */
const CATALOGUE: { reader: Reader; shape: Shape }[] = READERS.flatMap((reader) =>
  reader.shapes.map((shape) => ({ reader, shape }))
);

function maxOf(reader: Reader, shape: Shape): number {
  return typeof reader.max === "number" ? reader.max : reader.max(shape);
}

/** A seeded shape: tokens of the reader as head, repeated unit and tail (xorshift, per index). */
function seededShape(reader: Reader, seed: number, index: number): Shape {
  // Xorshift stays at 0 forever: that one state is moved.
  let state = (Math.imul(seed ^ 0x5bd1e995, 0x27d4eb2d) ^ Math.imul(index + 1, 0x165667b1)) >>> 0 ||
    1;
  const int = (n: number) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
  const pick = (count: number) =>
    Array.from({ length: count }, () => reader.tokens[int(reader.tokens.length)]).join("");
  const head = pick(int(4));
  const unit = pick(1 + int(3));
  const tail = pick(int(3));
  return {
    name: `${JSON.stringify(head)} + ${JSON.stringify(unit)}… + ${JSON.stringify(tail)}`,
    build: (size) => reader.fromText(fill(head, unit, tail, size)),
  };
}

/** V8's collector, when `deno task fuzz` exposes it (--v8-flags=--expose-gc). */
const gc = (globalThis as { gc?: () => void }).gc;

/** The least of `reps` timings of reading `input`, in milliseconds. */
async function timeOf(reader: Reader, input: unknown, reps: number): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    // Garbage left by the input before is not this read's cost.
    gc?.();
    const started = performance.now();
    await reader.read(input);
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

/** Timings of one shape at each size, smallest first. */
async function measure(reader: Reader, shape: Shape, reps: number): Promise<number[]> {
  const max = maxOf(reader, shape);
  const sizes = STEPS.map((d) => Math.max(1, Math.floor(max / d)));
  // One read first, so that compiling the reader is not counted in the smallest size.
  await reader.read(shape.build(sizes[0]));
  const times: number[] = [];
  for (const size of sizes) times.push(await timeOf(reader, shape.build(size), reps));
  return times;
}

/**
 * What is wrong with the timings of one shape, or undefined.
 *
 * @param bounded Whether the last size is the largest input the reader accepts.
 * @param times Milliseconds per size, each size four times the one before.
 * @returns The finding, one phrase.
 */
export function growthProblem(bounded: boolean, times: readonly number[]): string | undefined {
  const last = times[times.length - 1];
  const ratio = last / Math.max(times[times.length - 2], 1e-3);
  if (bounded && last > GROWTH_LIMIT_MS) {
    return `the largest input takes ${last.toFixed(1)} ms, over ${GROWTH_LIMIT_MS} ms`;
  }
  if (last >= MEASURABLE_MS && ratio > SUPERLINEAR_RATIO) {
    return `super-linear: 4 times the input takes ${ratio.toFixed(1)} times as long`;
  }
  return undefined;
}

function row(reader: Reader, shape: Shape, times: number[]): string {
  const ratio = times[times.length - 1] / Math.max(times[times.length - 2], 1e-3);
  const cells = times.map((t) => `${t.toFixed(2).padStart(8)} ms`).join("");
  return `${reader.name.padEnd(13)} ${shape.name.slice(0, 34).padEnd(34)}${cells}  ×${
    ratio.toFixed(1).padStart(5)
  }  (max ${maxOf(reader, shape)})`;
}

/** The table's header, sizes as fractions of each reader's largest input. */
export const GROWTH_HEADER: string = `${"reader".padEnd(13)} ${"shape".padEnd(34)}` +
  STEPS.map((d) => (d === 1 ? "max" : `max/${d}`).padStart(11)).join("") + "  last ratio";

/**
 * The growth target: input `index` is hand-made shape `index` of the catalogue, then seeded
 * shapes of each reader in turn. A finding throws, with the timings; a catalogue shape
 * returns its table row.
 */
export const growthTarget: Target = {
  name: "growth",
  count: CATALOGUE.length + 10 * READERS.length,
  hangMs: Infinity,
  timed: true,
  header: GROWTH_HEADER,
  async run(seed, index, note) {
    const { reader, shape } = index < CATALOGUE.length
      ? CATALOGUE[index]
      : ((reader) => ({ reader, shape: seededShape(reader, seed, index) }))(
        READERS[(index - CATALOGUE.length) % READERS.length],
      );
    note(`${reader.name}: ${shape.name}`);
    let times = await measure(reader, shape, 3);
    // A slow step on a busy machine is measured again, twice, before it counts.
    for (let again = 0; again < 2 && growthProblem(reader.bounded, times) !== undefined; again++) {
      times = await measure(reader, shape, 7);
    }
    const found = growthProblem(reader.bounded, times);
    if (found !== undefined) throw new Error(`${found}: ${row(reader, shape, times)}`);
    return index < CATALOGUE.length ? row(reader, shape, times) : undefined;
  },
};
