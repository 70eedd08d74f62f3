// A scripted zone for the fake DNS server: answers by (name, type) from a table, so MX tests
// read like zone files. Unknown names get NXDOMAIN; known names without the type get NODATA.
import {
  encodeResponse,
  type Message,
  type RecordData,
  type RecordSpec,
  type ResponseSpec,
} from "../../lib/wire/message.ts";
import { type Handler, type Replies, reply } from "./dns_server.ts";

/** What the zone says for one name and type. */
export interface ZoneAnswer {
  /** The answer section. */
  answers?: RecordSpec[];
  /** The additional section. */
  additionals?: RecordSpec[];
  /** An RCODE other than NOERROR. */
  rcode?: string;
  /** Set the AD bit. */
  ad?: boolean;
  /** Wait this long before answering. */
  delayMs?: number;
}

/** Keys are `name TYPE`, lower-case name: `"mx1.test A"`. */
export type Zone = Record<string, ZoneAnswer>;

/** A record in the answer of a zone entry. */
export function record(name: string, data: RecordData): RecordSpec {
  return { name, data };
}

/** MX record data. */
export const mx = (preference: number, exchange: string): RecordData => ({
  type: "MX",
  preference,
  exchange,
});
/** A record data. */
export const a = (address: string): RecordData => ({ type: "A", address });
/** AAAA record data. */
export const aaaa = (address: string): RecordData => ({ type: "AAAA", address });
/** CNAME record data. */
export const cname = (target: string): RecordData => ({ type: "CNAME", target });

/** Counts queries in flight, to prove that they overlap or that a bound holds. */
export class InFlight {
  /** Queries being answered now. */
  current = 0;
  /** The most seen at once. */
  max = 0;
}

/** Options of {@linkcode zoneHandler}. */
export interface ZoneHandlerOptions {
  /**
   * Answer over UDP only when the reply fits in 512 octets, or the query's EDNS0 size; a
   * larger one goes out empty with TC set, as a real server does (RFC 1035 §4.2.1).
   * @default {false}
   */
  truncate?: boolean;
}

/**
 * A handler answering from `zone`.
 *
 * @param zone The table.
 * @param inFlight Counts overlapping queries (answers are held for `delayMs`).
 * @param options Truncation of large UDP replies.
 * @returns A handler for `FakeDnsServer.start`.
 */
export function zoneHandler(
  zone: Zone,
  inFlight?: InFlight,
  options: ZoneHandlerOptions = {},
): Handler {
  return async (query: Message, context): Promise<Replies> => {
    const q = query.questions[0];
    const entry = zone[`${q.name.toLowerCase()} ${q.type}`];
    const known = Object.keys(zone).some((key) => key.startsWith(`${q.name.toLowerCase()} `));
    if (inFlight) {
      inFlight.current++;
      inFlight.max = Math.max(inFlight.max, inFlight.current);
    }
    try {
      if (entry?.delayMs) await new Promise((resolve) => setTimeout(resolve, entry.delayMs));
      const spec: Partial<ResponseSpec> = entry
        ? {
          rcode: entry.rcode,
          answers: entry.answers,
          additionals: entry.additionals,
          flags: { ad: entry.ad },
        }
        : { rcode: known ? "NOERROR" : "NXDOMAIN" };
      const full = reply(query, spec);
      const limit = Math.max(512, query.edns?.udpSize ?? 0);
      if (options.truncate && context.transport === "udp" && encodeResponse(full).length > limit) {
        return reply(query, { flags: { tc: true } });
      }
      return full;
    } finally {
      if (inFlight) inFlight.current--;
    }
  };
}
