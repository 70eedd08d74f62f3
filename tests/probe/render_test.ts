import { Ajv } from "ajv";
import assert from "node:assert/strict";
import type { AddressProbe } from "../../lib/probe/probe.ts";
import { probeJson, renderAddressProbe, renderProbeSummary } from "../../lib/probe/render.ts";
import { parseTlsRpt } from "../../lib/probe/tls_rpt.ts";

const schema = JSON.parse(
  await Deno.readTextFile(new URL("../../lib/report/report.schema.json", import.meta.url)),
);
const ajv = new Ajv({ allErrors: true, strict: true });
ajv.addSchema(schema);
const validateProbe = ajv.getSchema(`${schema.$id}#/definitions/probe`)!;
const validateTlsRpt = ajv.getSchema(`${schema.$id}#/definitions/tlsRpt`)!;

const KEY = "b719358ab91e8dd9654ff678e9c40f5feacc3bbd7b1fe00862c7288a874920ca";

const healthy: AddressProbe = {
  host: "mx.a.test",
  address: "192.0.2.1",
  port: 25,
  reached: true,
  greeted: true,
  error: null,
  errorKind: null,
  errorStage: null,
  starttls: true,
  tls: { version: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384" },
  certificate: {
    trusted: true,
    trustError: null,
    nameMatches: true,
    names: ["mx.a.test"],
    notBefore: "2026-11-01T00:00:00.000Z",
    notAfter: "2027-01-03T00:00:00.000Z",
    expired: false,
    notYetValid: false,
    daysLeft: 29,
    spkiSha256: KEY,
  },
  dane: "matched",
  daneDetail: "3 1 1",
  sts: "pass",
  stsReason: null,
  fails: false,
};

const expired: AddressProbe = {
  ...healthy,
  address: "2001:db8::1",
  certificate: {
    ...healthy.certificate!,
    nameMatches: false,
    names: ["other.a.test"],
    notAfter: "2020-01-02T00:00:00.000Z",
    expired: true,
    daysLeft: -2530,
  },
  dane: "none",
  daneDetail: null,
  sts: "fail",
  stsReason: "certificate not valid for the MX host name",
  fails: true,
};

const silent: AddressProbe = {
  ...healthy,
  address: "192.0.2.9",
  greeted: false,
  error: "No greeting within 10 s",
  errorKind: "TIMEOUT",
  errorStage: "greeting",
  starttls: null,
  tls: null,
  certificate: null,
  dane: "none",
  daneDetail: null,
  sts: "fail",
  stsReason: "no STARTTLS",
  fails: true,
};

Deno.test("renderAddressProbe() says what a healthy address did", () => {
  assert.deepEqual(renderAddressProbe(healthy), [
    "  SMTP: greeted, STARTTLS, TLSv1.3 TLS_AES_256_GCM_SHA384",
    `  Certificate: trusted, valid for mx.a.test, expires 2027-01-03 (29 days left); key SHA-256 ${KEY}`,
    "  DANE: matched (3 1 1)",
    "  MTA-STS: pass",
    "  Verdict: ok",
  ]);
});

Deno.test("renderAddressProbe() names every certificate problem and the MTA-STS failure", () => {
  assert.deepEqual(renderAddressProbe(expired), [
    "  SMTP: greeted, STARTTLS, TLSv1.3 TLS_AES_256_GCM_SHA384",
    `  Certificate: trusted, NOT valid for mx.a.test (names: other.a.test), EXPIRED on 2020-01-02; key SHA-256 ${KEY}`,
    "  MTA-STS: FAIL (certificate not valid for the MX host name)",
    "  Verdict: FAILS",
  ]);
});

Deno.test("renderAddressProbe() says why a server gave no greeting", () => {
  assert.deepEqual(renderAddressProbe(silent), [
    "  SMTP: no greeting: No greeting within 10 s",
    "  MTA-STS: FAIL (no STARTTLS)",
    "  Verdict: FAILS",
  ]);
  assert.deepEqual(
    renderAddressProbe({ ...silent, reached: false, error: "Connection refused", sts: null }),
    ["  SMTP: not reached: Connection refused", "  Verdict: FAILS"],
  );
});

Deno.test("renderAddressProbe() marks opportunistic-TLS warnings apart from failures", () => {
  const noTls: AddressProbe = {
    ...healthy,
    starttls: false,
    tls: null,
    certificate: null,
    dane: "none",
    daneDetail: null,
    sts: null,
  };
  assert.deepEqual(renderAddressProbe(noTls), [
    "  SMTP: greeted, STARTTLS NOT offered",
    "  Verdict: delivers (warnings above)",
  ]);
});

Deno.test("renderProbeSummary() gives TLS-RPT and the count of failing addresses", () => {
  const rpt = parseTlsRpt(["v=TLSRPTv1; rua=mailto:tls@a.test"]);
  assert.deepEqual(renderProbeSummary([healthy, healthy], rpt), [
    "TLS-RPT: reports to mailto:tls@a.test",
    "Probe: all 2 addresses accept delivery",
  ]);
  assert.deepEqual(renderProbeSummary([healthy, expired], parseTlsRpt([])), [
    "TLS-RPT: none published",
    "Probe: 1 of 2 addresses FAIL",
  ]);
  assert.deepEqual(renderProbeSummary([expired], parseTlsRpt(["v=TLSRPTv1"])), [
    `TLS-RPT: INVALID: No "rua" field (RFC 8460 §3: required)`,
    "Probe: the only address FAILS: mail will not be delivered",
  ]);
  assert.deepEqual(renderProbeSummary([healthy]), ["Probe: the only address accepts delivery"]);
});

Deno.test("probeJson() and TLS-RPT results match the report schema", () => {
  for (const probe of [healthy, expired, silent]) {
    const json = JSON.parse(JSON.stringify(probeJson(probe)));
    assert.ok(validateProbe(json), JSON.stringify(validateProbe.errors));
  }
  assert.equal(validateProbe({ ...probeJson(healthy), dane: "maybe" }), false);
  for (const records of [[], ["v=TLSRPTv1; rua=mailto:a@b"], ["v=TLSRPTv1"]]) {
    assert.ok(validateTlsRpt(parseTlsRpt(records)), JSON.stringify(validateTlsRpt.errors));
  }
});
