// Folder-private: a domain name in the one form the cache, the policy URL and MX matching
// compare (A-labels, lower case, no trailing dot; D9, D15).
import { domainToASCII } from "node:url";

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * `name` as lower-case A-labels without the trailing dot, or undefined when it is not a
 * host name: an empty label, a character outside letters, digits, `-` and `_`, a label
 * over 63 octets or a name over 253 (RFC 1035 §2.3.4 with the root dot left out).
 */
export function asciiName(name: string): string | undefined {
  // Deno's domainToASCII passes through "/", "," and spaces, so its result is checked again.
  const ascii = domainToASCII(name.endsWith(".") ? name.slice(0, -1) : name);
  if (ascii === "" || ascii.length > 253) return undefined;
  return ascii.split(".").every((label) => LABEL.test(label)) ? ascii : undefined;
}
