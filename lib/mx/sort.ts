// The order of the printed list (D14): Courier sorts by priority and shuffles the
// rest; this tool lists equal priorities by host name so that output is reproducible.
import type { Address } from "../address.ts";

/** One printed line's facts: a host, its MX priority and one of its addresses. */
export interface MxEntry {
  /** The host as printed after `Relay:`. */
  host: string;
  /** MX preference, or -1 for implicit MX and `[address]` domains. */
  priority: number;
  /** The address, 16 bytes. */
  address: Address;
  /** 4 for an A record, 6 for AAAA. */
  family: 4 | 6;
  /** AD bit of the reply that supplied the address. */
  dnssec: boolean;
}

function byName(a: string, b: string): number {
  const la = a.toLowerCase();
  const lb = b.toLowerCase();
  if (la !== lb) return la < lb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Sorts entries: priority ascending; within a priority by host name (case-insensitive); within
 * a host IPv4 before IPv6 (IPv6 first with `preferIpv6`, Courier's `ESMTP_PREFER_IPV6_MX`);
 * within a family in answer order. Drops repeats of the same host, priority and address
 * (upstream Courier ≥ 1.3.7).
 *
 * @param entries Entries in answer order.
 * @param preferIpv6 List IPv6 addresses first.
 * @returns A new, sorted array.
 */
export function sortEntries(entries: readonly MxEntry[], preferIpv6 = false): MxEntry[] {
  const seen = new Set<string>();
  const unique = entries.filter((e) => {
    const key = `${e.priority}\u0000${e.host}\u0000${e.address.join(",")}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const familyRank = (e: MxEntry) => (e.family === 4) === !preferIpv6 ? 0 : 1;
  // Array.prototype.sort is stable, so answer order survives within a family.
  return unique.sort((a, b) =>
    a.priority - b.priority || byName(a.host, b.host) || familyRank(a) - familyRank(b)
  );
}
