// Runs the probe library inside the test world (World.run): reads a JSON request on stdin
// (targets and options), prints the results as JSON on stdout. The world's tests cannot reach
// the namespace's addresses from outside it.
import { Resolver } from "../../lib/resolver/resolver.ts";
import type { TlsaRecord } from "../../lib/probe/dane.ts";
import { lookupTlsa, lookupTlsRpt } from "../../lib/probe/dns.ts";
import { misplacedTlsRpt } from "../../lib/probe/tls_rpt.ts";
import {
  probeHosts,
  type ProbeOptions,
  type ProbeTarget,
  type TlsaAnswer,
} from "../../lib/probe/probe.ts";

/** What the runner reads. */
export interface ProbeRequest {
  /** The addresses. */
  targets: ProbeTarget[];
  /** Options that survive JSON (no functions, no signal). */
  options: Omit<ProbeOptions, "tlsa" | "connect" | "signal" | "now">;
  /**
   * Timing mode (the bench): each target alone, one after another, then all together; the
   * output is `{ single: ms[], together: ms }` instead of the results.
   */
  timing?: boolean;
  /** Look up TLSA records with `drill -D` through the world's Unbound (see `tlsaByDrill`). */
  tlsa?: boolean;
  /**
   * TLS-RPT mode: for each domain, `lookupTlsRpt` through the library's Resolver (Unbound on
   * 127.0.0.1) and `misplacedTlsRpt` of its apex TXT records; the output is one
   * `{ result, apex }` per domain instead of the probe's results.
   */
  tlsRptDomains?: string[];
}

/**
 * TLSA records through the world's validating resolver, read from `drill -D` (DO bit on). An
 * interim for the world's DANE cases: the codec on this branch cannot ask for TLSA yet; once it
 * can, `lookupTlsa` (lib/probe/dns.ts) over the run's Resolver replaces this. NXDOMAIN and
 * NODATA are no records; another rcode (SERVFAIL: Unbound's answer to a bogus zone) throws,
 * which the probe reports as `error`.
 */
export async function tlsaByDrill(host: string, port: number): Promise<TlsaAnswer> {
  const { stdout } = await new Deno.Command("drill", {
    args: ["-D", "-t", "TLSA", `_${port}._tcp.${host}`, "@127.0.0.1"],
    stdout: "piped",
    stderr: "null",
  }).output();
  const text = new TextDecoder().decode(stdout);
  const rcode = /rcode: (\w+)/.exec(text)?.[1];
  const flags = /^;; flags: ([^;]*);/m.exec(text)?.[1] ?? "";
  const secure = flags.split(" ").includes("ad");
  if (rcode === "NXDOMAIN") return { tlsa: secure ? "secure" : "insecure", records: [] };
  if (rcode !== "NOERROR") throw new Error(`TLSA lookup: ${rcode ?? "no answer"}`);
  const records: TlsaRecord[] = [];
  for (const match of text.matchAll(/\tTLSA\t(\d+) (\d+) (\d+) ([0-9a-fA-F]+)$/gm)) {
    const hex = match[4];
    records.push({
      usage: Number(match[1]),
      selector: Number(match[2]),
      matchingType: Number(match[3]),
      data: Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16)),
    });
  }
  return { tlsa: secure ? "secure" : "insecure", records };
}

/**
 * The library's own lookup (`lookupTlsa` over a Resolver with DO, through Unbound) when the
 * codec can ask for TLSA, else `tlsaByDrill`.
 */
async function tlsaSource(): Promise<NonNullable<ProbeOptions["tlsa"]>> {
  const resolver = new Resolver({ servers: [{ address: "127.0.0.1" }], udpSize: 1232 });
  const probe = await lookupTlsa(resolver, "signed.test", 25);
  if (probe.tlsa === "error" && /Cannot ask for record type/.test(probe.reason ?? "")) {
    return tlsaByDrill;
  }
  return async (host, port, signal) => {
    const answer = await lookupTlsa(resolver, host, port, { signal });
    if (answer.tlsa === "error") throw new Error(answer.reason ?? "TLSA lookup failed");
    return answer;
  };
}

if (import.meta.main) {
  const request: ProbeRequest = JSON.parse(await new Response(Deno.stdin.readable).text());
  if (request.tlsa) (request.options as ProbeOptions).tlsa = await tlsaSource();
  if (request.tlsRptDomains !== undefined) {
    using resolver = new Resolver({ servers: [{ address: "127.0.0.1" }], udpSize: 1232 });
    const out = [];
    for (const domain of request.tlsRptDomains) {
      const result = await lookupTlsRpt(resolver, domain);
      const apex = await resolver.query(domain, "TXT").then(
        (answer) =>
          answer.records.flatMap((r) =>
            r.data.type === "TXT"
              ? [r.data.strings.map((s) => new TextDecoder().decode(s)).join("")]
              : []
          ),
        () => [],
      );
      out.push({ result, apex: misplacedTlsRpt("apex", apex) });
    }
    console.log(JSON.stringify(out));
    Deno.exit(0);
  }
  if (request.timing) {
    // One probe first, untimed: node:net, node:tls and node:crypto load once per process.
    await probeHosts(request.targets.slice(0, 1), request.options);
    const single: number[] = [];
    for (const target of request.targets) {
      const started = performance.now();
      await probeHosts([target], request.options);
      single.push(performance.now() - started);
    }
    const started = performance.now();
    await probeHosts(request.targets, request.options);
    console.log(JSON.stringify({ single, together: performance.now() - started }));
  } else {
    const results = await probeHosts(request.targets, request.options);
    console.log(JSON.stringify(results));
  }
}
