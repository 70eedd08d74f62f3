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
