// A batch input as a stream of domains, one per line, with their line numbers: the items
// `lookupMany` carries through to its results.

/** Characters of an input line kept by {@linkcode readDomainLines}; no domain is longer. */
export const MAX_LINE_LENGTH = 1024;

/** One domain of a batch input, from {@linkcode readDomainLines}. */
export interface DomainLine {
  /** The line number, from 1. */
  line: number;
  /** The line without surrounding white space, cut at {@linkcode MAX_LINE_LENGTH}. */
  domain: string;
}

/** Options of {@linkcode readDomainLines}. */
export interface ReadDomainLinesOptions {
  /** Stops reading: the stream is cancelled and the lines end. */
  signal?: AbortSignal;
}

/**
 * Reads a batch input, one domain per line, as a stream: blank lines and lines whose first
 * non-blank character is `#` are skipped; `\r\n` line ends, surrounding spaces and tabs are
 * dropped. A line longer than {@linkcode MAX_LINE_LENGTH} characters is cut there (its
 * lookup then fails as an invalid name) and the rest of it skipped, so that one endless line
 * cannot fill the memory.
 *
 * @param stream The bytes, UTF-8 (invalid sequences become U+FFFD).
 * @param options The signal.
 * @returns The domains with their line numbers.
 * @throws What the stream throws.
 *
 * @example Read a list with comments
 * ```ts
 * import { readDomainLines } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const text = "# mail domains\r\nexample.com\r\n\r\n  example.net \r\n";
 * const stream = ReadableStream.from([new TextEncoder().encode(text)]);
 * const found = [];
 * for await (const entry of readDomainLines(stream)) found.push(entry);
 * assert.deepEqual(found, [
 *   { line: 2, domain: "example.com" },
 *   { line: 4, domain: "example.net" },
 * ]);
 * ```
 */
export async function* readDomainLines(
  stream: ReadableStream<Uint8Array>,
  options: ReadDomainLinesOptions = {},
): AsyncGenerator<DomainLine, void, undefined> {
  const { signal } = options;
  const reader = stream.getReader();
  // Cancelling ends a read that waits for a terminal or a pipe.
  const cancel = () => void reader.cancel().catch(() => {});
  signal?.addEventListener("abort", cancel, { once: true });
  const decoder = new TextDecoder();
  let line = 0;
  let text = "";
  let overlong = false;
  let finished = false;
  const entry = (raw: string): DomainLine | undefined => {
    line++;
    const domain = trimLine(raw.slice(0, MAX_LINE_LENGTH));
    if (domain === "" || domain.startsWith("#")) return undefined;
    return { line, domain };
  };
  try {
    for (;;) {
      if (signal?.aborted) return;
      const chunk = await reader.read();
      if (signal?.aborted) return;
      const done = chunk.done;
      finished = done;
      text += done ? decoder.decode() : decoder.decode(chunk.value, { stream: true });
      for (let end = text.indexOf("\n"); end >= 0; end = text.indexOf("\n")) {
        const raw = text.slice(0, end);
        text = text.slice(end + 1);
        if (overlong) {
          overlong = false;
          continue;
        }
        const found = entry(raw);
        if (found) yield found;
        if (signal?.aborted) return;
      }
      if (!overlong && text.length > MAX_LINE_LENGTH) {
        const found = entry(text.slice(0, MAX_LINE_LENGTH));
        if (found) yield found;
        overlong = true;
      }
      if (overlong) text = "";
      if (done) {
        if (!overlong && text !== "") {
          const found = entry(text);
          if (found) yield found;
        }
        return;
      }
    }
  } finally {
    signal?.removeEventListener("abort", cancel);
    // Stopped early: cancelling closes the file behind the stream.
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/**
 * `line` without spaces and tabs at its start nor spaces, tabs and CR at its end. A scan from
 * each end: the regular expression /[ \t\r]+$/ is retried at every blank of a run that does
 * not end the line, a million steps for one line of 1,024 blanks and a letter.
 */
function trimLine(line: string): string {
  let start = 0;
  let end = line.length;
  const blank = (code: number) => code === 0x20 || code === 0x09;
  while (start < end && blank(line.charCodeAt(start))) start++;
  while (end > start && (blank(line.charCodeAt(end - 1)) || line.charCodeAt(end - 1) === 0x0d)) {
    end--;
  }
  return line.slice(start, end);
}
