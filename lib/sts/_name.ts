// Folder-private: a domain name in the one form the cache, the policy URL and MX matching
// compare (A-labels, lower case, no trailing dot; D9, D15).
import { parseAddress } from "../address.ts";
import { domainToAscii } from "../idna.ts";

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * `name` as lower-case A-labels without the trailing dot, or undefined when it is not a
 * host name: an empty label, a character outside letters, digits, `-` and `_`, a label
 * over 63 octets or a name over 253 (RFC 1035 §2.3.4 with the root dot left out).
 */
export function asciiName(name: string): string | undefined {
  // UTS #46 keeps "/", "," and spaces (STD3 rules off), so the result is checked again.
  const ascii = domainToAscii(name.endsWith(".") ? name.slice(0, -1) : name);
  if (ascii === "" || ascii.length > 253) return undefined;
  return ascii.split(".").every((label) => LABEL.test(label)) ? ascii : undefined;
}

// Node's isIP: IPv4 only as four decimal octets without leading zeros.
const DOTTED_QUAD =
  /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * Whether `text` is written as an IP address: a dotted quad or an IPv6 address, with an
 * optional `%zone`. Not Courier's inet_aton grammar: `127.1` and `10` stay names here, which
 * {@linkcode asciiName} refuses anyway.
 */
export function isIpLiteral(text: string): boolean {
  if (DOTTED_QUAD.test(text)) return true;
  if (!text.includes(":")) return false;
  const zone = text.indexOf("%");
  if (zone >= 0 && !/^%[0-9A-Za-z.:-]+$/.test(text.slice(zone))) return false;
  return parseAddress(zone >= 0 ? text.slice(0, zone) : text) !== undefined;
}
