// SMTP replies from a byte stream (RFC 5321 §4.2): `ddd-text` lines continue a reply, `ddd text`
// or a bare `ddd` ends it. Pure and linear: each byte is looked at once, and both a line's length
// and a reply's line count are bounded, so a server cannot make the reader hold or scan more.
import { quote } from "../errors.ts";
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

/**
 * Splits a byte stream into replies. `push` takes bytes as they arrive; `next` returns the
 * first complete reply not yet returned. A malformed or oversized reply throws ProbeError.
 */
export class ReplyReader {
  /** The unfinished line, copied in place: bytes that trickle in cost no allocation each. */
  readonly #partial = new Uint8Array(MAX_REPLY_LINE);
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
      this.#partial.set(piece, this.#partialLength);
      this.#partialLength += piece.length;
      if (end === -1) return;
      let length = this.#partialLength;
      this.#partialLength = 0;
      if (length > 0 && this.#partial[length - 1] === CR) length--;
      this.#line(this.#decoder.decode(this.#partial.subarray(0, length)), stage);
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
