// What every command of one run shares: the paths (Courier's unless overridden), the
// resolver from resolv.conf, the STS cache, the trusted certificates (read once, when a
// download needs them) and the run's deadline.
import { ConfigError, isPermissionRefusal, osErrorText } from "../errors.ts";
import { loadLocalConfig, type LocalConfig } from "../lookup/local.ts";
import { secureCacheAccess } from "../privilege/switch.ts";
import type { LookupDomainOptions } from "../lookup/lookup_domain.ts";
import { reasonLine } from "../report/text.ts";
import { loadResolvConf } from "../resolver/resolv_conf.ts";
import { Resolver } from "../resolver/resolver.ts";
import { parseCourierdTrustCerts, readCaCerts } from "../sts/fetch.ts";
import { DEFAULT_STS_DIR, StsStore } from "../sts/store.ts";
import type { CliArgs } from "./args.ts";
import type { CliHost } from "./cli_host.ts";

/** Default paths, Courier's (docs/courier.md#files-and-environment). */
export const DEFAULT_PATHS = {
  resolvConf: "/etc/resolv.conf",
  configDir: "/etc/courier",
  stsDir: DEFAULT_STS_DIR,
} as const;

/** The system's CA bundle on Debian, used when courierd names no `TLS_TRUSTCERTS` (D3). */
export const SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

/**
 * Queries per UDP socket in `--batch` (ResolverOptions.socketReuse): the sockets' cost falls
 * 16-fold, and each random port still carries only a few queries, one at a time.
 */
const BATCH_SOCKET_REUSE = 16;

/** What every command of one run shares. */
export interface Session {
  args: CliArgs;
  host: CliHost;
  resolver: Resolver;
  defaultDomain?: string;
  store: StsStore;
  configDir: string;
  /** The run's deadline (D4). */
  signal: AbortSignal;
  /** The trusted certificates, read once for every lookup of the run. */
  caCerts: () => Promise<string[] | undefined>;
  /** When the run started. */
  startedMs: number;
}

/** Reads a configuration file; a failure other than a refused permission is exit 78. */
async function readConfig<T>(what: string, path: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (isPermissionRefusal(error)) throw error;
    throw new ConfigError(
      error instanceof ConfigError ? error.kind : "UNREADABLE",
      path,
      `Cannot read ${what} ${path}: ${osErrorText(error)}`,
      { cause: error },
    );
  }
}

/** Reads resolv.conf, says what is questionable in it, and sets the run up. */
export async function openSession(args: CliArgs, host: CliHost): Promise<Session> {
  const resolvPath = args.resolvConf ?? host.env("TESTMXLOOKUP_RESOLV_CONF") ??
    DEFAULT_PATHS.resolvConf;
  const configDir = args.configDir ?? host.env("TESTMXLOOKUP_CONFIG_DIR") ??
    DEFAULT_PATHS.configDir;
  const stsDir = args.stsDir ?? host.env("TESTMXLOOKUP_STS_DIR") ?? DEFAULT_PATHS.stsDir;
  const conf = await readConfig(
    "resolver configuration",
    resolvPath,
    () => loadResolvConf(resolvPath, host),
  );
  for (const warning of conf.warnings) {
    const where = warning.line === undefined ? resolvPath : `${resolvPath}:${warning.line}`;
    await host.stderr(reasonLine(`${where}: ${warning.message}`));
  }
  const resolver = new Resolver({
    servers: (args.servers ?? conf.nameservers).map((address) => ({ address })),
    timeoutMs: conf.timeoutMs,
    attempts: conf.attempts,
    rotate: conf.rotate,
    udpSize: args.udpSize,
    // A batch sends thousands of queries: one socket each would be most of its CPU time.
    socketReuse: args.batchFile === undefined ? 1 : BATCH_SOCKET_REUSE,
    host,
  });
  let caCerts: Promise<string[] | undefined> | undefined;
  const session: Session = {
    startedMs: performance.now(),
    args,
    host,
    resolver,
    defaultDomain: conf.domain,
    store: new StsStore(stsDir),
    configDir,
    signal: AbortSignal.timeout(args.deadlineMs),
    caCerts: () => caCerts ??= loadCaCerts(args, host, configDir),
  };
  // D25: as root, work in the cache as its owner when another account could change its path,
  // once what only root may read is read (a failure stays for when it is needed).
  await secureCacheAccess(stsDir, {
    beforeSwitch: async () => {
      await Promise.allSettled([session.caCerts(), loadLocal(session)]);
    },
  });
  return session;
}

/** The certificates to trust for policy downloads (D3), read only when one is needed. */
async function loadCaCerts(
  args: CliArgs,
  host: CliHost,
  configDir: string,
): Promise<string[] | undefined> {
  let path = args.caFile;
  if (path === undefined) {
    const courierd = `${configDir}/courierd`;
    const text = await readConfig(
      "Courier configuration",
      courierd,
      () => host.readTextFile(courierd),
    );
    path = text === undefined ? undefined : parseCourierdTrustCerts(text);
  }
  if (path === undefined) {
    // No TLS_TRUSTCERTS: the system's bundle, else Deno's built-in roots.
    const system = await readConfig(
      "CA bundle",
      SYSTEM_CA_BUNDLE,
      () => host.readTextFile(SYSTEM_CA_BUNDLE),
    );
    return system === undefined ? undefined : [system];
  }
  const file = path;
  return await readConfig("trusted certificates", file, () => readCaCerts(file));
}

/** Courier's `[ LOCAL ]` configuration of the run's configuration directory. */
export function loadLocal(session: Session): Promise<LocalConfig> {
  const { host, configDir } = session;
  const loaded = localConfigs.get(session);
  if (loaded !== undefined) return loaded;
  const loading = readConfig(
    "Courier configuration in",
    configDir,
    () => loadLocalConfig(configDir, host),
  );
  localConfigs.set(session, loading);
  return loading;
}

// Read once per run: before the switch to the cache's owner (root's files), then reused.
const localConfigs = new WeakMap<Session, Promise<LocalConfig>>();

function preferIpv6(host: CliHost): boolean {
  // Courier: set, non-empty and not starting with "0" (docs/courier.md#files-and-environment).
  const value = host.env("ESMTP_PREFER_IPV6_MX");
  return value !== undefined && value !== "" && !value.startsWith("0");
}

/**
 * The most SMTP connections open at once over all the domains of `--batch --probe` (D35): each
 * domain's probe keeps its own bound of 16 besides.
 */
export const BATCH_PROBE_CONNECTIONS = 64;

/** What a lookup of the run needs; the deadline is the caller's. */
export async function domainOptions(session: Session): Promise<LookupDomainOptions> {
  const local = await loadLocal(session);
  return {
    resolver: session.resolver,
    store: session.store,
    caCerts: session.caCerts,
    local,
    defaultDomain: session.defaultDomain,
    preferIpv6: preferIpv6(session.host),
    now: () => session.host.now(),
    ...(session.args.probe ? { probe: await probeOptions(session, local) } : {}),
  };
}

/** `--probe`'s settings; lib/probe is loaded here, only for a probing run. */
async function probeOptions(
  session: Session,
  local: LocalConfig,
): Promise<NonNullable<LookupDomainOptions["probe"]>> {
  const { args } = session;
  const [{ heloName }, { ConnectionLimiter }] = await Promise.all([
    import("../probe/domain.ts"),
    import("../probe/limit.ts"),
  ]);
  return {
    helo: args.helo ?? heloName(local.me, local.hostname),
    port: args.port,
    caCerts: await session.caCerts(),
    stageTimeout: args.probeTimeoutMs,
    ...(args.batchFile === undefined
      ? {}
      : { limiter: new ConnectionLimiter(BATCH_PROBE_CONNECTIONS) }),
  };
}

/** Prints reason lines on stderr. */
export async function explain(session: Session, reasons: readonly string[]): Promise<void> {
  for (const reason of reasons) await session.host.stderr(reasonLine(reason));
}
