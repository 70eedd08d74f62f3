import assert from "node:assert/strict";
import { type DomainReport, NO_STS } from "../../lib/lookup/domain_report.ts";
import { probeReport } from "../../lib/lookup/probe_report.ts";
import { exitCodeOf, renderJson } from "../../lib/report/json.ts";
import { formatReport } from "../../lib/report/text.ts";
import { DnsError } from "../../lib/errors.ts";
import type { Querier, QueryResult } from "../../lib/resolver/resolver.ts";
import { assertValidReport } from "../_schema.ts";
import { probeCerts } from "../probe/_certs.ts";
import { startFakeSmtp } from "../probe/_smtp_server.ts";

/** A report of two MX hosts at 127.0.0.1, the second where nothing listens (by port). */
function report(hosts: Array<[string, string]>): DomainReport {
  return {
    domain: "probe.test",
    queryName: "probe.test",
    outcome: "ok",
    hosts: hosts.map(([host, ip], i) => ({
      host,
      priority: 10 * (i + 1),
      outcome: "ok",
      source: "query",
      local: false,
      stsMatch: null,
      addresses: [{ ip, family: 4, dnssec: false }],
      errors: [],
    })),
    sts: { ...NO_STS, domain: "probe.test" },
    warnings: [],
    trace: [],
    durationMs: 1,
  };
}

const tlsRpt: Querier = {
  query(name, type) {
    if (name === "_smtp._tls.probe.test" && type === "TXT") {
      const strings = [new TextEncoder().encode("v=TLSRPTv1; rua=mailto:t@probe.test")];
      return Promise.resolve(
        {
          name,
          type,
          records: [{ name, type, class: "IN", ttl: 1, data: { type: "TXT", strings } }],
          ad: false,
        } as unknown as QueryResult,
      );
    }
    return Promise.reject(new DnsError("NXDOMAIN", `No such domain "${name}"`));
  },
};

Deno.test("probeReport() puts each probe on its address, TLS-RPT and the status on the report", async () => {
  const certs = await probeCerts();
  await using good = await startFakeSmtp({ tls: { cert: certs.good, key: certs.key } });
  const given = report([["mx.probe.test", "127.0.0.1"], ["Other.Probe.Test", "127.0.0.1"]]);
  const probed = await probeReport(given, {
    helo: "client.test",
    port: good.port,
    caCerts: [certs.ca],
    resolver: tlsRpt,
  });
  // The report given is left as it was.
  assert.equal(given.hosts[0].addresses[0].probe, undefined);
  assert.equal(given.probeStatus, undefined);
  const [first, second] = probed.hosts.map((h) => h.addresses[0].probe!);
  assert.deepEqual([first.host, first.starttls, first.certificate?.nameMatches, first.fails], [
    "mx.probe.test",
    true,
    true,
    false,
  ]);
  // The printed name is verified as lower-case A-labels; a wrong name is a warning only.
  assert.deepEqual([second.host, second.certificate?.nameMatches, second.fails], [
    "other.probe.test",
    false,
    false,
  ]);
  assert.equal(probed.tlsRpt?.status, "valid");
  assert.equal(probed.probeStatus, 0);
  assert.equal(exitCodeOf(probed), 0);

  const text = formatReport(probed).split("\n");
  assert.equal(text[0], "Domain probe.test:");
  assert.equal(text[1], "Relay: mx.probe.test, Priority: 10, Address: ::ffff:127.0.0.1");
  assert.match(text[2], /^ {2}SMTP: greeted, STARTTLS, TLSv1\.[23] /);
  assert.deepEqual(text.slice(-3), [
    "TLS-RPT: reports to mailto:t@probe.test",
    "Probe: all 2 addresses accept delivery",
    "",
  ]);

  const json = JSON.parse(JSON.stringify(renderJson(probed)));
  assertValidReport(json);
  assert.equal(json.mx[1].addresses[0].probe.certificate.nameMatches, false);
  assert.equal(json.tlsRpt.rua[0], "mailto:t@probe.test");
});

Deno.test("probeReport() exit status: 0 with warnings (no STARTTLS), 3 when every address fails", async () => {
  await using good = await startFakeSmtp({ ehlo: "250 fake\r\n" });
  // A port where nothing listens: the fake's, once it is closed.
  const closed = await startFakeSmtp({});
  const deadPort = closed.port;
  await closed[Symbol.asyncDispose]();
  const one = await probeReport(report([["mx.probe.test", "127.0.0.1"]]), {
    helo: "client.test",
    port: good.port,
  });
  assert.equal(one.probeStatus, 0);
  assert.equal(one.hosts[0].addresses[0].probe?.starttls, false);
  assert.match(formatReport(one), /^ {2}Verdict: delivers \(warnings above\)$/m);
  const dead = await probeReport(report([["mx.probe.test", "127.0.0.1"]]), {
    helo: "client.test",
    port: deadPort,
  });
  assert.equal(dead.probeStatus, 3);
  assert.equal(exitCodeOf(dead), 3);
  assert.equal(dead.hosts[0].addresses[0].probe?.errorKind, "REFUSED");
  assert.equal(dead.tlsRpt, undefined);
});

Deno.test("probeReport() leaves a failed lookup alone, and probes no address literal", async () => {
  const failed: DomainReport = { ...report([]), outcome: "hard" };
  assert.equal(await probeReport(failed, { helo: "client.test" }), failed);
  assert.equal(exitCodeOf(failed), 1);
  const literal = await probeReport(report([["[192.0.2.1]", "192.0.2.1"]]), {
    helo: "client.test",
  });
  assert.equal(literal.hosts[0].addresses[0].probe, undefined);
  assert.equal(literal.probeStatus, 3);
  assert.match(formatReport(literal), /\nProbe: no address to probe\n$/);
});

Deno.test("probeReport() under a deadline: the lookup stands, the probe says it stopped (D36)", async () => {
  await using silent = await startFakeSmtp({ greeting: null });
  // A resolver that answers nothing until the deadline.
  const waiting: Querier = {
    query: (_name, _type, options) =>
      new Promise((_, reject) =>
        options?.signal?.addEventListener("abort", () => reject(options.signal?.reason))
      ),
  };
  const given = report([["mx.probe.test", "127.0.0.1"]]);
  const probed = await probeReport(given, {
    helo: "client.test",
    port: silent.port,
    resolver: waiting,
    signal: AbortSignal.timeout(200),
  });
  assert.equal(probed.outcome, "ok");
  assert.equal(probed.probeStatus, 3);
  assert.equal(exitCodeOf(probed), 3);
  assert.equal(probed.warnings.length, 1);
  assert.match(probed.warnings[0], /^Probe stopped: /);
  assert.equal(
    formatReport(probed),
    `${formatReport(given)}Probe: STOPPED before it finished: ${probed.probeStopped}\n`,
  );
});
