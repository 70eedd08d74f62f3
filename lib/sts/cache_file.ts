// Courier's cache file format (docs/courier.md#cache-file-format), byte for byte, as pure
// functions: an entry in and out of bytes, Courier's temporary-failure stub, the `--sts-override`
// rewrite (docs/courier.md#override-rewrite) and the `.cache_size` file
// (docs/courier.md#cache-size). Reading and writing the files is store.ts's job.
import type { StsMode } from "./policy.ts";
import { latin1, quote } from "./_text.ts";

/** A cache file that passed Courier's checks (docs/courier.md#reading-a-cache-file). */
export interface CacheEntry {
  /** The TXT id the policy was fetched for; may be empty in a Courier-written file. */
  id: string;
  /** The policy text after the blank line (decoded as UTF-8). */
  policy: string;
  /** Whether the policy is Courier's temporary-failure stub, which D6 treats as absent. */
  stub: boolean;
}

/** The outcome of {@linkcode decodeEntry}. */
export type DecodedEntry =
  | ({ valid: true } & CacheEntry)
  /** Not an entry Courier would use, with the reason, e.g. `first line is "0" …`. */
  | { valid: false; reason: string };

/**
 * The policy Courier caches when the TXT id is known but the download failed
 * (docs/courier.md#the-temporary-failure-stub), spelling and the doubled `version:` included.
 * Recognised by this exact text.
 */
export const COURIER_STUB_POLICY: string = "version: version: STSv1\n" +
  "mode: none\n" +
  "max_age: 86400\n" +
  "info: this is a temporary cache entry that occured when retrieving\n" +
  "info: this domain's STS policy. Another attempt will be made after\n" +
  "info: this cache entry expires.\n";

/** The cache size when `.cache_size` is missing or empty (docs/courier.md#cache-size). */
export const DEFAULT_CACHE_SIZE = 1000;

const LF = 0x0a;
const encoder = new TextEncoder();
const utf8 = new TextDecoder();

/**
 * The bytes of a cache file: `1\nid:<id>\n\n<policy>` (docs/courier.md#cache-file-format). Courier
 * writes `0\n` first and flips it to `1\n` in place; store.ts renames a complete file instead (D5).
 *
 * @param id The TXT id; bytes 0-255 only, without `:`, space, CR or LF, which Courier's
 *   reader treats as the end of the id.
 * @param policy The policy text, not empty.
 * @returns The file's bytes.
 * @throws {RangeError} For an id or policy that would not read back the same.
 */
export function encodeEntry(id: string, policy: string): Uint8Array {
  if (/[: \r\n]|[\u0100-\u{10ffff}]/u.test(id)) {
    throw new RangeError(`Cannot store id ${quote(id)}`);
  }
  if (policy === "") throw new RangeError("Cannot store an empty policy");
  const header = `1\nid:${id}\n\n`;
  const body = encoder.encode(policy);
  const bytes = new Uint8Array(header.length + body.length);
  for (let i = 0; i < header.length; i++) bytes[i] = header.charCodeAt(i);
  bytes.set(body, header.length);
  return bytes;
}

/**
 * Reads a cache file the way Courier does (docs/courier.md#reading-a-cache-file): the first line
 * must be exactly `1`; header lines follow up to an empty line, and the last `id` line gives the
 * id; the policy is the rest and must not be empty.
 *
 * @param bytes The whole file.
 * @returns The entry, or why it is not one.
 */
export function decodeEntry(bytes: Uint8Array): DecodedEntry {
  if (bytes.length === 0) return { valid: false, reason: "the file is empty" };
  if (bytes[0] !== 0x31 || bytes[1] !== LF) {
    const newline = bytes.indexOf(LF);
    const first = latin1(bytes.subarray(0, newline < 0 ? 16 : Math.min(newline, 64)));
    const torn = first === "0" ? " (written by Courier right now, or torn by a crash)" : "";
    return { valid: false, reason: `first line is ${quote(first)}, not "1"${torn}` };
  }
  let id: string | undefined;
  let start = 2;
  // Each turn consumes one line, so the loop ends within bytes.length turns.
  for (;;) {
    const end = bytes.indexOf(LF, start);
    if (end < 0) return { valid: false, reason: "the header does not end in an empty line" };
    if (end === start) break;
    const lineId = headerId(latin1(bytes.subarray(start, end + 1)));
    if (lineId !== undefined) id = lineId;
    start = end + 1;
  }
  if (id === undefined) return { valid: false, reason: "the header has no id line" };
  const body = bytes.subarray(start + 1);
  if (body.length === 0) return { valid: false, reason: "the policy is empty" };
  const policy = utf8.decode(body);
  return { valid: true, id, policy, stub: policy === COURIER_STUB_POLICY };
}

// Courier splits a header line with strtok(3): the first token (delimiters ":" and space,
// so "id\n" is not "id") names the line; an id line's value is the next token, delimiters
// ":", space, CR and LF, "" when there is none.
function headerId(line: string): string | undefined {
  const name = /^[: ]*([^: ]*)([: ]?)/.exec(line)!;
  if (name[1] !== "id") return undefined;
  const rest = line.slice(name[0].length);
  return /^[: \r\n]*([^: \r\n]*)/.exec(rest)![1];
}

/**
 * The policy text after `--sts-override=MODE` (docs/courier.md#override-rewrite): Courier drops
 * every line that starts with `mode:` or `info:` and appends two `info:` lines and `mode: MODE`.
 *
 * Unlike Courier, indented `mode:`/`info:` lines and blank lines are dropped too, so that
 * the new mode is the only one both parsers see (Courier stops at a blank line and takes
 * the first `mode`, S20). For a policy without such lines the result is Courier's, byte
 * for byte.
 *
 * @param policy The cached policy text.
 * @param mode The new mode.
 * @param arg The domain argument as typed, quoted in the `info:` line.
 * @returns The new policy text.
 * @throws {RangeError} When `arg` contains a line break.
 */
export function overridePolicy(policy: string, mode: StsMode, arg: string): string {
  if (/[\r\n]/.test(arg)) throw new RangeError(`Cannot quote ${quote(arg)} in a policy line`);
  const lines = policy.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  let kept = lines.filter((line) => !/^[ \t]*((mode|info)[ \t]*:|\r?\n?$)/.test(line)).join("");
  if (kept !== "" && !kept.endsWith("\n")) kept += "\n";
  return kept +
    "info: this policy has been manually overridden, as follows\n" +
    `info: use "testmxlookup --sts-purge ${arg}" to restore the default policy:\n` +
    `mode: ${mode}\n`;
}

/** The cache size read from `.cache_size`, with a warning when the file is questionable. */
export interface CacheSize {
  /** The number of entries to keep; 0 means STS is off (docs/courier.md#when-sts-work-happens). */
  size: number;
  /** Set when the text is not a plain number (D10), naming the file. */
  warning?: string;
}

/**
 * Reads `.cache_size` (docs/courier.md#cache-size, D10) with Courier's verdict: missing or empty →
 * 1000; else C `atoi` of the first line, negative → 0. Anything but a plain number of 0 or more
 * also gives a warning, so that `junk` (off, as in Courier) and ` 3junk` (3, as in Courier) are
 * no longer silent.
 *
 * @param text The file's text, or undefined when it does not exist.
 * @param path The file's path, for the warning.
 * @returns The size and maybe a warning.
 */
export function parseCacheSize(text: string | undefined, path: string): CacheSize {
  if (text === undefined || text === "") return { size: DEFAULT_CACHE_SIZE };
  const line = text.split("\n", 1)[0];
  // atoi: leading white space, an optional sign, digits, anything after ignored.
  const [, sign, digits] = /^[ \t\n\v\f\r]*([+-]?)([0-9]*)/.exec(line)!;
  const value = Number(digits || "0");
  const file = quote(path);
  if (digits === "") {
    return { size: 0, warning: `${file} holds ${quote(line, 100)}, not a number: STS is off` };
  }
  if (sign === "-" && value > 0) {
    return { size: 0, warning: `${file} holds a negative number ${quote(line, 100)}: STS is off` };
  }
  if (value > 2 ** 31 - 1) {
    return {
      size: 0,
      warning: `${file} holds ${quote(line, 100)}, too large a number: STS is off`,
    };
  }
  if (!/^[ \t]*[0-9]+[ \t\r]*$/.test(line)) {
    return { size: value, warning: `${file} holds ${quote(line, 100)}, read as ${value}` };
  }
  return { size: value };
}

/**
 * The text of `.cache_size` for a size, as Courier writes it: `<n>\n`.
 *
 * @param size 0 (off) to 999999, the range `--sts-cache-enable=` accepts.
 * @returns The file's text.
 * @throws {RangeError} For any other number.
 */
export function formatCacheSize(size: number): string {
  if (!Number.isInteger(size) || size < 0 || size > 999999) {
    throw new RangeError(`Cache size ${size} is not 0 to 999999`);
  }
  return `${size}\n`;
}
