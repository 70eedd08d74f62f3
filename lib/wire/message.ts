// DNS messages (RFC 1035 §4, EDNS0 RFC 6891) in and out of wire format, through the codec
// (./_codec.ts): the rest of the code sees our types only. Responses are encoded in
// ./response.ts, for the test fakes and tools.
import * as packet from "./_codec.ts";
import { optRecord } from "./_codec.ts";
import { DnsError } from "../errors.ts";
import { isAscii } from "../names.ts";
import { messageNames, wireProblem } from "./_walk.ts";

/** A question: name, type, class IN. */
export interface Question {
  /** The name, without trailing dot. */
  name: string;
  /** The record type, e.g. "MX". */
  type: string;
  /** The class, "IN" when absent. */
  class?: string;
}

/**
 * The data of a record, by type. TLSA (RFC 6698) keeps its RDATA as received: `parseTlsa`
 * (lib/wire/tlsa.ts) reads its fields. Types this tool does not read keep their raw bytes.
 */
export type RecordData =
  | { type: "A"; address: string }
  | { type: "AAAA"; address: string }
  | { type: "MX"; preference: number; exchange: string }
  | { type: "CNAME"; target: string }
  | { type: "TXT"; strings: Uint8Array[] }
  | { type: "TLSA"; raw: Uint8Array }
  | { type: "OTHER"; raw: Uint8Array };

/** One resource record. */
export interface ResourceRecord {
  /** Owner name, without trailing dot ("" is the root). */
  name: string;
  /** Record type as a mnemonic, e.g. "AAAA", or "TYPE65534". */
  type: string;
  /** Class as a mnemonic, "IN" normally. */
  class: string;
  /** Time to live in seconds. */
  ttl: number;
  /** The decoded data. */
  data: RecordData;
}

/** A decoded DNS message. */
export interface Message {
  /** The 16-bit ID. */
  id: number;
  /** QR: this is a response. */
  qr: boolean;
  /** The opcode, "QUERY" normally. */
  opcode: string;
  /** AA: authoritative answer. */
  aa: boolean;
  /** TC: truncated. */
  tc: boolean;
  /** RD: recursion desired. */
  rd: boolean;
  /** RA: recursion available. */
  ra: boolean;
  /** AD: authentic data (RFC 4035 §3.2.3). */
  ad: boolean;
  /** CD: checking disabled. */
  cd: boolean;
  /** The RCODE mnemonic, e.g. "NOERROR", "NXDOMAIN". */
  rcode: string;
  /** The question section. */
  questions: Question[];
  /** The answer section. */
  answers: ResourceRecord[];
  /** The authority section. */
  authorities: ResourceRecord[];
  /** The additional section, without the OPT pseudo-record. */
  additionals: ResourceRecord[];
  /** The EDNS0 OPT record's payload size and DO bit, when present. */
  edns?: { udpSize: number; dnssecOk: boolean };
}

/** What a query carries. */
export interface QueryOptions {
  /** The message ID. */
  id: number;
  /** RD bit. @default {true} */
  recursionDesired?: boolean;
  /** EDNS0 UDP payload size; 0 or absent sends no OPT record. */
  udpSize?: number;
  /** DO bit in the OPT record (only with `udpSize`). @default {true} */
  dnssecOk?: boolean;
  /** CD bit: a validating resolver returns what failed validation instead of SERVFAIL. */
  checkingDisabled?: boolean;
}

function toName(name: string): string {
  return name === "." ? "" : name.replace(/\.$/, "");
}

function toRecord(answer: packet.Answer): ResourceRecord | undefined {
  if (answer.type === "OPT") return undefined;
  const base = {
    name: toName(answer.name),
    type: answer.type as string,
    class: (answer as { class?: string }).class ?? "IN",
    ttl: (answer as { ttl?: number }).ttl ?? 0,
  };
  const raw = (answer as { data?: unknown }).data;
  switch (answer.type) {
    case "A":
    case "AAAA":
      return { ...base, data: { type: answer.type, address: raw as string } };
    case "MX": {
      const mx = raw as { preference: number; exchange: string };
      return {
        ...base,
        data: { type: "MX", preference: mx.preference, exchange: toName(mx.exchange) },
      };
    }
    case "CNAME":
      return { ...base, data: { type: "CNAME", target: toName(raw as string) } };
    case "TXT": {
      const list = Array.isArray(raw) ? raw : [raw];
      // The codec hands out copies (slice), never views into the message.
      const strings = list.map((s) => typeof s === "string" ? encoder.encode(s) : s);
      return { ...base, data: { type: "TXT", strings } };
    }
    case "TLSA":
      return { ...base, data: { type: "TLSA", raw: toBytes(raw) } };
    default:
      return {
        ...base,
        data: { type: "OTHER", raw: toBytes(raw) },
      };
  }
}

function toBytes(raw: unknown): Uint8Array {
  return raw instanceof Uint8Array ? raw : new Uint8Array(0);
}

const encoder = new TextEncoder();

const QUERY_TYPES = new Set([
  "A",
  "AAAA",
  "MX",
  "CNAME",
  "TXT",
  "NS",
  "SOA",
  "PTR",
  "SRV",
  "TLSA",
]);

/** Why a question cannot be encoded: RFC 1035 §2.3.4 limits, or a type we do not ask for. */
function questionProblem(question: Question): string | undefined {
  if (!QUERY_TYPES.has(question.type)) return `Cannot ask for record type "${question.type}"`;
  const name = toName(question.name);
  return name === "" ? undefined : nameLengthProblem(name);
}

/**
 * Checks a name against the wire limits of RFC 1035 §2.3.4: no empty label, labels of at most
 * 63 octets (UTF-8), at most 255 octets on the wire.
 *
 * @param name The name, not empty, without trailing dot.
 * @returns Why it cannot be sent, or undefined when it can.
 */
export function nameLengthProblem(name: string): string | undefined {
  const labels = name.split(".");
  if (labels.includes("")) return `"${name}" has an empty label`;
  // Every query of a batch passes here: ASCII names, the usual ones, need no encoding.
  const lengths = isAscii(name)
    ? labels.map((label) => label.length)
    : labels.map((label) => encoder.encode(label).length);
  if (lengths.some((n) => n > 63)) return `"${name}" has a label longer than 63 octets`;
  if (lengths.reduce((sum, n) => sum + n + 1, 1) > 255) {
    return `"${name}" is longer than 255 octets on the wire`;
  }
  return undefined;
}

/**
 * Encodes a query for one question, class IN, with an optional EDNS0 OPT record.
 *
 * @param question The name (as typed: case is kept) and type.
 * @param options ID, RD, EDNS payload size and DO bit.
 * @returns The message bytes.
 * @throws {DnsError} `INVALID_NAME` when the name cannot be encoded.
 */
export function encodeQuery(question: Question, options: QueryOptions): Uint8Array {
  const problem = questionProblem(question);
  if (problem !== undefined) {
    throw new DnsError("INVALID_NAME", problem, { name: question.name, type: question.type });
  }
  const additionals: packet.Answer[] = [];
  if (options.udpSize) {
    additionals.push(optRecord(options.udpSize, options.dnssecOk === false ? 0 : packet.DNSSEC_OK));
  }
  try {
    return new Uint8Array(packet.encode({
      type: "query",
      id: options.id,
      flags: (options.recursionDesired === false ? 0 : packet.RECURSION_DESIRED) |
        (options.checkingDisabled ? packet.CHECKING_DISABLED : 0),
      questions: [{ name: question.name || ".", type: question.type as packet.RecordType }],
      additionals,
    }));
  } catch (error) {
    throw new DnsError("INVALID_NAME", `Cannot encode a query for "${question.name}"`, {
      name: question.name,
      type: question.type,
      cause: error,
    });
  }
}

/**
 * Decodes a DNS message.
 *
 * @param bytes The message as received (without a TCP length prefix).
 * @returns The decoded message.
 * @throws {DnsError} `MALFORMED` when the bytes are not a well-formed message.
 */
export function decodeMessage(bytes: Uint8Array): Message {
  // dns-packet reads past an RDATA's or the message's end without an error (a cut A record
  // decodes as "192.0.undefined.undefined"): the structure is checked first.
  const problem = wireProblem(bytes);
  if (problem !== undefined) {
    throw new DnsError("MALFORMED", `Malformed DNS message: ${problem}`, {
      cause: new RangeError(problem),
    });
  }
  let decoded: packet.Packet;
  try {
    decoded = packet.decode(bytes);
  } catch (error) {
    throw new DnsError("MALFORMED", `Malformed DNS message: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (hasNonAsciiName(decoded)) useOwnNames(decoded, messageNames(bytes));
  const records = (list: packet.Answer[] | undefined) =>
    (list ?? []).map(toRecord).filter((r): r is ResourceRecord => r !== undefined);
  const opt = (decoded.additionals ?? []).find((r) => r.type === "OPT") as
    | { udpPayloadSize: number; flags?: number }
    | undefined;
  const d = decoded as packet.Packet & Record<string, unknown>;
  return {
    id: decoded.id ?? 0,
    qr: d.type === "response",
    opcode: String(d.opcode ?? "QUERY"),
    aa: Boolean(d.flag_aa),
    tc: Boolean(d.flag_tc),
    rd: Boolean(d.flag_rd),
    ra: Boolean(d.flag_ra),
    ad: Boolean(d.flag_ad),
    cd: Boolean(d.flag_cd),
    rcode: String(d.rcode ?? "NOERROR"),
    questions: (decoded.questions ?? []).map((q) => ({
      name: toName(q.name),
      type: q.type,
      class: q.class ?? "IN",
    })),
    answers: records(decoded.answers),
    authorities: records(decoded.authorities),
    additionals: records(decoded.additionals),
    edns: opt
      ? { udpSize: opt.udpPayloadSize, dnssecOk: ((opt.flags ?? 0) & packet.DNSSEC_OK) !== 0 }
      : undefined,
  };
}

/** Whether a name of the decoded message has a character outside ASCII. */
function hasNonAsciiName(decoded: packet.Packet): boolean {
  const records = [
    ...(decoded.answers ?? []),
    ...(decoded.authorities ?? []),
    ...(decoded.additionals ?? []),
  ];
  return (decoded.questions ?? []).some((q) => !isAscii(q.name)) ||
    records.some((r) =>
      !isAscii(r.name) ||
      (r.type === "MX" && !isAscii(r.data.exchange)) ||
      (r.type === "CNAME" && !isAscii(r.data))
    );
}

/**
 * Puts names decoded as UTF-8 with U+FFFD into the decoded message, in place: the codec's
 * decoder turns bytes that are not UTF-8 into other characters, reading past their label.
 */
function useOwnNames(decoded: packet.Packet, names: ReturnType<typeof messageNames>): void {
  (decoded.questions ?? []).forEach((q, i) => q.name = names.questions[i]);
  const records = [
    ...(decoded.answers ?? []),
    ...(decoded.authorities ?? []),
    ...(decoded.additionals ?? []),
  ];
  records.forEach((r, i) => {
    const own = names.records[i];
    r.name = own.owner;
    if (r.type === "MX") r.data.exchange = own.target!;
    else if (r.type === "CNAME") r.data = own.target!;
  });
}

export { encodeResponse, type RecordSpec, type ResponseSpec } from "./response.ts";
