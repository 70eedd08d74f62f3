// One MX host's addresses (harvest) and the lookup's result from all of them (finish), for
// lookup.ts: the families carried in the MX reply or asked for, D13's soft host, and
// Courier's outcome when no host has an address.
import { type Address, parseAddress } from "../address.ts";
import { DnsError } from "../errors.ts";
import { sameName } from "../names.ts";
import type { Message } from "../wire/message.ts";
import type { LookupMxOptions, MxHost, MxResult } from "./lookup.ts";
import { type MxEntry, sortEntries } from "./sort.ts";

const FAMILIES = [["A", 4], ["AAAA", 6]] as const;

/**
 * The outcome of a DNS failure that ends the whole lookup at once, wherever it happens (as
 * Courier: a looping CNAME is "bad DNS", a name that cannot be asked is "internal").
 */
export function fatalOutcome(error: unknown): "internal" | "cname" | undefined {
  if (!(error instanceof DnsError)) return undefined;
  return error.kind === "CNAME_LOOP"
    ? "cname"
    : error.kind === "INVALID_NAME"
    ? "internal"
    : undefined;
}

export interface Harvest {
  entries: MxEntry[];
  host: MxHost;
  warnings: string[];
}

export async function harvest(
  display: string,
  wireName: string,
  priority: number,
  mx: Message | undefined,
  options: LookupMxOptions & { schedule: <T>(task: () => Promise<T>) => Promise<T> },
): Promise<Harvest> {
  const entries: MxEntry[] = [];
  const errors: DnsError[] = [];
  const warnings: string[] = [];
  const sources = new Set<"mx-additional" | "query">();
  const perFamily = await Promise.all(FAMILIES.map(async ([type, family]) => {
    // Upstream Courier (≥ 1.3.7): a family present in the MX reply is taken from there,
    // otherwise asked for, so both families are always covered.
    const carried = mx
      ? [...mx.answers, ...mx.authorities, ...mx.additionals].filter((r) =>
        r.type === type && sameName(r.name, wireName)
      )
      : [];
    if (carried.length > 0) {
      sources.add("mx-additional");
      return { records: carried, ad: mx!.ad, family };
    }
    try {
      const result = await options.schedule(() =>
        options.resolver.query(wireName, type, { signal: options.signal })
      );
      sources.add("query");
      if (result.cnames.length > 0) {
        warnings.push(
          `MX host ${display} is a CNAME (to ${
            result.cnames.at(-1)
          }); RFC 2181 §10.3 says an MX must name a host directly`,
        );
      }
      return { records: result.records, ad: result.ad, family };
    } catch (error) {
      if (!(error instanceof DnsError) || fatalOutcome(error)) throw error;
      if (error.transient) errors.push(error);
      return { records: [], ad: false, family };
    }
  }));
  for (const { records, ad, family } of perFamily) {
    for (const record of records) {
      if (record.data.type !== "A" && record.data.type !== "AAAA") continue;
      const address = parseAddress(record.data.address);
      if (address) entries.push({ host: display, priority, address, family, dnssec: ad });
    }
  }
  const outcome = entries.length > 0 ? "ok" : errors.length > 0 ? "soft" : "hard";
  if (outcome === "ok") {
    for (const error of errors) warnings.push(`MX host ${display}: ${error.message}`);
  }
  const source = sources.size === 2
    ? "mixed"
    : sources.has("mx-additional")
    ? "mx-additional"
    : "query";
  return { entries, host: { host: display, priority, outcome, source, errors }, warnings };
}

export function literalHarvest(host: string, address: Address, priority: number): Harvest {
  const family = address.subarray(0, 12).every((b, i) => b === (i >= 10 ? 0xff : 0)) ? 4 : 6;
  return {
    entries: [{ host, priority, address, family, dnssec: false }],
    host: { host, priority, outcome: "ok", source: "literal", errors: [] },
    warnings: [],
  };
}

export function finish(
  domain: string,
  queryName: string | undefined,
  harvests: Harvest[],
  preferIpv6: boolean,
  warnings: string[],
  noHostsReason: string,
  noHostsError?: DnsError,
): MxResult {
  const hosts = harvests.map((h) => h.host);
  warnings.push(...harvests.flatMap((h) => h.warnings));
  const good = hosts.filter((h) => h.outcome === "ok");
  const soft = hosts.filter((h) => h.outcome === "soft");
  const base = { domain, queryName, hosts, warnings };
  if (good.length > 0) {
    for (const host of soft) {
      warnings.push(
        `MX host ${host.host} left out: ${host.errors.map((e) => e.message).join("; ")}`,
      );
    }
    return {
      ...base,
      outcome: "ok",
      entries: sortEntries(harvests.flatMap((h) => h.entries), preferIpv6),
    };
  }
  if (soft.length > 0) {
    const error = soft[0].errors[0];
    return {
      ...base,
      outcome: "soft",
      entries: [],
      error,
      reason: soft.map((h) => `${h.host}: ${h.errors.map((e) => e.message).join("; ")}`).join(
        "; ",
      ),
    };
  }
  const error = noHostsError ? { error: noHostsError } : {};
  return { ...base, outcome: "hard", entries: [], reason: noHostsReason, ...error };
}
