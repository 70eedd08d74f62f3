// Courier's CNAME chasing over the replies of one query: the records of the asked type owned by
// the name, else the CNAME to follow, looked for in the same reply before asking again. The
// servers, retries and transports are the caller's (`ask`).
import { DnsError } from "../errors.ts";
import { nameKey, sameName } from "../names.ts";
import type { Message, Question } from "../wire/message.ts";
import type { QueryResult } from "./querier.ts";

/** A reply and where it came from. */
export interface Answered {
  /** The reply, NOERROR or NXDOMAIN. */
  message: Message;
  /** The server that gave it, as a label. */
  server: string;
  /** How it came. */
  transport: "udp" | "tcp";
}

/**
 * Asks `name` `type` through `ask` and follows CNAMEs: a fresh reply is searched in its answer
 * section; the target of a CNAME first in every section of the same reply, then by asking.
 *
 * @param name The name asked.
 * @param type The type asked, upper case.
 * @param ask Sends one question and gives the NOERROR or NXDOMAIN reply.
 * @param maxCnames CNAME records followed at most.
 * @returns The records of `type` owned by the last name, from every section of its reply.
 * @throws {DnsError} `NXDOMAIN`, `NODATA` or `CNAME_LOOP`, and whatever `ask` throws.
 */
export async function chaseCnames(
  name: string,
  type: string,
  ask: (question: Question) => Promise<Answered>,
  maxCnames: number,
): Promise<QueryResult> {
  const cnames: string[] = [];
  const seen = new Set([nameKey(name)]);
  let current = name;
  let answered = await ask({ name, type });
  // A fresh reply is searched in its answer section, a reply we continue in everywhere.
  let pool = answered.message.answers;
  // Every pass returns, throws, or follows one more CNAME, of which there are at most
  // maxCnames: the bound is never reached.
  for (let pass = 0; pass <= maxCnames + 1; pass++) {
    const { message, server } = answered;
    const where = { server, name, type };
    const alias = cnames.length === 0 ? "" : ` (alias of "${name}")`;
    if (message.rcode === "NXDOMAIN") {
      throw new DnsError(
        "NXDOMAIN",
        `No such domain "${current}"${alias} (NXDOMAIN from ${server})`,
        where,
      );
    }
    const all = [...message.answers, ...message.authorities, ...message.additionals];
    const owned = pool.filter((r) => sameName(r.name, current));
    if (owned.some((r) => r.type === type)) {
      return {
        name,
        canonicalName: current,
        type,
        records: all.filter((r) => r.type === type && sameName(r.name, current)),
        message,
        ad: message.ad,
        cnames,
        server,
        transport: answered.transport,
      };
    }
    const cname = owned.find((r) => r.data.type === "CNAME");
    if (cname?.data.type !== "CNAME") {
      throw new DnsError(
        "NODATA",
        `No ${type} record for "${current}"${alias} at ${server}`,
        where,
      );
    }
    const target = cname.data.target;
    if (cnames.length === maxCnames) {
      throw new DnsError(
        "CNAME_LOOP",
        `CNAME chain of "${name}" ${type} is longer than ${maxCnames}`,
        where,
      );
    }
    if (seen.has(nameKey(target))) {
      throw new DnsError(
        "CNAME_LOOP",
        `CNAME chain of "${name}" ${type} loops at "${target}"`,
        where,
      );
    }
    seen.add(nameKey(target));
    cnames.push(target);
    current = target;
    // Courier looks for the target in every section of the same reply before asking again.
    if (all.some((r) => sameName(r.name, current) && (r.type === type || r.type === "CNAME"))) {
      pool = all;
    } else {
      answered = await ask({ name: current, type });
      pool = answered.message.answers;
    }
  }
  throw new DnsError("CNAME_LOOP", `CNAME chain of "${name}" ${type} does not end`, {
    name,
    type,
  });
}
