// What a resolver returns for a query that found records, for fake `Querier`s in tests.
import type { QueryResult } from "../../lib/resolver/resolver.ts";
import type { ResourceRecord } from "../../lib/wire/message.ts";

/**
 * A `QueryResult` with `records` in the answer section of a NOERROR reply, no CNAMEs.
 *
 * @param name The name asked.
 * @param type The type asked.
 * @param records The records found.
 * @param server The server to name. @default {"127.0.0.1"}
 * @returns The result.
 */
export function answer(
  name: string,
  type: string,
  records: ResourceRecord[],
  server = "127.0.0.1",
): QueryResult {
  return {
    name,
    canonicalName: name,
    type,
    records,
    message: {
      id: 1,
      qr: true,
      opcode: "QUERY",
      aa: false,
      tc: false,
      rd: true,
      ra: true,
      ad: false,
      cd: false,
      rcode: "NOERROR",
      questions: [{ name, type, class: "IN" }],
      answers: records,
      authorities: [],
      additionals: [],
    },
    ad: false,
    cnames: [],
    server,
    transport: "udp",
  };
}

/**
 * One answer record of class IN and TTL 300, its type taken from `data`.
 *
 * @param name The owner name.
 * @param data The record data.
 * @returns The record.
 */
export function record(name: string, data: ResourceRecord["data"]): ResourceRecord {
  return { name, type: data.type, class: "IN", ttl: 300, data };
}
