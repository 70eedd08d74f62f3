// "Check my domains": MX hosts with addresses, and whether the MTA-STS policy matches every MX.
// Usage: deno run -A --unstable-net check_domains.ts [domain...]
import { lookupDomain, Resolver } from "../../mod.ts";

const domains = Deno.args.length ? Deno.args : ("two-mx.test equal-mx.test signed.test " +
  "sts-enforce.test sts-testing.test sts-mismatch.test nxdomain.test null-mx.test").split(" ");
const caFile = Deno.env.get("CA_FILE") ?? "/etc/ssl/certs/ca-certificates.crt";
const caCerts = [await Deno.readTextFile(caFile)];
using resolver = new Resolver({ servers: [{ address: "127.0.0.1" }], udpSize: 1232 });
let problems = 0;

for (const domain of domains) {
  const r = await lookupDomain(domain, { resolver, caCerts, deadlineMs: 15_000 });
  console.log(`${domain}: ${r.outcome}${r.reason ? ` (${r.reason})` : ""}`);
  for (const h of r.hosts) {
    const addrs = h.addresses.map((a) => a.ip + (a.dnssec ? " (DNSSEC)" : ""));
    const match = h.stsMatch === null ? "" : h.stsMatch ? " sts:ok" : " sts:MISMATCH";
    console.log(`  ${h.priority} ${h.host} [${addrs.join(", ") || h.outcome}]${match}`);
  }
  const p = r.sts.policy;
  const why = r.sts.reason ? ` (${r.sts.reason})` : "";
  console.log(`  MTA-STS: ${p ? `${p.mode}, mx=${p.mx.join(",")}` : "none"}${why}`);
  for (const w of [...r.warnings, ...r.sts.warnings]) console.log(`  warning: ${w}`);
  if (r.outcome !== "ok" || why || r.hosts.some((h) => h.stsMatch === false)) problems++;
}
Deno.exit(problems ? 1 : 0);
