import assert from "node:assert/strict";
import { DnsError } from "../../lib/errors.ts";
import { lookupTlsa, lookupTlsRpt } from "../../lib/probe/dns.ts";
import type { Querier, QueryResult } from "../../lib/resolver/resolver.ts";
import type { ResourceRecord } from "../../lib/wire/message.ts";
import { record } from "../fakes/answer.ts";

/** A querier with one canned outcome per name and type; it records the questions. */
function canned(answers: Record<string, { records: ResourceRecord[]; ad: boolean } | DnsError>) {
  const asked: string[] = [];
  const querier: Querier = {
    query(name, type) {
      asked.push(`${name} ${type}`);
      const answer = answers[`${name} ${type}`];
      if (answer === undefined) {
        return Promise.reject(new DnsError("NXDOMAIN", `No such domain "${name}"`));
      }
      if (answer instanceof DnsError) return Promise.reject(answer);
      return Promise.resolve({ name, type, records: answer.records, ad: answer.ad } as QueryResult);
    },
  };
  return { querier, asked };
}

const digest = new Uint8Array(32).fill(7);
const tlsaRdata = (usage: number, selector: number, matchingType: number, data: Uint8Array) =>
  Uint8Array.of(usage, selector, matchingType, ...data);

Deno.test("lookupTlsa() asks _port._tcp.host and keeps the AD bit", async () => {
  const name = "_25._tcp.mx.example";
  const { querier, asked } = canned({
    [`${name} TLSA`]: {
      ad: true,
      records: [
        record(name, { type: "TLSA", raw: tlsaRdata(3, 1, 1, digest) }),
        record(name, { type: "TLSA", raw: Uint8Array.of(3) }),
      ],
    },
  });
  const result = await lookupTlsa(querier, "mx.example", 25);
  assert.deepEqual(asked, [`${name} TLSA`]);
  assert.equal(result.tlsa, "secure");
  assert.equal(result.records.length, 1);
  assert.equal(result.malformed, 1);
});

Deno.test("lookupTlsa(): no records is insecure and empty, SERVFAIL is error", async () => {
  const { querier } = canned({
    "_25._tcp.broken.example TLSA": new DnsError("SERVFAIL", "Server failure"),
    "_587._tcp.mx.example TLSA": { ad: false, records: [] },
  });
  assert.deepEqual(await lookupTlsa(querier, "none.example", 25), {
    tlsa: "insecure",
    records: [],
    malformed: 0,
    reason: null,
  });
  const failed = await lookupTlsa(querier, "broken.example", 25);
  assert.equal(failed.tlsa, "error");
  assert.match(failed.reason ?? "", /_25\._tcp\.broken\.example: Server failure/);
  assert.equal((await lookupTlsa(querier, "mx.example", 587)).tlsa, "insecure");
});

Deno.test("lookupTlsRpt() joins a record's strings and judges the records", async () => {
  const name = "_smtp._tls.example.com";
  const enc = (s: string) => new TextEncoder().encode(s);
  const { querier, asked } = canned({
    [`${name} TXT`]: {
      ad: false,
      records: [
        record(name, {
          type: "TXT",
          strings: [enc("v=TLSRPTv1; "), enc("rua=mailto:r@example.com")],
        }),
      ],
    },
    "_smtp._tls.broken.example TXT": new DnsError("TIMEOUT", "No reply"),
  });
  const result = await lookupTlsRpt(querier, "example.com");
  assert.deepEqual(asked, [`${name} TXT`]);
  assert.deepEqual([result.status, result.rua], ["valid", ["mailto:r@example.com"]]);
  assert.equal((await lookupTlsRpt(querier, "absent.example")).status, "none");
  const failed = await lookupTlsRpt(querier, "broken.example");
  assert.deepEqual([failed.status, failed.reason], [
    "none",
    "TXT lookup of _smtp._tls.broken.example: No reply",
  ]);
});

Deno.test("lookupTlsa(): a SERVFAIL that the CD bit turns into records is bogus, else error", async () => {
  const name = "_25._tcp.mx.bogus.example";
  const asked: string[] = [];
  // A validating resolver: SERVFAIL for data that fails validation, the data itself with CD.
  const validating = (bogus: boolean): Querier => ({
    query(qname, type, options) {
      asked.push(`${qname} ${type}${options?.checkingDisabled ? " +cd" : ""}`);
      if (!options?.checkingDisabled || !bogus) {
        return Promise.reject(new DnsError("SERVFAIL", "Server failure"));
      }
      const records = [record(qname, { type: "TLSA", raw: tlsaRdata(3, 1, 1, digest) })];
      return Promise.resolve({ name: qname, type, records, ad: false } as QueryResult);
    },
  });
  const bogus = await lookupTlsa(validating(true), "mx.bogus.example", 25);
  assert.deepEqual(asked, [`${name} TLSA`, `${name} TLSA +cd`]);
  assert.deepEqual([bogus.tlsa, bogus.records], ["bogus", []]);
  assert.match(bogus.reason ?? "", /1 record\(s\) failed DNSSEC validation/);
  // SERVFAIL with CD too (the servers cannot be reached): error, not bogus.
  const unreachable = await lookupTlsa(validating(false), "mx.bogus.example", 25);
  assert.equal(unreachable.tlsa, "error");
  // A Querier that ignores the bit fails the same way: error.
  const { querier } = canned({ [`${name} TLSA`]: new DnsError("SERVFAIL", "Server failure") });
  assert.equal((await lookupTlsa(querier, "mx.bogus.example", 25)).tlsa, "error");
});
