import assert from "node:assert/strict";
import { DnsError } from "../../lib/errors.ts";
import { decodeMessage, encodeResponse } from "../../lib/wire/message.ts";
import { parseTlsa } from "../../lib/wire/tlsa.ts";

const hex = (text: string) =>
  Uint8Array.from(text.replace(/\s+/g, "").match(/../g)!, (h) => parseInt(h, 16));
/** A record in presentation form, "usage selector matching-type hex", as wire data. */
const rdata = (presentation: string) => {
  const [usage, selector, matchingType, ...data] = presentation.trim().split(/\s+/);
  return Uint8Array.of(+usage, +selector, +matchingType, ...hex(data.join("")));
};

// RFC 6698 §2.3's examples: a SHA-256 of a CA certificate (PKIX-TA) and a SHA-512 of a
// service certificate's public key (PKIX-EE).
const RFC6698_SHA256 = "d2abde240d7cd3ee6b4b28c54df034b9 7983a1d16e8a410e4561cb106618e971";
const RFC6698_SHA512 = `92003ba34942dc74152e2f2c408d29ec a5a520e7f2e06bb944f4dca346baf63c
  1b177615d466f6c4b71c216a50292bd5 8c9ebdd2f74e38fe51ffd48c43326cbc`;

Deno.test("parseTlsa() reads the fields of RFC 6698 §2.3's examples", () => {
  assert.deepEqual(parseTlsa(rdata(`0 0 1 ${RFC6698_SHA256}`)), {
    usage: 0,
    selector: 0,
    matchingType: 1,
    data: hex(RFC6698_SHA256),
  });
  assert.deepEqual(parseTlsa(rdata(`1 1 2 ${RFC6698_SHA512}`)), {
    usage: 1,
    selector: 1,
    matchingType: 2,
    data: hex(RFC6698_SHA512),
  });
});

Deno.test("parseTlsa() reads the SMTP forms of RFC 7671 and RFC 7672: DANE-EE and DANE-TA", () => {
  // "3 1 1" (DANE-EE, SPKI, SHA-256) is the usual record of an SMTP server; "2 0 0" carries
  // a whole trust-anchor certificate, here a stand-in of 40 octets.
  const spki = new Uint8Array(32).map((_, i) => i);
  assert.deepEqual(parseTlsa(Uint8Array.of(3, 1, 1, ...spki)), {
    usage: 3,
    selector: 1,
    matchingType: 1,
    data: spki,
  });
  const certificate = new Uint8Array(40).fill(0x30);
  assert.equal(parseTlsa(Uint8Array.of(2, 0, 0, ...certificate)).data.length, 40);
});

Deno.test("parseTlsa() reads values RFC 6698 leaves unassigned, for the caller to call unusable", () => {
  assert.deepEqual(parseTlsa(Uint8Array.of(255, 254, 253, 1, 2)), {
    usage: 255,
    selector: 254,
    matchingType: 253,
    data: Uint8Array.of(1, 2),
  });
});

Deno.test("parseTlsa() refuses data too short for its fields or its digest, as MALFORMED", () => {
  const cases: [string, Uint8Array][] = [
    ["no data", new Uint8Array(0)],
    ["the three fields only", Uint8Array.of(3, 1, 1)],
    ["a SHA-256 of 31 octets", Uint8Array.of(3, 1, 1, ...new Array(31))],
    ["a SHA-256 of 33 octets", Uint8Array.of(3, 1, 1, ...new Array(33))],
    ["a SHA-512 of 32 octets", Uint8Array.of(3, 1, 2, ...new Array(32))],
  ];
  for (const [why, data] of cases) {
    assert.throws(() => parseTlsa(data), (error: unknown) => {
      assert.ok(error instanceof DnsError, why);
      assert.equal(error.kind, "MALFORMED", why);
      assert.equal(error.qtype, "TLSA");
      return true;
    });
  }
});

Deno.test("parseTlsa() reads a TLSA answer as decodeMessage() hands it over, a copy", () => {
  const raw = rdata(`3 1 1 ${RFC6698_SHA256}`);
  const wire = encodeResponse({
    id: 1,
    questions: [{ name: "_25._tcp.mx.example.test", type: "TLSA" }],
    answers: [{ name: "_25._tcp.mx.example.test", data: { type: "TLSA", raw } }],
  });
  const [answer] = decodeMessage(wire).answers;
  assert.equal(answer.type, "TLSA");
  assert.ok(answer.data.type === "TLSA");
  const tlsa = parseTlsa(answer.data.raw);
  raw.fill(0);
  answer.data.raw.fill(0);
  assert.deepEqual(tlsa.data, hex(RFC6698_SHA256));
  assert.deepEqual([tlsa.usage, tlsa.selector, tlsa.matchingType], [3, 1, 1]);
});
