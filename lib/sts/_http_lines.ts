// Folder-private: the grammar of an HTTP/1.1 response's lines (RFC 9112): the status line,
// field lines with obs-fold, how the body is framed, chunk sizes. Each function reads one
// bounded line in linear time (no regular expression that can backtrack); the streaming is
// http_response.ts's.
import { quote } from "./_text.ts";

/** Why a response cannot be read. */
export type HttpResponseErrorKind =
  /** It breaks RFC 9112's grammar (status line, field line, framing, chunk size). */
  | "MALFORMED"
  /** Its head, a line of it, or its field count is over the limits. */
  | "HEAD_TOO_LARGE"
  /** Its body is over the caller's limit. */
  | "BODY_TOO_LARGE"
  /** The connection ended before the response did. */
  | "TRUNCATED";

/** A response that cannot be read; `message` is one lower-case phrase. */
export class HttpResponseError extends Error {
  /** Why. */
  readonly kind: HttpResponseErrorKind;

  /**
   * @param kind Why.
   * @param message What was wrong, e.g. `bad chunk size "zz"`.
   */
  constructor(kind: HttpResponseErrorKind, message: string) {
    super(message);
    this.name = "HttpResponseError";
    this.kind = kind;
  }
}

/** A response's head. */
export interface HttpResponseHead {
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minorVersion: number;
  /** The status code, 100 to 999. */
  status: number;
  /** The reason phrase, possibly empty. */
  reason: string;
  /** Each field as `[lower-case name, value]`, in order; obs-fold joined with a space. */
  fields: [string, string][];
}

/**
 * A field's value: repeated fields joined with ", " (RFC 9110 §5.3).
 *
 * @param head The head.
 * @param name The field name, lower case.
 * @returns The value, or undefined when the field is absent.
 */
export function fieldValue(head: HttpResponseHead, name: string): string | undefined {
  const values = head.fields.filter(([n]) => n === name).map(([, v]) => v);
  return values.length === 0 ? undefined : values.join(", ");
}

/** How the body's end is found (RFC 9112 §6.3). */
export type HttpBodyFraming = "none" | "length" | "chunked" | "close";

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const STATUS_LINE = /^HTTP\/1\.([01]) ([0-9]{3})(?: (.*))?$/;
const DIGITS = /^[0-9]+$/;
const HEX = /^[0-9A-Fa-f]+$/;

/** Trims spaces and tabs only (String#trim also takes U+00A0, a valid obs-text byte here). */
function trimOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text[start] === " " || text[start] === "\t")) start++;
  while (end > start && (text[end - 1] === " " || text[end - 1] === "\t")) end--;
  return text.slice(start, end);
}

/** The status line's parts. */
export function parseStatusLine(
  line: string,
): { minorVersion: number; status: number; reason: string } {
  const match = STATUS_LINE.exec(line);
  if (match === null || Number(match[2]) < 100) {
    throw new HttpResponseError("MALFORMED", `bad status line ${quote(line, 80)}`);
  }
  return { minorVersion: Number(match[1]), status: Number(match[2]), reason: match[3] ?? "" };
}

/** Adds a field line to `fields`, or a folded line to the last field. */
export function addFieldLine(line: string, fields: [string, string][], maxFields: number): void {
  if (line[0] === " " || line[0] === "\t") {
    // obs-fold (RFC 9112 §5.2): a user agent replaces it with a space.
    const last = fields.at(-1);
    if (last === undefined) throw new HttpResponseError("MALFORMED", "a folded first field");
    last[1] = last[1] === "" ? trimOws(line) : `${last[1]} ${trimOws(line)}`;
    return;
  }
  const colon = line.indexOf(":");
  const name = colon < 0 ? "" : line.slice(0, colon);
  if (!TOKEN.test(name)) {
    throw new HttpResponseError("MALFORMED", `bad field line ${quote(line, 80)}`);
  }
  if (fields.length >= maxFields) {
    throw new HttpResponseError("HEAD_TOO_LARGE", `more than ${maxFields} fields`);
  }
  fields.push([name.toLowerCase(), trimOws(line.slice(colon + 1))]);
}

/**
 * How a final response's body ends (RFC 9112 §6.3), with the announced length.
 *
 * @throws {HttpResponseError} `MALFORMED` for a Content-Length that is not one number, a
 *   coding other than chunked, or both fields at once.
 */
export function bodyFraming(head: HttpResponseHead): { framing: HttpBodyFraming; length?: number } {
  if (head.status < 200 || head.status === 204 || head.status === 304) return { framing: "none" };
  const coding = fieldValue(head, "transfer-encoding");
  const length = fieldValue(head, "content-length");
  if (coding !== undefined) {
    // RFC 9112 §6.3: both at once "ought to be handled as an error"; no coding but chunked
    // can come, as the request asks for none.
    if (length !== undefined) {
      throw new HttpResponseError("MALFORMED", "both Transfer-Encoding and Content-Length");
    }
    if (coding.toLowerCase() !== "chunked") {
      throw new HttpResponseError("MALFORMED", `Transfer-Encoding ${quote(coding, 80)}`);
    }
    return { framing: "chunked" };
  }
  if (length === undefined) return { framing: "close" };
  // A list of one value repeated is allowed (RFC 9110 §8.6); anything else is not.
  const values = length.split(",").map(trimOws);
  if (!values.every((v) => DIGITS.test(v) && v === values[0])) {
    throw new HttpResponseError("MALFORMED", `Content-Length ${quote(length, 80)}`);
  }
  // Over 15 digits the number loses precision but stays far over any cap.
  return { framing: "length", length: Number(values[0]) };
}

/**
 * A chunk-size line's size: `chunk-size [ BWS ";" chunk-ext ]` (RFC 9112 §7.1), extensions
 * ignored; Infinity when it is too large to matter.
 */
export function parseChunkSize(line: string): number {
  const semicolon = line.indexOf(";");
  const digits = trimOws(semicolon < 0 ? line : line.slice(0, semicolon));
  if (!HEX.test(digits)) {
    throw new HttpResponseError("MALFORMED", `bad chunk size ${quote(digits, 80)}`);
  }
  let start = 0;
  while (start < digits.length - 1 && digits[start] === "0") start++;
  // Past 12 hex digits the size is far over any cap, and parseInt would lose precision.
  return digits.length - start > 12 ? Infinity : parseInt(digits.slice(start), 16);
}

/** The most bytes of response head (interim 1xx heads included) and of chunked trailers. */
export const MAX_HEAD_BYTES = 16 * 1024;

/** The most bytes of one line: the status line, a field line, a chunk-size line. */
export const MAX_LINE_BYTES = 8 * 1024;

/** The most header fields (and, apart, trailer fields). */
export const MAX_FIELDS = 100;

/** Limits of `HttpResponseParser` (http_response.ts). */
export interface HttpResponseLimits {
  /** The largest body accepted. */
  maxBodyBytes: number;
  /** @default {MAX_HEAD_BYTES} */
  maxHeadBytes?: number;
  /** @default {MAX_LINE_BYTES} */
  maxLineBytes?: number;
  /** @default {MAX_FIELDS} */
  maxFields?: number;
}
