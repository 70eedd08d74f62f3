// What lib/wire/message.ts promises: queries laid out as RFC 1035 §4.1 and RFC 6891 §6.1.2
// say, every record type the tool reads decoded as encoded, and malformed bytes refused with
// a typed error, never a partial message.
import assert from "node:assert/strict";
import fc from "fast-check";
import { DnsError } from "../../lib/errors.ts";
import {
  decodeMessage,
  encodeQuery,
  encodeResponse,
  type RecordSpec,
  type ResponseSpec,
} from "../../lib/wire/message.ts";

const bytes = (...values: number[]) => new Uint8Array(values);
const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0));
/** A name in wire form: length-prefixed labels, then the root. */
const wireName = (name: string) => [
  ...name.split(".").flatMap((label) => [label.length, ...ascii(label)]),
  0,
];

function assertMalformed(message: Uint8Array, why: string): void {
  assert.throws(() => decodeMessage(message), (error: unknown) => {
    assert.ok(error instanceof DnsError, `${why}: ${error}`);
    assert.equal(error.kind, "MALFORMED", why);
    return true;
  });
}

Deno.test("encodeQuery() lays out header and question as RFC 1035 §4.1 does, keeping case", () => {
  const query = encodeQuery({ name: "Mail.Example.test", type: "MX" }, { id: 0x1234 });
  assert.deepEqual(
    query,
    bytes(
      ...[0x12, 0x34, 0x01, 0x00], // ID, RD
      ...[0, 1, 0, 0, 0, 0, 0, 0], // QDCOUNT 1
      ...wireName("Mail.Example.test"),
      ...[0, 15, 0, 1], // MX, IN
    ),
  );
});

Deno.test("encodeQuery() sets the CD bit of RFC 4035 §3.2.2 only when asked", () => {
  const question = { name: "x.test", type: "TLSA" };
  // Third byte: QR, opcode, AA, TC, RD; fourth: RA, Z, AD, CD, RCODE.
  assert.deepEqual([...encodeQuery(question, { id: 1 }).subarray(2, 4)], [0x01, 0x00]);
  assert.deepEqual(
    [...encodeQuery(question, { id: 1, checkingDisabled: true }).subarray(2, 4)],
    [0x01, 0x10],
  );
});

Deno.test("encodeQuery() adds the OPT record of RFC 6891 §6.1.2, with DO unless told not to", () => {
  const opt = (flags: number) => [0, 0, 41, 0x04, 0xd0, 0, 0, flags, 0, 0, 0];
  const question = { name: "a.test", type: "TLSA" };
  const withDo = encodeQuery(question, { id: 1, udpSize: 1232 });
  assert.deepEqual([...withDo.subarray(10, 12)], [0, 1], "ARCOUNT 1");
  assert.deepEqual([...withDo.subarray(-11)], opt(0x80));
  const withoutDo = encodeQuery(question, { id: 1, udpSize: 1232, dnssecOk: false });
  assert.deepEqual([...withoutDo.subarray(-11)], opt(0));
  const noRd = encodeQuery(question, { id: 1, recursionDesired: false });
  assert.deepEqual([...noRd.subarray(2, 4), ...noRd.subarray(10, 12)], [0, 0, 0, 0]);
  assert.deepEqual([...noRd.subarray(-4)], [0, 52, 0, 1], "TLSA is type 52");
});

Deno.test("decodeMessage() reads back a query: question, RD and the EDNS payload and DO bit", () => {
  const message = decodeMessage(encodeQuery({ name: "x.test", type: "AAAA" }, {
    id: 65535,
    udpSize: 4096,
  }));
  assert.equal(message.id, 65535);
  assert.equal(message.qr, false);
  assert.equal(message.rd, true);
  assert.equal(message.opcode, "QUERY");
  assert.deepEqual(message.questions, [{ name: "x.test", type: "AAAA", class: "IN" }]);
  assert.deepEqual(message.edns, { udpSize: 4096, dnssecOk: true });
  assert.deepEqual(message.additionals, [], "the OPT record is not an additional record");
});

Deno.test("encodeQuery() refuses names the wire cannot carry and types the tool never asks", () => {
  const cases: [string, string][] = [
    ["a..test", "A"],
    [`${"a".repeat(64)}.test`, "A"],
    [Array.from({ length: 128 }, () => "a").join("."), "A"],
    ["x.test", "ANY"],
    ["x.test", "AXFR"],
  ];
  for (const [name, type] of cases) {
    assert.throws(() => encodeQuery({ name, type }, { id: 1 }), (error: unknown) => {
      assert.ok(error instanceof DnsError);
      assert.equal(error.kind, "INVALID_NAME", `${name} ${type}`);
      return true;
    });
  }
});

/** One record of every type lib/wire decodes, and one it keeps as raw bytes. */
const EVERY_TYPE: RecordSpec[] = [
  { name: "x.test", ttl: 60, data: { type: "A", address: "192.0.2.1" } },
  { name: "x.test", ttl: 0, data: { type: "AAAA", address: "2001:db8::1" } },
  { name: "x.test", ttl: 2147483647, data: { type: "MX", preference: 0, exchange: "" } },
  { name: "x.test", data: { type: "MX", preference: 65535, exchange: "mx.x.test" } },
  { name: "www.x.test", data: { type: "CNAME", target: "x.test" } },
  {
    name: "_mta-sts.x.test",
    data: { type: "TXT", strings: [bytes(...ascii("v=STSv1; id=1;")), bytes(), bytes(0, 255)] },
  },
  { name: "_25._tcp.mx.x.test", data: { type: "TLSA", raw: bytes(3, 1, 1, ...new Array(32)) } },
  { name: "", data: { type: "OTHER", raw: bytes(1, 2, 3) } },
];

Deno.test("decodeMessage() returns every record type the tool reads as encodeResponse() wrote it", () => {
  const spec: ResponseSpec = {
    id: 7,
    rcode: "NXDOMAIN",
    flags: { aa: true, ad: true, cd: true, tc: true },
    questions: [{ name: "x.test", type: "MX" }],
    answers: EVERY_TYPE,
    authorities: [EVERY_TYPE[0]],
    additionals: [EVERY_TYPE[1]],
    udpSize: 1232,
  };
  const message = decodeMessage(encodeResponse(spec));
  assert.equal(message.id, 7);
  assert.equal(message.rcode, "NXDOMAIN");
  assert.deepEqual(
    [message.qr, message.aa, message.tc, message.rd, message.ra, message.ad, message.cd],
    [true, true, true, true, true, true, true],
  );
  assert.deepEqual(message.edns, { udpSize: 1232, dnssecOk: false });
  const expected = (r: RecordSpec) => ({
    name: r.name,
    type: r.data.type === "OTHER" ? "NULL" : r.data.type,
    class: "IN",
    ttl: r.ttl ?? 300,
    data: r.data,
  });
  assert.deepEqual(message.answers, EVERY_TYPE.map(expected));
  assert.deepEqual(message.authorities, [expected(EVERY_TYPE[0])]);
  assert.deepEqual(message.additionals, [expected(EVERY_TYPE[1])]);
});

Deno.test("encodeResponse() clears QR and the default RD and RA bits when told to", () => {
  const message = decodeMessage(encodeResponse({
    id: 9,
    qr: false,
    flags: { rd: false, ra: false },
    rcode: "REFUSED",
  }));
  assert.deepEqual([message.qr, message.rd, message.ra, message.rcode], [
    false,
    false,
    false,
    "REFUSED",
  ]);
});

Deno.test("decodeMessage() follows compression pointers (RFC 1035 §4.1.4) in owners and data", () => {
  const header = [0, 5, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
  const question = [...wireName("x.test"), 0, 15, 0, 1];
  // Owner: a pointer to the question's name (offset 12); MX exchange: "mx" then that pointer.
  const answer = [0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 7, 0, 10, 2, ...ascii("mx"), 0xc0, 12];
  const message = decodeMessage(bytes(...header, ...question, ...answer));
  assert.deepEqual(message.answers, [{
    name: "x.test",
    type: "MX",
    class: "IN",
    ttl: 60,
    data: { type: "MX", preference: 10, exchange: "mx.x.test" },
  }]);
});

Deno.test("decodeMessage() hands out TXT and TLSA bytes that do not change with the buffer", () => {
  const wire = encodeResponse({ id: 1, answers: EVERY_TYPE.slice(5, 7) });
  const message = decodeMessage(wire);
  wire.fill(0x41, 12);
  const [txt, tlsa] = message.answers.map((r) => r.data);
  assert.ok(txt.type === "TXT" && tlsa.type === "TLSA");
  assert.deepEqual(txt.strings[0], bytes(...ascii("v=STSv1; id=1;")));
  assert.deepEqual(tlsa.raw, bytes(3, 1, 1, ...new Array(32)));
});

Deno.test("decodeMessage() refuses every cut of a reply, and never returns part of one", () => {
  const whole = encodeResponse({
    id: 3,
    questions: [{ name: "x.test", type: "MX" }],
    answers: EVERY_TYPE,
  });
  assert.equal(decodeMessage(whole).answers.length, EVERY_TYPE.length);
  for (let length = 0; length < whole.length; length++) {
    assertMalformed(whole.subarray(0, length), `cut at ${length} of ${whole.length}`);
  }
});

Deno.test("decodeMessage() refuses records whose data does not fit their type", () => {
  const header = [0, 5, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0];
  const record = (type: number, data: number[]) =>
    bytes(...header, 0, 0, type, 0, 1, 0, 0, 0, 60, data.length >> 8, data.length & 0xff, ...data);
  const cases: [string, Uint8Array][] = [
    ["A of 5 octets", record(1, [192, 0, 2, 1, 0])],
    ["AAAA of 4 octets", record(28, [32, 1, 13, 184])],
    ["MX without a name", record(15, [0, 10])],
    ["MX name longer than its data", record(15, [0, 10, 2, ...ascii("mx")])],
    ["MX with octets after its name", record(15, [0, 10, 0, 0])],
    ["CNAME with a forward pointer", record(5, [0xc0, 40])],
    ["TXT of no string", record(16, [])],
    ["TXT string past its data", record(16, [5, ...ascii("abc")])],
    ["label type 0x40", record(5, [0x41, 0])],
  ];
  for (const [why, message] of cases) assertMalformed(message, why);
});

Deno.test("decodeMessage() reads back any records of the types it decodes (property)", () => {
  const label = fc.stringMatching(/^[a-z0-9-]{1,12}$/);
  const name = fc.array(label, { minLength: 0, maxLength: 4 }).map((l) => l.join("."));
  const octet = fc.integer({ min: 0, max: 255 });
  const data = fc.oneof(
    fc.tuple(octet, octet, octet, octet).map((o) => ({ type: "A" as const, address: o.join(".") })),
    fc.record({ preference: fc.integer({ min: 0, max: 65535 }), exchange: name })
      .map((mx) => ({ type: "MX" as const, ...mx })),
    name.map((target) => ({ type: "CNAME" as const, target })),
    fc.array(fc.uint8Array({ maxLength: 255 }), { minLength: 1, maxLength: 4 })
      .map((strings) => ({ type: "TXT" as const, strings })),
    fc.uint8Array({ maxLength: 300 }).map((raw) => ({ type: "TLSA" as const, raw })),
  );
  const record = fc.record({ name, ttl: fc.integer({ min: 0, max: 2 ** 31 - 1 }), data });
  fc.assert(
    fc.property(
      fc.array(record, { maxLength: 6 }),
      fc.integer({ min: 0, max: 65535 }),
      (rs, id) => {
        const message = decodeMessage(encodeResponse({ id, answers: rs }));
        assert.equal(message.id, id);
        assert.deepEqual(
          message.answers,
          rs.map((r) => ({
            name: r.name,
            type: r.data.type,
            class: "IN",
            ttl: r.ttl,
            data: r.data,
          })),
        );
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("decodeMessage() reads label bytes that are not UTF-8 as U+FFFD, within the label", () => {
  const header = [0, 5, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
  // Question "x\xc3.t\xffst": a lead byte at a label's end, then a byte UTF-8 never uses.
  const question = [2, 0x78, 0xc3, 4, 0x74, 0xff, 0x73, 0x74, 0, 0, 15, 0, 1];
  // MX 10 "m\x80.<question name>": a lone continuation byte, then a pointer.
  const answer = [0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 7, 0, 10, 2, 0x6d, 0x80, 0xc0, 12];
  const message = decodeMessage(bytes(...header, ...question, ...answer));
  assert.equal(message.questions[0].name, "x\uFFFD.t\uFFFDst");
  assert.deepEqual(message.answers, [{
    name: "x\uFFFD.t\uFFFDst",
    type: "MX",
    class: "IN",
    ttl: 60,
    data: { type: "MX", preference: 10, exchange: "m\uFFFD.x\uFFFD.t\uFFFDst" },
  }]);
});

Deno.test("decodeMessage() keeps UTF-8 labels as the characters they encode", () => {
  const name = "bücher.例え.test";
  const wire = encodeResponse({
    id: 1,
    answers: [{ name, data: { type: "CNAME", target: `münchen.${name}` } }],
  });
  const [record] = decodeMessage(wire).answers;
  assert.equal(record.name, name);
  assert.deepEqual(record.data, { type: "CNAME", target: `münchen.${name}` });
});
