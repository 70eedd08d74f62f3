// `--resume FILE`: what an earlier run of the same batch already wrote. The output is one
// JSON object per line, each with the input's `line` number; only the last line can be
// incomplete (a worker killed while writing), and it is dropped and redone. Anything else
// that is not such a line means FILE is not this tool's output, and nothing is appended.

/** The input line numbers already reported, as a growable bit set (bounded memory). */
export class LineSet {
  #bits = new Uint8Array(1024);
  #size = 0;

  /** Adds line `n` (from 1). */
  add(n: number): void {
    const byte = n >>> 3;
    if (byte >= this.#bits.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.#bits.length * 2));
      grown.set(this.#bits);
      this.#bits = grown;
    }
    const mask = 1 << (n & 7);
    if ((this.#bits[byte] & mask) === 0) this.#size++;
    this.#bits[byte] |= mask;
  }

  /** Whether line `n` was reported. */
  has(n: number): boolean {
    const byte = n >>> 3;
    return byte < this.#bits.length && (this.#bits[byte] & (1 << (n & 7))) !== 0;
  }

  /** How many distinct lines were reported. */
  get size(): number {
    return this.#size;
  }
}

/** What a resume file holds. */
export interface ResumeState {
  /** The input lines already reported. */
  done: LineSet;
  /** Bytes of complete lines; anything after them is a torn line to cut off. */
  completeBytes: number;
}

/** The largest input line number a resume file may name. */
export const MAX_RESUME_LINE = 2 ** 31 - 1;

/** Longest output line accepted (a report of 1,000 MX hosts fits). */
const MAX_OUTPUT_LINE = 16 * 1024 * 1024;

/** A resume file that is not this tool's `--batch` output. */
export class ResumeFileError extends Error {
  /** The 1-based line of the file that is not a report. */
  readonly fileLine: number;

  /**
   * Creates an error.
   *
   * @param fileLine The offending line of the file.
   * @param message One line.
   */
  constructor(fileLine: number, message: string) {
    super(message);
    this.name = "ResumeFileError";
    this.fileLine = fileLine;
  }
}

/**
 * Reads a resume file as a stream, in bounded memory (one line at a time plus one bit per
 * input line).
 *
 * @throws {ResumeFileError} When a complete line is not a JSON object with a `line` number.
 */
export async function scanResume(stream: AsyncIterable<Uint8Array>): Promise<ResumeState> {
  const done = new LineSet();
  const decoder = new TextDecoder();
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let completeBytes = 0;
  let fileLine = 0;
  for await (const chunk of stream) {
    let start = 0;
    for (let end = chunk.indexOf(10); end >= 0; end = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, end);
      const bytes = pending.length === 0
        ? piece
        : concat([...pending, piece], pendingBytes + piece.length);
      pending = [];
      pendingBytes = 0;
      fileLine++;
      done.add(reportedLine(decoder.decode(bytes), fileLine));
      completeBytes += bytes.length + 1;
      start = end + 1;
    }
    if (start < chunk.length) {
      pendingBytes += chunk.length - start;
      if (pendingBytes > MAX_OUTPUT_LINE) {
        throw new ResumeFileError(fileLine + 1, `Line ${fileLine + 1} is longer than any report`);
      }
      pending.push(chunk.slice(start));
    }
  }
  return { done, completeBytes };
}

function reportedLine(text: string, fileLine: number): number {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ResumeFileError(fileLine, `Line ${fileLine} is not JSON`);
  }
  const line = (value as { line?: unknown } | null)?.line;
  if (typeof line !== "number" || !Number.isInteger(line) || line < 1 || line > MAX_RESUME_LINE) {
    throw new ResumeFileError(fileLine, `Line ${fileLine} has no input line number`);
  }
  return line;
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
