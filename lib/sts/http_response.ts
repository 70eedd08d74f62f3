// An HTTP/1.1 response (RFC 9112) read as it arrives, for the policy download: the status line,
// the header fields, and a body framed by Content-Length, the chunked coding or the connection's
// close. Pure logic, no I/O: every byte is looked at a bounded number of times (linear time),
// and the head, each line, the field count and the body are capped. The grammar of each line
// is in _http_lines.ts; judging the response (status, Content-Type) is the caller's.
import {
  addFieldLine,
  bodyFraming,
  type HttpBodyFraming,
  HttpResponseError,
  type HttpResponseHead,
  type HttpResponseLimits,
  MAX_FIELDS,
  MAX_HEAD_BYTES,
  MAX_LINE_BYTES,
  parseChunkSize,
  parseStatusLine,
} from "./_http_lines.ts";

export {
  fieldValue,
  HttpResponseError,
  MAX_FIELDS,
  MAX_HEAD_BYTES,
  MAX_LINE_BYTES,
} from "./_http_lines.ts";
export type {
  HttpBodyFraming,
  HttpResponseErrorKind,
  HttpResponseHead,
  HttpResponseLimits,
} from "./_http_lines.ts";

const LF = 0x0a;
const CR = 0x0d;

type State =
  | "status"
  | "fields"
  | "length"
  | "chunk-size"
  | "chunk-data"
  | "chunk-end"
  | "trailer"
  | "close"
  | "done";

/**
 * Reads one response from the bytes a connection delivers: `push` each piece as it comes,
 * `end` when the connection closes. `head` is set once the final (non-1xx) head is complete,
 * `complete` once the body is.
 *
 * @example
 * ```ts ignore
 * const parser = new HttpResponseParser({ maxBodyBytes: 65536 });
 * parser.push(new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"));
 * parser.complete; // true
 * ```
 */
export class HttpResponseParser {
  readonly #maxBody: number;
  readonly #maxHead: number;
  readonly #maxFields: number;
  #state: State = "status";
  /** The line being read, up to its LF. */
  readonly #line: Uint8Array;
  #lineLength = 0;
  /** Head (or trailer) bytes read so far, against #maxHead. */
  #headBytes = 0;
  /** Bytes of chunk-size lines and chunk ends read so far. */
  #framingBytes = 0;
  #fields: [string, string][] = [];
  #status = 0;
  #minor = 1;
  #reason = "";
  #head: HttpResponseHead | undefined;
  #framing: HttpBodyFraming | undefined;
  #declaredLength: number | undefined;
  /** Bytes still to come in the current chunk or Content-Length body. */
  #remaining = 0;
  #body: Uint8Array = new Uint8Array(0);
  #bodyLength = 0;
  #failure: HttpResponseError | undefined;

  /** @param limits The body cap and, optionally, other limits. */
  constructor(limits: HttpResponseLimits) {
    this.#maxBody = limits.maxBodyBytes;
    this.#maxHead = limits.maxHeadBytes ?? MAX_HEAD_BYTES;
    this.#maxFields = limits.maxFields ?? MAX_FIELDS;
    this.#line = new Uint8Array(limits.maxLineBytes ?? MAX_LINE_BYTES);
  }

  /** The final head, once complete. */
  get head(): HttpResponseHead | undefined {
    return this.#head;
  }

  /** How the body ends, once the head is complete. */
  get framing(): HttpBodyFraming | undefined {
    return this.#framing;
  }

  /** The body length the head announces (Content-Length), if it does. */
  get declaredLength(): number | undefined {
    return this.#declaredLength;
  }

  /** Whether the whole response has been read. */
  get complete(): boolean {
    return this.#state === "done";
  }

  /** The body read so far (all of it once `complete`); a view, valid until the next push. */
  get body(): Uint8Array {
    return this.#body.subarray(0, this.#bodyLength);
  }

  /**
   * Reads more bytes. Bytes after a complete response are ignored.
   *
   * @param bytes The next bytes from the connection.
   * @throws {HttpResponseError} When the response is malformed or over a limit; every later
   *   call throws it again.
   */
  push(bytes: Uint8Array): void {
    if (this.#failure) throw this.#failure;
    try {
      this.#consume(bytes);
    } catch (error) {
      if (error instanceof HttpResponseError) this.#failure = error;
      throw error;
    }
  }

  /**
   * Says the connection has closed: a close-delimited body is then complete.
   *
   * @throws {HttpResponseError} `TRUNCATED` when the response is not complete.
   */
  end(): void {
    if (this.#failure) throw this.#failure;
    if (this.#state === "close") this.#state = "done";
    if (this.#state === "done") return;
    const where = this.#state === "status" && this.#headBytes === 0
      ? "without a response"
      : this.#state === "status" || this.#state === "fields"
      ? "before the end of the response head"
      : this.#state === "length"
      ? `before the end of the body (${this.#bodyLength} of ${this.#declaredLength} bytes)`
      : "before the end of the chunked body";
    this.#failure = new HttpResponseError("TRUNCATED", `the connection closed ${where}`);
    throw this.#failure;
  }

  #consume(bytes: Uint8Array): void {
    let at = 0;
    // Bounded: every turn consumes at least one byte or ends the response.
    while (at < bytes.length && this.#state !== "done") {
      switch (this.#state) {
        case "status":
        case "fields":
        case "chunk-size":
        case "chunk-end":
        case "trailer": {
          const end = this.#takeLine(bytes, at);
          if (end < 0) return;
          at = end;
          this.#onLine(this.#lineText());
          break;
        }
        case "length":
        case "chunk-data": {
          const n = Math.min(this.#remaining, bytes.length - at);
          this.#append(bytes.subarray(at, at + n));
          at += n;
          this.#remaining -= n;
          if (this.#remaining === 0) {
            this.#state = this.#state === "length" ? "done" : "chunk-end";
          }
          break;
        }
        case "close":
          this.#append(bytes.subarray(at));
          at = bytes.length;
          break;
      }
    }
  }

  /** Copies bytes up to and including the next LF into the line; the index after it, or -1. */
  #takeLine(bytes: Uint8Array, at: number): number {
    const lf = bytes.indexOf(LF, at);
    const end = lf < 0 ? bytes.length : lf + 1;
    const n = end - at;
    // Which limit the bytes cross first decides the error, so that it does not depend on how
    // the bytes were split into pieces. Chunk framing may not outweigh the body: 1-byte
    // chunks with long extensions would otherwise make a 64 KiB body cost hundreds of MiB.
    const framing = this.#state === "chunk-size" || this.#state === "chunk-end";
    const totalRoom = framing
      ? this.#maxBody + this.#maxHead - this.#framingBytes
      : this.#maxHead - this.#headBytes;
    const lineRoom = this.#line.length - this.#lineLength;
    if (n > lineRoom && lineRoom <= totalRoom) {
      throw new HttpResponseError("HEAD_TOO_LARGE", `a line over ${this.#line.length} bytes`);
    }
    if (n > totalRoom) {
      if (framing) {
        throw new HttpResponseError("MALFORMED", "chunk framing larger than the body allows");
      }
      const what = this.#state === "trailer" ? "trailer" : "response head";
      throw new HttpResponseError("HEAD_TOO_LARGE", `${what} over ${this.#maxHead} bytes`);
    }
    if (framing) this.#framingBytes += n;
    else this.#headBytes += n;
    this.#line.set(bytes.subarray(at, end), this.#lineLength);
    this.#lineLength += n;
    return lf < 0 ? -1 : end;
  }

  /** The line read, without CRLF (or a bare LF, RFC 9112 §2.2), as Latin-1; then cleared. */
  #lineText(): string {
    let length = this.#lineLength - 1;
    if (length > 0 && this.#line[length - 1] === CR) length--;
    this.#lineLength = 0;
    let text = "";
    for (let i = 0; i < length; i += 4096) {
      const part = this.#line.subarray(i, Math.min(length, i + 4096));
      // RFC 9110 §5.5: CR and NUL inside a field are rejected, never passed on.
      if (part.includes(0) || part.includes(CR)) {
        throw new HttpResponseError("MALFORMED", "a line with a NUL or bare CR");
      }
      text += String.fromCharCode(...part);
    }
    return text;
  }

  #onLine(line: string): void {
    switch (this.#state) {
      case "status": {
        const status = parseStatusLine(line);
        this.#minor = status.minorVersion;
        this.#status = status.status;
        this.#reason = status.reason;
        this.#fields = [];
        this.#state = "fields";
        return;
      }
      case "fields":
        if (line === "") return this.#endHead();
        return addFieldLine(line, this.#fields, this.#maxFields);
      case "chunk-size":
        return this.#onChunkSize(line);
      case "chunk-end":
        if (line !== "") throw new HttpResponseError("MALFORMED", "a chunk longer than its size");
        this.#state = "chunk-size";
        return;
      case "trailer":
        // Trailer fields are read for their syntax and limits only; none is used.
        if (line === "") this.#state = "done";
        else addFieldLine(line, this.#fields, this.#maxFields);
        return;
    }
  }

  #endHead(): void {
    const head: HttpResponseHead = {
      minorVersion: this.#minor,
      status: this.#status,
      reason: this.#reason,
      fields: this.#fields,
    };
    // An interim response (RFC 9110 §15.2) is followed by the real one; 101 is not interim
    // here, as nothing asked to switch protocols.
    if (head.status < 200 && head.status !== 101) {
      this.#state = "status";
      return;
    }
    this.#head = head;
    this.#fields = [];
    const { framing, length } = bodyFraming(head);
    this.#declaredLength = length;
    this.#startBody(framing);
  }

  #startBody(framing: HttpBodyFraming): void {
    this.#framing = framing;
    this.#headBytes = 0;
    if (framing === "none") this.#state = "done";
    else if (framing === "chunked") this.#state = "chunk-size";
    else if (framing === "close") this.#state = "close";
    else {
      this.#remaining = this.#declaredLength!;
      this.#state = this.#remaining === 0 ? "done" : "length";
    }
  }

  #onChunkSize(line: string): void {
    const size = parseChunkSize(line);
    if (size === 0) {
      this.#state = "trailer";
      return;
    }
    if (this.#bodyLength + size > this.#maxBody) this.#overBody();
    this.#remaining = size;
    this.#state = "chunk-data";
  }

  #append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const needed = this.#bodyLength + bytes.length;
    if (needed > this.#maxBody) this.#overBody();
    if (needed > this.#body.length) {
      // Doubling keeps the copies linear in the body's size.
      const grown = new Uint8Array(
        Math.min(this.#maxBody, Math.max(needed, this.#body.length * 2)),
      );
      grown.set(this.body);
      this.#body = grown;
    }
    this.#body.set(bytes, this.#bodyLength);
    this.#bodyLength = needed;
  }

  #overBody(): never {
    throw new HttpResponseError(
      "BODY_TOO_LARGE",
      `the body is over the limit of ${this.#maxBody} bytes`,
    );
  }
}

/**
 * Reads a whole response from its bytes, as a connection that then closes would deliver them.
 *
 * @param bytes The response.
 * @param limits The body cap and other limits.
 * @returns The head and body.
 * @throws {HttpResponseError} When it is malformed, over a limit or incomplete.
 */
export function parseHttpResponse(
  bytes: Uint8Array,
  limits: HttpResponseLimits,
): { head: HttpResponseHead; body: Uint8Array } {
  const parser = new HttpResponseParser(limits);
  parser.push(bytes);
  parser.end();
  return { head: parser.head!, body: parser.body };
}
