import assert from "node:assert/strict";
import {
  MAX_REPLY_LINE,
  MAX_REPLY_LINES,
  offersStartTls,
  ReplyReader,
} from "../../lib/probe/reply.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

function all(reader: ReplyReader) {
  const replies = [];
  for (let reply = reader.next(); reply !== undefined; reply = reader.next()) replies.push(reply);
  return replies;
}

Deno.test("ReplyReader joins a multi-line reply split anywhere, CRLF or bare LF", () => {
  const text = "250-mx.example hello\r\n250-PIPELINING\n250 STARTTLS\r\n220 next\r\n";
  for (let cut = 0; cut <= text.length; cut++) {
    const reader = new ReplyReader();
    reader.push(bytes(text.slice(0, cut)), "ehlo");
    reader.push(bytes(text.slice(cut)), "ehlo");
    assert.deepEqual(all(reader), [
      { code: 250, lines: ["mx.example hello", "PIPELINING", "STARTTLS"] },
      { code: 220, lines: ["next"] },
    ]);
  }
});

Deno.test("ReplyReader takes a bare code as a complete reply", () => {
  const reader = new ReplyReader();
  reader.push(bytes("220\r\n"), "greeting");
  assert.deepEqual(reader.next(), { code: 220, lines: [""] });
  assert.equal(reader.pending, false);
});

Deno.test("ReplyReader rejects lines that are no SMTP reply", () => {
  for (
    const line of [
      "HTTP/1.1 400 Bad Request",
      "22 short",
      "2200 long",
      "220x",
      "120 ok",
      "\x00\x01",
    ]
  ) {
    const reader = new ReplyReader();
    assert.throws(() => reader.push(bytes(`${line}\r\n`), "greeting"), {
      kind: "GARBAGE",
      stage: "greeting",
    }, line);
  }
});

Deno.test("ReplyReader rejects a code that changes within a reply", () => {
  const reader = new ReplyReader();
  assert.throws(() => reader.push(bytes("250-a\r\n251 b\r\n"), "ehlo"), { kind: "GARBAGE" });
});

Deno.test("ReplyReader bounds a line's length without waiting for its end", () => {
  const reader = new ReplyReader();
  reader.push(bytes(`220 ${"x".repeat(MAX_REPLY_LINE - 10)}`), "greeting");
  assert.throws(() => reader.push(bytes("y".repeat(20)), "greeting"), { kind: "TOO_LONG" });
});

Deno.test("ReplyReader bounds a reply's line count (a greeting that never ends)", () => {
  const reader = new ReplyReader();
  assert.throws(
    () => reader.push(bytes("220-more\r\n".repeat(MAX_REPLY_LINES + 1)), "greeting"),
    { kind: "TOO_LONG", stage: "greeting" },
  );
});

Deno.test("ReplyReader is linear: a megabyte of short replies is split at once", () => {
  const reader = new ReplyReader();
  reader.push(bytes("250 ok\r\n".repeat(131_072)), "ehlo");
  assert.equal(all(reader).length, 131_072);
});

Deno.test("offersStartTls() finds the keyword in any case, never in the first line", () => {
  assert.equal(offersStartTls({ code: 250, lines: ["mx", "PIPELINING", "starttls"] }), true);
  assert.equal(offersStartTls({ code: 250, lines: ["mx", "STARTTLS "] }), true);
  assert.equal(offersStartTls({ code: 250, lines: ["STARTTLS"] }), false);
  assert.equal(offersStartTls({ code: 250, lines: ["mx", "XSTARTTLS", "STARTTLSX"] }), false);
});

Deno.test("ReplyReader quotes a line that is no reply with DEL and other bytes escaped", () => {
  const reader = new ReplyReader();
  assert.throws(
    () =>
      reader.push(
        Uint8Array.from("250\x7f\xffx.example.com\r\n", (c) => c.charCodeAt(0)),
        "greeting",
      ),
    {
      kind: "GARBAGE",
      message: 'Not an SMTP reply: "250\\x7f\\xffx.example.com"',
    },
  );
  const long = new ReplyReader();
  assert.throws(() => long.push(bytes(`${"x".repeat(70)}\r\n`), "ehlo"), {
    message: `Not an SMTP reply: "${"x".repeat(60)}"…`,
  });
});
