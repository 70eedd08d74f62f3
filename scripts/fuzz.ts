// Mutation and property-based fuzzing of every parser that reads what others wrote: DNS
// replies, the resolv.conf, TXT, policy and cache-file readers, the wildcard matcher, the
// argument parser, the policy download's HTTP/1.1 responses, and the delivery probe's TLSA
// data, SMTP replies and TLS-RPT records; and the growth target (scripts/fuzz_growth.ts):
// every reader timed on inputs grown fourfold. Seeded and bounded in count and time; `deno task fuzz [--seed=N] [--scale=F]`
// prints the figures, tests/fuzz_test.ts runs the untimed targets briefly in CI. Input i of a
// target is a pure function of (seed, i): each finding prints the command that replays it.
// Invariants: only the typed errors are thrown, nothing hangs, what a parser accepts
// round-trips where an encoder exists, and reading time grows linearly with the input.
import fc from "fast-check";
import { formatAddress, parseAddress } from "../lib/address.ts";
import { parseArgs } from "../lib/cli/args.ts";
import { DnsError, UsageError } from "../lib/errors.ts";
import { acceptReply, type ExpectedReply } from "../lib/resolver/exchange.ts";
import {
  MAX_NAMESERVERS,
  MAX_RESOLV_CONF_WARNINGS,
  parseResolvConf,
} from "../lib/resolver/resolv_conf.ts";
import {
  COURIER_STUB_POLICY,
  decodeEntry,
  encodeEntry,
  parseCacheSize,
} from "../lib/sts/cache_file.ts";
import { StsError } from "../lib/sts/errors.ts";
import { matchesMx } from "../lib/sts/match.ts";
import { MAX_MAX_AGE, MAX_POLICY_BYTES, parsePolicy } from "../lib/sts/policy.ts";
import { parseStsRecords } from "../lib/sts/txt.ts";
import {
  decodeMessage,
  encodeResponse,
  type RecordSpec,
  type ResponseSpec,
} from "../lib/wire/message.ts";
import { growthTarget } from "./fuzz_growth.ts";
import { HttpResponseError, HttpResponseParser } from "../lib/sts/http_response.ts";
import { parseTlsa } from "../lib/wire/tlsa.ts";
import { MAX_REPLY_LINES, ReplyReader } from "../lib/probe/reply.ts";
import { ProbeError } from "../lib/probe/errors.ts";
import { MAX_RUA, parseTlsRpt } from "../lib/probe/tls_rpt.ts";

/** The seed when none is given: the figures in the README were made with it. */
export const DEFAULT_SEED = 20240707;

/** One input taking longer than this counts as a hang. */
export const HANG_MS = 1000;

/** The outcome of one target. */
export interface TargetResult {
  /** The target's name. */
  name: string;
  /** Inputs run. */
  runs: number;
  /** Inputs that threw something other than the typed error, or broke an invariant. */
  crashes: { index: number; input: string; error: string }[];
  /** Inputs that took over {@linkcode HANG_MS}. */
  hangs: { index: number; input: string; ms: number }[];
  /** Whether the time limit stopped it before `count`. */
  cut: boolean;
  /** Report lines the inputs returned (the growth target's table), at most 200. */
  rows: string[];
}

/** A fuzz target: the full-run count and the work for input `index`. */
export interface Target {
  /** The name, for --only and the report. */
  name: string;
  /** Inputs in the full run (`deno task fuzz`). */
  count: number;
  /** One input taking longer counts as a hang. @default {HANG_MS} */
  hangMs?: number;
  /** Whether the target asserts time (the growth target): then it stays out of the test suite. */
  timed?: boolean;
  /** The heading of the lines its inputs return, when they return some. */
  header?: string;
  /**
   * Runs input `index` of `seed`; throws on a crash. `note` gets the input first, for the
   * report; a string returned is a line of the report.
   */
  run(
    seed: number,
    index: number,
    note: (input: string) => void,
  ): void | string | Promise<void | string | undefined>;
}

// --- Seeded randomness: mulberry32, one generator per input. ---

class Rng {
  #state: number;
  constructor(seed: number, index: number) {
    this.#state = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index, 0xc2b2ae35)) >>> 0;
    for (let i = 0; i < 4; i++) this.next();
  }
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  bytes(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, () => this.int(256));
  }
}

const INTERESTING = [0x00, 0x01, 0x3f, 0x40, 0x7f, 0x80, 0xc0, 0xc1, 0xfe, 0xff];

/** 1 to 8 byte-level mutations: flips, interesting bytes, cuts, inserts, pointers, splices. */
function mutateBytes(rng: Rng, input: Uint8Array, others: readonly Uint8Array[]): Uint8Array {
  let bytes: Uint8Array = Uint8Array.from(input);
  const rounds = 1 + rng.int(8);
  for (let r = 0; r < rounds; r++) {
    const at = bytes.length === 0 ? 0 : rng.int(bytes.length);
    switch (rng.int(10)) {
      case 0:
        if (bytes.length) bytes[at] ^= 1 << rng.int(8);
        break;
      case 1:
        if (bytes.length) bytes[at] = rng.pick(INTERESTING);
        break;
      case 2:
        if (bytes.length) bytes[at] = rng.int(256);
        break;
      case 3:
        bytes = bytes.subarray(0, rng.int(bytes.length + 1));
        break;
      case 4:
        bytes = concat(bytes.subarray(0, at), rng.bytes(1 + rng.int(16)), bytes.subarray(at));
        break;
      case 5: {
        const end = Math.min(bytes.length, at + 1 + rng.int(16));
        bytes = concat(bytes.subarray(0, at), bytes.subarray(end));
        break;
      }
      case 6: {
        const end = Math.min(bytes.length, at + 1 + rng.int(32));
        bytes = concat(bytes.subarray(0, end), bytes.subarray(at, end), bytes.subarray(end));
        break;
      }
      case 7:
        // A compression pointer anywhere: loops, forward and out-of-range targets.
        if (bytes.length > 1) {
          bytes[at] = 0xc0 | rng.int(64);
          bytes[(at + 1) % bytes.length] = rng.int(256);
        }
        break;
      case 8:
        // A 16-bit length or count: RDLENGTH, ANCOUNT and the like.
        if (bytes.length > 1) {
          const v = rng.pick([0, 1, 2, 0x7fff, 0xffff, rng.int(65536)]);
          bytes[at] = v >> 8;
          bytes[(at + 1) % bytes.length] = v & 0xff;
        }
        break;
      default: {
        const other = others.length === 0 ? bytes : rng.pick(others);
        const from = rng.int(other.length + 1);
        bytes = concat(bytes.subarray(0, at), other.subarray(from, from + rng.int(64)));
      }
    }
  }
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/** Whether a stderr line would carry a raw control character (C0 or DEL). */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

function hexOf(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// --- DNS replies: mutated real replies through the acceptance check and the decoder. ---

const SERVER = { hostname: "127.0.0.1", port: 53 };
const mx = (name: string, preference: number, exchange: string): RecordSpec => ({
  name,
  data: { type: "MX", preference, exchange },
});
const DNS_BASES: { spec: ResponseSpec; expected: ExpectedReply }[] = [
  {
    spec: {
      id: 0x1234,
      flags: { ad: true },
      questions: [{ name: "example.com", type: "MX" }],
      answers: [
        mx("example.com", 10, "mx1.example.com"),
        mx("example.com", 20, "mx2.example.com"),
        mx("example.com", 0, ""),
      ],
      additionals: [
        { name: "mx1.example.com", data: { type: "A", address: "192.0.2.1" } },
        { name: "mx1.example.com", data: { type: "AAAA", address: "2001:db8::1" } },
      ],
      udpSize: 1232,
    },
    expected: { server: SERVER, id: 0x1234, question: { name: "example.com", type: "MX" } },
  },
  {
    spec: {
      id: 7,
      questions: [{ name: "_mta-sts.example.com", type: "TXT" }],
      answers: [{
        name: "_mta-sts.example.com",
        data: {
          type: "TXT",
          strings: [encoder.encode("v=STSv1; "), encoder.encode("id=20240101T000000;")],
        },
      }],
    },
    expected: { server: SERVER, id: 7, question: { name: "_mta-sts.example.com", type: "TXT" } },
  },
  {
    spec: {
      id: 0xbeef,
      questions: [{ name: "www.example.org", type: "A" }],
      answers: [
        { name: "www.example.org", data: { type: "CNAME", target: "web.example.org" } },
        { name: "web.example.org", data: { type: "A", address: "198.51.100.7" } },
      ],
    },
    expected: { server: SERVER, id: 0xbeef, question: { name: "www.example.org", type: "A" } },
  },
  {
    spec: {
      id: 1,
      rcode: "NXDOMAIN",
      flags: { aa: true },
      questions: [{ name: "nope.example", type: "AAAA" }],
      authorities: [{
        name: "example",
        data: { type: "OTHER", raw: Uint8Array.from({ length: 22 }, (_, i) => i) },
      }],
      udpSize: 4096,
    },
    expected: { server: SERVER, id: 1, question: { name: "nope.example", type: "AAAA" } },
  },
];
const DNS_BYTES = DNS_BASES.map((b) => encodeResponse(b.spec));

function checkMessage(bytes: Uint8Array): void {
  try {
    const message = decodeMessage(bytes);
    if (!Number.isInteger(message.id) || message.id < 0 || message.id > 0xffff) {
      throw new Error(`decoded ID ${message.id}`);
    }
    for (const section of [message.answers, message.authorities, message.additionals]) {
      for (const record of section) {
        if (typeof record.name !== "string" || record.data === undefined) {
          throw new Error(`decoded record ${JSON.stringify(record)}`);
        }
      }
    }
  } catch (error) {
    if (error instanceof DnsError && error.kind === "MALFORMED") return;
    throw error;
  }
}

const dnsReply: Target = {
  name: "dns-reply",
  count: 1_000_000,
  run(seed, index, note) {
    const rng = new Rng(seed, index);
    const base = rng.int(DNS_BASES.length);
    const bytes = mutateBytes(rng, DNS_BYTES[base], DNS_BYTES);
    // Mostly keep ID and QR so that the input gets past the cheap checks into the decoder.
    if (bytes.length >= 3 && rng.next() < 0.9) {
      bytes[0] = DNS_BYTES[base][0];
      bytes[1] = DNS_BYTES[base][1];
      bytes[2] |= 0x80;
    }
    note(hexOf(bytes));
    const verdict = acceptReply(bytes, SERVER, DNS_BASES[base].expected);
    if ("malformed" in verdict && verdict.malformed && verdict.malformed.kind !== "MALFORMED") {
      throw new Error(`malformed verdict of kind ${verdict.malformed.kind}`);
    }
    checkMessage(bytes);
  },
};

// --- Round trips through fast-check: one property run per input index. ---

/** A target that checks one fast-check property per input, seeded per (seed, index). */
function propertyTarget<T>(
  name: string,
  count: number,
  arbitrary: fc.Arbitrary<T>,
  check: (value: T) => void,
): Target {
  return {
    name,
    count,
    run(seed, index, note) {
      const [value] = fc.sample(arbitrary, {
        seed: (seed ^ Math.imul(index, 2654435761)) | 0,
        numRuns: 1,
      });
      note(JSON.stringify(value, (_, v) => v instanceof Uint8Array ? hexOf(v) : v));
      check(value);
    },
  };
}

// A letter first: an all-digit name such as 9.8.4 is an IPv4 address, never a host name.
// Not `xn--` nor any `??--` start: those are A-labels, and an invalid one is no name at all.
const label = fc.stringMatching(/^[a-z]([a-z0-9-]{0,8}[a-z0-9])?$/).filter((l) => !/^..--/.test(l));
const domain = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join("."));
const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => b.join("."));
const ipv6Bytes = fc.uint8Array({ minLength: 16, maxLength: 16 });
const recordData: fc.Arbitrary<RecordSpec["data"]> = fc.oneof(
  ipv4.map((address) => ({ type: "A" as const, address })),
  ipv6Bytes.map((b) => ({ type: "AAAA" as const, address: formatAddress(b) })),
  fc.record({ preference: fc.integer({ min: 0, max: 65535 }), exchange: domain }).map((d) => ({
    type: "MX" as const,
    ...d,
  })),
  domain.map((target) => ({ type: "CNAME" as const, target })),
  fc.array(fc.uint8Array({ maxLength: 255 }), { minLength: 1, maxLength: 3 }).map((strings) => ({
    type: "TXT" as const,
    strings,
  })),
);
const responseSpec = fc.record({
  id: fc.integer({ min: 0, max: 65535 }),
  rcode: fc.constantFrom("NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"),
  flags: fc.record({ aa: fc.boolean(), tc: fc.boolean(), ad: fc.boolean(), cd: fc.boolean() }),
  question: fc.record({ name: domain, type: fc.constantFrom("MX", "A", "AAAA", "TXT") }),
  answers: fc.array(
    fc.record({ name: domain, ttl: fc.integer({ min: 0, max: 2 ** 31 - 1 }), data: recordData }),
    { maxLength: 6 },
  ),
  udpSize: fc.option(fc.integer({ min: 512, max: 65535 }), { nil: undefined }),
});

function sameData(a: RecordSpec["data"], b: RecordSpec["data"]): boolean {
  if (a.type !== b.type) return false;
  switch (a.type) {
    case "A":
      return a.address === (b as typeof a).address;
    case "AAAA":
      return hexOf(parseAddress(a.address)!) ===
        hexOf(parseAddress((b as typeof a).address) ?? new Uint8Array());
    case "MX":
      return a.preference === (b as typeof a).preference &&
        a.exchange === (b as typeof a).exchange;
    case "CNAME":
      return a.target === (b as typeof a).target;
    case "TXT":
      return a.strings.map(hexOf).join(",") === (b as typeof a).strings.map(hexOf).join(",");
    default:
      return false;
  }
}

const dnsRoundTrip = propertyTarget("dns-roundtrip", 50_000, responseSpec, (spec) => {
  const bytes = encodeResponse({ ...spec, questions: [spec.question] });
  const message = decodeMessage(bytes);
  const fail = (what: string) => {
    throw new Error(`encodeResponse/decodeMessage changed ${what}`);
  };
  if (message.id !== spec.id || message.rcode !== spec.rcode) fail("id or rcode");
  for (const flag of ["aa", "tc", "ad", "cd"] as const) {
    if (message[flag] !== spec.flags[flag]) fail(flag);
  }
  if (message.questions[0]?.name !== spec.question.name) fail("the question");
  if ((message.edns?.udpSize) !== spec.udpSize) fail("the EDNS size");
  if (message.answers.length !== spec.answers.length) fail("the answer count");
  spec.answers.forEach((record, i) => {
    const got = message.answers[i];
    if (got.name !== record.name || got.ttl !== record.ttl || !sameData(record.data, got.data)) {
      fail(`answer ${i}`);
    }
  });
  const verdict = acceptReply(bytes, SERVER, {
    server: SERVER,
    id: spec.id,
    question: spec.question,
  });
  if (!("message" in verdict)) fail(`acceptance: ${verdict.reject}`);
});

const addressRoundTrip = propertyTarget(
  "address",
  100_000,
  fc.tuple(ipv6Bytes, fc.string({ maxLength: 50 })),
  ([bytes, text]) => {
    const formatted = formatAddress(bytes);
    const parsed = parseAddress(formatted);
    if (parsed === undefined || hexOf(parsed) !== hexOf(bytes)) {
      throw new Error(`parseAddress(formatAddress(x)) is not x: ${formatted}`);
    }
    const other = parseAddress(text);
    if (other !== undefined && other.length !== 16) throw new Error("address not 16 bytes");
  },
);

// --- MTA-STS: policies, TXT records, cache files, .cache_size, the wildcard matcher. ---

const POLICIES = [
  "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmx: *.example.net\nmax_age: 86400\n",
  "version: STSv1\r\nmode: testing\r\nmx: mail.example.org\r\nmax_age: 604800\r\n",
  "version: STSv1\nmode: none\nmax_age: 31557600\n",
  "version: STSv1\nmode: enforce\nmx: *.b\u00fccher.example\nmax_age: 0\nfoo: bar\n",
  COURIER_STUB_POLICY,
];
const POLICY_TOKENS = [
  "version",
  "STSv1",
  "mode",
  "enforce",
  "testing",
  "none",
  "mx",
  "*.",
  "max_age",
  "31557601",
  "-1",
  "99999999999999999999",
  ":",
  " ",
  "\t",
  "\n",
  "\r\n",
  "\r",
  "\0",
  "\u00e9",
  "\ufffd",
  "\ud800",
  "xn--",
  ".",
  "..",
  "a".repeat(64),
];

function mutateText(rng: Rng, text: string, tokens: readonly string[]): string {
  let out = text;
  const rounds = 1 + rng.int(6);
  for (let r = 0; r < rounds; r++) {
    const at = rng.int(out.length + 1);
    switch (rng.int(7)) {
      case 0:
        out = out.slice(0, at) + rng.pick(tokens) + out.slice(at);
        break;
      case 1:
        out = out.slice(0, at) + out.slice(at + 1 + rng.int(8));
        break;
      case 2:
        out = out.slice(0, at) + String.fromCharCode(rng.int(0x3000)) + out.slice(at + 1);
        break;
      case 3: {
        // A whole line moved or duplicated.
        const lines = out.split("\n");
        const line = rng.pick(lines);
        lines.splice(rng.int(lines.length + 1), rng.int(2), line);
        out = lines.join("\n");
        break;
      }
      case 4:
        out = out.slice(0, at);
        break;
      case 5:
        // Huge: past the 64 KiB caps.
        if (rng.next() < 0.05) out += rng.pick(tokens).repeat(70_000);
        break;
      default:
        out = latin1.decode(mutateBytes(rng, encoder.encode(out), []));
    }
  }
  return out;
}

const policyTarget: Target = {
  name: "policy",
  count: 100_000,
  run(seed, index, note) {
    const rng = new Rng(seed, index);
    const text = mutateText(rng, rng.pick(POLICIES), POLICY_TOKENS);
    note(JSON.stringify(text));
    let parsed;
    try {
      parsed = parsePolicy(text);
    } catch (error) {
      if (error instanceof StsError && error.kind === "POLICY_INVALID") return;
      throw error;
    }
    const { policy } = parsed;
    if (!["enforce", "testing", "none"].includes(policy.mode)) throw new Error("mode");
    if (!(policy.maxAge >= 0 && policy.maxAge <= MAX_MAX_AGE)) throw new Error("max_age");
    // The cache form reads back as the same policy (what the next run sees).
    const again = parsePolicy(policy.text).policy;
    if (
      again.mode !== policy.mode || again.maxAge !== policy.maxAge ||
      again.mx.join("\n") !== policy.mx.join("\n") || again.text !== policy.text
    ) {
      throw new Error("parsePolicy(policy.text) differs from the policy");
    }
    for (const host of ["mx1.example.com", "a.example.net", "MX1.EXAMPLE.COM."]) {
      matchesMx(host, policy.mx);
    }
  },
};

const CACHE_BASES = [
  encodeEntry("20240101T000000", POLICIES[0]),
  encodeEntry("", POLICIES[2]),
  encodeEntry("abc", COURIER_STUB_POLICY),
  encoder.encode("0\nid:torn\n\nversion: STSv1\n"),
  encoder.encode("1\nfoo: bar\nid : x y\nid:last\r\n\nmode: enforce\n"),
];

const cacheFile: Target = {
  name: "cache-file",
  count: 100_000,
  run(seed, index, note) {
    const rng = new Rng(seed, index);
    const bytes = mutateBytes(rng, rng.pick(CACHE_BASES), CACHE_BASES);
    note(hexOf(bytes));
    const decoded = decodeEntry(bytes);
    if (!decoded.valid) {
      if (typeof decoded.reason !== "string" || hasControl(decoded.reason)) {
        throw new Error(`reason ${JSON.stringify(decoded.reason)} is not one clean line`);
      }
      return;
    }
    let encoded: Uint8Array;
    try {
      encoded = encodeEntry(decoded.id, decoded.policy);
    } catch (error) {
      if (error instanceof RangeError) return;
      throw error;
    }
    const again = decodeEntry(encoded);
    if (
      !again.valid || again.id !== decoded.id || again.policy !== decoded.policy ||
      again.stub !== decoded.stub
    ) {
      throw new Error("decodeEntry(encodeEntry(entry)) is not the entry");
    }
  },
};

const cacheRoundTrip = propertyTarget(
  "cache-roundtrip",
  50_000,
  fc.tuple(
    fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)) }),
    fc.string({ unit: "grapheme", minLength: 1, maxLength: 300 }),
  ),
  ([id, policy]) => {
    let bytes: Uint8Array;
    try {
      bytes = encodeEntry(id, policy);
    } catch (error) {
      if (error instanceof RangeError && /[: \r\n]/.test(id)) return;
      throw error;
    }
    const back = decodeEntry(bytes);
    if (!back.valid || back.id !== id || back.policy !== policy) {
      throw new Error("decodeEntry(encodeEntry(id, policy)) differs");
    }
  },
);

const TXT_BASES: Uint8Array[][][] = [
  [[encoder.encode("v=STSv1; id=20240101T000000;")]],
  [[encoder.encode("v=STSv1;"), encoder.encode(" id=abc; ext=val")]],
  [[encoder.encode("v=spf1 -all")], [encoder.encode("v=STSv1; id=x1")]],
  [[encoder.encode("v=STSv1; id=a")], [encoder.encode("v=STSv1; id=b")]],
];

const txtTarget: Target = {
  name: "txt",
  count: 100_000,
  run(seed, index, note) {
    const rng = new Rng(seed, index);
    const flat = TXT_BASES.flat(2);
    const records = rng.pick(TXT_BASES).map((strings) =>
      strings.map((s) => rng.next() < 0.5 ? mutateBytes(rng, s, flat) : s)
    );
    if (rng.next() < 0.2) records.push([mutateBytes(rng, rng.pick(flat), flat)]);
    if (rng.next() < 0.1) records.push([]);
    note(records.map((r) => r.map(hexOf).join("+")).join(","));
    const result = parseStsRecords(records);
    if (result.found && !/^[A-Za-z0-9]{1,32}$/.test(result.id)) {
      throw new Error(`accepted id ${JSON.stringify(result.id)}`);
    }
  },
};

const cacheSize: Target = {
  name: "cache-size",
  count: 50_000,
  run(seed, index, note) {
    const rng = new Rng(seed, index);
    const text = mutateText(rng, rng.pick(["1000\n", "0\n", " 3junk\n", "-5\n", ""]), [
      "9",
      "99999999999",
      "-",
      "+",
      " ",
      "\n",
      "\0",
    ]);
    note(JSON.stringify(text));
    const size = parseCacheSize(text, "/var/lib/courier/sts/.cache_size");
    if (!Number.isInteger(size.size) || size.size < 0 || size.size > 2 ** 31 - 1) {
      throw new Error(`size ${size.size}`);
    }
    if (size.warning !== undefined && hasControl(size.warning)) {
      throw new Error(`warning ${JSON.stringify(size.warning)} is not one clean line`);
    }
  },
};

const hostName = fc.oneof(
  domain,
  domain.map((d) => d.toUpperCase() + "."),
  fc.string({
    unit: fc.constantFrom("a", "B", ".", "-", "*", "_", "\u00fc", "0", " ", "/"),
    maxLength: 30,
  }),
  fc.string({ maxLength: 30 }),
);

const wildcard = propertyTarget(
  "wildcard",
  100_000,
  fc.tuple(hostName, fc.array(hostName, { maxLength: 4 }), domain, label),
  ([host, patterns, name, child]) => {
    if (typeof matchesMx(host, patterns) !== "boolean") throw new Error("not a boolean");
    if (typeof matchesMx(host, patterns.map((p) => "*." + p)) !== "boolean") {
      throw new Error("not a boolean");
    }
    // RFC 8461 §4.1: an exact name matches itself in any case; `*.` covers one label only.
    if (!matchesMx(name.toUpperCase() + ".", [name])) throw new Error("exact name");
    if (!matchesMx(`${child}.${name}`, [`*.${name}`])) throw new Error("one-label wildcard");
    if (matchesMx(name, [`*.${name}`])) throw new Error("wildcard matched the parent");
    if (matchesMx(`${child}.${child}.${name}`, [`*.${name}`])) {
      throw new Error("wildcard matched two labels");
    }
  },
);

const RESOLV_TOKENS = [
  "nameserver",
  "domain",
  "search",
  "options",
  "sortlist",
  "timeout:",
  "attempts:",
  "rotate",
  "ndots:2",
  "127.0.0.1",
  "::1",
  "fe80::1%eth0",
  "[::1]",
  "192.0.2.300",
  "example.com",
  ".",
  "#",
  ";",
  " ",
  "\t",
  "\n",
  "\r\n",
  "\0",
  "999999999999",
  "0",
  "\u00e9",
];

const resolvConf: Target = {
  name: "resolv-conf",
  count: 100_000,
  run(seed, index, note) {
    const rng = new Rng(seed, index);
    const lines = Array.from(
      { length: rng.int(14) },
      () => Array.from({ length: 1 + rng.int(4) }, () => rng.pick(RESOLV_TOKENS)).join(" "),
    );
    const text = mutateText(rng, lines.join("\n"), RESOLV_TOKENS);
    note(JSON.stringify(text));
    const conf = parseResolvConf(text);
    const fail = (what: string) => {
      throw new Error(`parseResolvConf: ${what}`);
    };
    if (conf.nameservers.length < 1 || conf.nameservers.length > MAX_NAMESERVERS) {
      fail(`${conf.nameservers.length} servers`);
    }
    for (const server of conf.nameservers) {
      if (parseAddress(server) === undefined) fail(`server ${JSON.stringify(server)}`);
    }
    if (conf.timeoutMs < 1000 || conf.timeoutMs > 30_000 || conf.timeoutMs % 1000) fail("timeout");
    if (conf.attempts < 1 || conf.attempts > 5 || !Number.isInteger(conf.attempts)) {
      fail("attempts");
    }
    if (conf.warnings.length > MAX_RESOLV_CONF_WARNINGS + 2) fail("too many warnings");
    for (const warning of conf.warnings) {
      if (hasControl(warning.message)) fail(`raw control in ${warning.message}`);
    }
  },
};

const ARG_TOKENS = [
  "--sts",
  "--sts-purge",
  "--sts-expire",
  "--sts-override=enforce",
  "--sts-override=",
  "--sts-cache-enable",
  "--sts-cache-enable=5",
  "--sts-cache-enable=0",
  "--sts-cache-enable=99999999999",
  "--sts-cache-disable",
  "--dnssec",
  "--json",
  "--udpsize",
  "--udpsize=4096",
  "--deadline=0",
  "--deadline=86401",
  "--batch",
  "--concurrency=65",
  "--sts-dir",
  "--resolv-conf=",
  "--config-dir",
  "--ca-file=/x",
  "--help",
  "--version",
  "--",
  "-",
  "-x",
  "@",
  "@127.0.0.1",
  "@::1,1.2.3.4 5.6.7.8,9.9.9.9,8.8.8.8",
  "@,,,",
  "example.com",
  "[192.0.2.1]",
  "b\u00fccher.example",
  "",
  " ",
  "a".repeat(300),
];

const argsTarget: Target = {
  name: "args",
  count: 100_000,
  run(seed, index, note) {
    const rng = new Rng(seed, index);
    const argv = Array.from({ length: rng.int(6) }, () => {
      const token = rng.pick(ARG_TOKENS);
      return rng.next() < 0.2 ? mutateText(rng, token, ARG_TOKENS) : token;
    });
    note(JSON.stringify(argv));
    try {
      const args = parseArgs(argv);
      if (typeof args.action !== "string" || !Array.isArray(args.warnings)) {
        throw new Error("parseArgs returned no action");
      }
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
    }
  },
};

// --- The policy download's HTTP/1.1 responses and the delivery probe's inputs. ---

/** Cuts `bytes` into 1 to 4 pieces at seeded places, as a connection may deliver them. */
function split(rng: Rng, bytes: Uint8Array): Uint8Array[] {
  const cuts = Array.from({ length: rng.int(4) }, () => rng.int(bytes.length + 1)).sort((a, b) =>
    a - b
  );
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    pieces.push(bytes.subarray(from, cut));
    from = cut;
  }
  return pieces;
}

const HTTP_BASES = [
  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 15\r\n\r\nversion: STSv1\n",
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nmode:\r\n0\r\nT: 1\r\n\r\n",
  "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\nContent-Type: text/plain; charset=utf-8\n\nmx: a\n",
  "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n",
  "HTTP/1.1 301 Moved\r\nLocation: https://x/\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
].map((text) => encoder.encode(text));

/** What a response reads as: its status and body, or the error; the same however it is cut. */
function httpOutcome(pieces: readonly Uint8Array[]): string {
  const parser = new HttpResponseParser({ maxBodyBytes: MAX_POLICY_BYTES });
  try {
    for (const piece of pieces) parser.push(piece);
    parser.end();
  } catch (error) {
    if (!(error instanceof HttpResponseError)) throw error;
    if (hasControl(error.message)) throw new Error(`message ${JSON.stringify(error.message)}`);
    return `${error.kind}: ${error.message}`;
  }
  const { head, body } = parser;
  if (!head || body.length > MAX_POLICY_BYTES) throw new Error("complete without a head");
  if (parser.declaredLength !== undefined && parser.declaredLength !== body.length) {
    throw new Error(`body of ${body.length} bytes, ${parser.declaredLength} announced`);
  }
  return `${head.status} ${parser.framing} ${hexOf(body)}`;
}

const httpResponse: Target = {
  name: "http-response",
  count: 100_000,
  run(seed, index, note) {
    const rng = new Rng(seed, index);
    const bytes = mutateBytes(rng, rng.pick(HTTP_BASES), HTTP_BASES);
    const pieces = split(rng, bytes);
    note(pieces.map(hexOf).join("|"));
    const whole = httpOutcome([bytes]);
    const cut = httpOutcome(pieces);
    if (cut !== whole) throw new Error(`cut into pieces: ${cut}; whole: ${whole}`);
  },
};

const TLSA_BASES = [
  Uint8Array.of(3, 1, 1, ...new Array(32).fill(0xab)),
  Uint8Array.of(2, 0, 2, ...new Array(64).fill(0x01)),
  Uint8Array.of(3, 0, 0, 0x30, 0x82, 0x01, 0x0a),
];

const tlsaTarget: Target = {
  name: "tlsa",
  count: 50_000,
  run(seed, index, note) {
    const rng = new Rng(seed, index);
    const rdata = mutateBytes(rng, rng.pick(TLSA_BASES), TLSA_BASES);
    note(hexOf(rdata));
    let tlsa;
    try {
      tlsa = parseTlsa(rdata);
    } catch (error) {
      if (error instanceof DnsError && error.kind === "MALFORMED") return;
      throw error;
    }
    const digest = ({ 1: 32, 2: 64 } as Record<number, number>)[tlsa.matchingType];
    if (
      tlsa.usage !== rdata[0] || tlsa.selector !== rdata[1] || tlsa.matchingType !== rdata[2] ||
      hexOf(tlsa.data) !== hexOf(rdata.subarray(3)) ||
      (digest !== undefined && tlsa.data.length !== digest)
    ) {
      throw new Error("parseTlsa() fields differ from the data");
    }
  },
};

const SMTP_BASES = [
  "220 mx.example.com ESMTP ready\r\n",
  "250-mx.example.com\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 SIZE 10240000\r\n",
  "220 ready\r\n250-a\n250 b\r\n554 5.7.1 no\r\n",
  "250-a\r\n251 changed\r\n",
  "421\r\n",
].map((text) => encoder.encode(text));

/** The replies a stream reads as, then its error: the same however it is cut. */
function smtpOutcome(pieces: readonly Uint8Array[]): string {
  const reader = new ReplyReader();
  const out: string[] = [];
  const take = () => {
    for (let reply = reader.next(); reply !== undefined; reply = reader.next()) {
      if (reply.code < 200 || reply.code > 599 || reply.lines.length > MAX_REPLY_LINES) {
        throw new Error(`reply ${JSON.stringify(reply)}`);
      }
      out.push(`${reply.code} ${JSON.stringify(reply.lines)}`);
    }
  };
  try {
    for (const piece of pieces) {
      reader.push(piece, "ehlo");
      take();
    }
  } catch (error) {
    if (!(error instanceof ProbeError) || !["GARBAGE", "TOO_LONG"].includes(error.kind)) {
      throw error;
    }
    if (hasControl(error.message)) throw new Error(`message ${JSON.stringify(error.message)}`);
    take();
    out.push(`${error.kind}: ${error.message}`);
  }
  return out.join("\n");
}

const smtpReplies: Target = {
  name: "smtp-replies",
  count: 100_000,
  run(seed, index, note) {
    const rng = new Rng(seed, index);
    const bytes = mutateBytes(rng, rng.pick(SMTP_BASES), SMTP_BASES);
    const pieces = split(rng, bytes);
    note(pieces.map(hexOf).join("|"));
    const whole = smtpOutcome([bytes]);
    const cut = smtpOutcome(pieces);
    if (cut !== whole) throw new Error(`cut into pieces: ${cut}; whole: ${whole}`);
  },
};

const TLS_RPT_BASES = [
  "v=TLSRPTv1; rua=mailto:tls@example.com",
  "v=TLSRPTv1;rua=mailto:a@b.example,https://r.example/v1;",
  "v=TLSRPTv1 ; rua=https://x.example/ ; ext=1",
  "V=tlsrptv1; rua=mailto:a@b",
];
const TLS_RPT_TOKENS = ["v=TLSRPTv1", ";", " ", "rua", "=", "mailto:", "https://", "@", ",", "\t"];

const tlsRptTarget: Target = {
  name: "tls-rpt",
  count: 100_000,
  run(seed, index, note) {
    const rng = new Rng(seed, index);
    const records = [mutateText(rng, rng.pick(TLS_RPT_BASES), TLS_RPT_TOKENS)];
    if (rng.next() < 0.2) records.push(mutateText(rng, rng.pick(TLS_RPT_BASES), TLS_RPT_TOKENS));
    note(JSON.stringify(records));
    const result = parseTlsRpt(records);
    if (result.status === "valid") {
      if (result.rua.length < 1 || result.rua.length > MAX_RUA || result.reason !== null) {
        throw new Error(`valid with ${JSON.stringify(result)}`);
      }
    } else if (result.rua.length > 0) {
      throw new Error(`${result.status} with rua ${JSON.stringify(result.rua)}`);
    }
    if ((result.status === "invalid") !== (result.reason !== null)) {
      throw new Error(`reason ${JSON.stringify(result.reason)} for ${result.status}`);
    }
    if (result.reason !== null && hasControl(result.reason)) {
      throw new Error(`reason ${JSON.stringify(result.reason)} is not one clean line`);
    }
  },
};

/** Every target, in the order they run. */
export const TARGETS: readonly Target[] = [
  dnsReply,
  dnsRoundTrip,
  addressRoundTrip,
  policyTarget,
  cacheFile,
  cacheRoundTrip,
  cacheSize,
  txtTarget,
  wildcard,
  resolvConf,
  argsTarget,
  httpResponse,
  tlsaTarget,
  smtpReplies,
  tlsRptTarget,
  growthTarget,
];

/** Options of {@linkcode runTarget}. */
export interface RunTargetOptions {
  /** The seed. */
  seed: number;
  /** Inputs to run. */
  count: number;
  /** The first input index. @default {0} */
  from?: number;
  /** Stop after this many milliseconds, with `cut` set. @default {Infinity} */
  timeLimitMs?: number;
  /** Called every 10,000 inputs or every second (the task's watchdog). */
  onProgress?: (done: number) => void;
  /** Called with each input's index before it runs, so that a stuck input is known. */
  onInput?: (index: number) => void;
  /** Called with each report line as it comes, besides `rows`. */
  onRow?: (row: string) => void;
}

/**
 * Runs `count` inputs of one target. Never throws for a crashing input: it is recorded.
 *
 * @param target The target.
 * @param options Seed, count, start and time limit.
 * @returns Runs, crashes and hangs.
 */
export async function runTarget(target: Target, options: RunTargetOptions): Promise<TargetResult> {
  const result: TargetResult = {
    name: target.name,
    runs: 0,
    crashes: [],
    hangs: [],
    cut: false,
    rows: [],
  };
  const started = performance.now();
  let reported = started;
  const end = (options.from ?? 0) + options.count;
  for (let index = options.from ?? 0; index < end; index++) {
    if (performance.now() - started > (options.timeLimitMs ?? Infinity)) {
      result.cut = true;
      break;
    }
    const before = performance.now();
    let input = "";
    options.onInput?.(index);
    try {
      let line = target.run(options.seed, index, (text) => input = text);
      // Only the targets that read streams are asynchronous: the others are not awaited.
      if (line instanceof Promise) line = await line;
      if (typeof line === "string" && result.rows.length < 200) {
        result.rows.push(line);
        options.onRow?.(line);
      }
    } catch (error) {
      const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      if (result.crashes.length < 20) result.crashes.push({ index, input, error: text });
    }
    const now = performance.now();
    const ms = now - before;
    if (ms > (target.hangMs ?? HANG_MS) && result.hangs.length < 20) {
      result.hangs.push({ index, input, ms });
    }
    result.runs++;
    // Slow inputs (the growth target's) report by time, so the watchdog sees them move.
    if (result.runs % 10_000 === 0 || now - reported > 1000) {
      reported = now;
      options.onProgress?.(result.runs);
    }
  }
  return result;
}

/**
 * Inputs longer than this are not printed in a finding; the replay command, which runs one
 * input, prints it whole.
 */
export const MAX_SHOWN_INPUT = 600;

/**
 * One line that replays a finding on its own: the command, and the input itself, escaped,
 * when it is short enough.
 *
 * @param target The target's name.
 * @param seed The seed.
 * @param index The input's index.
 * @param input The input as the target noted it ("" when unknown).
 * @param count Inputs to run from `index`.
 * @param maxShown The longest input printed (escaped), in characters.
 * @returns The line.
 */
export function replayLine(
  target: string,
  seed: number,
  index: number,
  input: string,
  count = 1,
  maxShown = MAX_SHOWN_INPUT,
): string {
  const command = `deno task fuzz --seed=${seed} --only=${target} --from=${index} --count=${count}`;
  // The input as the target noted it (JSON or hex), anything outside printable ASCII as
  // \uXXXX: one line, whatever the input.
  const escaped = input.replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  const shown = input === ""
    ? ""
    : escaped.length <= maxShown
    ? `  input: ${escaped}`
    : `  input: ${input.length} characters, shown by the command`;
  return `replay: ${command}${shown}`;
}

// --- The task: each target in a worker, killed when it stops reporting progress. ---

interface WorkerRequest {
  target: string;
  seed: number;
  count: number;
  from: number;
  timeLimitMs: number;
  /** One Int32 the worker sets to the index of the input it runs. */
  current: SharedArrayBuffer;
}

type WorkerReply = { progress: number } | { row: string } | { result: TargetResult };

/** A worker that goes silent this long is stuck in one input: a hang. */
const WATCHDOG_MS = 60_000;

function runInWorker(request: Omit<WorkerRequest, "current">): Promise<TargetResult> {
  const worker = new Worker(import.meta.url, { type: "module" });
  const current = new SharedArrayBuffer(4);
  const index = new Int32Array(current);
  index[0] = request.from;
  return new Promise<TargetResult>((resolve) => {
    let done = 0;
    // Kept here too: a worker stopped by the watchdog cannot send its result.
    const rows: string[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (result: TargetResult) => {
      clearTimeout(timer);
      worker.terminate();
      resolve(result);
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() =>
        finish({
          name: request.target,
          runs: done,
          crashes: [],
          hangs: [{ index: Atomics.load(index, 0), input: "", ms: WATCHDOG_MS }],
          cut: true,
          rows,
        }), WATCHDOG_MS);
    };
    worker.onmessage = (event: MessageEvent<WorkerReply>) => {
      if ("progress" in event.data) {
        done = event.data.progress;
        arm();
      } else if ("row" in event.data) rows.push(event.data.row);
      else finish(event.data.result);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      finish({
        name: request.target,
        runs: done,
        crashes: [{
          index: Atomics.load(index, 0),
          input: "",
          error: `worker died: ${event.message}`,
        }],
        hangs: [],
        cut: true,
        rows,
      });
    };
    arm();
    worker.postMessage({ ...request, current } satisfies WorkerRequest);
  });
}

function option(args: string[], name: string): string | undefined {
  const prefix = `--${name}=`;
  return args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

const USAGE = "Usage: deno task fuzz [--seed=N] [--scale=F] [--only=TARGET] [--from=I] " +
  "[--count=N] [--minutes=M]";

async function main(args: string[]): Promise<number> {
  const seed = Number(option(args, "seed") ?? DEFAULT_SEED);
  const scale = Number(option(args, "scale") ?? 1);
  const only = option(args, "only");
  const from = Number(option(args, "from") ?? 0);
  const fixedCount = option(args, "count");
  const timeLimitMs = Number(option(args, "minutes") ?? 10) * 60_000;
  if (
    !Number.isInteger(seed) || !(scale > 0) || !(timeLimitMs > 0) ||
    !Number.isInteger(from) || from < 0 ||
    (fixedCount !== undefined && !/^[1-9][0-9]{0,8}$/.test(fixedCount)) ||
    (only !== undefined && !TARGETS.some((t) => t.name === only))
  ) {
    console.error(USAGE);
    console.error(`Targets: ${TARGETS.map((t) => t.name).join(", ")}`);
    return 2;
  }
  let bad = 0;
  console.log(`fuzz: seed ${seed}, scale ${scale}`);
  for (const target of TARGETS) {
    if (only !== undefined && target.name !== only) continue;
    const count = fixedCount !== undefined
      ? Number(fixedCount)
      : Math.max(1, Math.round(target.count * scale));
    const started = performance.now();
    const result = await runInWorker({ target: target.name, seed, count, from, timeLimitMs });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `${target.name.padEnd(16)} ${String(result.runs).padStart(9)} inputs  ` +
        `${result.crashes.length} crashes  ${result.hangs.length} hangs  ${seconds} s` +
        (result.cut ? "  (cut by the time limit)" : ""),
    );
    if (result.rows.length > 0) {
      if (target.header !== undefined) console.log(`  ${target.header}`);
      for (const row of result.rows) console.log(`  ${row}`);
    }
    // Replaying one input (the replay command) prints it whole, however long.
    const shown = count === 1 ? Infinity : MAX_SHOWN_INPUT;
    for (const line of findingLines(target.name, seed, result, shown)) console.log(line);
    bad += result.crashes.length + result.hangs.length;
  }
  return bad === 0 ? 0 : 1;
}

/**
 * The report of a target's crashes and hangs: two lines each, what happened and the line
 * that replays it.
 *
 * @param target The target's name.
 * @param seed The seed it ran with.
 * @param result What it found.
 * @param maxShown The longest input printed, in characters.
 * @returns The lines, none when nothing was found.
 */
export function findingLines(
  target: string,
  seed: number,
  result: TargetResult,
  maxShown = MAX_SHOWN_INPUT,
): string[] {
  const lines: string[] = [];
  for (const crash of result.crashes) {
    lines.push(`  CRASH in ${target}, seed ${seed}, input ${crash.index}: ${crash.error}`);
    lines.push(`    ${replayLine(target, seed, crash.index, crash.input, 1, maxShown)}`);
  }
  for (const hang of result.hangs) {
    lines.push(
      `  HANG in ${target}, seed ${seed}, input ${hang.index}: ${hang.ms.toFixed(0)} ms` +
        (hang.input === "" ? " (stopped by the watchdog)" : ""),
    );
    lines.push(`    ${replayLine(target, seed, hang.index, hang.input, 1, maxShown)}`);
  }
  return lines;
}

const inWorker = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !==
  "undefined";
if (inWorker) {
  const scope = globalThis as unknown as {
    onmessage: (event: MessageEvent<WorkerRequest>) => Promise<void>;
    postMessage: (reply: WorkerReply) => void;
    close: () => void;
  };
  scope.onmessage = async (event) => {
    const { target: name, seed, count, from, timeLimitMs, current } = event.data;
    const target = TARGETS.find((t) => t.name === name)!;
    const index = new Int32Array(current);
    const result = await runTarget(target, {
      seed,
      count,
      from,
      timeLimitMs,
      onProgress: (progress) => scope.postMessage({ progress }),
      onInput: (i) => Atomics.store(index, 0, i),
      onRow: (row) => scope.postMessage({ row }),
    });
    scope.postMessage({ result });
    scope.close();
  };
} else if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
