// The test world's mail servers for the delivery probe: one Postfix (Debian's, started only
// inside the world's namespace, with its own configuration, queue and data directories in the
// world directory) listening on one loopback address per case, each with its own certificate
// from the world's CA (or its untrusted CA), and nothing on the "refused" address.
import { fileURLToPath } from "node:url";
import { makeProbeCerts, type ProbeCerts } from "../probe/_certs.ts";
import type { World } from "./world.ts";

/** The MX host name every mail-server case presents (SNI and the name certificates match). */
export const MAIL_HOST = "mx.probe.test";

/** One mail-server case: an address and what listens there. */
export interface MailCase {
  /** A short name. */
  name: string;
  /** The address probed. */
  address: string;
  /** The certificate chain served, by name in ProbeCerts; null: no STARTTLS offered. */
  cert: keyof Omit<ProbeCerts, "ca" | "rogueCa" | "key"> | null;
  /** Nothing listens (connection refused). */
  refused?: boolean;
}

/** Every mail-server case. */
export const MAIL_CASES: readonly MailCase[] = [
  { name: "good", address: "127.0.25.1", cert: "good" },
  { name: "good-ipv6", address: "2001:db8:25::1", cert: "good" },
  { name: "expired", address: "127.0.25.2", cert: "expired" },
  { name: "not-yet-valid", address: "127.0.25.3", cert: "future" },
  { name: "wrong-name", address: "127.0.25.4", cert: "wrongName" },
  { name: "untrusted-ca", address: "127.0.25.5", cert: "rogue" },
  { name: "self-signed", address: "127.0.25.6", cert: "selfSigned" },
  { name: "missing-intermediate", address: "127.0.25.7", cert: "missingIntermediate" },
  { name: "intermediate", address: "127.0.25.8", cert: "viaIntermediate" },
  { name: "wildcard", address: "127.0.25.9", cert: "wildcard" },
  { name: "no-starttls", address: "127.0.25.10", cert: null },
  { name: "refused", address: "127.0.25.11", cert: null, refused: true },
];

/** The running servers. */
export interface MailServers {
  /** The PEM texts served (the world's CA as `ca`). */
  certs: ProbeCerts;
  /** Host path of the Postfix configuration directory (posttls-finger's `MAIL_CONFIG`). */
  configDir: string;
}

/**
 * How to run posttls-finger, the probe's reference: the copy unpacked from Debian's `postfix`
 * package by scripts/install-world-deps.sh (with its own libraries), else the installed one.
 */
export function posttlsFingerCommand(): { path: string; env: Record<string, string> } {
  const cache = Deno.env.get("TESTMXLOOKUP_WORLD_CACHE") ?? "/var/cache/testmxlookup-world";
  const unpacked = `${cache}/postfix`;
  try {
    Deno.statSync(`${unpacked}/usr/sbin/posttls-finger`);
    // The binary's RUNPATH is /usr/lib/postfix; LD_LIBRARY_PATH is searched before it.
    return {
      path: `${unpacked}/usr/sbin/posttls-finger`,
      env: { LD_LIBRARY_PATH: `${unpacked}/usr/lib/postfix` },
    };
  } catch {
    return { path: "/usr/sbin/posttls-finger", env: {} };
  }
}

/** Says why the mail servers cannot run here, or undefined. */
export function mailServersUnavailableReason(): string | undefined {
  for (const tool of ["/usr/sbin/postfix", posttlsFingerCommand().path]) {
    try {
      Deno.statSync(tool);
    } catch {
      return `${tool} not installed (run scripts/install-world-deps.sh as root)`;
    }
  }
  try {
    Deno.statSync("/usr/lib/postfix/sbin/smtpd");
  } catch {
    return "Postfix's smtpd not installed";
  }
  return undefined;
}

function listen(address: string): string {
  return address.includes(":") ? `[${address}]:smtp` : `${address}:smtp`;
}

async function run(argv: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`${argv.join(" ")} failed: ${new TextDecoder().decode(stderr)}`);
  }
}

/**
 * Makes the certificates, writes Postfix's configuration and starts it in the world's
 * namespace; returns once every case's address greets (at most `timeoutMs`).
 *
 * @param world The running world.
 * @param timeoutMs How long Postfix may take to come up.
 * @returns The certificates and the configuration directory.
 */
export async function startMailServers(world: World, timeoutMs = 10_000): Promise<MailServers> {
  const certs = await makeProbeCerts({
    roots: {
      ca: { pem: `${world.dir}/tls/ca.pem`, key: `${world.dir}/tls/ca.key` },
      rogueCa: {
        pem: `${world.dir}/tls/untrusted-ca.pem`,
        key: `${world.dir}/tls/untrusted-ca.key`,
      },
    },
    // Fixed keys: the signed zone's TLSA records name them (zones/signed.test.zone).
    keys: {
      leaf: fileURLToPath(new URL("./zones/dane/leaf.key", import.meta.url)),
      intermediate: fileURLToPath(new URL("./zones/dane/intermediate.key", import.meta.url)),
    },
  });
  const base = `${world.dir}/postfix`;
  const configDir = `${base}/conf`;
  for (const sub of ["conf", "queue", "data", "tls"]) {
    await Deno.mkdir(`${base}/${sub}`, { recursive: true });
  }
  await Deno.writeTextFile(`${base}/tls/key.pem`, certs.key, { mode: 0o600 });
  const services: string[] = [];
  for (const c of MAIL_CASES) {
    if (c.refused) continue;
    if (c.cert === null) {
      services.push(`${listen(c.address)} inet n - n - - smtpd -o smtpd_tls_security_level=none`);
      continue;
    }
    const chain = `${base}/tls/${c.name}.pem`;
    await Deno.writeTextFile(chain, certs[c.cert]);
    services.push(
      `${
        listen(c.address)
      } inet n - n - - smtpd -o smtpd_tls_chain_files=${base}/tls/key.pem,${chain}`,
    );
  }
  await Deno.writeTextFile(
    `${configDir}/main.cf`,
    [
      "# Generated by tests/world/mail_servers.ts",
      "compatibility_level = 3.6",
      `queue_directory = ${base}/queue`,
      `data_directory = ${base}/data`,
      "mail_owner = postfix",
      "setgid_group = postdrop",
      "inet_interfaces = all",
      "inet_protocols = all",
      `myhostname = ${MAIL_HOST}`,
      "mydestination =",
      "alias_maps =",
      "alias_database =",
      "local_recipient_maps =",
      "smtpd_banner = $myhostname ESMTP",
      "maillog_file = /dev/stdout",
      "smtpd_tls_security_level = may",
      "smtpd_tls_loglevel = 1",
      // posttls-finger reads this file too (MAIL_CONFIG): no DNS of its own.
      "smtp_dns_support_level = disabled",
      "",
    ].join("\n"),
  );
  await Deno.writeTextFile(
    `${configDir}/master.cf`,
    [
      "# Generated by tests/world/mail_servers.ts",
      ...services,
      "postlog unix-dgram n - n - 1 postlogd",
      "tlsmgr unix - - n 1000? 1 tlsmgr",
      "anvil unix - - n - 1 anvil",
      "proxymap unix - - n - - proxymap",
      "",
    ].join("\n"),
  );
  // Postfix rereads a configuration file modified within the last second until it settles
  // (about 2 s of start-up): these were written by us, complete, so they are dated back.
  const past = new Date(Date.now() - 60_000);
  for (const file of ["main.cf", "master.cf"]) await Deno.utime(`${configDir}/${file}`, past, past);
  // Postfix runs as `postfix` after start-up and keeps its state here.
  await run(["chown", "postfix", `${base}/data`]);
  for (const c of MAIL_CASES) {
    if (c.address.includes(":")) {
      await run(["ip", "-n", world.ns, "addr", "add", `${c.address}/128`, "dev", "lo", "nodad"]);
    }
  }
  world.spawn("postfix", ["/usr/sbin/postfix", "-c", configDir, "start-fg"]);
  // What Postfix won't do: scripted fakes on their own addresses (smtp_fakes.ts).
  world.spawn("smtp-fakes", [
    Deno.execPath(),
    "run",
    "--allow-net",
    "--no-prompt",
    fileURLToPath(new URL("./smtp_fakes.ts", import.meta.url)),
    "--time-limit-s",
    "600",
  ]);
  // One run inside the namespace waits for every address's greeting (bash's /dev/tcp), each
  // try bounded by `timeout 1`, all bounded by the run's own timeout.
  const addresses = MAIL_CASES.filter((c) => !c.refused).map((c) => c.address);
  const tries = Math.ceil(timeoutMs / 20);
  const wait = await world.run([
    "bash",
    "-c",
    `for a in "$@"; do
       for i in $(seq 1 ${tries}); do
         [ "$(timeout 1 bash -c 'exec 3<>/dev/tcp/'"$a"'/25 && head -c 3 <&3' 2>/dev/null)" = 220 ] &&
           continue 2
         sleep 0.02
       done
       echo "$a"; exit 1
     done`,
    "wait",
    ...addresses,
  ], { timeoutMs: timeoutMs + 2_000 });
  if (wait.code !== 0) {
    const log = await Deno.readTextFile(`${world.dir}/postfix.out`).catch(() => "");
    const which = new TextDecoder().decode(wait.stdout).trim() || "some address";
    throw new Error(`Postfix does not greet on ${which} in time:\n${log.slice(-2000)}`);
  }
  // The fakes say "ready" once every one listens.
  for (let attempt = 0; attempt < 500; attempt++) {
    const out = await Deno.readTextFile(`${world.dir}/smtp-fakes.out`).catch(() => "");
    if (out.includes("ready")) return { certs, configDir };
    if (attempt === 499) throw new Error(`The SMTP fakes did not start:\n${out.slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { certs, configDir };
}
