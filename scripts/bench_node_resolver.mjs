// The batch anchor of `deno task bench`: Node's c-ares resolver (`dns.promises.Resolver`)
// doing what testmxlookup does for each domain of a list — MX, then A and AAAA of every MX
// host, and with `--txt yes` the `_mta-sts` TXT record beside the MX query, as testmxlookup
// with MTA-STS on — with a fixed number of domains in flight. Run with the machine's `node` inside the
// test world's namespace; it only talks to the server it is given, which must be loopback.
//
//   node scripts/bench_node_resolver.mjs --server 127.0.0.1 --concurrency 100 \
//     --domains <file, one per line> [--limit 10000] [--time-limit-s 300] [--txt yes]
//
// Prints one JSON line: domains, ok, failed, queries, ms.
import { promises as dns } from "node:dns";
import { readFileSync } from "node:fs";

function options(argv) {
  const opts = {
    server: "127.0.0.1",
    concurrency: 100,
    domains: "",
    limit: Infinity,
    timeLimitS: 300,
    txt: false,
  };
  for (let i = 2; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new RangeError(`${flag} needs a value`);
    if (flag === "--server") opts.server = value;
    else if (flag === "--concurrency") opts.concurrency = Number(value);
    else if (flag === "--domains") opts.domains = value;
    else if (flag === "--limit") opts.limit = Number(value);
    else if (flag === "--time-limit-s") opts.timeLimitS = Number(value);
    else if (flag === "--txt") opts.txt = value === "yes";
    else throw new RangeError(`Unknown option "${flag}"`);
  }
  // Network safety: loopback only (the world's Unbound).
  if (!/^127\.\d+\.\d+\.\d+$/.test(opts.server) && opts.server !== "::1") {
    throw new RangeError(`Cannot use server "${opts.server}": loopback only`);
  }
  if (!(opts.concurrency >= 1 && opts.concurrency <= 10_000)) {
    throw new RangeError("--concurrency must be 1…10000");
  }
  return opts;
}

const opts = options(process.argv);
const domains = readFileSync(opts.domains, "utf8").split("\n").filter((d) => d !== "")
  .slice(0, opts.limit);
// Same timeout and tries as testmxlookup's defaults from resolv.conf (5 s, 2 attempts).
const resolver = new dns.Resolver({ timeout: 5000, tries: 2 });
resolver.setServers([opts.server]);

let queries = 0;
const ask = async (fn, name) => {
  queries++;
  try {
    return await fn.call(resolver, name);
  } catch (error) {
    if (error.code === "ENODATA" || error.code === "ENOTFOUND") return [];
    throw error;
  }
};

async function lookup(domain) {
  const [mx] = await Promise.all([
    ask(resolver.resolveMx, domain),
    opts.txt ? ask(resolver.resolveTxt, `_mta-sts.${domain}`) : undefined,
  ]);
  await Promise.all(mx.flatMap((record) => [
    ask(resolver.resolve4, record.exchange),
    ask(resolver.resolve6, record.exchange),
  ]));
}

const deadline = Date.now() + opts.timeLimitS * 1000;
let next = 0;
let ok = 0;
let failed = 0;
const started = performance.now();
// `concurrency` workers, each taking the next domain until the list (or the time) runs out.
await Promise.all(Array.from({ length: Math.min(opts.concurrency, domains.length) }, async () => {
  while (next < domains.length && Date.now() < deadline) {
    const domain = domains[next++];
    try {
      await lookup(domain);
      ok++;
    } catch {
      failed++;
    }
  }
}));
const ms = performance.now() - started;
console.log(JSON.stringify({ domains: domains.length, ok, failed, queries, ms }));
process.exitCode = ok + failed === domains.length ? 0 : 1;
