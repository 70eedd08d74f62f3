// The command line: Courier's option names and meanings (docs/courier.md#argument-grammar), parsed
// the sane way of D11 (options anywhere, unknown options and stray arguments rejected). Pure: the
// result says what to do; running it, and printing warnings and errors, is `runCli`'s job. The
// exit statuses are in `_exit_status.ts`, the option values' parsers in `_option_values.ts`.
import { DNSSEC_UDP_SIZE } from "../resolver/options.ts";
import { DEFAULT_BATCH_CONCURRENCY, DEFAULT_DOMAIN_DEADLINE_MS } from "../lookup/lookup_many.ts";
import { UsageError } from "../errors.ts";
import type { Shard } from "../lookup/shard.ts";
import { REASON_PREFIX } from "../report/text.ts";
import { EXIT_FAILURE } from "./_exit_status.ts";
import {
  decimal,
  MAX_CACHE_SIZE,
  parseServers,
  setValue,
  VALUE_OPTIONS,
  type ValueOption,
} from "./_option_values.ts";

export {
  EXIT_CANTCREAT,
  EXIT_CONFIG,
  EXIT_DATAERR,
  EXIT_FAILURE,
  EXIT_INTERRUPTED,
  EXIT_IOERR,
  EXIT_NOINPUT,
  EXIT_NOPERM,
  EXIT_OK,
  EXIT_SOFTWARE,
  EXIT_TEMPFAIL,
} from "./_exit_status.ts";
export { MAX_SERVERS } from "./_option_values.ts";

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

function usage(text: string): UsageError {
  return new UsageError(REASON_PREFIX + text, EXIT_FAILURE, true);
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
