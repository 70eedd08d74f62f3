// The vendored dns-packet (lib/wire/_dns_packet.js) against npm dns-packet, which only this
// test imports: the same bytes out, the same packets (or the same exception) in, and the file
// exactly as scripts/vendor_dns_packet.ts writes it.
import assert from "node:assert/strict";
import { Buffer as NodeBuffer } from "node:buffer";
// @ts-types="@types/dns-packet"
import * as npm from "dns-packet";
import * as vendored from "../../lib/wire/_dns_packet.js";
import { generate } from "../../scripts/vendor_dns_packet.ts";

const ROOT = new URL("../../", import.meta.url);

Deno.test("the vendored dns-packet is exactly what scripts/vendor_dns_packet.ts generates", async () => {
  const { js, dts } = await generate(new URL("deno.json", ROOT).pathname);
  assert.equal(await Deno.readTextFile(new URL("lib/wire/_dns_packet.js", ROOT)), js);
  assert.equal(await Deno.readTextFile(new URL("lib/wire/_dns_packet.d.ts", ROOT)), dts);
});

const bytes = (...values: number[]) => NodeBuffer.from(values);

/** Packets covering every record type the tool reads, asks for or meets under DNSSEC. */
const CORPUS: npm.Packet[] = [
  {
    type: "query",
    id: 1,
    flags: npm.RECURSION_DESIRED,
    questions: [{ name: "a.test", type: "MX" }],
  },
  {
    type: "query",
    id: 0xffff,
    questions: [{ name: "Bücher.xn--bcher-kva.test", type: "TXT" }],
    additionals: [{
      type: "OPT",
      name: ".",
      udpPayloadSize: 1232,
      flags: npm.DNSSEC_OK,
      options: [
        { code: 8, family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: "192.0.2.0" },
        { code: 12, length: 5 },
      ],
    } as npm.Answer],
  },
  { type: "query", id: 2, questions: [{ name: ".", type: "NS" }] },
  {
    type: "response",
    id: 3,
    flags: npm.AUTHORITATIVE_ANSWER | npm.RECURSION_AVAILABLE | npm.AUTHENTIC_DATA,
    questions: [{ name: "mx.example.test", type: "MX" }],
    answers: [
      {
        type: "MX",
        name: "mx.example.test",
        ttl: 300,
        data: { preference: 10, exchange: "a.example.test" },
      },
      {
        type: "MX",
        name: "mx.example.test",
        ttl: 300,
        data: { preference: 20, exchange: "b.example.test" },
      },
      { type: "CNAME", name: "c.example.test", ttl: 60, data: "mx.example.test" },
      { type: "A", name: "a.example.test", ttl: 1, data: "192.0.2.1" },
      { type: "AAAA", name: "a.example.test", ttl: 1, data: "2001:db8::1" },
      { type: "AAAA", name: "a.example.test", ttl: 1, data: "::ffff:192.0.2.1" },
      {
        type: "TXT",
        name: "_mta-sts.example.test",
        data: ["v=STSv1; id=1;", bytes(0, 0xff, 0x80)],
      },
      { type: "TXT", name: "_mta-sts.example.test", data: "" },
      { type: "NULL", name: "n.example.test", data: bytes(1, 2, 3) },
      { type: "PTR", name: "1.2.0.192.in-addr.arpa", data: "a.example.test" },
      {
        type: "SRV",
        name: "_smtp._tcp.example.test",
        data: { priority: 1, weight: 2, port: 25, target: "a.example.test" },
      },
      { type: "CAA", name: "example.test", data: { flags: 128, tag: "issue", value: "ca.test" } },
    ] as npm.Answer[],
    authorities: [
      { type: "NS", name: "example.test", ttl: 86400, data: "ns.example.test" },
      {
        type: "SOA",
        name: "example.test",
        data: {
          mname: "ns.example.test",
          rname: "hostmaster.example.test",
          serial: 2024010101,
          refresh: 3600,
          retry: 600,
          expire: 604800,
          minimum: 300,
        },
      },
      {
        type: "DS",
        name: "example.test",
        data: { keyTag: 1, algorithm: 13, digestType: 2, digest: bytes(1, 2) },
      },
      {
        type: "RRSIG",
        name: "example.test",
        data: {
          typeCovered: "MX",
          algorithm: 13,
          labels: 2,
          originalTTL: 300,
          expiration: 1700000000,
          inception: 1690000000,
          keyTag: 12345,
          signersName: "example.test",
          signature: bytes(9, 8, 7),
        },
      },
      {
        type: "NSEC",
        name: "a.example.test",
        data: { nextDomain: "b.example.test", rrtypes: ["A", "RRSIG", "NSEC"] },
      },
      {
        type: "NSEC3",
        name: "abc.example.test",
        data: {
          algorithm: 1,
          flags: 0,
          iterations: 0,
          salt: bytes(),
          nextDomain: bytes(1, 2, 3),
          rrtypes: ["MX"],
        },
      },
      {
        type: "DNSKEY",
        name: "example.test",
        data: { flags: 257, algorithm: 13, key: bytes(5, 6) },
      },
    ] as npm.Answer[],
    additionals: [{ type: "OPT", name: ".", udpPayloadSize: 4096 } as npm.Answer],
  },
  {
    type: "response",
    id: 4,
    flags: npm.TRUNCATED_RESPONSE | npm.CHECKING_DISABLED | 3, // NXDOMAIN
    questions: [{ name: "none.test", type: "A", class: "CH" }],
  },
];

/** Buffers as plain byte lists, so that node's Buffer and npm buffer's compare equal. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: Array.from(value) };
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

/** The packet with its Buffers made npm buffer's, which the vendored copy insists on. */
function withVendoredBuffers<T>(value: T): T {
  if (value instanceof Uint8Array) return vendored.Buffer.from(value) as T;
  if (Array.isArray(value)) return value.map(withVendoredBuffers) as T;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).map(([k, v]) => [k, withVendoredBuffers(v)]);
    return Object.fromEntries(entries) as T;
  }
  return value;
}

function outcome(decode: () => unknown): unknown {
  try {
    return { decoded: plain(decode()) };
  } catch (error) {
    // The two Buffers word their range errors differently; that either throws is what counts.
    return { threw: (error as Error).name };
  }
}

function sameDecoding(message: Uint8Array): void {
  const fromNpm = outcome(() => npm.decode(NodeBuffer.from(message)));
  const fromVendored = outcome(() => vendored.decode(vendored.Buffer.from(message)));
  assert.deepEqual(fromVendored, fromNpm, `decoding ${NodeBuffer.from(message).toString("hex")}`);
}

Deno.test("the vendored dns-packet encodes every corpus packet byte for byte like npm's", () => {
  for (const packet of CORPUS) {
    const expected = npm.encode(packet);
    assert.deepEqual(
      Array.from(vendored.encode(withVendoredBuffers(packet))),
      Array.from(expected),
    );
    assert.equal(vendored.encodingLength(withVendoredBuffers(packet)), npm.encodingLength(packet));
  }
});

// dns-packet writes names uncompressed but reads RFC 1035 §4.1.4 pointers: a reply that
// points into the question, a pointer to a pointer, and a pointer loop.
const COMPRESSED = [
  ...[0x00, 0x05, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0],
  ...[2, 0x6d, 0x78, 7, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 4, 0x74, 0x65, 0x73, 0x74, 0],
  ...[0, 15, 0, 1],
  // mx.example.test MX 10 a.example.test, the exchange ending in a pointer to "example.test".
  ...[0xc0, 12, 0, 15, 0, 1, 0, 0, 1, 0x2c, 0, 6, 0, 10, 1, 0x61, 0xc0, 15],
  // The owner points at the exchange (a label, then a pointer): CNAME to the question.
  ...[0xc0, 47, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 12],
];

Deno.test("the vendored dns-packet follows name compression pointers as npm's does", () => {
  const message = Uint8Array.from(COMPRESSED);
  const decoded = npm.decode(NodeBuffer.from(message));
  assert.deepEqual(decoded.answers?.map((a) => a.name), ["mx.example.test", "a.example.test"]);
  for (let length = 0; length <= message.length; length++) {
    sameDecoding(message.subarray(0, length));
  }
  // A name that points at itself.
  const loop = Uint8Array.from(COMPRESSED);
  loop.set([0xc0, 12], 12);
  sameDecoding(loop);
});

Deno.test("the vendored dns-packet decodes the corpus and every truncation as npm's does", () => {
  for (const packet of CORPUS) {
    const message = npm.encode(packet);
    for (let length = 0; length <= message.length; length++) {
      sameDecoding(message.subarray(0, length));
    }
  }
});

Deno.test("the vendored dns-packet decodes corrupted messages, or throws, as npm's does", () => {
  let seed = 6;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (const packet of CORPUS) {
    const message = npm.encode(packet);
    for (let round = 0; round < 200; round++) {
      const copy = new Uint8Array(message);
      for (let flips = 1 + random(3); flips > 0; flips--) copy[random(copy.length)] = random(256);
      sameDecoding(copy);
    }
  }
});
