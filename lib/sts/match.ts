// Does an MX host satisfy a policy's `mx` patterns (RFC 8461 §4.1, D7)? Pure name comparison;
// which hosts to check and what to print is the report's job.
import { policyName } from "../names.ts";
import { isIpLiteral } from "./_name.ts";

/**
 * Whether `host` matches one of `patterns`.
 *
 * Names compare as lower-case A-labels without the trailing dot, so `MX.Example.COM.`,
 * `mx.example.com` and U-label forms are equal. `*.example.com` matches exactly one more
 * leftmost label: `mx.example.com`, but neither `example.com` nor `a.mx.example.com`
 * (RFC 8461 §4.1; Courier matches any depth). Anything else compares exactly, so the draft
 * syntax `.example.com` matches nothing, and neither do IP addresses (MX hosts are names).
 *
 * @param host The MX host name as the MX record gave it.
 * @param patterns The policy's `mx` values.
 * @returns True when a pattern matches.
 *
 * @example Exact names and one-label wildcards
 * ```ts
 * import { matchesMx } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const patterns = ["mx1.example.com", "*.backup.example.com"];
 * assert.equal(matchesMx("MX1.Example.COM.", patterns), true);
 * assert.equal(matchesMx("a.backup.example.com", patterns), true);
 * assert.equal(matchesMx("a.b.backup.example.com", patterns), false);
 * assert.equal(matchesMx("backup.example.com", patterns), false);
 * ```
 */
export function matchesMx(host: string, patterns: readonly string[]): boolean {
  const name = isIpLiteral(host) ? undefined : policyName(host);
  if (name === undefined) return false;
  const parent = name.slice(name.indexOf(".") + 1);
  const hasParent = name.includes(".");
  return patterns.some((pattern) => {
    if (isIpLiteral(pattern)) return false;
    if (pattern.startsWith("*.")) return hasParent && policyName(pattern.slice(2)) === parent;
    return policyName(pattern) === name;
  });
}
