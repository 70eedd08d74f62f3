import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { CertificateInfo } from "../../lib/probe/certificate.ts";
import {
  type DaneCertificate,
  type DaneInput,
  daneVerdict,
  isUsable,
  type TlsaRecord,
} from "../../lib/probe/dane.ts";

const digest = (algorithm: "sha256" | "sha512", data: Uint8Array) =>
  new Uint8Array(createHash(algorithm).update(data).digest());

function cert(name: string, der: number, spki: number, names = [name]): DaneCertificate {
  const info: CertificateInfo = {
    der: Uint8Array.of(der, der, der),
    subject: `CN=${name}`,
    issuer: "CN=issuer",
    dnsNames: names,
    commonName: name,
    notBefore: 0,
    notAfter: 1,
    isCa: false,
    spkiSha256: "",
  };
  return { info, spki: Uint8Array.of(spki, spki) };
}

const leaf = cert("mx.example", 1, 2);
const issuer = cert("ca", 3, 4);
const HOST = "mx.example";

function record(usage: number, selector: number, matchingType: number, of: DaneCertificate) {
  const selected = selector === 0 ? of.info.der : of.spki;
  const data = matchingType === 0
    ? selected
    : digest(matchingType === 1 ? "sha256" : "sha512", selected);
  return { usage, selector, matchingType, data };
}

const secure = (records: TlsaRecord[]): DaneInput => ({
  mxSecure: true,
  addressSecure: true,
  tlsa: "secure",
  records,
});

function verdict(input: DaneInput, chain = [leaf, issuer], host = HOST, chainsTo = true) {
  return daneVerdict(input, { chain, host, chainsTo: () => chainsTo, digest });
}

Deno.test("daneVerdict() DANE-EE matches the leaf with every selector and matching type", () => {
  for (const selector of [0, 1]) {
    for (const matchingType of [0, 1, 2]) {
      const result = verdict(secure([record(3, selector, matchingType, leaf)]));
      assert.deepEqual(
        [result.dane, result.matchedRecord],
        ["matched", `3 ${selector} ${matchingType}`],
      );
    }
  }
});

Deno.test("daneVerdict() DANE-EE ignores names: a leaf for another host still matches", () => {
  const other = cert("other.example", 1, 2);
  assert.equal(verdict(secure([record(3, 1, 1, other)]), [other, issuer]).dane, "matched");
});

Deno.test("daneVerdict() DANE-EE does not match the issuer", () => {
  assert.equal(verdict(secure([record(3, 1, 1, issuer)])).dane, "mismatched");
});

Deno.test("daneVerdict() DANE-TA matches an issuer the leaf chains to, and checks the name", () => {
  assert.deepEqual(verdict(secure([record(2, 0, 1, issuer)])).dane, "matched");
  assert.equal(
    verdict(secure([record(2, 0, 1, issuer)]), [leaf, issuer], HOST, false).dane,
    "mismatched",
  );
  const wrongName = verdict(secure([record(2, 1, 2, issuer)]), [cert("x.example", 1, 2), issuer]);
  assert.equal(wrongName.dane, "mismatched");
  assert.match(wrongName.reason ?? "", /not valid for the MX host name/);
});

Deno.test("daneVerdict() reports PKIX usages and unknown parameters as unusable", () => {
  for (
    const r of [record(0, 0, 1, issuer), record(1, 1, 1, leaf), {
      ...record(3, 1, 1, leaf),
      matchingType: 3,
    }, { ...record(3, 1, 1, leaf), selector: 2 }]
  ) {
    assert.equal(isUsable(r), false);
    assert.equal(verdict(secure([r])).dane, "unusable");
  }
  // An unusable record beside a usable one is ignored.
  assert.equal(verdict(secure([record(1, 1, 1, leaf), record(3, 1, 1, leaf)])).dane, "matched");
});

Deno.test("daneVerdict() applies only when MX, address and TLSA answers are all validated", () => {
  const records = [record(3, 1, 1, leaf)];
  assert.equal(verdict({ ...secure(records), mxSecure: false }).dane, "none");
  assert.equal(verdict({ ...secure(records), addressSecure: false }).dane, "none");
  assert.equal(verdict({ ...secure(records), tlsa: "insecure" }).dane, "insecure");
  assert.equal(verdict({ ...secure([]), tlsa: "insecure" }).dane, "none");
  assert.equal(verdict(secure([])).dane, "none");
  assert.equal(verdict({ ...secure([]), tlsa: "bogus" }).dane, "bogus");
  assert.equal(verdict({ ...secure([]), tlsa: "error" }).dane, "error");
});

Deno.test("daneVerdict() with usable records and no handshake is a mismatch", () => {
  const result = verdict(secure([record(3, 1, 1, leaf)]), []);
  assert.deepEqual([result.dane, result.reason], [
    "mismatched",
    "no TLS handshake to match TLSA against",
  ]);
});

Deno.test("daneVerdict() calls records that could not be read unusable, not absent (D39)", () => {
  const malformed = { ...secure([]), malformed: 1 };
  const result = verdict(malformed);
  assert.deepEqual([result.dane, result.matchedRecord], ["unusable", null]);
  assert.match(result.reason ?? "", /malformed \(D39\)/);
  assert.equal(verdict({ ...malformed, tlsa: "insecure" }).dane, "insecure");
  assert.equal(verdict({ ...malformed, mxSecure: false }).dane, "none");
  // A readable record beside it still counts.
  assert.equal(verdict({ ...secure([record(3, 1, 1, leaf)]), malformed: 1 }).dane, "matched");
});

Deno.test("daneVerdict() DANE-TA checks the dates below the anchor, DANE-EE none", () => {
  const judge = (records: TlsaRecord[], now: number) =>
    daneVerdict(secure(records), {
      chain: [leaf, issuer],
      host: HOST,
      chainsTo: () => true,
      digest,
      now,
    });
  // The fakes are valid from 0 to 1 ms after the epoch.
  assert.equal(judge([record(2, 0, 1, issuer)], 1).dane, "matched");
  const late = judge([record(2, 0, 1, issuer)], 2);
  assert.deepEqual([late.dane, late.reason], [
    "mismatched",
    "DANE-TA trust anchor matched, but a certificate below it is outside its validity period",
  ]);
  assert.equal(judge([record(3, 1, 1, leaf)], 2).dane, "matched");
});

Deno.test("daneVerdict() DANE-TA with the whole anchor in the record needs no anchor sent", () => {
  const anchor = record(2, 0, 0, cert("absent", 9, 9));
  const asked: number[] = [];
  const judge = (signs: boolean, r = anchor) =>
    daneVerdict(secure([r]), {
      chain: [leaf],
      host: HOST,
      chainsTo: () => true,
      anchorSigns: (index) => (asked.push(index), signs),
      digest,
    }).dane;
  assert.equal(judge(true), "matched");
  assert.equal(judge(false), "mismatched");
  // A digest carries no key to verify with: never asked.
  asked.length = 0;
  assert.equal(judge(true, record(2, 0, 1, cert("absent", 9, 9))), "mismatched");
  assert.deepEqual(asked, []);
});
