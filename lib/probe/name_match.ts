// Whether a certificate's DNS-ID is valid for a host name (RFC 6125 §6.4): case-insensitive,
// a wildcard only as the whole leftmost label, standing for exactly one label (RFC 8461 §3.4
// and RFC 7672 §3.2.3 say the same for MX hosts). Partial wildcards (`f*.example`) are not
// accepted (D31).

function canonical(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

/**
 * Whether `pattern` (a dNSName of a certificate) is valid for `host`.
 *
 * @example
 * ```ts
 * import { nameMatches } from "./name_match.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(nameMatches("*.example.com", "mx.example.com"), true);
 * assert.equal(nameMatches("*.example.com", "a.mx.example.com"), false);
 * assert.equal(nameMatches("m*.example.com", "mx.example.com"), false);
 * ```
 *
 * @param pattern The certificate's name, possibly `*.example.com`.
 * @param host The MX host name as A-labels.
 * @returns True when it matches.
 */
export function nameMatches(pattern: string, host: string): boolean {
  const p = canonical(pattern);
  const h = canonical(host);
  if (p === "" || h === "") return false;
  if (!p.includes("*")) return p === h;
  // RFC 6125 §6.4.3: only `*` as the whole leftmost label, and not over a public suffix-like
  // single label (`*.com`).
  if (!p.startsWith("*.") || p.indexOf("*", 1) !== -1) return false;
  const rest = p.slice(2);
  if (!rest.includes(".")) return false;
  const dot = h.indexOf(".");
  return dot > 0 && h.slice(dot + 1) === rest;
}

/**
 * The names of `names` valid for `host`.
 *
 * @param names The certificate's DNS-IDs.
 * @param host The host name.
 * @returns The matching ones, in order.
 */
export function matchingNames(names: readonly string[], host: string): string[] {
  return names.filter((name) => nameMatches(name, host));
}
