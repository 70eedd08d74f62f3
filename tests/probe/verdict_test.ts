import assert from "node:assert/strict";
import type { CertificateVerdict } from "../../lib/probe/certificate.ts";
import type { DaneVerdict } from "../../lib/probe/dane.ts";
import {
  addressFails,
  type AddressOutcome,
  probeExitStatus,
  stsVerdict,
} from "../../lib/probe/verdict.ts";

const good: CertificateVerdict = {
  trusted: true,
  trustError: null,
  nameMatches: true,
  names: ["mx.example"],
  notBefore: "2026-01-01T00:00:00.000Z",
  notAfter: "2027-01-01T00:00:00.000Z",
  expired: false,
  notYetValid: false,
  daysLeft: 30,
  spkiSha256: "00",
};

Deno.test("stsVerdict() is null without a policy or in mode none", () => {
  const facts = { mxMatches: false, starttls: false, certificate: null };
  assert.deepEqual(stsVerdict(undefined, facts), { sts: null, reason: null });
  assert.deepEqual(stsVerdict({ mode: "none" }, facts), { sts: null, reason: null });
});

Deno.test("stsVerdict() requires match AND STARTTLS AND trusted AND name AND dates (RFC 8461 §4.2)", () => {
  const table: Array<
    [Partial<CertificateVerdict> | null, boolean, boolean | null, string | null]
  > = [
    [null, true, null, "no SMTP dialogue up to EHLO"],
    [{}, true, true, null],
    [{}, false, true, "MX host not in the policy's mx list"],
    [{}, true, false, "no STARTTLS"],
    [null, true, true, "no TLS handshake"],
    [{ trusted: false }, true, true, "certificate not trusted"],
    [{ nameMatches: false }, true, true, "certificate not valid for the MX host name"],
    [{ expired: true }, true, true, "certificate expired"],
    [{ notYetValid: true }, true, true, "certificate not yet valid"],
  ];
  for (const mode of ["enforce", "testing"] as const) {
    for (const [change, mxMatches, starttls, reason] of table) {
      const certificate = change === null ? null : { ...good, ...change };
      assert.deepEqual(
        stsVerdict({ mode }, { mxMatches, starttls, certificate }),
        { sts: reason === null ? "pass" : "fail", reason },
      );
    }
  }
});

const ok: AddressOutcome = { greeted: true, starttls: true, dane: "none", sts: null };

Deno.test("addressFails(): no greeting, a rejecting DANE or a failing MTA-STS; else warnings", () => {
  const table: Array<[Partial<AddressOutcome>, boolean]> = [
    [{}, false],
    [{ greeted: false }, true],
    [{ starttls: false }, false],
    [{ starttls: null }, false],
    [{ sts: "pass" }, false],
    [{ sts: "fail" }, true],
    [{ dane: "matched" }, false],
    [{ dane: "matched", starttls: false }, true],
    [{ dane: "mismatched" }, true],
    [{ dane: "bogus" }, true],
    [{ dane: "error" }, true],
    [{ dane: "insecure" }, false],
    [{ dane: "unusable" }, false],
  ];
  for (const [change, fails] of table) {
    assert.equal(addressFails({ ...ok, ...change }), fails, JSON.stringify(change));
  }
});

Deno.test("probeExitStatus() is 0 when none fails, 2 when some do, 3 when all do", () => {
  const bad = { ...ok, dane: "mismatched" as DaneVerdict };
  assert.equal(probeExitStatus([ok, ok]), 0);
  assert.equal(probeExitStatus([ok, bad]), 2);
  assert.equal(probeExitStatus([bad, { ...ok, greeted: false }]), 3);
  assert.equal(probeExitStatus([]), 3);
});
