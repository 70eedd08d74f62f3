// SMTP replies from a byte stream (RFC 5321 §4.2): `ddd-text` lines continue a reply, `ddd text`
// or a bare `ddd` ends it. Pure and linear: each byte is looked at once, and both a line's length
// and a reply's line count are bounded, so a server cannot make the reader hold or scan more.
import { quote } from "../_text.ts";
import { ProbeError, type ProbeStage } from "./errors.ts";

/**
 * The longest reply line accepted, CRLF included. RFC 5321 §4.5.3.1.5 says 512 octets; real
 * servers exceed it in EHLO keyword lists, so this is tolerant but bounded.
 */
export const MAX_REPLY_LINE = 2048;

/** The most lines one reply may have (an EHLO reply lists a few dozen extensions at most). */
export const MAX_REPLY_LINES = 100;

/** One complete reply. */
export interface SmtpReply {
  /** The three-digit code. */
  code: number;
  /** The text of each line after the code and separator, in order. */
  lines: string[];
}

const LF = 0x0a;
const CR = 0x0d;

function join(pieces: Uint8Array[], last: Uint8Array): Uint8Array {
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, last.length));
  let at = 0;
  for (const piece of [...pieces, last]) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

/**
 * Splits a byte stream into replies. `push` takes bytes as they arrive; `next` returns the
 * first complete reply not yet returned. A malformed or oversized reply throws ProbeError.
 */
export class ReplyReader {
  /** Pieces of the unfinished line. */
  #partial: Uint8Array[] = [];
  #partialLength = 0;
  #lines: string[] = [];
  #code = -1;
  #done: SmtpReply[] = [];
  #head = 0;
  readonly #decoder = new TextDecoder("latin1");

  /**
   * Adds bytes.
   *
   * @param bytes The bytes received.
   * @param stage The stage, for errors.
   * @throws {ProbeError} `GARBAGE` for a line that is no reply line, `TOO_LONG` over the limits.
   */
  push(bytes: Uint8Array, stage: ProbeStage): void {
    let from = 0;
    while (from < bytes.length) {
      const end = bytes.indexOf(LF, from);
      const piece = bytes.subarray(from, end === -1 ? bytes.length : end);
      if (this.#partialLength + piece.length > MAX_REPLY_LINE) {
        throw new ProbeError("TOO_LONG", stage, `Reply line longer than ${MAX_REPLY_LINE} bytes`);
      }
      if (end === -1) {
        this.#partial.push(piece.slice());
        this.#partialLength += piece.length;
        return;
      }
      let line = this.#partial.length === 0 ? piece : join(this.#partial, piece);
      this.#partial = [];
      this.#partialLength = 0;
      if (line.at(-1) === CR) line = line.subarray(0, -1);
      this.#line(this.#decoder.decode(line), stage);
      from = end + 1;
    }
  }

  /** Bytes of an unfinished line or reply, or replies not yet taken, are waiting. */
  get pending(): boolean {
    return this.#partialLength > 0 || this.#lines.length > 0 || this.#head < this.#done.length;
  }

  /** The next complete reply, or undefined. */
  next(): SmtpReply | undefined {
    if (this.#head >= this.#done.length) return undefined;
    const reply = this.#done[this.#head++];
    if (this.#head === this.#done.length) {
      this.#done = [];
      this.#head = 0;
    }
    return reply;
  }

  #line(line: string, stage: ProbeStage): void {
    const match = /^([2-5][0-9][0-9])(?:([ -])(.*))?$/s.exec(line);
    if (match === null) {
      throw new ProbeError("GARBAGE", stage, `Not an SMTP reply: ${printable(line)}`);
    }
    const code = Number(match[1]);
    if (this.#code !== -1 && code !== this.#code) {
      throw new ProbeError(
        "GARBAGE",
        stage,
        `Reply code changed from ${this.#code} to ${code} within a reply`,
      );
    }
    this.#code = code;
    this.#lines.push(match[3] ?? "");
    if (match[2] === "-") {
      if (this.#lines.length >= MAX_REPLY_LINES) {
        throw new ProbeError("TOO_LONG", stage, `Reply of more than ${MAX_REPLY_LINES} lines`);
      }
      return;
    }
    this.#done.push({ code, lines: this.#lines });
    this.#lines = [];
    this.#code = -1;
  }
}

/**
 * At most 60 characters of a server's line, quoted, anything but printable ASCII (DEL too)
 * shown as `\xNN`.
 */
export function printable(text: string): string {
  return quote(text, 60);
}

/**
 * Whether an EHLO reply offers STARTTLS: one of its lines after the first is the keyword
 * (RFC 3207 §2; keywords are case-insensitive, RFC 5321 §2.4).
 */
export function offersStartTls(reply: SmtpReply): boolean {
  return reply.lines.slice(1).some((line) => /^starttls(?:\s|$)/i.test(line.trim()));
}
