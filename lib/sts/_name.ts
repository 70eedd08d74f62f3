// Folder-private: whether a policy's or an MX record's host text is an IP address rather than
// a name (names themselves are lib/names.ts).
import { parseAddress } from "../address.ts";

// Node's isIP: IPv4 only as four decimal octets without leading zeros.
const DOTTED_QUAD =
  /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * Whether `text` is written as an IP address: a dotted quad or an IPv6 address, with an
 * optional `%zone`. Not Courier's inet_aton grammar: `127.1` and `10` stay names here, which
 * `policyName` refuses anyway.
 */
export function isIpLiteral(text: string): boolean {
  if (DOTTED_QUAD.test(text)) return true;
  if (!text.includes(":")) return false;
  const zone = text.indexOf("%");
  if (zone >= 0 && !/^%[0-9A-Za-z.:-]+$/.test(text.slice(zone))) return false;
  return parseAddress(zone >= 0 ? text.slice(0, zone) : text) !== undefined;
}
