/**
 * testmxlookup as a library: which servers receive mail for a domain, at which addresses,
 * whether the answers were DNSSEC-validated, and whether the domain's MTA-STS policy
 * (RFC 8461) is published, valid and matched by every MX. It is the code behind the
 * `testmxlookup` command, a re-implementation of Courier MTA's tool with the same output.
 *
 * Quick start: {@linkcode lookupDomain} looks a domain up and returns one
 * {@linkcode DomainReport} (hosts with their addresses, `[ LOCAL ]`, the policy and each
 * host's match, the reasons, the DNS round trips); {@linkcode formatReport} prints it as
 * Courier does and {@linkcode renderJson} as the `--json` document. {@linkcode lookupMany}
 * does the same for a long list, carrying each item (a line number) through.
 *
 * {@linkcode probeReport} goes one step further, as `--probe` does: every address of a report
 * over SMTP (STARTTLS, the certificate, DANE, the MTA-STS verdict) and the domain's TLS-RPT
 * record; {@linkcode probeAddress} probes one address. TLS code loads only when a probe runs.
 *
 * Nothing happens on import; every function takes its servers, paths and an `AbortSignal`
 * through an options object, and many lookups may run at once. Run with `--unstable-net`
 * (UDP sockets), `--allow-net`, and read access to what you name (a policy cache, a CA file).
 *
 * @example Look up a domain's mail servers and its MTA-STS policy
 * ```ts ignore
 * import { lookupDomain, Resolver } from "@testmxlookup/testmxlookup";
 *
 * using resolver = new Resolver({ servers: [{ address: "127.0.0.1" }] });
 * const report = await lookupDomain("example.com", { resolver, deadlineMs: 10_000 });
 * console.log(report.outcome, report.stsMode);
 * for (const host of report.hosts) {
 *   console.log(host.priority, host.host, host.addresses.map((a) => a.ip), host.stsMatch);
 * }
 * ```
 *
 * @module
 */
export { formatAddress, parseAddress } from "./lib/address.ts";
export type { Address } from "./lib/address.ts";
export { ConfigError, DnsError } from "./lib/errors.ts";
export type { ConfigErrorKind, DnsErrorKind, DnsErrorOptions } from "./lib/errors.ts";
export type {
  Clock,
  FileReader,
  Host,
  Network,
  ReadTextFileOptions,
  SocketAddress,
  TcpConnection,
  UdpSocket,
} from "./lib/host.ts";
export { denoHost } from "./lib/host.ts";
export type {
  AddressReport,
  DomainOutcome,
  DomainReport,
  HostReport,
  TraceEntry,
} from "./lib/lookup/domain_report.ts";
export { lookupDomain } from "./lib/lookup/lookup_domain.ts";
export { probeReport } from "./lib/lookup/probe_report.ts";
export type { ProbeReportOptions } from "./lib/lookup/probe_report.ts";
export type { CertificateVerdict } from "./lib/probe/certificate.ts";
export type { DaneVerdict, DnsSecurity, TlsaRecord } from "./lib/probe/dane.ts";
export { heloName } from "./lib/probe/domain.ts";
export { ProbeError } from "./lib/probe/errors.ts";
export type { ProbeErrorKind, ProbeStage } from "./lib/probe/errors.ts";
export { ConnectionLimiter } from "./lib/probe/limit.ts";
export { probeAddress, probeHosts } from "./lib/probe/probe.ts";
export type {
  AddressProbe,
  ProbeOptions,
  ProbePolicy,
  ProbeTarget,
  TlsaAnswer,
} from "./lib/probe/probe.ts";
export { probeJson } from "./lib/probe/render.ts";
export type { ProbeJson } from "./lib/probe/render.ts";
export type { ProbeConnect, ProbeConnection, TlsSession } from "./lib/probe/smtp.ts";
export { parseTlsRpt } from "./lib/probe/tls_rpt.ts";
export type { TlsRptResult } from "./lib/probe/tls_rpt.ts";
export type { StsVerdict } from "./lib/probe/verdict.ts";
export type { LookupDomainOptions } from "./lib/lookup/lookup_domain.ts";
export { lookupMany } from "./lib/lookup/lookup_many.ts";
export type { DomainItem, LookupManyOptions, LookupManyResult } from "./lib/lookup/lookup_many.ts";
export { MAX_LINE_LENGTH, readDomainLines } from "./lib/lookup/read_domain_lines.ts";
export type { DomainLine, ReadDomainLinesOptions } from "./lib/lookup/read_domain_lines.ts";
export type { LocalConfig } from "./lib/lookup/local.ts";
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
export { expireCache, overrideMode, purgePolicy, setCacheSize } from "./lib/sts/admin.ts";
export type { ExpireCacheResult, OverrideResult, PurgeResult } from "./lib/sts/admin.ts";
export { StsError } from "./lib/sts/errors.ts";
export type { StsErrorKind, StsErrorOptions } from "./lib/sts/errors.ts";
export { fetchPolicy, parseCourierdTrustCerts } from "./lib/sts/fetch.ts";
export type { FetchedPolicy, FetchPolicyOptions, PolicyConnect } from "./lib/sts/fetch.ts";
export { lookupSts } from "./lib/sts/lookup.ts";
export type { LookupStsOptions, StsResult, StsStep } from "./lib/sts/lookup.ts";
export type { TxtOutcome } from "./lib/sts/freshness.ts";
export type { CacheEntry, CacheSize } from "./lib/sts/cache_file.ts";
export { matchesMx } from "./lib/sts/match.ts";
export { parsePolicy } from "./lib/sts/policy.ts";
export type { ParsedPolicy, StsMode, StsPolicy } from "./lib/sts/policy.ts";
export { entryName, StsStore } from "./lib/sts/store.ts";
export type { EntryRead, ExpireResult } from "./lib/sts/store.ts";
export { parseStsRecords } from "./lib/sts/txt.ts";
export type { TxtResult } from "./lib/sts/txt.ts";
export { exitCodeOf, JSON_SCHEMA_VERSION, renderJson } from "./lib/report/json.ts";
export type {
  JsonAddress,
  JsonMxHost,
  JsonReport,
  JsonSts,
  JsonTrace,
  RenderJsonOptions,
} from "./lib/report/json.ts";
export { formatReport } from "./lib/report/text.ts";
export type { FailureKind } from "./lib/report/text.ts";
export type { Message, Question, RecordData, ResourceRecord } from "./lib/wire/message.ts";
export { parseTlsa } from "./lib/wire/tlsa.ts";
export type { Tlsa } from "./lib/wire/tlsa.ts";
