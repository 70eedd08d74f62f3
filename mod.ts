/**
 * testmxlookup: which servers receive mail for a domain, at which addresses, whether the
 * answers were DNSSEC-validated, and whether the domain's MTA-STS policy (RFC 8461) holds.
 *
 * @module
 */
export { DnsError, type DnsErrorKind, UsageError } from "./lib/errors.ts";
