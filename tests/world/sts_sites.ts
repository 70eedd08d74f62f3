/**
 * What the test world's HTTPS policy server (nginx on {@linkcode POLICY_ADDRESS} inside
 * the namespace) serves for each `mta-sts.<domain>` host. The DNS side of every STS case
 * (`_mta-sts` TXT, `mta-sts` A, MX) is in `zones/test.zone`; Courier's observed results
 * are in `sts_cases.ts`; the table is in `README.md`.
 *
 * @module
 */

/** Where nginx listens (port 443) inside the namespace; every `mta-sts.*` A record. */
export const POLICY_ADDRESS = "127.0.0.4";

/** An address inside the namespace where nothing listens: connections are refused. */
export const DEAD_ADDRESS = "127.0.0.5";

/**
 * Where the bench's latency proxy (`latency_proxy.ts`) relays DNS to Unbound, UDP and TCP
 * port 53.
 */
export const LATENCY_DNS_ADDRESS = "127.0.0.10";

/**
 * Where the latency proxy relays TLS to nginx ({@linkcode POLICY_ADDRESS}) on port 443:
 * the `mta-sts` A record of `sts-bench.test`.
 */
export const LATENCY_TLS_ADDRESS = "127.0.0.11";

/** The path every policy is served at (RFC 8461 §3.2). */
export const POLICY_PATH = "/.well-known/mta-sts.txt";

/** One `mta-sts.<domain>` virtual host. */
export interface PolicySite {
  /** The policy domain; the host is `mta-sts.<domain>`. */
  domain: string;
  /** The policy file's bytes (served with status 200). */
  body?: string;
  /** `Content-Type` of the body. @default {"text/plain"} */
  contentType?: string;
  /** Instead of the body: `return <status> [<location>]`. */
  status?: number;
  /** The `Location` of a redirect status. */
  location?: string;
  /** Serve a certificate signed by a CA the clients do not trust. */
  untrusted?: boolean;
}

/** A policy text with LF line ends. */
export function policyText(mode: string, mx: string[], maxAge: number | null): string {
  const lines = ["version: STSv1", `mode: ${mode}`, ...mx.map((m) => `mx: ${m}`)];
  if (maxAge !== null) lines.push(`max_age: ${maxAge}`);
  return lines.map((l) => `${l}\n`).join("");
}

/** A valid policy followed by `info:` lines up to 70 000 bytes (over 64 KiB). */
export const BIG_POLICY: string = (() => {
  let text = policyText("enforce", ["mx.sts-big.test"], 86400);
  for (let i = 0; text.length < 70_000; i++) {
    text += `info: padding line ${String(i).padStart(5, "0")} ${"x".repeat(60)}\n`;
  }
  return text.slice(0, 70_000 - 1) + "\n";
})();

/** Every virtual host of the policy server. */
export const POLICY_SITES: readonly PolicySite[] = [
  {
    domain: "sts-enforce.test",
    body: policyText("enforce", ["mx1.sts-enforce.test", "*.backup.sts-enforce.test"], 86400),
  },
  { domain: "sts-testing.test", body: policyText("testing", ["mx.sts-testing.test"], 604800) },
  { domain: "sts-none.test", body: policyText("none", [], 86400) },
  { domain: "sts-mismatch.test", body: policyText("enforce", ["mx1.sts-mismatch.test"], 86400) },
  {
    domain: "sts-deep-wildcard.test",
    body: policyText("enforce", ["*.sts-deep-wildcard.test"], 86400),
  },
  // sts-no-host.test: no mta-sts A record; sts-refused.test: A → DEAD_ADDRESS.
  {
    domain: "sts-untrusted.test",
    body: policyText("enforce", ["mx.sts-untrusted.test"], 86400),
    untrusted: true,
  },
  {
    domain: "sts-redirect.test",
    status: 301,
    location: `https://mta-sts.sts-enforce.test${POLICY_PATH}`,
  },
  { domain: "sts-not-found.test", status: 404 },
  {
    domain: "sts-html.test",
    body: policyText("enforce", ["mx.sts-html.test"], 86400),
    contentType: "text/html",
  },
  { domain: "sts-big.test", body: BIG_POLICY },
  { domain: "sts-no-max-age.test", body: policyText("enforce", ["mx.sts-no-max-age.test"], null) },
  { domain: "sts-bad-mode.test", body: policyText("enforcing", ["mx.sts-bad-mode.test"], 86400) },
  // The TXT cases serve a valid policy, so a download that should not happen shows.
  { domain: "sts-txt-v2.test", body: policyText("enforce", ["mx.sts-txt-v2.test"], 86400) },
  { domain: "sts-two-txt.test", body: policyText("enforce", ["mx.sts-two-txt.test"], 86400) },
  { domain: "sts-split-txt.test", body: policyText("enforce", ["mx.sts-split-txt.test"], 86400) },
  // RFC 8461 §3.2: of a repeated field the first counts (Courier too): mode testing.
  {
    domain: "sts-repeat-field.test",
    body: "version: STSv1\nmode: testing\nmode: enforce\nmx: mx.sts-repeat-field.test\n" +
      "max_age: 86400\n",
  },
  { domain: "sts-repeat-id.test", body: policyText("enforce", ["mx.sts-repeat-id.test"], 86400) },
  { domain: "sts-stray-txt.test", body: policyText("enforce", ["mx.sts-stray-txt.test"], 86400) },
  {
    domain: "sts-trailing-space.test",
    body: policyText("enforce", ["mx.sts-trailing-space.test"], 86400),
  },
  // The bench's domain (scripts/bench.ts): reached through the latency proxy, whose TLS
  // address its `mta-sts` A record names.
  { domain: "sts-bench.test", body: policyText("enforce", ["*.sts-bench.test"], 86400) },
  // The delivery probe (tests/world/probe_cli_test.ts): enforce over mx.probe.test (healthy)
  // and expired.probe.test (expired), while other.probe.test is an MX the policy leaves out.
  {
    domain: "probe-sts.test",
    body: policyText("enforce", ["mx.probe.test", "expired.probe.test"], 86400),
  },
];
