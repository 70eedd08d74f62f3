// The command line end to end: parse, look up, print Courier's lines on stdout and one reason
// per failure on stderr, return the exit status. Never exits and never throws (cliffy's
// noExit): main.ts is the only place that ends the process.
import { formatAddress } from "../address.ts";
import {
  type DomainLookup,
  lookupDomain,
  type LookupDomainOptions,
  lookupMany,
  NO_STS,
  readDomainLines,
} from "../batch.ts";
import { ConfigError, UsageError } from "../errors.ts";
import { type Host, openReadOnly } from "../host.ts";
import { isLocal, loadLocalConfig, type LocalConfig } from "../local.ts";
import type { MxResult } from "../mx/lookup.ts";
import { buildJsonReport, type JsonReport } from "../report/json.ts";
import {
  cachedPolicyNotFoundLine,
  failureLine,
  formatReport,
  HELP,
  noWritePermissionLine,
  pathErrorLine,
  REASON_PREFIX,
  reasonLine,
  reloadingLine,
  type Report,
  stsDisplay,
  stsPolicyNotFoundLine,
  unknownStsPolicyLine,
  usageErrorText,
  versionLine,
} from "../report/text.ts";
import { secureCacheAccess } from "../privilege/switch.ts";
import { Resolver } from "../resolver/resolver.ts";
import { loadResolvConf } from "../resolver/resolv_conf.ts";
import { type CacheSize, DEFAULT_CACHE_SIZE, overridePolicy } from "../sts/cache_file.ts";
import { StsError } from "../sts/errors.ts";
import { parseCourierdTrustCerts, readCaCerts } from "../sts/fetch.ts";
import { lookupSts, type StsResult } from "../sts/lookup.ts";
import { matchesMx } from "../sts/match.ts";
import type { StsMode } from "../sts/policy.ts";
import { type EntryRead, StsStore } from "../sts/store.ts";
import {
  type CliArgs,
  EXIT_CONFIG,
  EXIT_FAILURE,
  EXIT_INTERRUPTED,
  EXIT_IOERR,
  EXIT_NOINPUT,
  EXIT_NOPERM,
  EXIT_OK,
  EXIT_SOFTWARE,
  parseArgs,
} from "./args.ts";
import { CoalescingWriter } from "./_coalescing_writer.ts";

/** The version `--version` prints. */
export const VERSION = "0.1.0";

/** Default paths, Courier's (cli.md §8). */
export const DEFAULT_PATHS = {
  resolvConf: "/etc/resolv.conf",
  configDir: "/etc/courier",
  stsDir: "/var/lib/courier/sts",
} as const;

/** The system's CA bundle on Debian, used when courierd names no `TLS_TRUSTCERTS` (D3). */
export const SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

/** An OS error as C's strerror words it: Deno's message without its " (os error N)…" tail. */
function osErrorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const at = message.indexOf(" (os error ");
  return at > 0 ? message.slice(0, at) : message;
}

/** What the CLI needs beyond the library's host: its two output streams. */
export interface CliHost extends Host {
  /** Writes to stdout. */
  stdout(text: string): Promise<void>;
  /**
   * Writes to stdout without holding up the lookups in flight while the reader is slow:
   * `--batch`'s stream of lines. @default {stdout}
   */
  stdoutStream?(text: string): Promise<void>;
  /** Writes to stderr. */
  stderr(text: string): Promise<void>;
  /** Whether stderr is a terminal. */
  isStderrTerminal(): boolean;
  /**
   * The bytes of a `--batch` input: the file at `path`, or stdin for `-`. Rejects as
   * `Deno.open` does. Without it, `--batch` fails as an internal error.
   */
  openInput?(path: string): Promise<ReadableStream<Uint8Array>>;
  /**
   * Calls `listener` on the first SIGINT instead of ending the process (a second one ends it
   * as usual), until the returned function is called. Only `--batch` listens.
   */
  onInterrupt?(listener: () => void): () => void;
}

function isPermissionRefusal(error: unknown): boolean {
  return error instanceof Deno.errors.NotCapable ||
    (error instanceof Deno.errors.PermissionDenied && /--allow-/.test(error.message));
}

async function readConfig<T>(what: string, path: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (isPermissionRefusal(error)) throw error;
    const kind = error instanceof ConfigError ? error.kind : "UNREADABLE";
    throw new ConfigError(kind, path, `Cannot read ${what} ${path}: ${osErrorText(error)}`, {
      cause: error,
    });
  }
}

function preferIpv6(host: Host): boolean {
  // Courier: set, non-empty and not starting with "0" (cli.md §8).
  const value = host.env("ESMTP_PREFER_IPV6_MX");
  return value !== undefined && value !== "" && !value.startsWith("0");
}

function toReport(arg: string, result: MxResult, sts: StsResult, local: LocalConfig): Report {
  if (result.outcome !== "ok") return { arg, failure: result.outcome };
  const policy = sts.policy;
  return {
    arg,
    stsMode: policy?.mode,
    entries: result.entries.map((entry) => ({
      host: entry.host,
      priority: entry.priority,
      address: formatAddress(entry.address),
      local: isLocal(entry.host, local),
      dnssec: entry.dnssec,
      stsMatch: policy && policy.mode !== "none" ? matchesMx(entry.host, policy.mx) : undefined,
    })),
  };
}

/** What every action of one run shares: paths, resolver, cache, configuration. */
interface Session {
  args: CliArgs;
  host: CliHost;
  resolver: Resolver;
  defaultDomain?: string;
  store: StsStore;
  configDir: string;
  signal: AbortSignal;
  /** The trusted certificates, read once for every lookup of the run. */
  caCerts: () => Promise<string[] | undefined>;
  /** When the run started, for `--json`. */
  startedMs: number;
}

async function openSession(args: CliArgs, host: CliHost): Promise<Session> {
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
  const session: Session = {
    startedMs: performance.now(),
    args,
    host,
    resolver,
    defaultDomain: conf.domain,
    store: new StsStore(stsDir),
    configDir,
    signal: AbortSignal.timeout(args.deadlineMs),
    caCerts: () => Promise.resolve(undefined),
  };
  session.caCerts = once(caLoader(session));
  // D25: as root, work in the cache as its owner when another account could change its path,
  // once what only root may read is read (a failure stays for when it is needed).
  await secureCacheAccess(stsDir, {
    beforeSwitch: async () => {
      await Promise.allSettled([session.caCerts(), loadLocal(session)]);
    },
  });
  return session;
}

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => loaded ??= load();
}

/** The certificates to trust for policy downloads (D3), read only when one is needed. */
function caLoader(session: Session): () => Promise<string[] | undefined> {
  return async () => {
    const { args, host, configDir } = session;
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
  };
}

function stsFor(session: Session, domain: string): Promise<StsResult> {
  return lookupSts(domain, {
    resolver: session.resolver,
    store: session.store,
    caCerts: session.caCerts,
    now: () => session.host.now(),
    signal: session.signal,
  });
}

/** What a lookup of the run needs; the deadline is the caller's. */
function domainOptions(session: Session): LookupDomainOptions {
  return {
    resolver: session.resolver,
    store: session.store,
    caCerts: session.caCerts,
    defaultDomain: session.defaultDomain,
    preferIpv6: preferIpv6(session.host),
    now: () => session.host.now(),
  };
}

const localConfigs = new WeakMap<Session, Promise<LocalConfig>>();

function loadLocal(session: Session): Promise<LocalConfig> {
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

async function reportSts(session: Session, sts: StsResult): Promise<void> {
  for (const warning of sts.warnings) await session.host.stderr(reasonLine(warning));
  if (sts.reason !== undefined) await session.host.stderr(reasonLine(sts.reason));
}

async function deadlineReached(session: Session, arg: string): Promise<number> {
  // D4: the run has a deadline; reaching it is a soft failure, as a timeout is for Courier.
  await session.host.stderr(reasonLine(`Deadline of ${session.args.deadlineMs / 1000} s reached`));
  await session.host.stdout(formatReport({ arg, failure: "soft" }));
  return EXIT_FAILURE;
}

async function lookup(session: Session, domain: string): Promise<number> {
  const { host, args } = session;
  const local = await loadLocal(session);
  // D4: the deadline is the run's, counted from its start.
  const elapsedMs = performance.now() - session.startedMs;
  const found = await lookupDomain(domain, {
    ...domainOptions(session),
    deadlineMs: Math.max(1, args.deadlineMs - elapsedMs),
  });
  const durationMs = performance.now() - session.startedMs;
  const result = found.mx;
  if (result === undefined) {
    if (!args.json) return await deadlineReached(session, domain);
    return await printJson(session, jsonReport(found, local, durationMs));
  }
  await reportSts(session, found.sts);
  for (const warning of result.warnings) await host.stderr(reasonLine(warning));
  if (result.reason !== undefined) await host.stderr(reasonLine(result.reason));
  if (args.json) return await printJson(session, jsonReport(found, local, durationMs));
  await host.stdout(formatReport(toReport(domain, result, found.sts, local)));
  return result.outcome === "ok" ? EXIT_OK : EXIT_FAILURE;
}

/** The `--json` document of one lookup; its exit status is the one text mode would have. */
function jsonReport(
  found: DomainLookup,
  local: LocalConfig,
  durationMs: number,
  line?: number,
): JsonReport {
  const { domain, mx } = found;
  return buildJsonReport({
    domain,
    line,
    mx,
    sts: found.sts,
    isLocal: (host) => isLocal(host, local),
    courierLine: mx?.outcome === "ok"
      ? undefined
      : failureLine(domain, mx?.outcome ?? "soft").trimEnd(),
    exitCode: mx?.outcome === "ok" ? EXIT_OK : EXIT_FAILURE,
    trace: found.trace,
    durationMs,
  });
}

/** `--json`: the report as one JSON document on stdout, exit status as in text mode. */
async function printJson(session: Session, report: JsonReport): Promise<number> {
  await session.host.stdout(`${JSON.stringify(report)}\n`);
  return report.exitCode;
}

/**
 * Queries per UDP socket in `--batch` (ResolverOptions.socketReuse): the sockets' cost falls
 * 16-fold, and each random port still carries only a few queries, one at a time.
 */
const BATCH_SOCKET_REUSE = 16;

/** The `\r`-rewritten count on a terminal's stderr during `--batch`. */
class Progress {
  readonly #host: CliHost;
  #shownMs = -Infinity;
  #shown = false;

  constructor(host: CliHost) {
    this.#host = host;
  }

  async update(done: number, read: number, failed: number, force = false): Promise<void> {
    const now = performance.now();
    // A terminal redrawn on every one of 100,000 lines would slow the batch down.
    if (!force && now - this.#shownMs < PROGRESS_INTERVAL_MS) return;
    this.#shownMs = now;
    this.#shown = true;
    await this.#host.stderr(`\r${REASON_PREFIX}${done}/${read} done, ${failed} failed`);
  }

  /** Ends the progress line, once. */
  async end(): Promise<void> {
    if (!this.#shown) return;
    this.#shown = false;
    await this.#host.stderr("\n");
  }
}

const PROGRESS_INTERVAL_MS = 100;

/** A lookup that threw: a line of its own, so that every domain still gets one. */
function internalErrorReport(domain: string, line: number, error: unknown): JsonReport {
  const message = error instanceof Error ? error.message : String(error);
  return buildJsonReport({
    domain,
    line,
    mx: {
      domain,
      outcome: "internal",
      reason: `Internal error: ${message.split("\n")[0]}`,
      entries: [],
      hosts: [],
      warnings: [],
    },
    sts: NO_STS,
    isLocal: () => false,
    courierLine: failureLine(domain, "internal").trimEnd(),
    exitCode: EXIT_SOFTWARE,
    trace: [],
    durationMs: 0,
  });
}

/**
 * `--batch`: one JSON line per domain, in input order, as each one's predecessors are out.
 * SIGINT stops reading, aborts the lookups in flight and keeps the lines already printed.
 */
async function batch(session: Session, path: string): Promise<number> {
  const { host, args } = session;
  const local = await loadLocal(session);
  if (!host.openInput) throw new Error("This host cannot read a batch input");
  let input: ReadableStream<Uint8Array>;
  try {
    input = await host.openInput(path);
  } catch (error) {
    if (isPermissionRefusal(error)) throw error;
    await host.stderr(reasonLine(`Cannot read batch input ${path}: ${osErrorText(error)}`));
    return EXIT_NOINPUT;
  }
  const interrupt = new AbortController();
  const stopListening = host.onInterrupt?.(() => interrupt.abort());
  const progress = host.isStderrTerminal() ? new Progress(host) : undefined;
  // Line numbers of the domains read and not yet printed: at most the reorder window.
  const lines = new Map<number, number>();
  let read = 0;
  let readFailure: unknown;
  async function* domains(): AsyncGenerator<string> {
    try {
      for await (const entry of readDomainLines(input, { signal: interrupt.signal })) {
        lines.set(read++, entry.line);
        yield entry.domain;
      }
    } catch (error) {
      readFailure = error;
      throw error;
    }
  }
  let done = 0;
  let failed = 0;
  let exitCode = EXIT_OK;
  // Lines finished while one is being written go out with the next write.
  const out = new CoalescingWriter(host.stdoutStream ?? host.stdout);
  try {
    const results = lookupMany(domains(), {
      ...domainOptions(session),
      concurrency: args.concurrency,
      deadlineMs: args.deadlineMs,
      signal: interrupt.signal,
    });
    for await (const { index, domain, lookup, error } of results) {
      const line = lines.get(index) ?? 0;
      lines.delete(index);
      let report: JsonReport;
      if (lookup) report = jsonReport(lookup, local, lookup.durationMs, line);
      else if (error instanceof ConfigError || isPermissionRefusal(error)) throw error;
      else report = internalErrorReport(domain, line, error);
      await out.write(`${JSON.stringify(report)}\n`);
      done++;
      if (report.exitCode !== EXIT_OK) {
        failed++;
        if (exitCode !== EXIT_SOFTWARE) exitCode = report.exitCode;
      }
      await progress?.update(done, read, failed);
    }
    await out.flush();
    await progress?.update(done, read, failed, true);
  } catch (error) {
    if (interrupt.signal.aborted) return await interrupted(done);
    if (error !== readFailure) throw error;
    await out.flush();
    await progress?.end();
    await host.stderr(reasonLine(`Cannot read batch input ${path}: ${osErrorText(error)}`));
    return EXIT_IOERR;
  } finally {
    stopListening?.();
    session.resolver.close();
    await progress?.end();
  }
  return interrupt.signal.aborted ? await interrupted(done) : exitCode;

  async function interrupted(printed: number): Promise<number> {
    await out.flush();
    await progress?.end();
    await host.stderr(reasonLine(`Interrupted after ${printed} domains`));
    return EXIT_INTERRUPTED;
  }
}

/** `--sts`: the policy display (cli.md §6.1). */
async function showPolicy(session: Session, domain: string): Promise<number> {
  let sts: StsResult;
  try {
    sts = await stsFor(session, domain);
  } catch (error) {
    if (!session.signal.aborted) throw error;
    await session.host.stderr(
      reasonLine(`Deadline of ${session.args.deadlineMs / 1000} s reached`),
    );
    sts = { enabled: true, cache: "unchanged", warnings: [] };
  }
  await reportSts(session, sts);
  if (!sts.policy || sts.id === undefined || sts.timestampSec === undefined) {
    if (!sts.enabled) {
      await session.host.stderr(
        reasonLine("The STS cache is disabled, so STS is off (.cache_size is 0)"),
      );
    }
    await session.host.stderr(stsPolicyNotFoundLine(domain));
    return EXIT_FAILURE;
  }
  const timestamp = new Date(sts.timestampSec * 1000);
  await session.host.stdout(stsDisplay({
    id: sts.id,
    cached: sts.source === "cache",
    timestamp,
    expiration: new Date((sts.timestampSec + sts.policy.maxAge) * 1000),
    policy: sts.policy.text,
  }));
  return EXIT_OK;
}

function errorReason(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  return osErrorText(cause ?? error);
}

/** `--sts-purge`: unlink the entry, say so, then display (cli.md §6.2). */
async function purge(session: Session, domain: string): Promise<number> {
  const { store, host } = session;
  let path: string;
  try {
    path = store.pathOf(domain);
  } catch (error) {
    if (!(error instanceof StsError)) throw error;
    await host.stderr(reasonLine(error.message));
    await host.stdout(reloadingLine(domain));
    return await showPolicy(session, domain);
  }
  try {
    if (!await store.remove(domain)) {
      await host.stderr(pathErrorLine(path, "No such file or directory"));
    }
  } catch (error) {
    if (!(error instanceof StsError)) throw error;
    await host.stderr(pathErrorLine(path, errorReason(error)));
  }
  await host.stdout(reloadingLine(domain));
  return await showPolicy(session, domain);
}

const MODES = ["none", "testing", "enforce"] as const;

/** `--sts-override=MODE`: rewrite the cached entry's mode, then display (cli.md §6.3). */
async function override(session: Session, domain: string, mode: string): Promise<number> {
  const { store, host } = session;
  if (!(MODES as readonly string[]).includes(mode)) {
    await host.stdout(unknownStsPolicyLine(mode));
    return await showPolicy(session, domain);
  }
  let size: CacheSize;
  try {
    size = await store.readCacheSize();
  } catch (error) {
    if (!(error instanceof StsError)) throw error;
    // As lookupSts does: an unreadable .cache_size counts as missing, the default size.
    await host.stderr(reasonLine(error.message));
    size = { size: DEFAULT_CACHE_SIZE };
  }
  if (size.warning) await host.stderr(reasonLine(size.warning));
  if (size.size === 0) return await showPolicy(session, domain);
  let read: EntryRead;
  try {
    read = await store.read(domain);
  } catch (error) {
    if (!(error instanceof StsError)) throw error;
    await host.stderr(reasonLine(error.message));
    await host.stdout(cachedPolicyNotFoundLine(domain));
    return await showPolicy(session, domain);
  }
  if (read.kind !== "entry" || read.entry.stub) {
    if (read.kind === "ignored") await host.stderr(reasonLine(`${read.path}: ${read.reason}`));
    await host.stdout(cachedPolicyNotFoundLine(domain));
    return await showPolicy(session, domain);
  }
  const text = overridePolicy(read.entry.policy, mode as StsMode, domain);
  try {
    await store.write(domain, read.entry.id, text);
  } catch (error) {
    if (!(error instanceof StsError)) throw error;
    await host.stderr(reasonLine(error.message));
    // D26: a policy the parser rejects is not written; the cached one was never usable.
    await host.stdout(
      error.kind === "POLICY_INVALID"
        ? cachedPolicyNotFoundLine(domain)
        : noWritePermissionLine(read.path),
    );
  }
  return await showPolicy(session, domain);
}

/** `--sts-expire`, `--sts-cache-disable`, `--sts-cache-enable[=N]` (cli.md §3, D10). */
async function maintain(session: Session): Promise<number> {
  const { store, host, args } = session;
  try {
    if (args.action === "expire") {
      const size = await store.readCacheSize();
      if (size.warning) await host.stderr(reasonLine(size.warning));
      const result = await store.expire(size.size);
      for (const warning of result.warnings) await host.stderr(reasonLine(warning));
    } else if (args.action === "cache-disable") {
      await store.writeCacheSize(0);
    } else if (args.cacheSize !== undefined) {
      await store.writeCacheSize(args.cacheSize);
    } else {
      await store.removeCacheSize();
    }
  } catch (error) {
    if (!(error instanceof StsError)) throw error;
    // Courier's line, `<dir>: <strerror>`, and (D10) exit 1 instead of Courier's 0.
    await host.stderr(pathErrorLine(store.dir, errorReason(error)));
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}

async function dispatch(argv: readonly string[], host: CliHost): Promise<number> {
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    await host.stderr(usageErrorText(error));
    return error.exitCode;
  }
  for (const warning of args.warnings) await host.stderr(warning);
  if (args.action === "help") {
    await host.stdout(HELP);
    return EXIT_OK;
  }
  if (args.action === "version") {
    await host.stdout(versionLine(VERSION));
    return EXIT_OK;
  }
  const session = await openSession(args, host);
  const domain = args.domain;
  switch (args.action) {
    case "lookup":
      if (args.batchFile !== undefined) return await batch(session, args.batchFile);
      if (domain !== undefined) return await lookup(session, domain);
      break;
    case "sts":
      if (domain !== undefined) return await showPolicy(session, domain);
      break;
    case "purge":
      if (domain !== undefined) return await purge(session, domain);
      break;
    case "override":
      if (domain !== undefined) return await override(session, domain, args.overrideMode ?? "");
      break;
    case "expire":
    case "cache-disable":
    case "cache-enable":
      return await maintain(session);
  }
  await host.stderr(reasonLine(`${args.action} is not implemented yet`));
  return EXIT_SOFTWARE;
}

/**
 * Runs the command line.
 *
 * @param argv The arguments, without the program name.
 * @param host The machine: sockets, files, clock, environment, stdout and stderr.
 * @returns The exit status.
 */
export async function runCli(argv: readonly string[], host: CliHost): Promise<number> {
  try {
    return await dispatch(argv, host);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const [code, text] = isPermissionRefusal(error)
      ? [EXIT_NOPERM, `Missing Deno permission: ${message}`]
      : error instanceof ConfigError
      ? [EXIT_CONFIG, message]
      : error instanceof Deno.errors.BrokenPipe
      ? [EXIT_IOERR, `Cannot write output: ${message}`]
      : [EXIT_SOFTWARE, `Internal error: ${message}`];
    try {
      await host.stderr(reasonLine(text.split("\n")[0]));
    } catch {
      // stderr itself is gone: the status is all that is left to say it.
    }
    return code;
  }
}

async function writeAll(stream: { write(p: Uint8Array): Promise<number> }, text: string) {
  let bytes = new TextEncoder().encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(await stream.write(bytes));
}

/**
 * Writes synchronously: a lookup prints a few lines once, and Deno's asynchronous writes to
 * stdio each go through a blocking thread that it starts on first use (1.5 MiB of RSS).
 */
function writeAllSync(stream: { writeSync(p: Uint8Array): number }, text: string): Promise<void> {
  let bytes = new TextEncoder().encode(text);
  try {
    while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
  } catch (error) {
    return Promise.reject(error);
  }
  return Promise.resolve();
}

/**
 * The real CLI host: Deno's sockets, files and streams.
 *
 * @param host The library host, `denoHost()`.
 * @returns A host for {@linkcode runCli}.
 */
export function denoCliHost(host: Host): CliHost {
  return {
    ...host,
    stdout: (text) => writeAllSync(Deno.stdout, text),
    stdoutStream: (text) => writeAll(Deno.stdout, text),
    stderr: (text) => writeAllSync(Deno.stderr, text),
    isStderrTerminal: () => Deno.stderr.isTerminal(),
    openInput: async (path) =>
      path === "-" ? Deno.stdin.readable : (await openReadOnly(path)).readable,
    onInterrupt(listener) {
      let listening = true;
      const stop = () => {
        if (!listening) return;
        listening = false;
        Deno.removeSignalListener("SIGINT", onSignal);
      };
      // The first SIGINT asks for a clean stop; without the listener a second one kills.
      const onSignal = () => {
        stop();
        listener();
      };
      Deno.addSignalListener("SIGINT", onSignal);
      return stop;
    },
  };
}
