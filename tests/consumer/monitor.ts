// "Monitor": 200 domains concurrently, a total deadline + AbortSignal, structured JSON out.
// Usage: deno run -A --unstable-net monitor.ts [totalMs] > results.json
import { lookupMany, renderJson, Resolver } from "../../mod.ts";

const real = ("two-mx.test equal-mx.test signed.test sts-enforce.test sts-testing.test " +
  "sts-mismatch.test nullmx.test implicit.test noaddr.test sts-stall.test").split(" ");
const domains = [...real, ...Array.from({ length: 190 }, (_, i) => `host${i}.nxdomain.test`)];
const controller = new AbortController();
Deno.addSignalListener("SIGINT", () => controller.abort());
const total = AbortSignal.timeout(Number(Deno.args[0] ?? 10_000));
const signal = AbortSignal.any([controller.signal, total]);

const caFile = Deno.env.get("CA_FILE") ?? "/etc/ssl/certs/ca-certificates.crt";
const caCerts = [await Deno.readTextFile(caFile)];
using resolver = new Resolver({ servers: [{ address: "127.0.0.1" }], socketReuse: 64 });
const options = { resolver, caCerts, concurrency: 64, deadlineMs: 5_000, signal };
const t0 = performance.now();
const results = [];
const summary: Record<string, number> = {};
for await (const { report } of lookupMany(domains, options)) {
  results.push(renderJson(report));
  summary[report.outcome] = (summary[report.outcome] ?? 0) + 1;
}
console.error(`${results.length} domains in ${Math.round(performance.now() - t0)} ms`, summary);
console.log(JSON.stringify(results, null, 1));
