// IP address text as Courier reads and prints it (docs/courier.md#address-syntax,
// #printing-addresses): IPv4 in inet_aton style without hexadecimal, then IPv6 in inet_pton style;
// every address held as 16 bytes, IPv4 mapped into ::ffff:0:0/96, and printed as glibc's
// inet_ntop(AF_INET6) does.

/** An address as 16 bytes; IPv4 addresses are IPv4-mapped (`::ffff:a.b.c.d`). */
export type Address = Uint8Array;

/**
 * One part of an inet_aton address: decimal, or octal after a leading 0 (`0177`); no sign, no
 * hexadecimal. A scan, not regular expressions: an `@` list can hold thousands of addresses.
 */
function ipv4Part(text: string, start: number, end: number): number | undefined {
  if (end === start) return undefined;
  const octal = end - start > 1 && text.charCodeAt(start) === 0x30;
  const base = octal ? 8 : 10;
  let value = 0;
  for (let at = octal ? start + 1 : start; at < end; at++) {
    const digit = text.charCodeAt(at) - 0x30;
    if (!(digit >= 0 && digit < base)) return undefined;
    value = value * base + digit;
  }
  return Number.isSafeInteger(value) ? value : undefined;
}

function parseIpv4(text: string): number | undefined {
  const values: number[] = [];
  // Courier's parser has no hexadecimal: `0x7f.1` is not an address
  // (docs/courier.md#address-syntax).
  for (let start = 0;;) {
    const dot = text.indexOf(".", start);
    const value = ipv4Part(text, start, dot < 0 ? text.length : dot);
    // More than four parts is no address.
    if (value === undefined || values.length === 4) return undefined;
    values.push(value);
    if (dot < 0) break;
    start = dot + 1;
  }
  // inet_aton: the last part fills all the bytes the earlier parts left (`127.1`, `10`).
  const last = values.pop()!;
  if (values.some((v) => v > 0xff)) return undefined;
  if (last >= 2 ** (8 * (4 - values.length))) return undefined;
  return values.reduce((sum, v, i) => sum + v * 2 ** (8 * (3 - i)), 0) + last;
}

function parseIpv6(text: string): Uint8Array | undefined {
  let groupsText = text;
  const lastColon = text.lastIndexOf(":");
  if (lastColon < 0) return undefined;
  if (text.includes(".")) {
    // inet_pton: a dotted IPv4 tail of exactly four decimal octets stands for two groups.
    const octets = text.slice(lastColon + 1).split(".");
    if (octets.length !== 4 || octets.some((o) => !/^(?:0|[1-9][0-9]{0,2})$/.test(o))) {
      return undefined;
    }
    const [a, b, c, d] = octets.map(Number);
    if (a > 255 || b > 255 || c > 255 || d > 255) return undefined;
    groupsText = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${
      ((c << 8) | d).toString(16)
    }`;
  }
  const halves = groupsText.split("::");
  if (halves.length > 2) return undefined;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    for (const g of s.split(":")) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (halves.length === 2) {
    const head = parseGroups(halves[0]);
    const rest = parseGroups(halves[1]);
    if (!head || !rest || head.length + rest.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  } else {
    const all = parseGroups(groupsText);
    if (!all || all.length !== 8) return undefined;
    groups = all;
  }
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/**
 * Parses an address as Courier does: IPv4 first (1-4 parts, decimal or octal), then IPv6.
 * No brackets, scope IDs or ports.
 *
 * @param text The address text.
 * @returns 16 bytes, IPv4 mapped into `::ffff:0:0/96` except `0.0.0.0`, which becomes `::`;
 *   undefined when the text is not an address.
 *
 * @example Courier's address grammar
 * ```ts
 * import { formatAddress, parseAddress } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * // inet_aton forms: `127.1` is 127.0.0.1, a leading 0 means octal.
 * assert.equal(formatAddress(parseAddress("127.1")!), "::ffff:127.0.0.1");
 * assert.equal(formatAddress(parseAddress("0177.0.0.1")!), "::ffff:127.0.0.1");
 * assert.equal(parseAddress("2001:DB8::1")?.length, 16);
 * // No hexadecimal, brackets or ports.
 * assert.equal(parseAddress("0x7f.1"), undefined);
 * assert.equal(parseAddress("[::1]"), undefined);
 * ```
 */
export function parseAddress(text: string): Address | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) {
    const bytes = new Uint8Array(16);
    // Courier stores 0.0.0.0 as the unspecified IPv6 address (docs/courier.md#address-syntax).
    if (v4 !== 0) {
      bytes[10] = bytes[11] = 0xff;
      bytes[12] = v4 >>> 24;
      bytes[13] = (v4 >>> 16) & 0xff;
      bytes[14] = (v4 >>> 8) & 0xff;
      bytes[15] = v4 & 0xff;
    }
    return bytes;
  }
  return parseIpv6(text);
}

/**
 * Whether the text is an address {@linkcode parseAddress} reads, without making its bytes.
 *
 * @param text The address text.
 * @returns True when `parseAddress(text)` is not undefined.
 */
export function isAddress(text: string): boolean {
  return parseIpv4(text) !== undefined || parseIpv6(text) !== undefined;
}

/** Whether the 16 bytes are an IPv4-mapped address. */
export function isIpv4Mapped(address: Address): boolean {
  return address.subarray(0, 10).every((b) => b === 0) && address[10] === 0xff &&
    address[11] === 0xff;
}

/**
 * Prints an address as glibc's `inet_ntop(AF_INET6)`: lower-case hex groups, the longest run
 * of two or more zero groups (the first on ties) as `::`, and a dotted IPv4 tail for
 * `::ffff:a.b.c.d` and for `::a.b.c.d` when exactly the first six groups are zero.
 *
 * @param address 16 bytes.
 * @returns The text, e.g. `::ffff:192.0.2.1`.
 *
 * @example Print addresses as Courier's `Relay:` lines do
 * ```ts
 * import { formatAddress, parseAddress } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatAddress(parseAddress("192.0.2.1")!), "::ffff:192.0.2.1");
 * // The first of two equally long runs of zero groups becomes "::".
 * assert.equal(formatAddress(parseAddress("2001:db8:0:0:1:0:0:1")!), "2001:db8::1:0:0:1");
 * assert.equal(formatAddress(new Uint8Array(16)), "::");
 * ```
 */
export function formatAddress(address: Address): string {
  const words = Array.from({ length: 8 }, (_, i) => (address[2 * i] << 8) | address[2 * i + 1]);
  let best = { base: -1, len: 0 };
  let cur = { base: -1, len: 0 };
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      cur = cur.base < 0 ? { base: i, len: 1 } : { base: cur.base, len: cur.len + 1 };
      if (cur.len > best.len) best = cur;
    } else {
      cur = { base: -1, len: 0 };
    }
  }
  if (best.len < 2) best = { base: -1, len: 0 };
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (best.base >= 0 && i >= best.base && i < best.base + best.len) {
      if (i === best.base) out += ":";
      continue;
    }
    if (i !== 0) out += ":";
    if (
      i === 6 && best.base === 0 && (best.len === 6 || (best.len === 5 && words[5] === 0xffff))
    ) {
      out += address.subarray(12).join(".");
      break;
    }
    out += words[i].toString(16);
  }
  if (best.base >= 0 && best.base + best.len === 8) out += ":";
  return out;
}

/**
 * The text to give a socket API for an address: dotted IPv4 for a mapped address, else IPv6.
 *
 * @param address 16 bytes.
 * @returns The host text, e.g. `127.0.0.1` or `::1`.
 */
export function addressToHost(address: Address): string {
  return isIpv4Mapped(address) ? address.subarray(12).join(".") : formatAddress(address);
}
