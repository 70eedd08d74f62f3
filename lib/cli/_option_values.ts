// The options that take a value (`--port 25`, `--port=25`) and their parsers, and the `@` server
// list (docs/courier.md#the-server-list-argument): each value checked against its bounds, a bad
// one a `UsageError` naming the option and what it expects. The grammar is `parseArgs`'s.
import { isAddress } from "../address.ts";
import { UsageError } from "../errors.ts";
import { parseShard } from "../lookup/shard.ts";
import { invalidAddressLine, REASON_PREFIX } from "../report/text.ts";
import { EXIT_FAILURE } from "./_exit_status.ts";
import type { CliArgs } from "./args.ts";

/** At most this many `@` servers are kept (docs/courier.md#the-server-list-argument). */
export const MAX_SERVERS = 4;

const MAX_DEADLINE_SECONDS = 86_400;
/**
 * Monitoring runs thousands of domains against a local caching resolver; each lookup in
 * flight holds a few sockets (at most 32 address queries, one TXT query, one download), so
 * 256 stays well inside a 1024 file descriptor limit in the usual case of 1-3 MX hosts.
 */
const MAX_CONCURRENCY = 256;
/** The largest `--sts-cache-enable=N`. */
export const MAX_CACHE_SIZE = 999_999;
const MAX_PROBE_TIMEOUT_SECONDS = 600;

/** The options that take a value, as the next argument or after `=`. */
export type ValueOption =
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

/** {@linkcode ValueOption}'s members, to look an option up. */
export const VALUE_OPTIONS: readonly string[] = [
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

function badValue(option: string, value: string, expected: string): UsageError {
  return new UsageError(
    `${REASON_PREFIX}Invalid value ${JSON.stringify(value)} for ${option}: expected ${expected}`,
    EXIT_FAILURE,
  );
}

/** `value` as a number when it is plain digits from `min` to `max`. */
export function decimal(value: string, min: number, max: number): number | undefined {
  if (!/^[0-9]{1,10}$/.test(value)) return undefined;
  const n = Number(value);
  return n >= min && n <= max ? n : undefined;
}

/**
 * Splits an `@` argument's text on commas and spaces and keeps up to four valid addresses
 * (docs/courier.md#the-server-list-argument).
 */
export function parseServers(arg: string, warnings: string[]): string[] {
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

/** Seconds (up to 3 decimals), more than 0 and at most `max`, as milliseconds. */
function milliseconds(option: string, value: string, max: number): number {
  const seconds = /^[0-9]{1,6}(\.[0-9]{1,3})?$/.test(value) ? Number(value) : NaN;
  if (!(seconds > 0 && seconds <= max)) {
    throw badValue(option, value, `seconds, more than 0 and at most ${max}`);
  }
  return Math.round(seconds * 1000);
}

/** Checks `value` for `option` and sets it in `result`; throws a `UsageError` when it is bad. */
export function setValue(result: CliArgs, option: ValueOption, value: string): void {
  switch (option) {
    case "--udpsize": {
      // Any size enables EDNS with DO, as in Courier; 0 turns EDNS off (docs/courier.md#udpsize).
      const size = decimal(value, 0, 0xffff);
      if (size === undefined) throw badValue(option, value, "a number from 0 to 65535");
      result.udpSize = size;
      return;
    }
    case "--deadline":
      result.deadlineMs = milliseconds(option, value, MAX_DEADLINE_SECONDS);
      return;
    case "--port": {
      const n = decimal(value, 1, 0xffff);
      if (n === undefined) throw badValue(option, value, "a port number from 1 to 65535");
      result.port = n;
      return;
    }
    case "--probe-timeout":
      result.probeTimeoutMs = milliseconds(option, value, MAX_PROBE_TIMEOUT_SECONDS);
      return;
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
