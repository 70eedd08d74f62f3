// "Policy inspector": fetch + parse a domain's MTA-STS policy, trusting a private CA.
// Usage: deno run -A --unstable-net policy_inspector.ts [domain] [ca.pem]
import { lookupSts, Resolver } from "../../mod.ts";

const domain = Deno.args[0] ?? "sts-enforce.test";
const caFile = Deno.args[1] ?? Deno.env.get("CA_FILE") ?? "/etc/ssl/certs/ca-certificates.crt";
const caCerts = [await Deno.readTextFile(caFile)];
using resolver = new Resolver({ servers: [{ address: "127.0.0.1" }] });
// No store: the policy is downloaded, from mta-sts.<domain> as `resolver` resolves it.
const sts = await lookupSts(domain, { resolver, caCerts, signal: AbortSignal.timeout(10_000) });
if (!sts.policy) {
  console.error(`${domain}: ${sts.reason ?? "no MTA-STS policy"}`);
  Deno.exit(1);
}
const { mode, maxAge, mx } = sts.policy;
console.log(`url:     https://mta-sts.${domain}/.well-known/mta-sts.txt (id ${sts.id})`);
console.log(`mode:    ${mode}`);
console.log(`max_age: ${maxAge} s (${(maxAge / 86400).toFixed(1)} days)`);
for (const pattern of mx) console.log(`mx:      ${pattern}`);
for (const w of sts.warnings) console.log(`warning: ${w}`);
