// The delivery probe of a looked-up domain (`--probe`): every address of the report probed over
// SMTP (lib/probe), each result put on its address, the TLS-RPT verdict and the probe's exit
// status on the report. lib/probe, node:tls and node:crypto are loaded here, on first use.
import { domainToAscii } from "../names.ts";
import type { ConnectionLimiter } from "../probe/limit.ts";
import type { ProbeConnect } from "../probe/smtp.ts";
import type { Querier } from "../resolver/resolver.ts";
import type { DomainReport } from "./domain_report.ts";

/** Options of {@linkcode probeReport}. */
export interface ProbeReportOptions {
  /** The name sent with EHLO (see `heloName`: Courier's `me`, else the host name). */
  helo: string;
  /** The SMTP port. @default {25} */
  port?: number;
  /**
   * PEM texts of the trusted certificates (courierd's `TLS_TRUSTCERTS`, else the system
   * bundle); undefined: the TLS library's built-in roots.
   */
  caCerts?: string[];
  /** Each stage's timeout in milliseconds. @default {10000} */
  stageTimeout?: number;
  /**
   * The run's resolver for TLSA and TLS-RPT, with the DO bit so that AD means something;
   * undefined skips both (DANE `none`, no `tlsRpt`).
   */
  resolver?: Querier;
  /** Hosts whose MX answer was DNSSEC-validated (lower-case A-labels); DANE needs it. */
  secureMxHosts?: ReadonlySet<string>;
  /** The most connections this domain opens at once. @default {16} */
  concurrency?: number;
  /** A bound on open connections shared with other domains' probes (a batch's). */
  limiter?: ConnectionLimiter;
  /** The time, ms since the epoch. @default {Date.now} */
  now?: () => number;
  /** Opens connections; tests pass their own. */
  connect?: ProbeConnect;
  /** Aborts the probe; the addresses then report `ABORTED`. */
  signal?: AbortSignal;
}

/** The host name a probe verifies: A-labels, no trailing dot; undefined for a literal. */
function probeHostName(host: string): string | undefined {
  if (host.startsWith("[")) return undefined;
  const ascii = domainToAscii(host.replace(/\.$/, ""));
  return ascii === "" ? undefined : ascii.toLowerCase();
}

/**
 * Probes every address of a report whose lookup ended ok, and returns the report with each
 * address's `probe`, the domain's `tlsRpt` and `probeStatus` set (the report given is not
 * changed). A report that did not end ok is returned as it is: its exit status stays Courier's.
 * Hosts given as address literals (`[192.0.2.1]`) have no name to verify and are not probed.
 *
 * @example Probe a report's addresses on the submission port, under the run's deadline
 * ```ts ignore
 * import { lookupDomain, probeReport, Resolver } from "@testmxlookup/testmxlookup";
 *
 * using resolver = new Resolver({ servers: [{ address: "127.0.0.1" }], udpSize: 1232 });
 * const report = await lookupDomain("example.com", { resolver });
 * const probed = await probeReport(report, {
 *   helo: "mail.example.net",
 *   port: 587,
 *   resolver,
 *   signal: AbortSignal.timeout(60_000),
 * });
 * console.log(probed.probeStatus, probed.hosts[0].addresses[0].probe?.starttls);
 * ```
 *
 * @param report A report from `lookupDomain`.
 * @param options The EHLO name, port, trusted certificates, resolver, bounds and signal.
 * @returns The report with the probe's results.
 * @throws {TypeError} When `helo` is not one token of printable ASCII.
 */
export async function probeReport(
  report: DomainReport,
  options: ProbeReportOptions,
): Promise<DomainReport> {
  if (report.outcome !== "ok") return report;
  const hosts = report.hosts.map((host) => ({ report: host, name: probeHostName(host.host) }));
  const probed = hosts.filter((h) => h.name !== undefined && h.report.addresses.length > 0);
  // D33: no address to probe is every address failing.
  if (probed.length === 0) return { ...report, probeStatus: 3 };
  const policy = report.sts.policy;
  const domain = report.sts.domain ?? probeHostName(report.queryName ?? report.domain);
  const { probeDomain } = await import("../probe/domain.ts");
  let result;
  try {
    result = await probeDomain(
      domain ?? "",
      probed.map((h) => ({
        host: h.name!,
        mxSecure: options.secureMxHosts?.has(h.name!) ?? false,
        addresses: h.report.addresses.map((a) => ({ address: a.ip, secure: a.dnssec })),
      })),
      {
        helo: options.helo,
        port: options.port,
        caCerts: options.caCerts,
        stageTimeout: options.stageTimeout,
        policy: policy === undefined ? undefined : { mode: policy.mode, mx: policy.mx },
        querier: domain === undefined ? undefined : options.resolver,
        concurrency: options.concurrency,
        limiter: options.limiter,
        now: options.now,
        connect: options.connect,
        signal: options.signal,
      },
    );
  } catch (error) {
    if (!options.signal?.aborted) throw error;
    // The deadline came during the probe: the lookup stands, the probe did not finish.
    const why = error instanceof Error ? error.message : String(error);
    return {
      ...report,
      warnings: [...report.warnings, `Probe stopped: ${why}`],
      probeStatus: 3,
      probeStopped: why,
    };
  }
  const byHost = new Map(probed.map((h, i) => [h.report, result.hosts[i]]));
  return {
    ...report,
    hosts: report.hosts.map((host) => {
      const probes = byHost.get(host);
      if (probes === undefined) return host;
      return { ...host, addresses: host.addresses.map((a, i) => ({ ...a, probe: probes[i] })) };
    }),
    ...(result.tlsRpt === undefined ? {} : { tlsRpt: result.tlsRpt }),
    probeStatus: result.exitStatus,
  };
}
