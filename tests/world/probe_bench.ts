// The probe's speed goal in the test world (run as root: `deno run -A tests/world/probe_bench.ts`):
// six addresses (3 MX hosts × A and AAAA, modelled as six loopback addresses) behind a relay
// adding 25 ms each way (latency_proxy.ts) to the world's Postfix, probed all at once by the
// library, against the slowest single address's probe (goal: ≤ slowest + 20 ms), and
// posttls-finger probing the same six one after another. Prints min/median/max of each.
import { fileURLToPath } from "node:url";
import { startProxy } from "./latency_proxies.ts";
import { MAIL_HOST, posttlsFingerCommand, startMailServers } from "./mail_servers.ts";
import type { ProbeRequest } from "./probe_runner.ts";
import { startWorld, worldUnavailableReason } from "./world.ts";

const DELAY_MS = 25;
const ROUNDS = 7;
const ADDRESSES = [1, 2, 3, 4, 5, 6].map((n) => `127.0.26.${n}`);
const RUNNER = fileURLToPath(new URL("./probe_runner.ts", import.meta.url));
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function figures(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const f = (n: number) => `${n.toFixed(0)} ms`;
  return `min ${f(sorted[0])} / median ${f(sorted[sorted.length >> 1])} / max ${f(sorted.at(-1)!)}`;
}

const unavailable = worldUnavailableReason();
if (unavailable !== undefined) {
  console.error(`probe_bench: test world unavailable: ${unavailable}`);
  Deno.exit(1);
}
await using world = await startWorld();
const mail = await startMailServers(world);
await startProxy(
  world,
  "probe-latency-proxy",
  DELAY_MS,
  ADDRESSES.flatMap((address) => ["--tcp", `${address}:25=127.0.25.1:25`]),
  600,
);
for (let attempt = 0; attempt < 100; attempt++) {
  const probe = await world.run(
    ["bash", "-c", `exec 3<>/dev/tcp/${ADDRESSES[5]}/25 && head -c 3 <&3`],
    { timeoutMs: 2_000 },
  );
  if (text(probe.stdout) === "220") break;
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const request: ProbeRequest = {
  targets: ADDRESSES.map((address) => ({ host: MAIL_HOST, address })),
  options: { helo: "worldhost.world.test", caCerts: [mail.certs.ca] },
  timing: true,
};
const slowest: number[] = [];
const together: number[] = [];
const finger: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const run = await world.run([Deno.execPath(), "run", "-A", "--no-prompt", RUNNER], {
    stdin: JSON.stringify(request),
    timeoutMs: 60_000,
  });
  if (run.code !== 0) throw new Error(text(run.stderr));
  const timing = JSON.parse(text(run.stdout)) as { single: number[]; together: number };
  slowest.push(Math.max(...timing.single));
  together.push(timing.together);
  const reference = posttlsFingerCommand();
  const loop = ADDRESSES.map((a) =>
    `${reference.path} -c -l secure -F ${world.dir}/tls/ca.pem -L summary "[${a}]:25" ${MAIL_HOST}`
  ).join(" >/dev/null 2>&1; ");
  const started = performance.now();
  await world.run(["bash", "-c", `${loop} >/dev/null 2>&1`], {
    env: { MAIL_CONFIG: mail.configDir, ...reference.env },
    timeoutMs: 60_000,
  });
  finger.push(performance.now() - started);
}
console.log(`Probe of ${ADDRESSES.length} addresses, ${DELAY_MS} ms each way, ${ROUNDS} rounds:`);
console.log(`  slowest single address:       ${figures(slowest)}`);
console.log(`  all ${ADDRESSES.length} at once (probeHosts):  ${figures(together)}`);
console.log(`  excess over the slowest:      ${figures(together.map((t, i) => t - slowest[i]))}`);
console.log(`  posttls-finger, one by one:   ${figures(finger)}`);
