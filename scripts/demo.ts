// `deno task demo`: starts the local test world (its own network namespace with NSD, Unbound
// and DNSSEC) and runs testmxlookup against some of its domains, so that the tool can be seen
// at work without internet. Needs root (network namespaces) and the world's Debian packages.
import { lookupFlags, MAIN as main } from "../tests/world/tool.ts";
import { startWorld, worldUnavailableReason } from "../tests/world/world.ts";

const DEMOS: string[][] = [
  ["two-mx.test"],
  ["equal-mx.test"],
  ["--dnssec", "signed.test"],
  ["implicit.test"],
  ["null-mx.test"],
  ["münchen.test"],
  ["ip-literal.test"],
  ["nxdomain.test"],
];

const unavailable = worldUnavailableReason();
if (unavailable !== undefined) {
  console.error(`demo: the test world cannot start here: ${unavailable}`);
  console.error("demo: run `bash scripts/install-world-deps.sh` as root, then this again as root");
  Deno.exit(1);
}

const flags = await lookupFlags();
const decoder = new TextDecoder();

await using world = await startWorld();
console.log(`Test world up in network namespace ${world.ns}; resolver 127.0.0.1 (Unbound).\n`);
for (const argv of DEMOS) {
  const result = await world.run([Deno.execPath(), "run", ...flags, main, ...argv]);
  console.log(`$ testmxlookup ${argv.join(" ")}`);
  Deno.stdout.writeSync(result.stdout);
  const stderr = decoder.decode(result.stderr);
  if (stderr) console.log(stderr.trimEnd().split("\n").map((l) => `  (stderr) ${l}`).join("\n"));
  console.log(`  (exit ${result.code})\n`);
}
