import assert from "node:assert/strict";
import { misplacedTlsRpt, parseTlsRpt } from "../../lib/probe/tls_rpt.ts";

Deno.test("parseTlsRpt() accepts RFC 8460's examples", () => {
  assert.deepEqual(parseTlsRpt(["v=TLSRPTv1;rua=mailto:reports@example.com"]), {
    status: "valid",
    record: "v=TLSRPTv1;rua=mailto:reports@example.com",
    rua: ["mailto:reports@example.com"],
    reason: null,
  });
  assert.deepEqual(
    parseTlsRpt(["v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt"]).rua,
    ["https://reporting.example.com/v1/tlsrpt"],
  );
  assert.deepEqual(
    parseTlsRpt([
      "v=TLSRPTv1; rua=mailto:tlsrpt@mail.example.com,https://tlsrpt.example.com/v1;",
      "v=spf1 -all",
    ]).rua,
    ["mailto:tlsrpt@mail.example.com", "https://tlsrpt.example.com/v1"],
  );
});

Deno.test("parseTlsRpt() is none without a v=TLSRPTv1 record", () => {
  assert.deepEqual(parseTlsRpt([]), { status: "none", record: null, rua: [], reason: null });
  assert.equal(parseTlsRpt(["v=spf1 -all", "hello"]).status, "none");
});

Deno.test("parseTlsRpt() names each problem", () => {
  const table: Array<[string[], RegExp]> = [
    [["v=TLSRPTv1;rua=mailto:a@x", "v=TLSRPTv1;rua=mailto:b@x"], /2 records .*exactly one/],
    [["v=TLSRPTv1"], /No "rua" field/],
    [["v=TLSRPTv1; ruf=mailto:a@x"], /No "rua" field/],
    [["v=TLSRPTv1; rua=http://x.example/r"], /neither mailto: nor https:/],
    [["v=TLSRPTv1; rua=ftp://x.example/r"], /neither mailto: nor https:/],
    [["v=TLSRPTv1; rua=mailto:nobody"], /Malformed mailto/],
    [["v=TLSRPTv1; rua=https:///path"], /Malformed https/],
    [["v=TLSRPTv1; rua=mailto:a@x,"], /Empty URI/],
    [["v=TLSRPTv1; rua=mailto:a@x; rua=mailto:b@x"], /given twice/],
    [["v=TLSRPTv1; nonsense"], /without "="/],
    [["v=tlsrptv1; rua=mailto:a@x"], /does not begin with "v=TLSRPTv1;"/],
    [["v = TLSRPTv1; rua=mailto:a@x"], /does not begin with "v=TLSRPTv1;"/],
    [["v=TLSRPTv1 rua=mailto:a@x"], /does not begin with "v=TLSRPTv1;"/],
  ];
  for (const [records, reason] of table) {
    const result = parseTlsRpt(records);
    assert.equal(result.status, "invalid", records.join(" | "));
    assert.match(result.reason ?? "", reason, records.join(" | "));
  }
});

Deno.test("misplacedTlsRpt() names a record at the apex or at _smtp-tlsrpt", () => {
  assert.match(misplacedTlsRpt("apex", ["v=TLSRPTv1; rua=mailto:a@x"]) ?? "", /domain itself/);
  assert.match(
    misplacedTlsRpt("_smtp-tlsrpt", ["v=TLSRPTv1; rua=mailto:a@x"]) ?? "",
    /pre-standard/,
  );
  assert.equal(misplacedTlsRpt("apex", ["v=spf1 -all"]), null);
});

Deno.test("parseTlsRpt() quotes a field with DEL and non-ASCII escaped: one clean line", () => {
  // The fuzzer's input 159 of seed 20240707 (tls-rpt target), its first record.
  const result = parseTlsRpt([
    "v=TLSRPTv1 ; rua\u00d08ttps://\u007f\u00ffexampl\u0a93/`; e\u00c0t=1",
  ]);
  assert.equal(result.status, "invalid");
  assert.equal(
    result.reason,
    'Field without "=": "rua\\xd08ttps://\\x7f\\xffexampl\\u{a93}/`"',
  );
});

Deno.test("parseTlsRpt() discards records not beginning with v=TLSRPTv1; before counting", () => {
  for (const stray of ["v=TLSRPTv1", "v=TLSRPTv1 rua=mailto:b@x.example", "v=TLSRPTv10; rua=x"]) {
    const result = parseTlsRpt([stray, "v=TLSRPTv1 ; rua=mailto:a@x.example"]);
    assert.deepEqual([result.status, result.rua], ["valid", ["mailto:a@x.example"]], stray);
  }
});
