/**
 * The test world: a network namespace with NSD (authoritative for `test.` on 127.0.0.2)
 * and a validating Unbound (127.0.0.1, ::1), plus a runner that executes a program inside
 * it with its own /etc overlay, a shared STS cache directory and a fixed hostname, so
 * Courier's `testmxlookup` and ours see the same world through their default paths.
 *
 * For MTA-STS, nginx serves the policies of `sts_sites.ts` over HTTPS on 127.0.0.4:443
 * inside the namespace, with certificates from a CA generated at start-up
 * ({@linkcode World.caFile}), which the runs' `/etc/wgetrc` (Courier's wget) and
 * `/etc/courier/courierd` (`TLS_TRUSTCERTS`, this tool) name.
 *
 * Needs root, iproute2, util-linux, nsd, unbound, ldnsutils, nginx, openssl and wget
 * (`scripts/install-world-deps.sh`). Nothing outside the namespace is contacted; the
 * host's /etc and /var/lib are only ever read (they are the lower layers of overlays).
 * The case tables are in `tests/world/README.md`.
 *
 * @module
 */

import { POLICY_ADDRESS, POLICY_PATH, POLICY_SITES, type PolicySite } from "./sts_sites.ts";

/** Default directory where `scripts/install-world-deps.sh` unpacks Courier. */
export const DEFAULT_WORLD_CACHE = "/var/cache/testmxlookup-world";

/** Name prefix of every namespace (and temporary directory) a world creates. */
export const NS_PREFIX = "tmxw-";

/** Hostname every run sees unless {@linkcode WorldOptions.hostname} says otherwise. */
export const WORLD_HOSTNAME = "worldhost";

/** Default domain written to the world's resolv.conf (dotless names complete to it). */
export const WORLD_DOMAIN = "world.test";

/** Where NSD listens inside the namespace. */
export const NSD_ADDRESS = "127.0.0.2";

/** Where Unbound refuses every query; `servfail.test` is delegated here. */
export const REFUSING_ADDRESS = "127.0.0.3";

export { DEAD_ADDRESS, POLICY_ADDRESS, POLICY_PATH } from "./sts_sites.ts";

/** Where runs see the world's CA (in the /etc overlay), {@linkcode World.caFile}. */
export const WORLD_CA_FILE = "/etc/ssl/certs/testmxlookup-world-ca.pem";

/** Where runs see the CA nothing trusts, {@linkcode World.untrustedCaFile}. */
export const UNTRUSTED_CA_FILE = "/etc/ssl/certs/testmxlookup-untrusted-ca.pem";

/** Upper bound for every wait on a helper command (ip, ldns-keygen, drill, …). */
const HELPER_TIMEOUT_MS = 10_000;

/** How long one readiness probe (a drill query) may take. */
const PROBE_TIMEOUT_MS = 300;

/** Ids for the `courier` account added to the world's /etc when the host has none. */
const COURIER_ID_FIRST = 64010;

const ZONES_DIR = new URL("./zones/", import.meta.url);

/** Certificates are valid from now for this many days. */
const CERT_DAYS = 30;

/** Options for {@linkcode startWorld}. */
export interface WorldOptions {
  /**
   * Parent of the world's temporary directory.
   * @default {"/tmp"}
   */
  baseDir?: string;
  /**
   * Content of `.cache_size` in the shared STS directory; `null` means no file (STS
   * cache enabled with Courier's default size).
   * @default {"0\n"} (STS disabled, for the DNS-only cases)
   */
  stsCacheSize?: string | null;
  /**
   * Extra files for the /etc every run sees, by path relative to /etc
   * (`{ "courier/locals": "mail.example\n", "wgetrc": "…" }`).
   * @default {{}}
   */
  etcFiles?: Record<string, string>;
  /**
   * Hostname every run sees.
   * @default {"worldhost"}
   */
  hostname?: string;
  /**
   * Directory holding Courier's unpacked packages (`usr/bin/testmxlookup`).
   * @default {`$TESTMXLOOKUP_WORLD_CACHE/courier`, else `/var/cache/testmxlookup-world/courier`}
   */
  courierDir?: string;
  /**
   * How long the daemons may take to answer before {@linkcode startWorld} fails.
   * @default {20000} (a loaded machine can take seconds; a ready world is seen at once)
   */
  startTimeoutMs?: number;
  /**
   * Keep the world directory after {@linkcode World.stop} (for debugging the daemons'
   * logs).
   * @default {false}
   */
  keepDir?: boolean;
  /**
   * More zones for NSD, by origin (a name under `test.`, which Unbound's stub-zone sends
   * to NSD), as zone-file text. For the bench's generated zones: the tests' world does
   * not pay for them. Give {@linkcode startTimeoutMs} room for NSD to load big ones.
   * @default {{}}
   */
  extraZones?: Record<string, string>;
}

/** Options for {@linkcode World.run}. */
export interface RunOptions {
  /**
   * Environment variables added to the run's environment, which otherwise holds only
   * PATH, HOME and, when set on the host, DENO_DIR and TZ.
   * @default {{}}
   */
  env?: Record<string, string>;
  /**
   * Text written to the program's standard input; without it stdin is /dev/null.
   */
  stdin?: string;
  /**
   * The program (and everything it started) is killed with SIGKILL after this long.
   * @default {30000}
   */
  timeoutMs?: number;
}

/** What {@linkcode World.run} returns. */
export interface RunResult {
  /** Exit status; 128 + signal number when killed by a signal (as a shell reports it). */
  code: number;
  /** The terminating signal, if any. */
  signal: Deno.Signal | null;
  /** Whether the run was killed because it exceeded {@linkcode RunOptions.timeoutMs}. */
  timedOut: boolean;
  stdout: Uint8Array;
  stderr: Uint8Array;
}

/** A file of the STS directory, as {@linkcode World.readSts} returns it. */
export interface StsFile {
  bytes: Uint8Array;
  /** The file's mtime in whole seconds since the epoch. */
  mtime: number;
}

/** A running test world. Stop it with {@linkcode World.stop} (or `await using`). */
export interface World extends AsyncDisposable {
  /** Name of the network namespace (`tmxw-<pid>-<n>`). */
  readonly ns: string;
  /** The world's temporary directory (configs, zones, keys, logs). */
  readonly dir: string;
  /** Host path of the resolv.conf every run sees as /etc/resolv.conf. */
  readonly resolvConf: string;
  /** Host path of the directory every run sees as /etc (the top overlay layer). */
  readonly etcDir: string;
  /** Host path of the directory every run sees as /var/lib/courier/sts (shared). */
  readonly stsDir: string;
  /** uid and gid of the `courier` account the runs see. */
  readonly courierIds: { uid: number; gid: number };
  /**
   * Path, inside every run, of the world's CA certificate (PEM), which signed every
   * policy server certificate but one: {@linkcode WORLD_CA_FILE}. The runs'
   * `/etc/wgetrc` has `ca_certificate = <caFile>` (Courier's wget) and
   * `/etc/courier/courierd` has `TLS_TRUSTCERTS=<caFile>` (this tool, D3). It lies in
   * the /etc overlay (host path `${etcDir}/ssl/certs/…`), under `/etc/ssl/certs`, which
   * `deno task lookup` may read. Generated at start-up, valid for 30 days from then.
   */
  readonly caFile: string;
  /**
   * Path, inside every run, of a second CA that nothing trusts, which signed the
   * certificate of `mta-sts.sts-untrusted.test`: {@linkcode UNTRUSTED_CA_FILE}.
   */
  readonly untrustedCaFile: string;
  /** Wrapper that runs Courier's `testmxlookup` (use inside {@linkcode World.run}). */
  readonly courierBin?: string;
  /** Why {@linkcode World.courierBin} is undefined. */
  readonly courierUnavailableReason?: string;
  /**
   * Runs `argv` inside the world: network namespace, private mount and UTS namespaces,
   * the world's /etc and STS directory, the world's hostname. Never rejects because of
   * the program's exit status.
   */
  run(argv: string[], options?: RunOptions): Promise<RunResult>;
  /**
   * Writes a file into the world's /etc (path relative to /etc), or removes it when
   * `content` is `null`. Only call it while no run is in flight.
   */
  writeEtc(path: string, content: string | null): Promise<void>;
  /**
   * Empties the shared STS directory and writes `.cache_size` (`null`: no file).
   * Only call it while no run is in flight.
   */
  resetSts(cacheSize?: string | null): Promise<void>;
  /**
   * The files of the shared STS directory (`.cache_size` included, directories not),
   * by name, with their bytes and mtime. Only call it while no run is in flight.
   */
  readSts(): Promise<Map<string, StsFile>>;
  /**
   * Sets the mtime (and atime) of a file in the STS directory — the cache entry's
   * timestamp (`docs/courier.md#cache-file-format`). `mtime`: a Date or seconds since the epoch.
   */
  setStsMtime(name: string, mtime: Date | number): Promise<void>;
  /**
   * Replaces the policy served for `mta-sts.<domain>` (a host of `sts_sites.ts` that
   * serves a body); nginx serves the new bytes from the next request on.
   */
  writePolicy(domain: string, body: string | Uint8Array): Promise<void>;
  /**
   * The policy server's requests so far, one line each:
   * `<SNI name> <method> <path> <status> <body bytes>`.
   */
  policyRequests(): Promise<string[]>;
  /**
   * Starts a long-running program inside the network namespace only (no /etc overlay,
   * no private mounts), such as the bench's latency proxy. Its stdout and stderr go to
   * `<dir>/<name>.out`; {@linkcode World.stop} kills it if it still runs.
   */
  spawn(name: string, argv: string[]): Deno.ChildProcess;
  /** Kills the daemons and every process left in the namespace, removes everything. */
  stop(): Promise<void>;
}

/**
 * Says why a world cannot start on this machine, or `undefined` when it can. Tests use
 * it to skip loudly.
 */
export function worldUnavailableReason(): string | undefined {
  if (Deno.build.os !== "linux") return `not Linux (${Deno.build.os})`;
  if (Deno.uid() !== 0) return "not root (network namespaces and mounts need root)";
  for (const tool of ["ip", "unshare", "setsid", "mount", "nsd", "unbound", "drill"]) {
    if (findExecutable(tool) === undefined) {
      return `${tool} not installed (run scripts/install-world-deps.sh)`;
    }
  }
  for (const tool of ["nginx", "openssl", "wget"]) {
    if (findExecutable(tool) === undefined) {
      return `${tool} not installed (the HTTPS policy server; run scripts/install-world-deps.sh)`;
    }
  }
  for (const tool of ["ldns-keygen", "ldns-signzone"]) {
    if (findExecutable(tool) === undefined) {
      return `${tool} not installed (ldnsutils; run scripts/install-world-deps.sh)`;
    }
  }
  try {
    if (!/\soverlay$/m.test(Deno.readTextFileSync("/proc/filesystems"))) {
      return "the kernel has no overlay filesystem";
    }
  } catch (error) {
    return `cannot read /proc/filesystems: ${(error as Error).message}`;
  }
  return undefined;
}

/**
 * Says why Courier's binary is not available, or `undefined` when it is.
 *
 * @param courierDir directory holding the unpacked packages
 */
export function courierUnavailableReason(courierDir = defaultCourierDir()): string | undefined {
  const bin = `${courierDir}/usr/bin/testmxlookup`;
  try {
    const info = Deno.statSync(bin);
    if (!info.isFile || ((info.mode ?? 0) & 0o111) === 0) return `${bin} is not executable`;
  } catch {
    return `${bin} not found (run scripts/install-world-deps.sh)`;
  }
  return undefined;
}

let worldCount = 0;

/**
 * Starts a world: namespace, keys, signed zones, NSD, Unbound. Rejects with a clear
 * message (and leaves nothing behind) when something does not come up in time.
 *
 * @param options see {@linkcode WorldOptions}
 * @returns the running world
 * @throws {Error} when the machine cannot host a world or a daemon does not come up
 */
export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const reason = worldUnavailableReason();
  if (reason !== undefined) throw new Error(`Cannot start the test world: ${reason}`);
  await cleanStaleWorlds(options.baseDir ?? "/tmp");
  const ns = `${NS_PREFIX}${Deno.pid}-${worldCount++}`;
  const dir = await Deno.makeTempDir({ dir: options.baseDir ?? "/tmp", prefix: `${ns}-` });
  const world = new RealWorld(ns, dir, options);
  try {
    await world.setUp();
  } catch (error) {
    await world.stop();
    throw error;
  }
  return world;
}

class RealWorld implements World {
  readonly ns: string;
  readonly dir: string;
  readonly resolvConf: string;
  readonly etcDir: string;
  readonly stsDir: string;
  readonly caFile: string;
  readonly untrustedCaFile: string;
  courierIds = { uid: COURIER_ID_FIRST, gid: COURIER_ID_FIRST };
  courierBin?: string;
  courierUnavailableReason?: string;
  #options: WorldOptions;
  #daemons: Deno.ChildProcess[] = [];
  #nsCreated = false;
  #stopped = false;

  constructor(ns: string, dir: string, options: WorldOptions) {
    this.ns = ns;
    this.dir = dir;
    this.etcDir = `${dir}/etc`;
    this.resolvConf = `${dir}/etc/resolv.conf`;
    this.stsDir = `${dir}/sts`;
    this.caFile = WORLD_CA_FILE;
    this.untrustedCaFile = UNTRUSTED_CA_FILE;
    this.#options = options;
  }

  async setUp(): Promise<void> {
    const started = performance.now();
    const deadline = started + (this.#options.startTimeoutMs ?? 20_000);
    await this.#writeFiles();
    await Promise.all([this.#signZones(), this.#makeCertificates(), this.#writePolicyServer()]);
    await helper(["ip", "netns", "add", this.ns]);
    this.#nsCreated = true;
    await helper(["ip", "-n", this.ns, "link", "set", "lo", "up"]);
    await Deno.mkdir(`/etc/netns/${this.ns}`, { recursive: true });
    await Deno.copyFile(this.resolvConf, `/etc/netns/${this.ns}/resolv.conf`);
    this.spawn("nsd", ["nsd", "-d", "-c", `${this.dir}/nsd.conf`]);
    this.spawn("unbound", ["unbound", "-d", "-c", `${this.dir}/unbound.conf`]);
    this.spawn("nginx", [
      "nginx",
      "-p",
      `${this.dir}/nginx/`,
      "-c",
      `${this.dir}/nginx/nginx.conf`,
      "-e",
      `${this.dir}/nginx.log`,
    ]);
    // NSD first: an Unbound that met a dead NSD would remember it as down for a while.
    await this.#waitFor("nsd", ["drill", `@${NSD_ADDRESS}`, "test.", "SOA"], deadline);
    // NSD does not serve a zone whose file has errors: a broken extra zone fails here.
    for (const origin of Object.keys(this.#options.extraZones ?? {})) {
      await this.#waitFor("nsd", ["drill", `@${NSD_ADDRESS}`, origin, "SOA"], deadline);
    }
    await this.#waitFor(
      "unbound",
      ["drill", "-D", "@127.0.0.1", "signed.test.", "SOA"],
      deadline,
      (out) =>
        /rcode: NOERROR/.test(out) &&
        / ad /.test(out.split("\n").find((l) => l.startsWith(";; flags:")) ?? ""),
    );
    // nginx last: its probe fetches sts-enforce.test's policy by name through Unbound.
    const probeSite = POLICY_SITES[0];
    await this.#waitFor(
      "nginx",
      [
        "wget",
        "--no-config",
        "--no-hsts",
        "--no-proxy",
        "--tries=1",
        "--timeout=1",
        `--ca-certificate=${this.dir}/tls/ca.pem`,
        "-q",
        "-O",
        "-",
        `https://mta-sts.${probeSite.domain}${POLICY_PATH}`,
      ],
      deadline,
      (out) => out === probeSite.body,
    );
  }

  /**
   * A CA and a server certificate for every trusted `mta-sts.*` host (one certificate,
   * many SANs), and a second CA with a certificate for the untrusted host. EC P-256
   * keys: generating them takes milliseconds.
   */
  async #makeCertificates(): Promise<void> {
    const tls = `${this.dir}/tls`;
    const hostsOf = (untrusted: boolean) =>
      POLICY_SITES.filter((site) => (site.untrusted ?? false) === untrusted)
        .map((site) => `DNS:mta-sts.${site.domain}`).join(",");
    await Deno.writeTextFile(
      `${tls}/openssl.cnf`,
      `# Generated by tests/world/world.ts
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = ${hostsOf(false)}
[untrusted_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = ${hostsOf(true)}
`,
    );
    const req = (name: string, extensions: string, subject: string, ca?: string) =>
      helper([
        "openssl",
        "req",
        "-x509",
        "-config",
        "openssl.cnf",
        "-extensions",
        extensions,
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        String(CERT_DAYS),
        "-subj",
        subject,
        ...(ca ? ["-CA", `${ca}.pem`, "-CAkey", `${ca}.key`] : []),
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.pem`,
      ], tls);
    await Promise.all([
      req("ca", "ca_ext", "/CN=testmxlookup test world CA")
        .then(() => req("server", "server_ext", "/CN=mta-sts.test world", "ca")),
      req("untrusted-ca", "ca_ext", "/CN=testmxlookup untrusted CA")
        .then(() => req("untrusted", "untrusted_ext", "/CN=mta-sts untrusted", "untrusted-ca")),
    ]);
    for (const name of ["ca", "server", "untrusted-ca", "untrusted"]) {
      await Deno.chmod(`${tls}/${name}.key`, 0o600);
      await Deno.chmod(`${tls}/${name}.pem`, 0o644);
    }
    // The CAs as the runs see them, in their /etc (readable by `courier` too).
    await Deno.mkdir(`${this.etcDir}/ssl/certs`, { recursive: true });
    for (const [from, to] of [["ca", this.caFile], ["untrusted-ca", this.untrustedCaFile]]) {
      await Deno.copyFile(`${tls}/${from}.pem`, `${this.etcDir}/${to.slice("/etc/".length)}`);
    }
  }

  /** nginx's configuration and the policy files it serves. */
  async #writePolicyServer(): Promise<void> {
    for (const site of POLICY_SITES) {
      if (site.body !== undefined) await this.writePolicy(site.domain, site.body);
    }
    await Deno.writeTextFile(`${this.dir}/nginx/nginx.conf`, nginxConf(this.dir, POLICY_SITES));
  }

  async #writeFiles(): Promise<void> {
    const dir = this.dir;
    await Deno.chmod(dir, 0o755);
    const subs = ["etc/courier", "varlib/courier/sts", "sts", "zones", "keys", "scratch"];
    for (const sub of [...subs, "tls", "www", "nginx/tmp"]) {
      await Deno.mkdir(`${dir}/${sub}`, { recursive: true });
    }
    for await (const entry of Deno.readDir(ZONES_DIR)) {
      if (entry.isFile) {
        await Deno.copyFile(new URL(entry.name, ZONES_DIR), `${dir}/zones/${entry.name}`);
      }
    }
    for (const [origin, text] of Object.entries(this.#options.extraZones ?? {})) {
      // Under test., so Unbound's stub-zone already sends its questions to NSD.
      if (!/^([a-z0-9-]+\.)+test\.?$/.test(origin)) {
        throw new RangeError(`Cannot add zone "${origin}": not a name under test.`);
      }
      await Deno.writeTextFile(`${dir}/zones/${extraZoneFile(origin)}`, text);
    }

    // /etc of every run: resolv.conf, hosts, passwd/group with a courier account (Courier
    // exits when run as root without one), courier/ (no locals, no me: the hostname
    // decides what is local), and whatever the caller adds.
    await Deno.writeTextFile(
      this.resolvConf,
      `domain ${WORLD_DOMAIN}\nnameserver 127.0.0.1\n`,
    );
    await Deno.writeTextFile(
      `${dir}/etc/hosts`,
      `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n`,
    );
    const passwd = await Deno.readTextFile("/etc/passwd");
    const group = await Deno.readTextFile("/etc/group");
    const ids = chooseCourierIds(passwd, group);
    this.courierIds = { uid: ids.uid, gid: ids.gid };
    await Deno.writeTextFile(`${dir}/etc/passwd`, ensureNewline(passwd) + ids.passwdLine);
    await Deno.writeTextFile(`${dir}/etc/group`, ensureNewline(group) + ids.groupLine);
    // The world's CA for both tools' downloads: Courier's wget reads /etc/wgetrc, this
    // tool TLS_TRUSTCERTS in /etc/courier/courierd (D3). #makeCertificates puts the CA
    // there.
    await this.writeEtc(
      "wgetrc",
      `# Generated by tests/world/world.ts: trust the test world's CA\nca_certificate = ${this.caFile}\n`,
    );
    await this.writeEtc("courier/courierd", `TLS_TRUSTCERTS=${this.caFile}\n`);
    for (const [path, content] of Object.entries(this.#options.etcFiles ?? {})) {
      await this.writeEtc(path, content);
    }
    await this.resetSts(
      this.#options.stsCacheSize === undefined ? "0\n" : this.#options.stsCacheSize,
    );

    // The runner: executed by `ip netns exec NS unshare --mount --uts` (private mounts),
    // it layers the world's /etc and /var/lib over the host's on a per-run tmpfs (so
    // concurrent runs never share an overlay upper directory), binds the shared STS
    // directory and sets the hostname.
    const hostname = this.#options.hostname ?? WORLD_HOSTNAME;
    await Deno.writeTextFile(
      `${dir}/enter.sh`,
      `#!/bin/sh
set -eu
W=${shellQuote(dir)}
mount -t tmpfs -o mode=0755,size=64m world-scratch "$W/scratch"
mkdir "$W/scratch/etc" "$W/scratch/etc.work" "$W/scratch/varlib" "$W/scratch/varlib.work"
mount -t overlay overlay \\
  -o "lowerdir=$W/etc:/etc,upperdir=$W/scratch/etc,workdir=$W/scratch/etc.work" /etc
mount -t overlay overlay \\
  -o "lowerdir=$W/varlib:/var/lib,upperdir=$W/scratch/varlib,workdir=$W/scratch/varlib.work" \\
  /var/lib
mount --bind "$W/sts" /var/lib/courier/sts
echo ${shellQuote(hostname)} >/proc/sys/kernel/hostname
exec "$@"
`,
      { mode: 0o755 },
    );

    const courierDir = this.#options.courierDir ?? defaultCourierDir();
    this.courierUnavailableReason = courierUnavailableReason(courierDir);
    if (this.courierUnavailableReason === undefined) {
      const libDirs = [];
      for await (const entry of Deno.readDir(`${courierDir}/usr/lib`)) {
        if (entry.isDirectory && entry.name.includes("-linux-")) {
          libDirs.push(`${courierDir}/usr/lib/${entry.name}`);
        }
      }
      this.courierBin = `${dir}/courier-testmxlookup`;
      await Deno.writeTextFile(
        this.courierBin,
        `#!/bin/sh
# Courier's reference testmxlookup, unpacked (not installed) by install-world-deps.sh.
LD_LIBRARY_PATH=${shellQuote(libDirs.join(":"))}
export LD_LIBRARY_PATH
exec ${shellQuote(`${courierDir}/usr/bin/testmxlookup`)} "$@"
`,
        { mode: 0o755 },
      );
    }
  }

  async #signZones(): Promise<void> {
    const keys = `${this.dir}/keys`;
    const zones = `${this.dir}/zones`;
    const keygen = async (zone: string, ksk: boolean): Promise<string> => {
      const args = ["ldns-keygen", "-a", "ECDSAP256SHA256", ...(ksk ? ["-k"] : []), zone];
      return (await helper(args, keys)).trim();
    };
    // Signatures valid from yesterday for 30 days, so small clock differences do not
    // matter.
    const day = 86_400_000;
    const inception = ldnsTime(new Date(Date.now() - day));
    const expiration = ldnsTime(new Date(Date.now() + 30 * day));
    const sign = async (zone: string, keyNames: string[]): Promise<void> => {
      await helper([
        "ldns-signzone",
        "-i",
        inception,
        "-e",
        expiration,
        "-f",
        `${zones}/${zone}.zone.signed`,
        `${zones}/${zone}.zone`,
        ...keyNames.map((k) => `${keys}/${k}`),
      ], keys);
    };
    // signed.test: anchored by its own key-signing key.
    const signedKsk = await keygen("signed.test", true);
    const signedZsk = await keygen("signed.test", false);
    await sign("signed.test", [signedKsk, signedZsk]);
    // bogus.test: signed with one key, anchored by another, so validation fails.
    const bogusKsk = await keygen("bogus.test", true);
    const bogusZsk = await keygen("bogus.test", false);
    const otherKsk = await keygen("bogus.test", true);
    await sign("bogus.test", [bogusKsk, bogusZsk]);
    const anchors = (await Deno.readTextFile(`${keys}/${signedKsk}.ds`)) +
      (await Deno.readTextFile(`${keys}/${otherKsk}.ds`));
    await Deno.writeTextFile(`${this.dir}/trust-anchors`, anchors);
    await Deno.writeTextFile(
      `${this.dir}/nsd.conf`,
      nsdConf(this.dir, Object.keys(this.#options.extraZones ?? {})),
    );
    await Deno.writeTextFile(`${this.dir}/unbound.conf`, unboundConf(this.dir));
  }

  spawn(name: string, argv: string[]): Deno.ChildProcess {
    if (this.#stopped || !this.#nsCreated) throw new Error("Cannot spawn: no running world");
    if (!/^[a-z0-9-]+$/.test(name)) throw new RangeError(`Cannot spawn "${name}": not a name`);
    // `ip netns exec` and sh both exec, so the child is the daemon itself; its output
    // goes to <dir>/<name>.out, next to the <name>.log the daemon writes.
    const child = new Deno.Command("sh", {
      args: [
        "-c",
        'exec "$@" >>"$0" 2>&1',
        `${this.dir}/${name}.out`,
        "ip",
        "netns",
        "exec",
        this.ns,
        ...argv,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    this.#daemons.push(child);
    return child;
  }

  async #waitFor(
    name: string,
    argv: string[],
    deadline: number,
    ok: (stdout: string) => boolean = (out) => /rcode: NOERROR/.test(out),
  ): Promise<void> {
    let last = "no probe sent";
    // At least one probe even when the deadline has passed; each probe is killed after
    // PROBE_TIMEOUT_MS (drill itself would wait 5 s for a datagram lost at start-up).
    // A probe succeeds when it exits 0 and `ok` accepts its stdout.
    for (let attempt = 0; attempt < 500; attempt++) {
      if (attempt > 0 && performance.now() >= deadline) break;
      const child = new Deno.Command("ip", {
        args: ["netns", "exec", this.ns, ...argv],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const timer = killAfter(child, PROBE_TIMEOUT_MS);
      const out = await child.output().finally(() => clearTimeout(timer));
      const text = new TextDecoder().decode(out.stdout);
      if (out.success && ok(text)) return;
      last = out.signal === "SIGKILL"
        ? `no answer within ${PROBE_TIMEOUT_MS} ms`
        : (text + new TextDecoder().decode(out.stderr)).trim();
      await delay(20);
    }
    const log = await readTail(`${this.dir}/${name}.out`) +
      await readTail(`${this.dir}/${name}.log`);
    throw new Error(
      `Cannot start the test world: ${name} did not answer in time\n` +
        `last probe (${argv.join(" ")}): ${last}\n${name} log:\n${log}`,
    );
  }

  writeEtc(path: string, content: string | null): Promise<void> {
    if (path.startsWith("/") || path.split("/").includes("..")) {
      throw new RangeError(`Cannot write "${path}": not a relative path inside /etc`);
    }
    const file = `${this.etcDir}/${path}`;
    if (content === null) return Deno.remove(file).catch(ignoreNotFound);
    return Deno.mkdir(file.slice(0, file.lastIndexOf("/")), { recursive: true })
      .then(() => Deno.writeTextFile(file, content));
  }

  async resetSts(cacheSize: string | null = "0\n"): Promise<void> {
    for await (const entry of Deno.readDir(this.stsDir)) {
      await Deno.remove(`${this.stsDir}/${entry.name}`, { recursive: true });
    }
    // Courier writes here as `courier`; files end up owned like the directory (D5).
    const { uid, gid } = this.courierIds;
    await Deno.chown(this.stsDir, uid, gid);
    await Deno.chmod(this.stsDir, 0o755);
    if (cacheSize !== null) {
      await Deno.writeTextFile(`${this.stsDir}/.cache_size`, cacheSize);
      await Deno.chown(`${this.stsDir}/.cache_size`, uid, gid);
    }
  }

  async readSts(): Promise<Map<string, StsFile>> {
    const files = new Map<string, StsFile>();
    const names = [];
    for await (const entry of Deno.readDir(this.stsDir)) {
      if (entry.isFile) names.push(entry.name);
    }
    for (const name of names.sort()) {
      const path = `${this.stsDir}/${name}`;
      const info = await Deno.stat(path);
      const bytes = await Deno.readFile(path);
      files.set(name, { bytes, mtime: Math.floor((info.mtime?.getTime() ?? 0) / 1000) });
    }
    return files;
  }

  setStsMtime(name: string, mtime: Date | number): Promise<void> {
    if (name === "" || name.includes("/") || name === "." || name === "..") {
      throw new RangeError(`Cannot set the mtime of "${name}": not a file name`);
    }
    return Deno.utime(`${this.stsDir}/${name}`, mtime, mtime);
  }

  async writePolicy(domain: string, body: string | Uint8Array): Promise<void> {
    const site = POLICY_SITES.find((s) => s.domain === domain && s.body !== undefined);
    if (site === undefined) {
      throw new RangeError(`Cannot write a policy for "${domain}": no such site serves a body`);
    }
    const dir = `${this.dir}/www/mta-sts.${domain}/.well-known`;
    await Deno.mkdir(dir, { recursive: true });
    // Written aside and renamed, so a request never sees half a file.
    const temp = `${dir}/.mta-sts.txt.tmp`;
    await (typeof body === "string" ? Deno.writeTextFile(temp, body) : Deno.writeFile(temp, body));
    await Deno.rename(temp, `${dir}/mta-sts.txt`);
  }

  async policyRequests(): Promise<string[]> {
    const text = await Deno.readTextFile(`${this.dir}/nginx-access.log`).catch(() => "");
    return text.split("\n").filter((line) => line !== "");
  }

  async run(argv: string[], options: RunOptions = {}): Promise<RunResult> {
    if (this.#stopped) throw new Error("Cannot run: the world is stopped");
    if (argv.length === 0) throw new RangeError("Cannot run: empty argv");
    const env: Record<string, string> = {
      PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin",
      HOME: Deno.env.get("HOME") ?? "/root",
      // Deno's update check would look up dl.deno.land (see scripts/deno.sh).
      DENO_NO_UPDATE_CHECK: "1",
    };
    for (const name of ["DENO_DIR", "TZ"]) {
      const value = Deno.env.get(name);
      if (value !== undefined) env[name] = value;
    }
    Object.assign(env, options.env ?? {});
    // setsid makes the program a process-group leader, so a timeout kills everything it
    // started (e.g. wget) with one signal.
    const child = new Deno.Command("setsid", {
      args: [
        "ip",
        "netns",
        "exec",
        this.ns,
        "unshare",
        "--mount",
        "--uts",
        "--propagation",
        "private",
        `${this.dir}/enter.sh`,
        ...argv,
      ],
      clearEnv: true,
      env,
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, options.timeoutMs ?? 30_000);
    try {
      if (options.stdin !== undefined) {
        const writer = child.stdin.getWriter();
        await writer.write(new TextEncoder().encode(options.stdin)).catch(() => {});
        await writer.close().catch(() => {});
      }
      const out = await child.output();
      return {
        code: out.signal === null ? out.code : 128 + signalNumber(out.signal),
        signal: out.signal,
        timedOut,
        stdout: out.stdout,
        stderr: out.stderr,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#nsCreated) await killNamespace(this.ns);
    for (const daemon of this.#daemons) {
      try {
        daemon.kill("SIGKILL");
      } catch { /* already gone */ }
      await daemon.status;
    }
    if (this.#nsCreated) await helper(["ip", "netns", "del", this.ns]).catch(() => {});
    await removeNetnsEtc(this.ns);
    if (!this.#options.keepDir) await removeWorldDir(this.dir);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** The file name of an extra zone (`extraZones`) in the world's zones directory. */
function extraZoneFile(origin: string): string {
  return `extra-${origin.replace(/\.$/, "")}.zone`;
}

function nsdConf(dir: string, extraZones: string[]): string {
  const extra = extraZones.map((origin) =>
    `zone:\n  name: "${origin.replace(/\.$/, "")}."\n  zonefile: "${extraZoneFile(origin)}"\n`
  );
  return `# Generated by tests/world/world.ts
server:
  ip-address: ${NSD_ADDRESS}@53
  do-ip6: no
  username: ""
  chroot: ""
  zonesdir: "${dir}/zones"
  database: ""
  zonelistfile: "${dir}/nsd.zonelist"
  xfrdfile: "${dir}/nsd.xfrd"
  xfrdir: "${dir}"
  pidfile: "${dir}/nsd.pid"
  logfile: "${dir}/nsd.log"
  server-count: 1
  verbosity: 1
  hide-version: yes
  # One resolver asks, sometimes thousands of names a second (the bench's batches): Debian's NSD
  # would rate-limit it (RRL, 200 answers a second) and Unbound would retry for tens of ms.
  rrl-ratelimit: 0
zone:
  name: "test."
  zonefile: "test.zone"
zone:
  name: "signed.test."
  zonefile: "signed.test.zone.signed"
zone:
  name: "bogus.test."
  zonefile: "bogus.test.zone.signed"
${extra.join("")}`;
}

function nginxConf(dir: string, sites: readonly PolicySite[]): string {
  const servers = sites.map((site) => {
    const cert = site.untrusted ? "untrusted" : "server";
    const policy = site.status !== undefined
      ? `return ${site.status}${site.location ? ` ${site.location}` : ""};`
      : `default_type ${site.contentType ?? "text/plain"};`;
    return `  server {
    listen ${POLICY_ADDRESS}:443 ssl;
    server_name mta-sts.${site.domain};
    ssl_certificate "${dir}/tls/${cert}.pem";
    ssl_certificate_key "${dir}/tls/${cert}.key";
    root "${dir}/www/mta-sts.${site.domain}";
    location = ${POLICY_PATH} {
      ${policy}
    }
    location / {
      return 404;
    }
  }
`;
  });
  return `# Generated by tests/world/world.ts
daemon off;
master_process on;
worker_processes 1;
# Workers keep root: the namespace has only lo, and the files live in the world dir.
user root root;
pid "${dir}/nginx/nginx.pid";
lock_file "${dir}/nginx/nginx.lock";
error_log "${dir}/nginx.log" info;
events {
  worker_connections 64;
}
http {
  # Every path nginx would otherwise create under /var/lib/nginx or /var/log/nginx.
  client_body_temp_path "${dir}/nginx/tmp/body";
  proxy_temp_path "${dir}/nginx/tmp/proxy";
  fastcgi_temp_path "${dir}/nginx/tmp/fastcgi";
  uwsgi_temp_path "${dir}/nginx/tmp/uwsgi";
  scgi_temp_path "${dir}/nginx/tmp/scgi";
  log_format world '$ssl_server_name $request_method $request_uri $status $body_bytes_sent';
  access_log "${dir}/nginx-access.log" world;
  types {
  }
  default_type text/plain;
  server_tokens off;
  keepalive_timeout 5s;
  ssl_protocols TLSv1.2 TLSv1.3;
  # An unknown SNI name (or none) gets a handshake failure.
  server {
    listen ${POLICY_ADDRESS}:443 ssl default_server;
    ssl_reject_handshake on;
  }
${servers.join("")}}
`;
}

function unboundConf(dir: string): string {
  return `# Generated by tests/world/world.ts
server:
  interface: 127.0.0.1
  interface: ::1
  # Everything sent to this address is refused; servfail.test is delegated here.
  interface: ${REFUSING_ADDRESS}
  interface-action: ${REFUSING_ADDRESS} refuse
  port: 53
  do-ip6: yes
  do-daemonize: no
  chroot: ""
  username: ""
  directory: "${dir}"
  pidfile: "${dir}/unbound.pid"
  logfile: "${dir}/unbound.log"
  use-syslog: no
  verbosity: 1
  log-servfail: yes
  val-log-level: 2
  num-threads: 1
  access-control: 127.0.0.0/8 allow
  access-control: ::1/128 allow
  do-not-query-localhost: no
  qname-minimisation: no
  # Trust anchors for signed.test (its key) and bogus.test (a key it is not signed with).
  trust-anchor-file: "${dir}/trust-anchors"
  # Nothing outside test. is resolved: "." answers NXDOMAIN from local data.
  local-zone: "." static
  local-zone: "test." transparent
include: "${dir}/zones/unbound-local.conf"
stub-zone:
  name: "test."
  stub-addr: ${NSD_ADDRESS}@53
`;
}

/** Picks the courier account: the host's if it has one, else free ids from 64010. */
function chooseCourierIds(
  passwd: string,
  group: string,
): { uid: number; gid: number; passwdLine: string; groupLine: string } {
  const rows = (text: string) => text.split("\n").filter((l) => l !== "").map((l) => l.split(":"));
  const users = rows(passwd);
  const groups = rows(group);
  const user = users.find((r) => r[0] === "courier");
  const grp = groups.find((r) => r[0] === "courier");
  const usedUids = new Set(users.map((r) => Number(r[2])));
  const usedGids = new Set(groups.map((r) => Number(r[2])));
  let gid = grp ? Number(grp[2]) : COURIER_ID_FIRST;
  for (let i = 0; !grp && usedGids.has(gid) && i < 1000; i++) gid++;
  let uid = user ? Number(user[2]) : COURIER_ID_FIRST;
  for (let i = 0; !user && usedUids.has(uid) && i < 1000; i++) uid++;
  return {
    uid,
    gid,
    passwdLine: user
      ? ""
      : `courier:x:${uid}:${gid}:Courier mail server:/var/lib/courier:/usr/sbin/nologin\n`,
    groupLine: grp ? "" : `courier:x:${gid}:\n`,
  };
}

/**
 * Best effort: removes namespaces and directories left by worlds of processes that no
 * longer exist (crashed test runs). Never touches a world of a living process.
 */
export async function cleanStaleWorlds(baseDir = "/tmp"): Promise<void> {
  const pattern = new RegExp(`^${NS_PREFIX}(\\d+)-\\d+$`);
  const listing = await helper(["ip", "netns", "list"]).catch(() => "");
  for (const line of listing.split("\n")) {
    const name = line.split(" ")[0];
    const match = pattern.exec(name);
    if (!match || processExists(Number(match[1]))) continue;
    await killNamespace(name);
    await helper(["ip", "netns", "del", name]).catch(() => {});
    await removeNetnsEtc(name);
  }
  try {
    for await (const entry of Deno.readDir(baseDir)) {
      const match = new RegExp(`^${NS_PREFIX}(\\d+)-\\d+-`).exec(entry.name);
      if (entry.isDirectory && match && !processExists(Number(match[1]))) {
        await removeWorldDir(`${baseDir}/${entry.name}`);
      }
    }
  } catch { /* best effort */ }
}

/** Kills every process in the namespace: TERM, up to 2 s grace, then KILL. */
async function killNamespace(ns: string): Promise<void> {
  const pids = async () =>
    (await helper(["ip", "netns", "pids", ns]).catch(() => "")).split("\n")
      .filter((p) => /^\d+$/.test(p)).map(Number);
  for (const [signal, rounds] of [["SIGTERM", 100], ["SIGKILL", 50]] as const) {
    let left = await pids();
    for (const pid of left) {
      try {
        Deno.kill(pid, signal);
      } catch { /* gone */ }
    }
    for (let i = 0; i < rounds && left.length > 0; i++) {
      await delay(20);
      left = await pids();
    }
    if (left.length === 0) return;
  }
}

async function removeNetnsEtc(ns: string): Promise<void> {
  await Deno.remove(`/etc/netns/${ns}`, { recursive: true }).catch(ignoreNotFound);
  // Remove /etc/netns itself only when nothing else lives there.
  await Deno.remove("/etc/netns").catch(() => {});
}

async function removeWorldDir(dir: string): Promise<void> {
  // A run killed mid-way cannot leave mounts behind (they live in its own mount
  // namespace), but never follow anything mounted here, just in case.
  const mounts = await Deno.readTextFile("/proc/self/mounts").catch(() => "");
  if (mounts.split("\n").some((l) => l.split(" ")[1]?.startsWith(`${dir}/`))) return;
  await Deno.remove(dir, { recursive: true }).catch(ignoreNotFound);
}

/** Kills `child` after `ms` unless the returned timer is cleared first. */
function killAfter(child: Deno.ChildProcess, ms: number): ReturnType<typeof setTimeout> {
  return setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, ms);
}

/** Runs a short helper command on the host, bounded; rejects with its stderr. */
async function helper(argv: string[], cwd?: string): Promise<string> {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = killAfter(child, HELPER_TIMEOUT_MS);
  try {
    const out = await child.output();
    if (!out.success) {
      throw new Error(
        `Cannot run ${argv.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`,
      );
    }
    return new TextDecoder().decode(out.stdout);
  } finally {
    clearTimeout(timer);
  }
}

function killGroup(pid: number): void {
  try {
    Deno.kill(-pid, "SIGKILL");
  } catch {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
}

function processExists(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

function findExecutable(name: string): string | undefined {
  const path = (Deno.env.get("PATH") ?? "") + ":/usr/sbin:/usr/bin:/sbin:/bin";
  for (const dir of path.split(":")) {
    if (dir === "") continue;
    try {
      const info = Deno.statSync(`${dir}/${name}`);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return `${dir}/${name}`;
    } catch { /* not here */ }
  }
  return undefined;
}

function defaultCourierDir(): string {
  return `${Deno.env.get("TESTMXLOOKUP_WORLD_CACHE") ?? DEFAULT_WORLD_CACHE}/courier`;
}

async function readTail(path: string): Promise<string> {
  try {
    const text = await Deno.readTextFile(path);
    return text.slice(-2000);
  } catch {
    return "";
  }
}

/** YYYYMMDDhhmmss in UTC, as ldns-signzone's -i/-e expect. */
function ldnsTime(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, "").slice(0, 14);
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

function ensureNewline(text: string): string {
  return text === "" || text.endsWith("\n") ? text : text + "\n";
}

function ignoreNotFound(error: unknown): void {
  if (!(error instanceof Deno.errors.NotFound)) throw error;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const SIGNALS: Partial<Record<Deno.Signal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

function signalNumber(signal: Deno.Signal): number {
  return SIGNALS[signal] ?? 0;
}
