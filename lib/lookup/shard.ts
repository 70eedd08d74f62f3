// `--shard K/N`: which input lines one of N batch workers takes. The hash is part of the
// interface (workers on different machines and versions must agree), so it is spelled out
// here and in the README: 32-bit FNV-1a over the UTF-8 bytes of the line's domain, ASCII
// letters lower-cased and one trailing dot removed; the line belongs to shard hash mod N.

/** One worker's part of a batch: shard `index` (from 0) of `count`. */
export interface Shard {
  /** This worker's shard, from 0 (as Kubernetes' `JOB_COMPLETION_INDEX`). */
  index: number;
  /** How many shards the input is split into. */
  count: number;
}

/** The most shards an input can be split into. */
export const MAX_SHARDS = 1_000_000;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const encoder = new TextEncoder();

/**
 * Reads `K/N` (decimal, 0 ≤ K < N ≤ {@linkcode MAX_SHARDS}).
 *
 * @throws {RangeError} When the text is not of that form.
 */
export function parseShard(text: string): Shard {
  const match = /^(\d{1,7})\/(\d{1,7})$/.exec(text);
  const index = match ? Number(match[1]) : NaN;
  const count = match ? Number(match[2]) : NaN;
  if (!(count >= 1 && count <= MAX_SHARDS && index >= 0 && index < count)) {
    throw new RangeError(
      `Shard "${text.slice(0, 40)}" is not K/N with 0 ≤ K < N ≤ ${MAX_SHARDS}`,
    );
  }
  return { index, count };
}

/** The key a domain is hashed by: ASCII letters lower-cased, one trailing dot removed. */
export function shardKey(domain: string): string {
  const lower = domain.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

/** 32-bit FNV-1a of `bytes`, as an unsigned integer. */
export function fnv1a32(bytes: Uint8Array): number {
  let hash = FNV_OFFSET;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, FNV_PRIME);
  return hash >>> 0;
}

/** The shard (from 0) of `count` that `domain` belongs to. */
export function shardOf(domain: string, count: number): number {
  return fnv1a32(encoder.encode(shardKey(domain))) % count;
}

/** Whether `domain` belongs to `shard`. */
export function inShard(domain: string, shard: Shard): boolean {
  return shard.count === 1 || shardOf(domain, shard.count) === shard.index;
}
