// The batch of `deno task bench` through the library: `lookupMany` over a list, as a program
// written against mod.ts does it, with what `--batch` gives it (one resolver reusing its UDP
// sockets, the STS cache of the world, whose .cache_size turns STS off as for the other rows).
// Run inside the test world's namespace; it asks only the server it is given, on loopback.
//
//   deno run … scripts/bench_lookup_many.ts --server 127.0.0.1 --concurrency 50 \
//     --domains <file>
//
// Prints one JSON line: domains, ok, failed, ms (from the first lookup to the last result).
import { lookupMany, readDomainLines, Resolver, StsStore } from "../mod.ts";

function options(argv: string[]) {
  const opts = { server: "127.0.0.1", concurrency: 50, domains: "" };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new RangeError(`${flag} needs a value`);
    if (flag === "--server") opts.server = value;
    else if (flag === "--concurrency") opts.concurrency = Number(value);
    else if (flag === "--domains") opts.domains = value;
    else throw new RangeError(`Unknown option "${flag}"`);
  }
  // Network safety: loopback only (the world's Unbound).
  if (!/^127\.\d+\.\d+\.\d+$/.test(opts.server) && opts.server !== "::1") {
    throw new RangeError(`Cannot use server "${opts.server}": loopback only`);
  }
  return opts;
}

const opts = options(Deno.args);
// Read as a stream, as --batch reads it: memory stays flat however long the list is.
const input = await Deno.open(opts.domains);
using resolver = new Resolver({
  servers: [{ address: opts.server }],
  timeoutMs: 5000,
  attempts: 2,
  socketReuse: 16,
});
const started = performance.now();
let ok = 0;
let failed = 0;
for await (
  const { report } of lookupMany(readDomainLines(input.readable), {
    resolver,
    store: new StsStore("/var/lib/courier/sts"),
    concurrency: opts.concurrency,
  })
) {
  if (report.outcome === "ok") ok++;
  else failed++;
}
const ms = performance.now() - started;
console.log(JSON.stringify({ domains: ok + failed, ok, failed, ms }));
Deno.exit(failed === 0 ? 0 : 1);
