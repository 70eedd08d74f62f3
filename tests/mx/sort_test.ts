import assert from "node:assert/strict";
import { parseAddress } from "../../lib/address.ts";
import { type MxEntry, sortEntries } from "../../lib/mx/sort.ts";

function entry(host: string, priority: number, address: string): MxEntry {
  const bytes = parseAddress(address)!;
  return { host, priority, address: bytes, family: address.includes(":") ? 6 : 4, dnssec: false };
}

const show = (entries: MxEntry[]) =>
  entries.map((e) => `${e.priority} ${e.host} ${e.address.join(".")}`);

Deno.test("sortEntries() orders by priority, then host name, then IPv4 before IPv6", () => {
  const input = [
    entry("mx2.test", 10, "::2"),
    entry("mx2.test", 10, "192.0.2.2"),
    entry("MX1.test", 10, "192.0.2.1"),
    entry("mx0.test", 5, "2001:db8::1"),
    entry("mx0.test", 5, "192.0.2.9"),
    entry("mx0.test", 5, "192.0.2.8"),
  ];
  const expected = [input[4], input[5], input[3], input[2], input[1], input[0]];
  assert.deepEqual(show(sortEntries(input)), show(expected));
});

Deno.test("sortEntries() puts IPv6 first when preferIpv6 is set", () => {
  const input = [entry("mx.test", 10, "192.0.2.1"), entry("mx.test", 10, "::1")];
  assert.deepEqual(show(sortEntries(input, true)), show([input[1], input[0]]));
});

Deno.test("sortEntries() drops a repeat of host, priority and address but keeps shared addresses", () => {
  const input = [
    entry("a.test", 10, "192.0.2.1"),
    entry("a.test", 10, "192.0.2.1"),
    entry("b.test", 10, "192.0.2.1"),
    entry("a.test", 20, "192.0.2.1"),
  ];
  assert.deepEqual(show(sortEntries(input)), show([input[0], input[2], input[3]]));
});
