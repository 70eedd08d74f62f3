// The DNS codec: @dnsquery/dns-packet, the ES-module line of dns-packet (Uint8Array in and out,
// no Node layer to load at start-up). Only lib/wire imports this file; nothing else imports
// the package. The full specifier, so that code importing mod.ts without this repository's
// deno.json resolves it too; deno.json pins the same version for `deno install`.
export * from "npm:@dnsquery/dns-packet@6.1.1";
// deno-lint-ignore no-import-prefix
import type { Answer } from "npm:@dnsquery/dns-packet@6.1.1";

/**
 * The EDNS0 OPT pseudo-record (RFC 6891 §6.1.2). The codec's encoder reads the payload size
 * and flags from these fields, which its type declarations leave out.
 */
export function optRecord(udpSize: number, flags: number): Answer {
  const opt = { type: "OPT", name: ".", udpPayloadSize: udpSize & 0xffff, flags, options: [] };
  return { ...opt, extendedRcode: 0, ednsVersion: 0 } as unknown as Answer;
}
