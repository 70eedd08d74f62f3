/**
 * testmxlookup as a library: which servers receive mail for a domain, at which addresses,
 * whether the answers were DNSSEC-validated, and whether the domain's MTA-STS policy
 * (RFC 8461) is published, valid and matched by every MX. It is the code behind the
 * `testmxlookup` command, a re-implementation of Courier MTA's tool with the same output.
 *
 * Nothing happens on import; every function takes its servers, paths and an `AbortSignal`
 * through an options object, and many lookups may run at once.
 *
 * @example Look up a domain's mail servers
 * ```ts ignore
 * import { lookupMx, Resolver } from "@testmxlookup/testmxlookup";
 *
 * const resolver = new Resolver({ servers: [{ address: "127.0.0.1" }], udpSize: 1280 });
 * const result = await lookupMx("example.com", { resolver });
 * for (const entry of result.entries) console.log(entry.host, entry.priority);
 * ```
 *
 * @module
 */
export { formatAddress, parseAddress } from "./lib/address.ts";
export type { Address } from "./lib/address.ts";
export { ConfigError, DnsError, UsageError } from "./lib/errors.ts";
export type { ConfigErrorKind, DnsErrorKind, DnsErrorOptions } from "./lib/errors.ts";
export type {
  Clock,
  FileReader,
  Host,
  Network,
  SocketAddress,
  TcpConnection,
  UdpSocket,
} from "./lib/host.ts";
export { denoHost } from "./lib/host.ts";
export { lookupDomain, lookupMany, readDomainLines } from "./lib/batch.ts";
export type {
  BatchResult,
  DomainLine,
  DomainLookup,
  LookupDomainOptions,
  LookupManyOptions,
  ReadDomainLinesOptions,
} from "./lib/batch.ts";
export { lookupMx } from "./lib/mx/lookup.ts";
export type { LookupMxOptions, MxHost, MxOutcome, MxResult } from "./lib/mx/lookup.ts";
export type { MxEntry } from "./lib/mx/sort.ts";
export { Resolver } from "./lib/resolver/resolver.ts";
export type {
  ExchangeTrace,
  NameServer,
  Querier,
  QueryResult,
  ResolverOptions,
  ResolverQueryOptions,
} from "./lib/resolver/resolver.ts";
export { loadResolvConf, parseResolvConf } from "./lib/resolver/resolv_conf.ts";
export type { ResolvConf, ResolvConfWarning } from "./lib/resolver/resolv_conf.ts";
export { StsError } from "./lib/sts/errors.ts";
export type { StsErrorKind, StsErrorOptions } from "./lib/sts/errors.ts";
export { fetchPolicy, parseCourierdTrustCerts } from "./lib/sts/fetch.ts";
export type { FetchedPolicy, FetchPolicyOptions, PolicyConnect } from "./lib/sts/fetch.ts";
export { lookupSts } from "./lib/sts/lookup.ts";
export type { LookupStsOptions, StsResult } from "./lib/sts/lookup.ts";
export type { TxtOutcome } from "./lib/sts/freshness.ts";
export type { CacheEntry, CacheSize } from "./lib/sts/cache_file.ts";
export { matchesMx } from "./lib/sts/match.ts";
export { parsePolicy } from "./lib/sts/policy.ts";
export type { ParsedPolicy, StsMode, StsPolicy } from "./lib/sts/policy.ts";
export { entryName, StsStore } from "./lib/sts/store.ts";
export type { EntryRead, ExpireResult } from "./lib/sts/store.ts";
export { parseStsRecords } from "./lib/sts/txt.ts";
export type { TxtResult } from "./lib/sts/txt.ts";
export { buildJsonReport } from "./lib/report/json.ts";
export type {
  JsonAddress,
  JsonMxHost,
  JsonReport,
  JsonReportInput,
  JsonSts,
  JsonTrace,
} from "./lib/report/json.ts";
export { formatReport } from "./lib/report/text.ts";
export type {
  FailedReport,
  FailureKind,
  LookupReport,
  RelayLine,
  Report,
  ReportEntry,
} from "./lib/report/text.ts";
export type { Message, Question, RecordData, ResourceRecord } from "./lib/wire/message.ts";
