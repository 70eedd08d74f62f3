// The command line: Courier's option names and meanings (docs/courier.md#argument-grammar), parsed
// the sane way of D11 (options anywhere, unknown options and stray arguments rejected). Pure: the
// result says what to do; running it, and printing warnings and errors, is `runCli`'s job.
//
// Exit statuses. Courier's are kept where Courier has one (contract 1); the rest follow
// sysexits.h so that scripts can tell "the domain has a problem" from "this machine has one":
//
// | Code | Constant           | When                                                         |
// |------|--------------------|--------------------------------------------------------------|
// | 0    | `EXIT_OK`          | success; `--help`, `--version`; `--batch`: every domain ok   |
// | 1    | `EXIT_FAILURE`     | as Courier: any lookup failure line, usage error, `Invalid   |
// |      |                    | option.`, `--sts` without a policy; also (D10) a             |
// |      |                    | `--sts-cache-*` that cannot write `.cache_size`, and the run |
// |      |                    | deadline (D4); `--batch`: any domain not ok                  |
// | 66   | `EXIT_NOINPUT`     | `--batch FILE`: FILE cannot be opened                        |
// | 70   | `EXIT_SOFTWARE`    | internal bug: an exception no layer expected (never a crash) |
// | 74   | `EXIT_IOERR`       | stdout or stderr cannot be written (closed pipe, full disk); |
// |      |                    | `--batch`: reading the input failed midway                   |
// | 65   | `EXIT_DATAERR`     | `--resume FILE`: FILE is not this tool's `--batch` output     |
// | 73   | `EXIT_CANTCREAT`   | `--resume FILE`: FILE cannot be opened or created (D19)      |
// | 77   | `EXIT_NOPERM`      | Deno refused a permission the run needs                      |
// |      |                    | (`Deno.errors.NotCapable` / `PermissionDenied` from the      |
// |      |                    | runtime, not from the file system)                           |
// | 78   | `EXIT_CONFIG`      | configuration exists but cannot be used: resolv.conf,        |
// |      |                    | locals, me, courierd or the CA file unreadable (EACCES,      |
// |      |                    | EISDIR, bad UTF-8), `--config-dir`/`--sts-dir` not a         |
// |      |                    | directory                                                    |
// | 130  | `EXIT_INTERRUPTED` | `--batch` stopped by SIGINT (128 + 2, as a shell says)       |
import { isAddress } from "../address.ts";
import { DNSSEC_UDP_SIZE } from "../resolver/options.ts";
import { DEFAULT_BATCH_CONCURRENCY, DEFAULT_DOMAIN_DEADLINE_MS } from "../lookup/lookup_many.ts";
import { UsageError } from "../errors.ts";
import { parseShard, type Shard } from "../lookup/shard.ts";
import { invalidAddressLine, REASON_PREFIX } from "../report/text.ts";

/** Success, `--help`, `--version`. */
export const EXIT_OK = 0;
/**
 * Courier's failure status: lookup failed, usage error, no policy
 * (docs/courier.md#actions-and-exit-status).
 */
export const EXIT_FAILURE = 1;
/** `--batch FILE`: the input cannot be opened (sysexits EX_NOINPUT). */
export const EXIT_NOINPUT = 66;
/** `--resume FILE`: FILE holds lines that are not this tool's output (sysexits EX_DATAERR). */
export const EXIT_DATAERR = 65;
/** `--resume FILE`: FILE cannot be opened or created (sysexits EX_CANTCREAT). */
export const EXIT_CANTCREAT = 73;
/** An internal error: a bug (sysexits EX_SOFTWARE). */
export const EXIT_SOFTWARE = 70;
/** Output could not be written (sysexits EX_IOERR). */
export const EXIT_IOERR = 74;
/** A Deno permission the run needs was not granted (sysexits EX_NOPERM). */
export const EXIT_NOPERM = 77;
/** A configuration file exists but cannot be read or used (sysexits EX_CONFIG). */
export const EXIT_CONFIG = 78;
/** `--batch` was stopped by SIGINT: the shell's status for a process killed by it. */
export const EXIT_INTERRUPTED = 130;

/** The run deadline when `--deadline` is not given (D4). */
export const DEFAULT_DEADLINE_MS = 60_000;
/**
 * Each domain's deadline with `--batch` when `--deadline` is not given: D4's 60 s bounds one
 * run, not each of 100,000 domains.
 */
export const DEFAULT_BATCH_DEADLINE_MS: number = DEFAULT_DOMAIN_DEADLINE_MS;
/** Lookups in flight with `--batch` when `--concurrency` is not given. */
export const DEFAULT_CONCURRENCY: number = DEFAULT_BATCH_CONCURRENCY;
export { DNSSEC_UDP_SIZE } from "../resolver/options.ts";
/** At most this many `@` servers are kept (docs/courier.md#the-server-list-argument). */
export const MAX_SERVERS = 4;

const MAX_DEADLINE_SECONDS = 86_400;
/**
 * Monitoring runs thousands of domains against a local caching resolver; each lookup in
 * flight holds a few sockets (at most 32 address queries, one TXT query, one download), so
 * 256 stays well inside a 1024 file descriptor limit in the usual case of 1-3 MX hosts.
 */
const MAX_CONCURRENCY = 256;
const MAX_CACHE_SIZE = 999_999;

/** What the command line asks for. */
export type CliAction =
  /** `DOMAIN`: the MX lookup and its report. */
  | "lookup"
  /** `--sts DOMAIN`: show the policy. */
  | "sts"
  /** `--sts-purge DOMAIN`: drop the cached policy, then show it. */
  | "purge"
  /** `--sts-override=MODE DOMAIN`: rewrite the cached mode, then show the policy. */
  | "override"
  /** `--sts-expire`: trim the cache. */
  | "expire"
  /** `--sts-cache-disable`: write `0` to `.cache_size`. */
  | "cache-disable"
  /** `--sts-cache-enable[=N]`: delete `.cache_size`, or write N. */
  | "cache-enable"
  /** `--help`: the help text on stdout. */
  | "help"
  /** `--version`: the version on stdout. */
  | "version";

/** The parsed command line. */
export interface CliArgs {
  /** What to do. */
  action: CliAction;
  /** The domain argument exactly as typed; present for lookup (without `--batch`), sts, purge, override. */
  domain?: string;
  /** `@` servers as typed, 1 to 4 valid addresses; undefined means resolv.conf's. */
  servers?: string[];
  /** Lines for stderr, each ending in "\n" (`<piece>: invalid IP address`). */
  warnings: string[];
  /** EDNS payload size; 0 means no EDNS, anything else EDNS with DO (docs/courier.md#udpsize). */
  udpSize: number;
  /** `--sts-override=MODE`: MODE as typed, unchecked (Courier reports a bad one on stdout). */
  overrideMode?: string;
  /** `--sts-cache-enable=N`: N (1..999999); undefined for plain `--sts-cache-enable`. */
  cacheSize?: number;
  /** `--json`: print JSON instead of Courier's lines. */
  json: boolean;
  /**
   * `--deadline` in milliseconds: of the whole run (default 60 s), with `--batch` of each
   * domain (default 15 s).
   */
  deadlineMs: number;
  /** `--batch FILE`: domains, one per line; `-` is stdin. Only with the lookup action. */
  batchFile?: string;
  /** `--shard K/N`: with `--batch`, only the lines of shard K of N. */
  shard?: Shard;
  /** `--resume FILE`: with `--batch`, the output file, appended to; its lines are skipped. */
  resumeFile?: string;
  /** `--concurrency N`: lookups in flight with `--batch` (1..256, default 32). */
  concurrency: number;
  /** `--sts-dir DIR`: the STS cache directory; undefined means the default. */
  stsDir?: string;
  /** `--resolv-conf PATH`: the resolver configuration; undefined means the default. */
  resolvConf?: string;
  /** `--config-dir DIR`: Courier's configuration directory; undefined means the default. */
  configDir?: string;
  /** `--ca-file PATH`: trusted certificates for policy downloads; undefined means the default. */
  caFile?: string;
  /** `--probe`: probe every address over SMTP (lookup action only); DO bit on every query. */
  probe: boolean;
  /** `--port N`: the SMTP port of `--probe` (1..65535). @default {25} */
  port: number;
  /** `--helo NAME`: the EHLO name of `--probe`; undefined means Courier's `me`, else the host name. */
  helo?: string;
  /** `--probe-timeout` in milliseconds: each stage of the SMTP dialogue. @default {10000} */
  probeTimeoutMs: number;
}

/** Each stage of `--probe`'s SMTP dialogue, when `--probe-timeout` is not given. */
export const DEFAULT_PROBE_TIMEOUT_MS = 10_000;
const MAX_PROBE_TIMEOUT_SECONDS = 600;

type ValueOption =
  | "--udpsize"
  | "--deadline"
  | "--batch"
  | "--concurrency"
  | "--sts-dir"
  | "--resolv-conf"
  | "--config-dir"
  | "--ca-file"
  | "--port"
  | "--helo"
  | "--probe-timeout"
  | "--shard"
  | "--resume";

const VALUE_OPTIONS: readonly string[] = [
  "--udpsize",
  "--deadline",
  "--batch",
  "--concurrency",
  "--sts-dir",
  "--resolv-conf",
  "--config-dir",
  "--ca-file",
  "--port",
  "--helo",
  "--probe-timeout",
  "--shard",
  "--resume",
] satisfies ValueOption[];

function usage(text: string): UsageError {
  return new UsageError(REASON_PREFIX + text, EXIT_FAILURE, true);
}

function badValue(option: string, value: string, expected: string): UsageError {
  return new UsageError(
    `${REASON_PREFIX}Invalid value ${JSON.stringify(value)} for ${option}: expected ${expected}`,
    EXIT_FAILURE,
  );
}

function decimal(value: string, min: number, max: number): number | undefined {
  if (!/^[0-9]{1,10}$/.test(value)) return undefined;
  const n = Number(value);
  return n >= min && n <= max ? n : undefined;
}

/**
 * Splits an `@` argument's text on commas and spaces and keeps up to four valid addresses
 * (docs/courier.md#the-server-list-argument).
 */
function parseServers(arg: string, warnings: string[]): string[] {
  const servers: string[] = [];
  for (const piece of arg.slice(1).split(/[ ,]+/)) {
    // Courier stops looking once it has four: later pieces are not even validated.
    if (servers.length === MAX_SERVERS) break;
    if (piece === "") continue;
    if (!isAddress(piece)) warnings.push(invalidAddressLine(piece));
    else servers.push(piece);
  }
  // D11: Courier would quietly ask ::1 here.
  if (servers.length === 0) {
    throw new UsageError(
      `${REASON_PREFIX}No valid name server address in ${JSON.stringify(arg)}`,
      EXIT_FAILURE,
    );
  }
  return servers;
}

/**
 * Parses the command line (without the program name).
 *
 * Courier's options keep their meaning; unlike Courier (D11) they may follow the
 * domain, `--sts-override=MODE` may stand anywhere, and an unknown option, a second domain,
 * an `@` list without a valid address, or a bad option value is an error.
 *
 * @param argv The arguments.
 * @returns What to do.
 * @throws {UsageError} With `message` the exact stderr line (empty for Courier's plain usage
 *   error) and `showUsage` when the usage text should follow; exit status 1.
 */
export function parseArgs(argv: readonly string[]): CliArgs {
  // --help and --version win wherever they stand, whatever else is wrong.
  if (argv.includes("--help")) return defaults("help");
  if (argv.includes("--version")) return defaults("version");

  const result = defaults("lookup");
  let deadlineGiven = false;
  const actions = new Set<CliAction>();
  let domain: string | undefined;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith("@")) {
      // A later list replaces an earlier one (docs/courier.md#the-server-list-argument).
      result.servers = parseServers(arg, result.warnings);
      continue;
    }
    if (!arg.startsWith("-")) {
      // No domain starts with "-", so anything else is the domain.
      if (domain !== undefined) {
        throw usage(
          `Unexpected argument ${JSON.stringify(arg)}: the domain is already ${
            JSON.stringify(domain)
          }`,
        );
      }
      domain = arg;
      continue;
    }
    if (arg.startsWith("--sts-override=")) {
      actions.add("override");
      result.overrideMode = arg.slice("--sts-override=".length);
      continue;
    }
    if (arg.startsWith("--sts-cache-enable=")) {
      // Courier checks N as soon as it sees it, before the usage check, with this message
      // (docs/courier.md#argument-grammar); unlike Courier's atoi, only plain digits count (D11).
      const size = decimal(arg.slice("--sts-cache-enable=".length), 1, MAX_CACHE_SIZE);
      if (size === undefined) throw new UsageError("Invalid option.", EXIT_FAILURE);
      actions.add("cache-enable");
      result.cacheSize = size;
      continue;
    }
    switch (arg) {
      case "--dnssec":
        result.udpSize = DNSSEC_UDP_SIZE;
        continue;
      case "--json":
        result.json = true;
        continue;
      case "--probe":
        result.probe = true;
        continue;
      case "--sts":
        actions.add("sts");
        continue;
      case "--sts-expire":
        actions.add("expire");
        continue;
      case "--sts-purge":
        actions.add("purge");
        continue;
      case "--sts-cache-disable":
        actions.add("cache-disable");
        continue;
      case "--sts-cache-enable":
        actions.add("cache-enable");
        delete result.cacheSize;
        continue;
    }
    const eq = arg.indexOf("=");
    const name = eq < 0 ? arg : arg.slice(0, eq);
    if (!VALUE_OPTIONS.includes(name)) throw usage(`Unknown option ${JSON.stringify(arg)}`);
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length) value = argv[++i];
    else throw usage(`Option ${name} needs a value`);
    setValue(result, name as ValueOption, value);
    if (name === "--deadline") deadlineGiven = true;
  }

  // Courier's usage check (docs/courier.md#usage-text): usage text only, no message line.
  if (actions.size > 1) throw new UsageError("", EXIT_FAILURE, true);
  const action = actions.size === 1 ? [...actions][0] : "lookup";
  const domainless = action === "expire" || action === "cache-disable" ||
    action === "cache-enable";
  if (result.batchFile !== undefined) {
    if (action !== "lookup") throw usage("Option --batch works only for MX lookups");
    if (domain !== undefined) throw usage("Option --batch takes no domain argument");
    if (!deadlineGiven) result.deadlineMs = DEFAULT_BATCH_DEADLINE_MS;
  } else if (result.shard !== undefined || result.resumeFile !== undefined) {
    throw usage(`Option ${result.shard ? "--shard" : "--resume"} works only with --batch`);
  } else if (domainless ? domain !== undefined : domain === undefined) {
    throw new UsageError("", EXIT_FAILURE, true);
  }
  if (result.probe) {
    if (action !== "lookup") throw usage("Option --probe works only for MX lookups");
    // DANE needs validated answers: the DO bit on every query of the run (RFC 7672 §2.2).
    if (result.udpSize === 0) result.udpSize = DNSSEC_UDP_SIZE;
  }
  result.action = action;
  if (domain !== undefined) result.domain = domain;
  return result;
}

function defaults(action: CliAction): CliArgs {
  return {
    action,
    warnings: [],
    udpSize: 0,
    json: false,
    deadlineMs: DEFAULT_DEADLINE_MS,
    concurrency: DEFAULT_CONCURRENCY,
    probe: false,
    port: 25,
    probeTimeoutMs: DEFAULT_PROBE_TIMEOUT_MS,
  };
}

function setValue(result: CliArgs, option: ValueOption, value: string): void {
  switch (option) {
    case "--udpsize": {
      // Any size enables EDNS with DO, as in Courier; 0 turns EDNS off (docs/courier.md#udpsize).
      const size = decimal(value, 0, 0xffff);
      if (size === undefined) throw badValue(option, value, "a number from 0 to 65535");
      result.udpSize = size;
      return;
    }
    case "--deadline": {
      const seconds = /^[0-9]{1,6}(\.[0-9]{1,3})?$/.test(value) ? Number(value) : NaN;
      if (!(seconds > 0 && seconds <= MAX_DEADLINE_SECONDS)) {
        throw badValue(option, value, `seconds, more than 0 and at most ${MAX_DEADLINE_SECONDS}`);
      }
      result.deadlineMs = Math.round(seconds * 1000);
      return;
    }
    case "--port": {
      const n = decimal(value, 1, 0xffff);
      if (n === undefined) throw badValue(option, value, "a port number from 1 to 65535");
      result.port = n;
      return;
    }
    case "--probe-timeout": {
      const seconds = /^[0-9]{1,6}(\.[0-9]{1,3})?$/.test(value) ? Number(value) : NaN;
      if (!(seconds > 0 && seconds <= MAX_PROBE_TIMEOUT_SECONDS)) {
        throw badValue(
          option,
          value,
          `seconds, more than 0 and at most ${MAX_PROBE_TIMEOUT_SECONDS}`,
        );
      }
      result.probeTimeoutMs = Math.round(seconds * 1000);
      return;
    }
    case "--helo":
      // One token of printable ASCII, as EHLO needs it (D32): no command can ride along.
      if (
        !/^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]{1,45}\]$/.test(value)
      ) {
        throw badValue(option, value, "a host name or an [address] literal");
      }
      result.helo = value;
      return;
    case "--concurrency": {
      const n = decimal(value, 1, MAX_CONCURRENCY);
      if (n === undefined) throw badValue(option, value, `a number from 1 to ${MAX_CONCURRENCY}`);
      result.concurrency = n;
      return;
    }
    case "--shard":
      try {
        result.shard = parseShard(value);
      } catch {
        throw badValue(option, value, "K/N with 0 <= K < N <= 1000000");
      }
      return;
  }
  if (value === "") throw badValue(option, value, "a path");
  if (option === "--batch") result.batchFile = value;
  else if (option === "--resume") result.resumeFile = value;
  else if (option === "--sts-dir") result.stsDir = value;
  else if (option === "--resolv-conf") result.resolvConf = value;
  else if (option === "--config-dir") result.configDir = value;
  else result.caFile = value;
}
