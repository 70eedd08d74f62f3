import assert from "node:assert/strict";
import { DnsError } from "../../lib/errors.ts";
import { probeDomain } from "../../lib/probe/domain.ts";
import type { Querier, QueryResult } from "../../lib/resolver/resolver.ts";
import { probeCerts } from "./_certs.ts";
import { startFakeSmtp } from "./_smtp_server.ts";

const enc = (s: string) => new TextEncoder().encode(s);

async function spkiSha256(pem: string): Promise<Uint8Array> {
  const { X509Certificate } = await import("node:crypto");
  const der = new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(der)));
}

Deno.test("probeDomain() probes every address, looks up TLSA per host and TLS-RPT once", async () => {
  const certs = await probeCerts();
  await using good = await startFakeSmtp({ tls: { cert: certs.good, key: certs.key } });
  const digest = await spkiSha256(certs.good);
  const asked: string[] = [];
  const querier: Querier = {
    query(name, type) {
      asked.push(`${name} ${type}`);
      const answer = (records: QueryResult["records"], ad: boolean) =>
        Promise.resolve({ name, type, records, ad } as QueryResult);
      if (name === "_smtp._tls.probe.test" && type === "TXT") {
        return answer([{
          name,
          type: "TXT",
          class: "IN",
          ttl: 60,
          data: { type: "TXT", strings: [enc("v=TLSRPTv1; rua=mailto:t@probe.test")] },
        }], false);
      }
      if (name === `_${good.port}._tcp.mx.probe.test` && type === "TLSA") {
        return answer([{
          name,
          type: "TLSA",
          class: "IN",
          ttl: 60,
          data: { type: "TLSA", raw: Uint8Array.of(3, 1, 1, ...digest) },
        }], true);
      }
      return Promise.reject(new DnsError("NXDOMAIN", `No such domain "${name}"`));
    },
  };
  const result = await probeDomain("probe.test", [
    {
      host: "mx.probe.test",
      mxSecure: true,
      addresses: [{ address: "127.0.0.1", secure: true }, {
        address: "::ffff:127.0.0.1",
        secure: true,
      }],
    },
    {
      host: "other.probe.test",
      mxSecure: false,
      addresses: [{ address: "127.0.0.1", secure: false }],
    },
  ], {
    helo: "probe.test",
    port: good.port,
    caCerts: [certs.ca],
    querier,
    policy: { mode: "enforce", mx: ["mx.probe.test"] },
  });
  assert.deepEqual(
    result.hosts.map((h) => h.map((a) => [a.host, a.address, a.dane, a.sts])),
    [
      [
        ["mx.probe.test", "127.0.0.1", "matched", "pass"],
        ["mx.probe.test", "::ffff:127.0.0.1", "matched", "pass"],
      ],
      [["other.probe.test", "127.0.0.1", "none", "fail"]],
    ],
  );
  assert.equal(result.tlsRpt?.status, "valid");
  assert.equal(result.exitStatus, 2);
  // One TLSA question per host (the port's), one TLS-RPT question.
  assert.deepEqual(asked.sort(), [
    `_${good.port}._tcp.mx.probe.test TLSA`,
    `_${good.port}._tcp.other.probe.test TLSA`,
    "_smtp._tls.probe.test TXT",
  ]);
});
