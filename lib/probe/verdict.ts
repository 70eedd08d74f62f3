// What a sender applying the domain's policies does with one address, and the exit status of a
// probe run: RFC 8461 §4.2 for MTA-STS, RFC 7672 §2.2 for DANE (which takes precedence, RFC 8461
// §2), and otherwise opportunistic TLS, where certificate problems are warnings.
import type { CertificateVerdict } from "./certificate.ts";
import type { DaneVerdict } from "./dane.ts";

/** The MTA-STS verdict on one address: null without a policy, or with mode none. */
export type StsVerdict = "pass" | "fail" | null;

/** A policy as the verdict needs it. */
export interface StsPolicyInput {
  /** The mode. */
  mode: "enforce" | "testing" | "none";
}

/** What the STS verdict reads of one address's probe. */
export interface StsFacts {
  /** The MX host name matches one of the policy's `mx` patterns (RFC 8461 §4.1). */
  mxMatches: boolean;
  /** STARTTLS was offered. */
  starttls: boolean | null;
  /** The certificate verdicts, or null without a handshake. */
  certificate: CertificateVerdict | null;
}

/**
 * RFC 8461 §4.2: an MX host passes when its name matches the policy AND it offers STARTTLS AND
 * its certificate chains to a trusted root AND is valid for the MX host name AND is within its
 * validity period. Under `testing` the verdict is still reported (the sender delivers anyway).
 *
 * @example An expired certificate under an enforce policy
 * ```ts
 * import { stsVerdict } from "./verdict.ts";
 * import assert from "node:assert/strict";
 *
 * const certificate = {
 *   trusted: true, trustError: null, nameMatches: true, names: ["mx.example"],
 *   notBefore: "2020-01-01T00:00:00.000Z", notAfter: "2020-01-02T00:00:00.000Z",
 *   expired: true, notYetValid: false, daysLeft: -2000, spkiSha256: "00",
 * };
 * assert.deepEqual(
 *   stsVerdict({ mode: "enforce" }, { mxMatches: true, starttls: true, certificate }),
 *   { sts: "fail", reason: "certificate expired" },
 * );
 * ```
 *
 * @param policy The domain's policy, or undefined when it has none.
 * @param facts What the probe saw.
 * @returns The verdict and, for a failure, why.
 */
export function stsVerdict(
  policy: StsPolicyInput | undefined,
  facts: StsFacts,
): { sts: StsVerdict; reason: string | null } {
  if (policy === undefined || policy.mode === "none") return { sts: null, reason: null };
  const fail = (reason: string) => ({ sts: "fail" as const, reason });
  if (!facts.mxMatches) return fail("MX host not in the policy's mx list");
  if (facts.starttls === null) return fail("no SMTP dialogue up to EHLO");
  if (!facts.starttls) return fail("no STARTTLS");
  const cert = facts.certificate;
  if (cert === null) return fail("no TLS handshake");
  if (!cert.trusted) return fail("certificate not trusted");
  if (!cert.nameMatches) return fail("certificate not valid for the MX host name");
  if (cert.expired) return fail("certificate expired");
  if (cert.notYetValid) return fail("certificate not yet valid");
  return { sts: "pass", reason: null };
}

/** What the exit status reads of one address. */
export interface AddressOutcome {
  /** A complete 220 greeting came. */
  greeted: boolean;
  /** STARTTLS was offered; null without an EHLO reply. */
  starttls: boolean | null;
  /** The DANE verdict. */
  dane: DaneVerdict;
  /** The MTA-STS verdict. */
  sts: StsVerdict;
}

/**
 * Whether an address fails: no complete greeting, or a policy the domain publishes rejects it:
 * usable DANE (no STARTTLS, or TLSA mismatched, bogus or in error) or MTA-STS (enforce or
 * testing) failing. Certificate problems and a missing STARTTLS without either policy are
 * warnings: opportunistic TLS still delivers.
 *
 * @param outcome The address's verdicts.
 * @returns True when it fails.
 */
export function addressFails(outcome: AddressOutcome): boolean {
  if (!outcome.greeted) return true;
  if (outcome.dane === "mismatched" || outcome.dane === "bogus" || outcome.dane === "error") {
    return true;
  }
  if (outcome.dane === "matched" && outcome.starttls !== true) return true;
  return outcome.sts === "fail";
}

/** Every address passes. */
export const PROBE_OK = 0;
/** Some addresses fail, not all. */
export const PROBE_SOME_FAIL = 2;
/** Every address fails. */
export const PROBE_ALL_FAIL = 3;

/**
 * The exit status of a probe run over a domain's addresses: 0 when none fails, 2 when some
 * fail and at least one does not, 3 when every address fails (also when there is none to probe).
 *
 * @example One address fails its MTA-STS check, the other passes
 * ```ts
 * import { probeExitStatus } from "./verdict.ts";
 * import assert from "node:assert/strict";
 *
 * const ok = { greeted: true, starttls: true, dane: "none", sts: "pass" } as const;
 * assert.equal(probeExitStatus([ok, { ...ok, sts: "fail" }]), 2);
 * assert.equal(probeExitStatus([ok, { ...ok, starttls: false, sts: null }]), 0);
 * assert.equal(probeExitStatus([{ ...ok, greeted: false }]), 3);
 * ```
 *
 * @param outcomes One per address.
 * @returns 0, 2 or 3.
 */
export function probeExitStatus(outcomes: readonly AddressOutcome[]): number {
  const failing = outcomes.filter(addressFails).length;
  if (failing === 0 && outcomes.length > 0) return PROBE_OK;
  return failing === outcomes.length ? PROBE_ALL_FAIL : PROBE_SOME_FAIL;
}
