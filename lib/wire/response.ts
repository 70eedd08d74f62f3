// DNS responses into wire format, for servers (the test fakes) and tools: records given as
// our types, encoded by the codec (./_codec.ts).
import * as packet from "./_codec.ts";
import { optRecord } from "./_codec.ts";
import type { Message, Question, RecordData } from "./message.ts";

/** A response to encode, for servers (the test fakes) and tools. */
export interface ResponseSpec {
  /** The ID. */
  id: number;
  /** Header flags. */
  flags?: Partial<Pick<Message, "aa" | "tc" | "rd" | "ra" | "ad" | "cd">>;
  /** The RCODE mnemonic. @default {"NOERROR"} */
  rcode?: string;
  /** Whether QR is set. @default {true} */
  qr?: boolean;
  /** Questions. */
  questions?: Question[];
  /** Answer records; `ttl` and `class` may be left out. */
  answers?: RecordSpec[];
  /** Authority records. */
  authorities?: RecordSpec[];
  /** Additional records. */
  additionals?: RecordSpec[];
  /** EDNS0 payload size; absent means no OPT record. */
  udpSize?: number;
}

/** A record to encode. */
export interface RecordSpec {
  /** Owner name. */
  name: string;
  /** Time to live. @default {300} */
  ttl?: number;
  /** Data by type. */
  data: RecordData;
}

const RCODES: Record<string, number> = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
};

function fromRecord(record: RecordSpec): packet.Answer {
  const base = { name: record.name || ".", ttl: record.ttl ?? 300, class: "IN" };
  const d = record.data;
  switch (d.type) {
    case "A":
    case "AAAA":
      return { ...base, type: d.type, data: d.address } as packet.Answer;
    case "MX":
      return {
        ...base,
        type: "MX",
        data: { preference: d.preference, exchange: d.exchange || "." },
      } as packet.Answer;
    case "CNAME":
      return { ...base, type: "CNAME", data: d.target || "." } as packet.Answer;
    case "TXT":
      return { ...base, type: "TXT", data: d.strings } as packet.Answer;
    case "TLSA":
      return { ...base, type: "TLSA", data: d.raw } as packet.Answer;
    default:
      return { ...base, type: "NULL", data: d.raw } as packet.Answer;
  }
}

/**
 * Encodes a response message.
 *
 * @param spec The header, sections and optional OPT record.
 * @returns The message bytes.
 */
export function encodeResponse(spec: ResponseSpec): Uint8Array {
  const f = spec.flags ?? {};
  const flags = (f.aa ? packet.AUTHORITATIVE_ANSWER : 0) |
    (f.tc ? packet.TRUNCATED_RESPONSE : 0) |
    (f.rd === false ? 0 : packet.RECURSION_DESIRED) |
    (f.ra === false ? 0 : packet.RECURSION_AVAILABLE) |
    (f.ad ? packet.AUTHENTIC_DATA : 0) |
    (f.cd ? packet.CHECKING_DISABLED : 0) |
    (RCODES[spec.rcode ?? "NOERROR"] ?? 2);
  const additionals = (spec.additionals ?? []).map(fromRecord);
  if (spec.udpSize) {
    additionals.push(optRecord(spec.udpSize, 0));
  }
  const bytes = packet.encode({
    type: spec.qr === false ? "query" : "response",
    id: spec.id,
    flags,
    questions: (spec.questions ?? []).map((q) => ({
      name: q.name || ".",
      type: q.type as packet.RecordType,
    })),
    answers: (spec.answers ?? []).map(fromRecord),
    authorities: (spec.authorities ?? []).map(fromRecord),
    additionals,
  });
  const out = new Uint8Array(bytes);
  // dns-packet derives QR from `type`; keep it explicit for forged replies with QR clear.
  if (spec.qr === false) out[2] &= 0x7f;
  return out;
}
