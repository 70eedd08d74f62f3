// `deno task demo`: starts the local test world (its own network namespace with NSD, Unbound
// and DNSSEC) and runs testmxlookup against some of its domains (MX, DNSSEC, MTA-STS, --json,
// --batch), and, when Postfix is installed, the delivery probe (`--probe`) against the world's
// mail servers (tests/world/mail_servers.ts), so that the tool can be seen at work without
// internet. Needs root and the world's Debian packages.
import { mailServersUnavailableReason, startMailServers } from "../tests/world/mail_servers.ts";
import { lookupFlags, MAIN as main } from "../tests/world/tool.ts";
import { startWorld, worldUnavailableReason } from "../tests/world/world.ts";

/** A command line, with what it reads on stdin. */
type Demo = { argv: string[]; stdin?: string };

const DEMOS: Demo[] = [
  ["two-mx.test"],
  ["equal-mx.test"],
  ["--dnssec", "signed.test"],
  ["implicit.test"],
  ["null-mx.test"],
  ["münchen.test"],
  ["ip-literal.test"],
  ["nxdomain.test"],
  // MTA-STS: an enforced policy whose patterns one of the two MX hosts does not match.
  ["sts-mismatch.test"],
  ["--sts", "sts-mismatch.test"],
  ["--json", "sts-enforce.test"],
].map((argv): Demo => ({ argv })).concat([{
  argv: ["--batch", "-"],
  stdin: "two-mx.test\nsts-enforce.test\nnxdomain.test\n",
}]);

/** `--probe` against the mail servers: healthy, then each kind of problem. */
const PROBE_DEMOS: Demo[] = [
  // Healthy: both addresses, STARTTLS, a trusted certificate for the name; TLS-RPT published.
  ["--probe", "probe-good.test"],
  // MTA-STS enforce: one MX's certificate expired (and for another name), one MX not listed.
  ["--probe", "probe-sts.test"],
  // No policy: an expired certificate for another name is only a warning.
  ["--probe", "probe-warn.test"],
  // STARTTLS not offered.
  ["--probe", "probe-notls.test"],
  // One MX refuses connections: some addresses fail (exit 2).
  ["--probe", "probe-some.test"],
  // DANE-EE through a validated MX: matched, then a TLSA record one bit off (exit 3).
  ["--probe", "dane-mx.signed.test"],
  ["--probe", "dane-bad-mx.signed.test"],
  ["--probe", "--json", "probe-down.test"],
].map((argv): Demo => ({ argv }));

const unavailable = worldUnavailableReason();
if (unavailable !== undefined) {
  console.error(`demo: the test world cannot start here: ${unavailable}`);
  console.error("demo: run `bash scripts/install-world-deps.sh` as root, then this again as root");
  Deno.exit(1);
}

const flags = await lookupFlags();
const decoder = new TextDecoder();

// The STS cache enabled with Courier's default size, so that policies are fetched and shown.
await using world = await startWorld({ stsCacheSize: null });
console.log(`Test world up in network namespace ${world.ns}; resolver 127.0.0.1 (Unbound).\n`);
const noMail = mailServersUnavailableReason();
if (noMail === undefined) {
  await startMailServers(world);
  DEMOS.push(...PROBE_DEMOS);
} else {
  console.log(`(no --probe demos: ${noMail})\n`);
}
for (const { argv, stdin } of DEMOS) {
  const result = await world.run([Deno.execPath(), "run", ...flags, main, ...argv], { stdin });
  const input = stdin === undefined ? "" : ` <<EOF\n${stdin}EOF`;
  console.log(`$ testmxlookup ${argv.join(" ")}${input}`);
  Deno.stdout.writeSync(result.stdout);
  const stderr = decoder.decode(result.stderr);
  if (stderr) console.log(stderr.trimEnd().split("\n").map((l) => `  (stderr) ${l}`).join("\n"));
  console.log(`  (exit ${result.code})\n`);
}
