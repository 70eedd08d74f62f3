// The readers of outside input that the growth target of scripts/fuzz_growth.ts times: for
// each, the largest input it accepts, hand-made worst shapes, and tokens for seeded shapes.
import { parseAddress } from "../lib/address.ts";
import { readDomainLines } from "../lib/lookup/read_domain_lines.ts";
import { parseArgs } from "../lib/cli/args.ts";
import { DnsError, UsageError } from "../lib/errors.ts";
import { isLocal, MAX_LOCAL_CONFIG_CHARS, parseHostedDomains } from "../lib/lookup/local.ts";
import { parseTarget } from "../lib/mx/name.ts";
import { displayName, sameName } from "../lib/names.ts";
import { acceptReply } from "../lib/resolver/exchange.ts";
import { MAX_RESOLV_CONF_CHARS, parseResolvConf } from "../lib/resolver/resolv_conf.ts";
import { decodeEntry, overridePolicy, parseCacheSize } from "../lib/sts/cache_file.ts";
import { StsError } from "../lib/sts/errors.ts";
import { parseCourierdTrustCerts } from "../lib/sts/fetch.ts";
import { matchesMx } from "../lib/sts/match.ts";
import { MAX_POLICY_BYTES, parsePolicy } from "../lib/sts/policy.ts";
import { MAX_CACHE_SIZE_BYTES, MAX_ENTRY_BYTES } from "../lib/sts/store.ts";
import { parseStsRecords } from "../lib/sts/txt.ts";
import { HttpResponseError, HttpResponseParser, MAX_HEAD_BYTES } from "../lib/sts/http_response.ts";
import { parseTlsa } from "../lib/wire/tlsa.ts";
import { MAX_REPLY_LINE, MAX_REPLY_LINES, ReplyReader } from "../lib/probe/reply.ts";
import { ProbeError } from "../lib/probe/errors.ts";
import { parseTlsRpt } from "../lib/probe/tls_rpt.ts";
import { MAX_TEXT_FILE_BYTES } from "../lib/host.ts";

/** Linux's MAX_ARG_STRLEN: the longest single argument, so the longest name typed. */
const MAX_ARG_CHARS = 131_072;
/** Linux's ARG_MAX with the default 8 MiB stack: all arguments together. */
const MAX_ARGV_CHARS = 2_097_152;
/** A TCP DNS message (RFC 1035 §4.2.2): 16-bit length. */
const MAX_MESSAGE_BYTES = 65_535;
/** Standard input has no largest size: lines are read up to this, for the ratio only. */
const BATCH_BYTES = 1_048_576;

/** An input shape: a name for the table and the input of (about) `size` units. */
export interface Shape {
  name: string;
  build(size: number): unknown;
}

/** A reader of outside input, what it reads, and its largest input. */
export interface Reader {
  name: string;
  /** The largest input in the shape's unit (characters, bytes); per shape when it differs. */
  max: number | ((shape: Shape) => number);
  /** False for a stream without a largest input: then only the growth ratio counts. */
  bounded: boolean;
  /** Hand-made shapes, the worst known: the table's rows. */
  shapes: Shape[];
  /** Tokens from which seeded shapes are built: prefix, repeated unit, suffix. */
  tokens: string[];
  /** Turns text made of tokens into the reader's input. */
  fromText(text: string): unknown;
  read(input: unknown): void | Promise<void>;
}

const encoder = new TextEncoder();

/** `unit` repeated to `size` characters, between `head` and `tail`. */
export function fill(head: string, unit: string, tail: string, size: number): string {
  const room = Math.max(0, size - head.length - tail.length);
  return head + unit.repeat(Math.ceil(room / unit.length)).slice(0, room) + tail;
}

function text(name: string, head: string, unit: string, tail = ""): Shape {
  return { name, build: (size) => fill(head, unit, tail, size) };
}

/** Ignores the typed errors a reader is allowed to throw. */
function typed(read: () => unknown, ...allowed: (abstract new (...a: never[]) => Error)[]): void {
  try {
    read();
  } catch (error) {
    if (!allowed.some((type) => error instanceof type)) throw error;
  }
}

// --- DNS messages: a header and `size` bytes of records. ---

function message(counts: [number, number, number, number], body: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(12 + body.length);
  bytes.set([0x12, 0x34, 0x81, 0x80]);
  counts.forEach((n, i) => bytes.set([n >> 8, n & 0xff], 4 + 2 * i));
  bytes.set(body, 12);
  return bytes;
}

const QUESTION = [7, ...encoder.encode("example"), 3, ...encoder.encode("com"), 0, 0, 15, 0, 1];

/** A reply to `example.com MX` whose answer section repeats `record` to fill `size` bytes. */
function records(record: (i: number) => number[]): Shape["build"] {
  return (size) => {
    const body = [...QUESTION];
    let count = 0;
    while (body.length + record(count).length <= size - 12 && count < 0xffff) {
      body.push(...record(count++));
    }
    return message([1, count, 0, 0], Uint8Array.from(body));
  };
}

const rr = (type: number, data: number[], owner = 12) => [
  0xc0 | (owner >> 8),
  owner & 0xff,
  0,
  type,
  0,
  1,
  0,
  0,
  0,
  60,
  data.length >> 8,
  data.length & 0xff,
  ...data,
];

const dnsMessage: Reader = {
  name: "dns-message",
  max: MAX_MESSAGE_BYTES,
  bounded: true,
  shapes: [
    { name: "MX records", build: records(() => rr(15, [0, 10, 2, 0x6d, 0x78, 0xc0, 12])) },
    { name: "A records", build: records((i) => rr(1, [192, 0, i >> 8, i & 0xff])) },
    { name: "TXT of 1-byte strings", build: records(() => rr(16, new Array(200).fill(0))) },
    {
      // Each owner name a pointer to the one before: chains as long as the walk allows.
      name: "pointer chains",
      build: records((i) =>
        rr(1, [192, 0, 2, 1], i === 0 ? 12 : 12 + QUESTION.length + 16 * (i - 1))
      ),
    },
    {
      name: "names of 63-octet labels",
      build: records(() =>
        rr(5, [...new Array(3).fill([63, ...new Array(63).fill(97)]).flat(), 0])
      ),
    },
  ],
  tokens: ["\x00", "\x01", "\xc0\x0c", "\x3f", "\x00\x0f\x00\x01", "\x00\x10", "\xff", "a"],
  fromText: (t) => message([1, 0xffff, 0xffff, 0xffff], Uint8Array.from(t, (c) => c.charCodeAt(0))),
  // What a reply costs the resolver: the acceptance check, which decodes it once (the header
  // above carries the ID and QR it needs to get that far).
  read(input) {
    acceptReply(input as Uint8Array, SERVER, {
      server: SERVER,
      id: 0x1234,
      question: { name: "example.com", type: "MX" },
    });
  },
};
const SERVER = { hostname: "127.0.0.1", port: 53 };

// --- Text readers. ---

const resolvConf: Reader = {
  name: "resolv-conf",
  max: MAX_RESOLV_CONF_CHARS,
  bounded: true,
  shapes: [
    text("domain of dots, then x", "domain ", ".", "x"),
    text("search of dots, letter, dots", "search a ", ".", "x..."),
    text("search of many names", "search ", "a.b "),
    text("nameserver lines", "", "nameserver 192.0.2.1\n"),
    text("options of colons", "options ", "timeout:"),
    text("white space then a word", "domain", " \t", "x"),
    text("bad lines (warnings)", "", "x\n"),
    text("CR only", "nameserver 1.2.3.4", "\r"),
  ],
  tokens: [
    "domain ",
    "search ",
    "nameserver ",
    "options ",
    ".",
    " ",
    "\t",
    "\n",
    "\r",
    ":",
    "#",
    "a",
    "1",
  ],
  fromText: (t) => t,
  read: (input) => void parseResolvConf(input as string),
};

const POLICY_HEAD = "version: STSv1\nmode: enforce\nmax_age: 86400\n";
const policy: Reader = {
  name: "policy",
  max: MAX_POLICY_BYTES,
  bounded: true,
  shapes: [
    text("mx of spaces inside", POLICY_HEAD + "mx: a", " ", "b\n"),
    text("mx of tabs inside", POLICY_HEAD + "mx:", "\t", "b\n"),
    text("many mx lines", POLICY_HEAD, "mx: mx1.example.com\n"),
    text("long mx name", POLICY_HEAD + "mx: ", "a.", "b\n"),
    text("long A-label mx", POLICY_HEAD + "mx: xn--", "a", "-b/\n"),
    text("blank lines", POLICY_HEAD + "mx: a.b\n", "\n"),
    text("lines without a colon", "", "x\n"),
    text("one long value", "version: STSv1\nmode: enforce\nmax_age: 1\nmx: a.b\nx: ", "v"),
  ],
  tokens: ["mx: ", "*.", "a", ".", " ", "\t", "\n", "\r\n", ":", "xn--", "-", "version: STSv1\n"],
  fromText: (t) => POLICY_HEAD + t,
  read: (input) => typed(() => parsePolicy(input as string), StsError),
};

/** Text cut into the character-strings of one TXT record (255 octets each). */
function txtRecord(text: string): Uint8Array[][] {
  const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
  const strings: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += 255) strings.push(bytes.subarray(at, at + 255));
  return [strings];
}

const txt: Reader = {
  name: "txt",
  // One record's data in a message of 65,535 octets: 255 of every 256 octets are text.
  max: 65_000,
  bounded: true,
  shapes: [
    {
      name: "spaces inside a field",
      build: (n) => txtRecord(fill("v=STSv1; id=1; a=", " ", "b", n)),
    },
    { name: "many fields", build: (n) => txtRecord(fill("v=STSv1; id=1", "; e=f", "", n)) },
    { name: "many separators", build: (n) => txtRecord(fill("v=STSv1", "; ", "id=1", n)) },
    { name: "long id", build: (n) => txtRecord(fill("v=STSv1; id=", "a", "", n)) },
    {
      name: "many records",
      build: (n) => Array.from({ length: Math.floor(n / 14) }, () => txtRecord("v=spf1 -all x")[0]),
    },
  ],
  tokens: ["v=STSv1", ";", " ", "\t", "id=", "a", "=", "e", "V=stsv1"],
  fromText: (t) => txtRecord("v=STSv1" + t),
  read: (input) => void parseStsRecords(input as Uint8Array[][]),
};

const cacheFile: Reader = {
  name: "cache-file",
  max: MAX_ENTRY_BYTES,
  bounded: true,
  shapes: [
    {
      name: "header lines",
      build: (n) => encoder.encode(fill("1\n", "x: y\n", "\nmode: none\n", n)),
    },
    { name: "id of separators", build: (n) => encoder.encode(fill("1\nid", ": ", "x\n\np\n", n)) },
    {
      name: "long policy, overridden",
      build: (n) => encoder.encode(fill("1\nid:x\n\n", "mode: enforce\n", "", n)),
    },
    { name: "policy of spaces", build: (n) => encoder.encode(fill("1\nid:x\n\n", " ", "x", n)) },
  ],
  tokens: ["1\n", "id", ":", " ", "\n", "\r", "mode:", "info:", "x"],
  fromText: (t) => encoder.encode("1\n" + t),
  read(input) {
    const entry = decodeEntry(input as Uint8Array);
    if (entry.valid) overridePolicy(entry.policy, "testing", "example.com");
  },
};

const cacheSize: Reader = {
  name: "cache-size",
  max: MAX_CACHE_SIZE_BYTES,
  bounded: true,
  shapes: [text("digits", "", "9"), text("spaces then junk", "", " ", "x")],
  tokens: ["9", " ", "-", "+", "\n", "x"],
  fromText: (t) => t,
  read: (input) => void parseCacheSize(input as string, "/var/lib/courier/sts/.cache_size"),
};

// --- Names and arguments. ---

const names: Reader = {
  name: "names",
  max: MAX_ARG_CHARS,
  bounded: true,
  shapes: [
    text("dots, then a letter", "", ".", "a"),
    text("many labels", "", "a."),
    text("upper-case labels and dots", "", "A.."),
    text("long A-label", "xn--", "a", "-b"),
    text("long A-label, basic part first", "xn--", "ab", "-aaa"),
    text("non-ASCII", "", "\u00fc"),
    text("bracketed colons", "[", ":", "]"),
  ],
  tokens: [".", "a", "A", "-", "xn--", "\u00fc", "*.", "[", "]", ":", "/", "1"],
  fromText: (t) => t,
  read(input) {
    const name = input as string;
    const target = parseTarget(name, "example.com");
    if (target.kind === "name") displayName(target.display);
    displayName(name);
    matchesMx(name, [name, `*.${name}`]);
    sameName(name, name.toUpperCase());
  },
};

const address: Reader = {
  name: "address",
  max: MAX_ARG_CHARS,
  bounded: true,
  shapes: [
    text("colons", "", ":"),
    text("dotted parts", "", "1."),
    text("groups", "", "ffff:"),
    text("octal digits", "0", "7"),
  ],
  tokens: [":", "::", ".", "0", "1", "f", "%"],
  fromText: (t) => t,
  read: (input) => void parseAddress(input as string),
};

const args: Reader = {
  name: "args",
  max: (shape) => shape.name.startsWith("one ") ? MAX_ARG_CHARS : MAX_ARGV_CHARS,
  bounded: true,
  shapes: [
    { name: "many options", build: (n) => new Array(Math.ceil(n / 6)).fill("--sts") },
    { name: "many server lists", build: (n) => new Array(Math.ceil(n / 11)).fill("@192.0.2.1") },
    { name: "one server list", build: (n) => [fill("@", "127.0.0.1,", "", n), "a.b"] },
    { name: "one list of separators", build: (n) => [fill("@", " ,", "1.2.3.4", n), "a.b"] },
    { name: "one long number", build: (n) => [fill("--udpsize=", "9", "", n), "a.b"] },
    { name: "one long domain", build: (n) => [fill("", "a.", "b", n)] },
  ],
  tokens: ["--sts", "@", ",", " ", "1.2.3.4", "--udpsize=", "9", "=", "a.b", "--"],
  fromText: (t) => t.split("--").map((a) => "--" + a),
  read: (input) => typed(() => parseArgs(input as string[]), UsageError),
};

// --- Configuration files. ---

const localConfig: Reader = {
  name: "local-config",
  max: MAX_LOCAL_CONFIG_CHARS,
  bounded: true,
  shapes: [
    text("locals lines", "", "mail.example.com\n"),
    text("one long A-label in locals", "xn--", "a", "-b\n"),
    text("comments", "", "# x\n"),
    text("hosteddomains of tabs", "", "a\t\tb\n"),
    text("spaces then a comment", "x", " ", "#\n"),
    text("empty lines", "", "\n"),
    text("short lines of one character", "", "-\r"),
    text("blank lines", "", " \n"),
  ],
  tokens: ["#", "\n", "\r", "\t", " ", "!", ".", "xn--", "a", "-"],
  fromText: (t) => t,
  read(input) {
    const text = input as string;
    const config = { locals: text, hostname: "h.example", hostedDomains: parseHostedDomains(text) };
    isLocal("mx.example.com", config);
  },
};

const courierd: Reader = {
  name: "courierd",
  max: MAX_TEXT_FILE_BYTES,
  bounded: true,
  shapes: [
    text("settings lines", "", "TLS_TRUSTCERTS=/etc/ssl/certs\n"),
    text("spaces before no comment", "TLS_TRUSTCERTS=/x", " ", "y\n"),
    text("long quoted value", 'TLS_TRUSTCERTS="', "a", '"\n'),
    text("other lines", "", "X=1\r\n"),
  ],
  tokens: ["TLS_TRUSTCERTS=", "export ", " ", "\t", "#", '"', "'", "\n", "\r\n", "a"],
  fromText: (t) => t,
  read: (input) => void parseCourierdTrustCerts(input as string),
};

// --- Standard input: batch lines, in chunks as a pipe delivers them. ---

async function readAll(chunks: Uint8Array[]): Promise<void> {
  for await (const _ of readDomainLines(ReadableStream.from(chunks))) {
    // Every line is read; nothing else to do.
  }
}

function chunked(text: string, chunk: number): Uint8Array[] {
  const bytes = encoder.encode(text);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += chunk) chunks.push(bytes.subarray(at, at + chunk));
  return chunks;
}

const batchLines: Reader = {
  name: "batch-lines",
  max: BATCH_BYTES,
  bounded: false,
  shapes: [
    { name: "domain lines", build: (n) => chunked(fill("", "mx.example.com\n", "", n), 65_536) },
    {
      name: "spaces inside lines",
      build: (n) => chunked(fill("", `a${" ".repeat(1000)}b\n`, "", n), 65_536),
    },
    { name: "one endless line, small chunks", build: (n) => chunked(fill("", "a", "", n), 512) },
    { name: "empty lines", build: (n) => chunked(fill("", "\n", "", n), 65_536) },
  ],
  tokens: ["a", ".", " ", "\t", "\r", "\n", "#"],
  fromText: (t) => chunked(t, 4096),
  read: (input) => readAll(input as Uint8Array[]),
};

// --- The policy download's HTTP/1.1 response, in pieces as a connection delivers them. ---

/** The most a response can hold before the reader refuses it: head, body, chunk framing and
 * trailer, each at its cap. */
const MAX_RESPONSE_BYTES = 3 * MAX_HEAD_BYTES + 2 * MAX_POLICY_BYTES;
const HTTP_HEAD = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n";

const httpResponse: Reader = {
  name: "http-response",
  max: MAX_RESPONSE_BYTES,
  bounded: true,
  shapes: [
    {
      name: "many 1-byte chunks",
      build: (n) =>
        chunked(
          fill(HTTP_HEAD + "Transfer-Encoding: chunked\r\n\r\n", "1\r\na\r\n", "0\r\n\r\n", n),
          16_384,
        ),
    },
    {
      name: "chunk extensions",
      build: (n) =>
        chunked(
          fill(HTTP_HEAD + "Transfer-Encoding: chunked\r\n\r\n1;", "x", "\r\na\r\n0\r\n\r\n", n),
          16_384,
        ),
    },
    {
      name: "many header fields",
      build: (n) => chunked(fill(HTTP_HEAD, "X-A: b\r\n", "\r\n", n), 16_384),
    },
    {
      name: "one long header line",
      build: (n) => chunked(fill(HTTP_HEAD + "X: ", "v", "\r\n\r\n", n), 16_384),
    },
    {
      name: "Content-Length body, 1-byte pieces",
      build: (n) => chunked(fill(HTTP_HEAD + "Content-Length: 65536\r\n\r\n", "a", "", n), 1),
    },
    {
      name: "close-delimited body",
      build: (n) => chunked(fill(HTTP_HEAD + "\r\n", "mx: a\n", "", n), 4096),
    },
    {
      name: "interim 100 responses",
      build: (n) => chunked(fill("", "HTTP/1.1 100 Continue\r\n\r\n", "", n), 16_384),
    },
  ],
  tokens: [
    "HTTP/1.1 ",
    "200",
    " OK",
    "\r\n",
    "\n",
    ":",
    " ",
    "Content-Length: ",
    "Transfer-Encoding: chunked",
    "1",
    ";",
    "a",
    "0",
  ],
  fromText: (t) => chunked(t, 4096),
  read(input) {
    const parser = new HttpResponseParser({ maxBodyBytes: MAX_POLICY_BYTES });
    typed(() => {
      for (const piece of input as Uint8Array[]) parser.push(piece);
      parser.end();
    }, HttpResponseError);
  },
};

// --- The delivery probe: TLSA data, SMTP replies, TLS-RPT records. ---

const tlsa: Reader = {
  name: "tlsa",
  // RDATA of one record in a TCP message.
  max: MAX_MESSAGE_BYTES - 12,
  bounded: true,
  shapes: [
    {
      name: "full certificate data",
      build: (n) => Uint8Array.from({ length: n }, (_, i) => i === 2 ? 0 : i & 0xff),
    },
    {
      name: "SHA-256 type, long data",
      build: (n) => Uint8Array.from({ length: n }, (_, i) => i === 2 ? 1 : 7),
    },
  ],
  tokens: ["\x03", "\x01", "\x00", "\x02", "\xff", "a"],
  fromText: (t) => Uint8Array.from(t, (c) => c.charCodeAt(0) & 0xff),
  read: (input) => typed(() => parseTlsa(input as Uint8Array), DnsError),
};

const smtpReplies: Reader = {
  name: "smtp-replies",
  // One reply at its limits: the most lines, each as long as allowed.
  max: MAX_REPLY_LINE * MAX_REPLY_LINES,
  bounded: true,
  shapes: [
    {
      name: "EHLO lines",
      build: (n) => chunked(fill("", "250-SIZE 1000000\r\n", "250 OK\r\n", n), 4096),
    },
    { name: "one-line replies", build: (n) => chunked(fill("", "220 x\r\n", "", n), 4096) },
    {
      name: "long lines, 1-byte pieces",
      build: (n) => chunked(fill("", `250-${"x".repeat(2000)}\r\n`, "250 x\r\n", n), 1),
    },
    { name: "one line over the limit", build: (n) => chunked(fill("250 ", "x", "\r\n", n), 4096) },
  ],
  tokens: ["250", "-", " ", "\r\n", "\n", "220", "x", "5", "\r"],
  fromText: (t) => chunked(t, 512),
  read(input) {
    const reader = new ReplyReader();
    typed(() => {
      for (const piece of input as Uint8Array[]) {
        reader.push(piece, "ehlo");
        while (reader.next() !== undefined) {
          // Taken as the probe takes them.
        }
      }
    }, ProbeError);
  },
};

const tlsRpt: Reader = {
  name: "tls-rpt",
  // One TXT record's text in a message of 65,535 octets.
  max: 65_000,
  bounded: true,
  shapes: [
    text("many fields", "v=TLSRPTv1; rua=mailto:a@b.example", "; x=y"),
    text("many rua URIs", "v=TLSRPTv1; rua=", "mailto:a@b.c,"),
    text("long mailto URI", "v=TLSRPTv1; rua=mailto:", "a", "@b.example"),
    text("long https URI", "v=TLSRPTv1; rua=https://r.example/", "a"),
    text("spaces inside", "v=TLSRPTv1;", " ", "rua=mailto:a@b"),
    text("separators", "v=TLSRPTv1", ";", ""),
  ],
  tokens: ["v=TLSRPTv1", ";", " ", "rua=", "mailto:", "https://", "@", ",", "=", "a", "."],
  fromText: (t) => t,
  read: (input) => void parseTlsRpt([input as string, "v=spf1 -all"]),
};

/** Every reader of outside input, in the order of the table. */
export const READERS: readonly Reader[] = [
  dnsMessage,
  txt,
  names,
  address,
  resolvConf,
  policy,
  cacheFile,
  cacheSize,
  args,
  batchLines,
  localConfig,
  courierd,
  httpResponse,
  tlsa,
  smtpReplies,
  tlsRpt,
];
