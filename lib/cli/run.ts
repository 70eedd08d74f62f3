// The command line end to end: parse, look up, print Courier's lines on stdout and one reason
// per failure on stderr, return the exit status. Never exits and never throws (cliffy's
// noExit): main.ts is the only place that ends the process.
import { formatAddress } from "../address.ts";
import type { Host } from "../host.ts";
import { isLocal, loadLocalConfig, type LocalConfig } from "../local.ts";
import { lookupMx, type MxResult } from "../mx/lookup.ts";
import { Resolver } from "../resolver/resolver.ts";
import { loadResolvConf } from "../resolver/resolv_conf.ts";
import {
  formatReport,
  HELP,
  reasonLine,
  type Report,
  usageErrorText,
  versionLine,
} from "../report/text.ts";
import { UsageError } from "../errors.ts";
import {
  type CliArgs,
  EXIT_CONFIG,
  EXIT_FAILURE,
  EXIT_IOERR,
  EXIT_NOPERM,
  EXIT_OK,
  EXIT_SOFTWARE,
  parseArgs,
} from "./args.ts";

/** The version `--version` prints. */
export const VERSION = "0.1.0";

/** Default paths, Courier's (cli.md §8). */
export const DEFAULT_PATHS = {
  resolvConf: "/etc/resolv.conf",
  configDir: "/etc/courier",
  stsDir: "/var/lib/courier/sts",
} as const;

/** What the CLI needs beyond the library's host: its two output streams. */
export interface CliHost extends Host {
  /** Writes to stdout. */
  stdout(text: string): Promise<void>;
  /** Writes to stderr. */
  stderr(text: string): Promise<void>;
  /** Whether stderr is a terminal. */
  isStderrTerminal(): boolean;
}

/** A configuration file that exists but cannot be used (exit 78). */
class ConfigError extends Error {}

function isPermissionRefusal(error: unknown): boolean {
  return error instanceof Deno.errors.NotCapable ||
    (error instanceof Deno.errors.PermissionDenied && /--allow-/.test(error.message));
}

async function readConfig<T>(what: string, path: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (isPermissionRefusal(error)) throw error;
    throw new ConfigError(`Cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}

function preferIpv6(host: Host): boolean {
  // Courier: set, non-empty and not starting with "0" (cli.md §8).
  const value = host.env("ESMTP_PREFER_IPV6_MX");
  return value !== undefined && value !== "" && !value.startsWith("0");
}

function toReport(arg: string, result: MxResult, local: LocalConfig): Report {
  if (result.outcome !== "ok") return { arg, failure: result.outcome };
  return {
    arg,
    entries: result.entries.map((entry) => ({
      host: entry.host,
      priority: entry.priority,
      address: formatAddress(entry.address),
      local: isLocal(entry.host, local),
      dnssec: entry.dnssec,
    })),
  };
}

async function lookup(args: CliArgs & { domain: string }, host: CliHost): Promise<number> {
  const resolvPath = args.resolvConf ?? host.env("TESTMXLOOKUP_RESOLV_CONF") ??
    DEFAULT_PATHS.resolvConf;
  const configDir = args.configDir ?? host.env("TESTMXLOOKUP_CONFIG_DIR") ??
    DEFAULT_PATHS.configDir;
  const conf = await readConfig(
    "resolver configuration",
    resolvPath,
    () => loadResolvConf(resolvPath, host),
  );
  for (const warning of conf.warnings) {
    const where = warning.line === undefined ? resolvPath : `${resolvPath}:${warning.line}`;
    await host.stderr(reasonLine(`${where}: ${warning.message}`));
  }
  const local = await readConfig(
    "Courier configuration in",
    configDir,
    () => loadLocalConfig(configDir, host),
  );
  const resolver = new Resolver({
    servers: (args.servers ?? conf.nameservers).map((address) => ({ address })),
    timeoutMs: conf.timeoutMs,
    attempts: conf.attempts,
    rotate: conf.rotate,
    udpSize: args.udpSize,
    host,
  });
  const signal = AbortSignal.timeout(args.deadlineMs);
  let result: MxResult;
  try {
    result = await lookupMx(args.domain, {
      resolver,
      defaultDomain: conf.domain,
      preferIpv6: preferIpv6(host),
      signal,
    });
  } catch (error) {
    if (!signal.aborted) throw error;
    // D4: the run has a deadline; reaching it is a soft failure, as a timeout is for Courier.
    await host.stderr(reasonLine(`Deadline of ${args.deadlineMs / 1000} s reached`));
    await host.stdout(formatReport({ arg: args.domain, failure: "soft" }));
    return EXIT_FAILURE;
  }
  for (const warning of result.warnings) await host.stderr(reasonLine(warning));
  if (result.reason !== undefined) await host.stderr(reasonLine(result.reason));
  await host.stdout(formatReport(toReport(args.domain, result, local)));
  return result.outcome === "ok" ? EXIT_OK : EXIT_FAILURE;
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
  switch (args.action) {
    case "help":
      await host.stdout(HELP);
      return EXIT_OK;
    case "version":
      await host.stdout(versionLine(VERSION));
      return EXIT_OK;
    case "lookup":
      if (args.domain === undefined) break;
      return await lookup({ ...args, domain: args.domain }, host);
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
 * The real CLI host: Deno's sockets, files and streams.
 *
 * @param host The library host, `denoHost()`.
 * @returns A host for {@linkcode runCli}.
 */
export function denoCliHost(host: Host): CliHost {
  return {
    ...host,
    stdout: (text) => writeAll(Deno.stdout, text),
    stderr: (text) => writeAll(Deno.stderr, text),
    isStderrTerminal: () => Deno.stderr.isTerminal(),
  };
}
