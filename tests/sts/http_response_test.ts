import assert from "node:assert/strict";
import fc from "fast-check";
import {
  fieldValue,
  type HttpResponseErrorKind,
  HttpResponseParser,
  MAX_FIELDS,
  MAX_HEAD_BYTES,
  MAX_LINE_BYTES,
  parseHttpResponse,
} from "../../lib/sts/http_response.ts";

const LIMITS = { maxBodyBytes: 64 };
const bytes = (text: string) => new Uint8Array([...text].map((c) => c.charCodeAt(0)));
const text = (b: Uint8Array) => String.fromCharCode(...b);

/** Parses `response` whole, and again fed one byte at a time: both must agree. */
function parse(response: string, maxBodyBytes = LIMITS.maxBodyBytes) {
  const whole = parseHttpResponse(bytes(response), { maxBodyBytes });
  const parser = new HttpResponseParser({ maxBodyBytes });
  for (const byte of bytes(response)) parser.push(new Uint8Array([byte]));
  parser.end();
  assert.deepEqual(parser.head, whole.head);
  assert.equal(text(parser.body), text(whole.body));
  return { head: whole.head, body: text(whole.body) };
}

/** The error kind and message `response` fails with, whole or fed byte by byte. */
function failure(response: string, maxBodyBytes = LIMITS.maxBodyBytes): [string, string] {
  let got: [string, string] | undefined;
  for (const step of [Infinity, 1]) {
    const parser = new HttpResponseParser({ maxBodyBytes });
    const input = bytes(response);
    try {
      for (let at = 0; at < input.length; at += step) {
        parser.push(input.subarray(at, Math.min(input.length, at + step)));
      }
      parser.end();
      assert.fail(`no error for ${JSON.stringify(response.slice(0, 80))}`);
    } catch (error) {
      if (!(error instanceof Error) || !("kind" in error)) throw error;
      const result: [string, string] = [String(error.kind), error.message];
      if (got) assert.deepEqual(result, got, "byte by byte");
      got = result;
    }
  }
  return got!;
}

Deno.test("HttpResponseParser reads Content-Length, chunked and close-delimited bodies", () => {
  const cases: [string, string, string][] = [
    ["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "hello", "length"],
    ["HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "", "length"],
    ["HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\nabc", "abc", "length"],
    ["HTTP/1.0 200 OK\r\n\r\nuntil close", "until close", "close"],
    [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      "hello",
      "chunked",
    ],
    // Upper-case hex, leading zeros, extensions, several chunks, trailers, bare LF lines.
    [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n" +
      "0A;name=value\r\n0123456789\r\n001 ; ext\r\nx\r\n0\r\nExpires: never\r\n\r\n",
      "0123456789x",
      "chunked",
    ],
    ["HTTP/1.1 200 OK\nContent-Length: 2\n\nok", "ok", "length"],
    ["HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n", "", "none"],
    // Interim responses are skipped.
    ["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n!", "!", "length"],
  ];
  for (const [response, body, framing] of cases) {
    const got = parse(response);
    assert.equal(got.body, body, response);
    const parser = new HttpResponseParser(LIMITS);
    parser.push(bytes(response));
    assert.equal(parser.framing, framing, response);
  }
});

Deno.test("HttpResponseParser keeps the status, reason and fields, names in lower case", () => {
  const { head } = parse(
    "HTTP/1.1 301 Moved Permanently\r\nLocation:  https://x.test/ \r\nX-A: 1\r\nx-a: 2\r\n" +
      "Folded: one\r\n two\r\nEmpty:\r\nContent-Length: 0\r\n\r\n",
  );
  assert.equal(head.status, 301);
  assert.equal(head.reason, "Moved Permanently");
  assert.equal(head.minorVersion, 1);
  assert.equal(fieldValue(head, "location"), "https://x.test/");
  assert.equal(fieldValue(head, "x-a"), "1, 2");
  assert.equal(fieldValue(head, "folded"), "one two");
  assert.equal(fieldValue(head, "empty"), "");
  assert.equal(fieldValue(head, "absent"), undefined);
  assert.equal(parse("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n").head.reason, "");
  // obs-text (0x80-0xFF) is kept byte for byte as Latin-1, U+00A0 included.
  const latin = parse("HTTP/1.1 200 OK\r\nX: \xa0caf\xe9\xa0\r\nContent-Length: 0\r\n\r\n");
  assert.equal(fieldValue(latin.head, "x"), "\xa0caf\xe9\xa0");
});

Deno.test("HttpResponseParser rejects malformed responses with a reason", () => {
  const cases: [string, HttpResponseErrorKind, RegExp][] = [
    ["HTTP/2 200 OK\r\n\r\n", "MALFORMED", /^bad status line "HTTP\/2 200 OK"$/],
    ["HTTP/1.1 20 OK\r\n\r\n", "MALFORMED", /bad status line/],
    ["HTTP/1.1 099 X\r\n\r\n", "MALFORMED", /bad status line/],
    ["ICY 200 OK\r\n\r\n", "MALFORMED", /bad status line/],
    ["HTTP/1.1 200 OK\r\nNo colon\r\n\r\n", "MALFORMED", /bad field line/],
    ["HTTP/1.1 200 OK\r\nBad name: x\r\n\r\n", "MALFORMED", /bad field line/],
    ["HTTP/1.1 200 OK\r\n: x\r\n\r\n", "MALFORMED", /bad field line/],
    ["HTTP/1.1 200 OK\r\n folded first\r\n\r\n", "MALFORMED", /folded first/],
    ["HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", "MALFORMED", /bare CR/],
    ["HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n", "MALFORMED", /NUL/],
    ["HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "MALFORMED", /Content-Length "-1"/],
    ["HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nx", "MALFORMED", /Content-Length/],
    ["HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n", "MALFORMED", /Content-Length/],
    [
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
      "MALFORMED",
      /both Transfer-Encoding and Content-Length/,
    ],
    ["HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "MALFORMED", /gzip/],
    ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "MALFORMED", /chunk size "zz"/],
    ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", "MALFORMED", /chunk size ""/],
    ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", "MALFORMED", /chunk size/],
    ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+1\r\nx\r\n", "MALFORMED", /size/],
    [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
      "MALFORMED",
      /a chunk longer than its size/,
    ],
    ["", "TRUNCATED", /^the connection closed without a response$/],
    ["HTTP/1.1 200 OK\r\nContent-Le", "TRUNCATED", /before the end of the response head/],
    [
      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
      "TRUNCATED",
      /before the end of the body \(3 of 10 bytes\)/,
    ],
    [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
      "TRUNCATED",
      /chunked body/,
    ],
    ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n", "TRUNCATED", /chunked/],
  ];
  for (const [response, kind, message] of cases) {
    const [gotKind, gotMessage] = failure(response);
    assert.equal(gotKind, kind, JSON.stringify(response));
    assert.match(gotMessage, message, JSON.stringify(response));
  }
});

Deno.test("HttpResponseParser caps the body while it streams, whatever the framing", () => {
  const over = /^the body is over the limit of 64 bytes$/;
  const body65 = "x".repeat(65);
  for (
    const response of [
      `HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n${body65}`,
      `HTTP/1.1 200 OK\r\n\r\n${body65}`,
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n${"x".repeat(64)}\r\n1\r\nx\r\n`,
      // A chunk announced over the cap fails before its data arrives, however many digits.
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n",
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${"f".repeat(40)}\r\n`,
    ]
  ) {
    assert.deepEqual(failure(response), ["BODY_TOO_LARGE", over.source.slice(1, -1)]);
  }
  // Exactly the cap is fine, and a large Content-Length is announced, not yet an error.
  assert.equal(parse(`HTTP/1.1 200 OK\r\n\r\n${"x".repeat(64)}`).body.length, 64);
  const parser = new HttpResponseParser(LIMITS);
  parser.push(bytes("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n"));
  assert.equal(parser.declaredLength, 1e20);
});

Deno.test("HttpResponseParser caps the head, each line, the field count and chunk framing", () => {
  const long = `HTTP/1.1 200 OK\r\nX: ${"a".repeat(MAX_LINE_BYTES)}\r\n\r\n`;
  assert.deepEqual(failure(long), ["HEAD_TOO_LARGE", `a line over ${MAX_LINE_BYTES} bytes`]);
  const many = "HTTP/1.1 200 OK\r\n" + "X: 1\r\n".repeat(MAX_FIELDS + 1) + "\r\n";
  assert.deepEqual(failure(many), ["HEAD_TOO_LARGE", `more than ${MAX_FIELDS} fields`]);
  const big = "HTTP/1.1 200 OK\r\n" + `X: ${"a".repeat(4000)}\r\n`.repeat(5) + "\r\n";
  assert.deepEqual(failure(big), ["HEAD_TOO_LARGE", `response head over ${MAX_HEAD_BYTES} bytes`]);
  // Endless interim responses count against the same head limit.
  const interim = "HTTP/1.1 100 Continue\r\n\r\n".repeat(1000);
  assert.equal(failure(interim)[0], "HEAD_TOO_LARGE");
  const trailers = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" +
    `T: ${"a".repeat(4000)}\r\n`.repeat(5) + "\r\n";
  assert.deepEqual(failure(trailers), ["HEAD_TOO_LARGE", `trailer over ${MAX_HEAD_BYTES} bytes`]);
  // 1-byte chunks with long extensions: the framing may not outweigh the body.
  const ext = `1;${"e".repeat(1000)}\r\nx\r\n`;
  const framing = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + ext.repeat(64);
  assert.deepEqual(failure(framing, 64), [
    "MALFORMED",
    "chunk framing larger than the body allows",
  ]);
});

Deno.test("HttpResponseParser ignores bytes after a complete response and repeats its error", () => {
  const parser = new HttpResponseParser(LIMITS);
  parser.push(bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 500 X\r\n"));
  assert.equal(parser.complete, true);
  assert.equal(text(parser.body), "ok");
  parser.end();
  const bad = new HttpResponseParser(LIMITS);
  assert.throws(() => bad.push(bytes("nonsense\r\n")), { kind: "MALFORMED" });
  assert.throws(() => bad.push(bytes("HTTP/1.1 200 OK\r\n")), { kind: "MALFORMED" });
  assert.throws(() => bad.end(), { kind: "MALFORMED" });
});

Deno.test("HttpResponseParser reads a 64 KiB body in 1-byte chunks and a head of many folds", () => {
  // Inputs at the limits, for linear time: each is read once, not rescanned per byte.
  const chunks = "1\r\nx\r\n".repeat(8000);
  const response = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`;
  assert.equal(parseHttpResponse(bytes(response), { maxBodyBytes: 65536 }).body.length, 8000);
  const folds = "HTTP/1.1 200 OK\r\nX: a\r\n" + " b\r\n".repeat(3000) + "Content-Length: 0\r\n\r\n";
  const { head } = parseHttpResponse(bytes(folds), { maxBodyBytes: 0 });
  assert.equal(fieldValue(head, "x")!.length, 1 + 2 * 3000);
  // A value of spaces then one letter: trimmed without backtracking.
  const spaces = `HTTP/1.1 200 OK\r\nX:${" ".repeat(8000)}y\r\nContent-Length: 0\r\n\r\n`;
  assert.equal(fieldValue(parseHttpResponse(bytes(spaces), LIMITS).head, "x"), "y");
});

/** The parse of `bytes` fed in the pieces `cuts` makes: the head and body, or the error. */
function outcome(bytes: Uint8Array, cuts: number[]): unknown {
  const limits = { maxBodyBytes: 256, maxHeadBytes: 512, maxLineBytes: 64, maxFields: 8 };
  const parser = new HttpResponseParser(limits);
  try {
    let at = 0;
    for (const cut of [...cuts.map((c) => c % (bytes.length + 1))].sort((a, b) => a - b)) {
      parser.push(bytes.subarray(at, Math.max(at, cut)));
      at = Math.max(at, cut);
    }
    parser.push(bytes.subarray(at));
    parser.end();
    return { head: parser.head, body: text(parser.body) };
  } catch (error) {
    if (!(error instanceof Error) || !("kind" in error)) throw error;
    return { kind: error.kind, message: error.message };
  }
}

Deno.test("HttpResponseParser gives the same result however the bytes are split", () => {
  // Responses built from plausible and broken pieces, cut at random places.
  const piece = fc.constantFrom(
    "HTTP/1.1 200 OK\r\n",
    "HTTP/1.0 404 Not Found\r\n",
    "HTTP/1.1 100 Continue\r\n\r\n",
    "Content-Type: text/plain\r\n",
    "Content-Length: 5\r\n",
    "Transfer-Encoding: chunked\r\n",
    " folded\r\n",
    "X-Long: " + "y".repeat(100) + "\r\n",
    "\r\n",
    "\n",
    "hello",
    "5\r\nhello\r\n",
    "0\r\n\r\n",
    "zz\r\n",
    "\r",
    "\x00",
  );
  fc.assert(
    fc.property(
      fc.array(piece, { maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      (pieces, cuts) => {
        const input = bytes(pieces.join(""));
        assert.deepEqual(outcome(input, cuts), outcome(input, []));
      },
    ),
    { seed: 20261205, numRuns: 3000 },
  );
});
