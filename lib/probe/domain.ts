// The probe of a whole lookup result: every address of every MX host at once (bounded), each
// host's TLSA records through the run's resolver, the domain's TLS-RPT record, and the exit
// status. Independent of the report's shape: the caller passes hosts and addresses.
import type { Querier } from "../resolver/resolver.ts";
import { lookupTlsa, lookupTlsRpt } from "./dns.ts";
import {
  type AddressProbe,
  probeHosts,
  type ProbeOptions,
  type ProbePolicy,
  type ProbeTarget,
} from "./probe.ts";
import type { TlsRptResult } from "./tls_rpt.ts";
import { probeExitStatus } from "./verdict.ts";

/** One MX host of a lookup, as the probe needs it. */
export interface ProbeHost {
  /** The MX host name as A-labels (SNI, TLSA owner, the name certificates must match). */
  host: string;
  /** The MX answer was DNSSEC-validated (AD). */
  mxSecure: boolean;
  /** Its addresses, each with whether its answer was validated. */
  addresses: Array<{ address: string; secure: boolean }>;
}

/** Options of {@linkcode probeDomain}. */
export interface ProbeDomainOptions extends Omit<ProbeOptions, "tlsa" | "policy"> {
  /** The domain's MTA-STS policy, when it has one. */
  policy?: ProbePolicy;
  /**
   * The run's resolver (with the DO bit) for TLSA and TLS-RPT; undefined skips both (DANE
   * `none`, no `tlsRpt`).
   */
  querier?: Querier;
  /** Look up TLSA records (needs a codec that asks for TLSA). @default {true} */
  dane?: boolean;
}

/** What probing a domain found. */
export interface DomainProbe {
  /** Per host (in the order given), per address (in the order given). */
  hosts: AddressProbe[][];
  /** The TLS-RPT verdict, or undefined without a querier. */
  tlsRpt?: TlsRptResult;
  /** 0 no address fails, 2 some do, 3 all do (D33). */
  exitStatus: number;
}

/**
 * Probes every address of a domain's MX hosts, and looks up TLSA (per host) and TLS-RPT through
 * the caller's resolver while the dialogues run.
 *
 * @example The hosts of a lookup, probed under its MTA-STS policy
 * ```ts ignore
 * import { probeDomain } from "./domain.ts";
 * import { Resolver } from "../resolver/resolver.ts";
 *
 * const querier = new Resolver({ servers: [{ address: "127.0.0.1" }], udpSize: 1232 });
 * const probe = await probeDomain("example.com", [
 *   { host: "mx.example.com", mxSecure: true, addresses: [{ address: "192.0.2.1", secure: true }] },
 * ], { helo: "mail.example.net", querier, policy: { mode: "enforce", mx: ["mx.example.com"] } });
 * console.log(probe.exitStatus, probe.tlsRpt?.status, probe.hosts[0][0].sts);
 * ```
 *
 * @param domain The policy domain (A-labels), for TLS-RPT.
 * @param hosts The MX hosts and their addresses.
 * @param options As for probeHosts, plus the resolver and policy.
 * @returns The results, the TLS-RPT verdict and the exit status.
 */
export async function probeDomain(
  domain: string,
  hosts: readonly ProbeHost[],
  options: ProbeDomainOptions,
): Promise<DomainProbe> {
  const { querier } = options;
  const targets: ProbeTarget[] = hosts.flatMap((h) =>
    h.addresses.map((a) => ({
      host: h.host,
      address: a.address,
      mxSecure: h.mxSecure,
      addressSecure: a.secure,
    }))
  );
  // Both at once, awaited together: a rejection (an abort) is never left unhandled.
  const [flat, tlsRpt] = await Promise.all([
    probeHosts(targets, {
      ...options,
      tlsa: querier === undefined || options.dane === false
        ? undefined
        : (host, port, signal) => lookupTlsa(querier, host, port, { signal }),
    }),
    querier === undefined ? undefined : lookupTlsRpt(querier, domain, { signal: options.signal }),
  ]);
  const grouped: AddressProbe[][] = [];
  let at = 0;
  for (const h of hosts) {
    grouped.push(flat.slice(at, at + h.addresses.length));
    at += h.addresses.length;
  }
  return { hosts: grouped, tlsRpt, exitStatus: probeExitStatus(flat) };
}

/**
 * The EHLO name of a probe: the first line of Courier's `me` file when it is a host name, else
 * the machine's host name, else `localhost`.
 *
 * @example
 * ```ts
 * import { heloName } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * assert.equal(heloName("mail.example.com", "box"), "mail.example.com");
 * assert.equal(heloName(undefined, "box.example.com"), "box.example.com");
 * assert.equal(heloName("bad name\r\nMAIL", ""), "localhost");
 * ```
 *
 * @param me The first line of `me`, if the file exists.
 * @param hostname The machine's host name.
 * @returns A name safe to send after `EHLO`.
 */
export function heloName(me: string | undefined, hostname: string): string {
  const ok = (name: string | undefined): name is string =>
    name !== undefined && /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$/.test(name);
  const first = me?.trim();
  if (ok(first)) return first;
  if (ok(hostname)) return hostname;
  return "localhost";
}
