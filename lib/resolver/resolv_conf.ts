// resolv.conf(5) as glibc reads it, with Courier's address grammar (docs/courier.md#resolv-conf)
// and D12's defaults: `nameserver`, `domain`, `search`, `options timeout attempts rotate`.
// Pure; reading the file goes through the host. Lines it cannot use become warnings.
import { quote } from "../errors.ts";
import { addressToHost, parseAddress } from "../address.ts";
import type { FileReader } from "../host.ts";

/** Servers used when resolv.conf names none (D12; Courier itself falls back to ::1 only). */
export const DEFAULT_NAMESERVERS: readonly string[] = ["127.0.0.1", "::1"];

/** Courier keeps ten servers (glibc's MAXNS is three). */
export const MAX_NAMESERVERS = 10;

/** The most of resolv.conf parsed; glibc has no limit, but a real file is a few lines. */
export const MAX_RESOLV_CONF_CHARS = 65536;

/** Warnings kept per file; the rest are counted in one last warning. */
export const MAX_RESOLV_CONF_WARNINGS = 20;

/** glibc's defaults and caps: RES_TIMEOUT 5 s, RES_MAXRETRANS 30 s, RES_DFLRETRY 2, RES_MAXRETRY 5. */
const DEFAULT_TIMEOUT_S = 5;
const MAX_TIMEOUT_S = 30;
const DEFAULT_ATTEMPTS = 2;
const MAX_ATTEMPTS = 5;

/** glibc options that are valid but change nothing here; accepted without a warning. */
const IGNORED_OPTIONS = new Set([
  "debug",
  "edns0",
  "inet6",
  "insecure1",
  "insecure2",
  "ip6-bytestring",
  "ip6-dotint",
  "ndots",
  "no-aaaa",
  "no-check-names",
  "no-ip6-dotint",
  "no-reload",
  "no-tld-query",
  "single-request",
  "single-request-reopen",
  "trust-ad",
  "use-vc",
]);

/** A line of resolv.conf that was ignored in whole or in part. */
export interface ResolvConfWarning {
  /** The 1-based line number; absent when the warning concerns the whole file. */
  line?: number;
  /** What was ignored and why, e.g. `Ignoring nameserver "bogus": not an IP address`. */
  message: string;
}

/** What resolv.conf says, defaults filled in. */
export interface ResolvConf {
  /** Server addresses as socket host text (dotted IPv4 or IPv6), at most 10, in file order. */
  nameservers: string[];
  /** The default domain: the `domain` value, or the first `search` entry. Lower case. */
  domain?: string;
  /** The search list: from the last `search` line, or `[domain]` after a later `domain`. */
  search: string[];
  /** Per-attempt timeout, from `options timeout:N` (N ≤ 30 s). @default {5000} */
  timeoutMs: number;
  /** Rounds over the server list, from `options attempts:N` (N ≤ 5). @default {2} */
  attempts: number;
  /** Whether `options rotate` spreads queries over the servers. @default {false} */
  rotate: boolean;
  /** Lines that were ignored, for stderr. */
  warnings: ResolvConfWarning[];
}

/**
 * Parses the text of a resolv.conf file. Keywords are case-insensitive; `#` or `;` starts
 * a comment at the start of a line or of a word.
 *
 * @param text The file's content.
 * @returns The configuration; unknown or invalid lines are reported in `warnings`, at most
 *   {@linkcode MAX_RESOLV_CONF_WARNINGS} of them and a count of the rest. Text past
 *   {@linkcode MAX_RESOLV_CONF_CHARS} is ignored, with a warning.
 *
 * @example Parse a file and build a resolver from it
 * ```ts
 * import { parseResolvConf, Resolver } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const conf = parseResolvConf(
 *   "nameserver 192.0.2.53\nsearch Example.COM\noptions timeout:2 rotate\nbogus\n",
 * );
 * assert.deepEqual(conf.nameservers, ["192.0.2.53"]);
 * assert.equal(conf.domain, "example.com");
 * assert.equal(conf.timeoutMs, 2000);
 * assert.equal(conf.rotate, true);
 * assert.deepEqual(conf.warnings, [{ line: 4, message: `Ignoring unknown keyword "bogus"` }]);
 * // No nameserver line: the defaults.
 * assert.deepEqual(parseResolvConf("").nameservers, ["127.0.0.1", "::1"]);
 *
 * const resolver = new Resolver({
 *   servers: conf.nameservers.map((address) => ({ address })),
 *   timeoutMs: conf.timeoutMs,
 *   attempts: conf.attempts,
 *   rotate: conf.rotate,
 * });
 * assert.ok(resolver instanceof Resolver);
 * ```
 */
export function parseResolvConf(text: string): ResolvConf {
  const conf: ResolvConf = {
    nameservers: [],
    search: [],
    timeoutMs: DEFAULT_TIMEOUT_S * 1000,
    attempts: DEFAULT_ATTEMPTS,
    rotate: false,
    warnings: [],
  };
  let dropped = 0;
  const cut = text.length > MAX_RESOLV_CONF_CHARS;
  const lines = (cut ? text.slice(0, MAX_RESOLV_CONF_CHARS) : text).split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, "");
    // A binary or generated file must not flood stderr: one line each for the first few.
    const warn = (message: string) => {
      if (conf.warnings.length < MAX_RESOLV_CONF_WARNINGS) {
        conf.warnings.push({ line: i + 1, message });
      } else dropped++;
    };
    if (line.trim() === "") continue;
    // glibc and Courier both match the keyword at the very start of the line only.
    if (/^[ \t]/.test(line)) {
      warn(`Ignoring ${quote(line.trim(), 100)}: line starts with white space`);
      continue;
    }
    const words = line.split(/[ \t]+/).filter((w) => w !== "");
    const end = words.findIndex((w) => w.startsWith("#") || w.startsWith(";"));
    if (end >= 0) words.length = end;
    if (words.length === 0) continue;
    const [keyword, ...values] = words;
    switch (keyword.toLowerCase()) {
      case "nameserver":
        addNameserver(conf, values, warn);
        break;
      case "domain": {
        // Courier lowercases the line (docs/courier.md#resolv-conf); glibc makes `domain` the
        // search list.
        const domain = values[0] === undefined ? undefined : toDomain(values[0]);
        if (domain === undefined) {
          warn("Ignoring domain without a value");
          break;
        }
        conf.domain = domain;
        conf.search = [domain];
        break;
      }
      case "search":
        // `search .` (systemd-resolved) means no search domain; glibc skips the root too.
        conf.search = values.map(toDomain).filter((d): d is string => d !== undefined);
        if (conf.search.length > 0) conf.domain = conf.search[0];
        else delete conf.domain;
        break;
      case "options":
        for (const option of values) applyOption(conf, option, warn);
        break;
      case "sortlist":
        // A glibc keyword for address ordering; MX hosts keep D14's order instead.
        break;
      default:
        warn(`Ignoring unknown keyword ${quote(keyword, 100)}`);
    }
  }
  if (dropped > 0) {
    conf.warnings.push({ message: `${dropped} more lines ignored (not shown)` });
  }
  if (cut) {
    conf.warnings.push({
      message: `Ignoring everything after the first ${MAX_RESOLV_CONF_CHARS} characters`,
    });
  }
  if (conf.nameservers.length === 0) conf.nameservers = [...DEFAULT_NAMESERVERS];
  return conf;
}

function addNameserver(conf: ResolvConf, values: string[], warn: (m: string) => void): void {
  const [value] = values;
  if (value === undefined) return warn("Ignoring nameserver without an address");
  const address = parseAddress(value);
  if (address === undefined) {
    return warn(`Ignoring nameserver ${quote(value, 100)}: not an IP address`);
  }
  if (conf.nameservers.length === MAX_NAMESERVERS) {
    return warn(`Ignoring nameserver ${quote(value, 100)}: at most ${MAX_NAMESERVERS} are used`);
  }
  conf.nameservers.push(addressToHost(address));
}

function applyOption(conf: ResolvConf, option: string, warn: (m: string) => void): void {
  const colon = option.indexOf(":");
  const name = (colon < 0 ? option : option.slice(0, colon)).toLowerCase();
  const value = colon < 0 ? undefined : option.slice(colon + 1);
  if (name === "rotate") {
    conf.rotate = true;
  } else if (name === "timeout" || name === "attempts") {
    const n = value !== undefined && /^[0-9]+$/.test(value) ? Number(value) : NaN;
    if (Number.isNaN(n)) return warn(`Ignoring option ${quote(option, 100)}: not a whole number`);
    // glibc caps both; a zero would mean no wait or no try, so one is the floor.
    const max = name === "timeout" ? MAX_TIMEOUT_S : MAX_ATTEMPTS;
    const bounded = Math.min(Math.max(n, 1), max);
    if (bounded !== n) {
      warn(`Option ${quote(option, 100)} is out of range 1..${max}; using ${bounded}`);
    }
    if (name === "timeout") conf.timeoutMs = bounded * 1000;
    else conf.attempts = bounded;
  } else if (!IGNORED_OPTIONS.has(name)) {
    warn(`Ignoring unknown option ${quote(option, 100)}`);
  }
}

function toDomain(value: string): string | undefined {
  // Trailing dots cut by a scan from the end: the regular expression /\.+$/ retries at every
  // dot of a name such as "....x", quadratic in a 64 KiB line that the run deadline cannot stop.
  let end = value.length;
  while (end > 0 && value.charCodeAt(end - 1) === 0x2e) end--;
  return end === 0 ? undefined : value.slice(0, end).toLowerCase();
}

/**
 * Reads and parses a resolv.conf file. A missing file gives the defaults, as in glibc and
 * Courier. A file that exists but cannot be read is an error: asking the default servers
 * instead would diagnose the wrong resolver.
 *
 * @param path The file, normally `/etc/resolv.conf`.
 * @param host Reads the file: `denoHost()` for the real one.
 * @returns The configuration.
 * @throws {Error} When the file exists but cannot be read, or holds a NUL byte (binary,
 *   UTF-16).
 *
 * @example Read through any file reader
 * ```ts
 * import { type FileReader, loadResolvConf } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const files: FileReader = {
 *   readTextFile: (path) =>
 *     Promise.resolve(path === "/etc/resolv.conf" ? "nameserver 10.0.0.1\n" : undefined),
 * };
 * assert.deepEqual((await loadResolvConf("/etc/resolv.conf", files)).nameservers, ["10.0.0.1"]);
 * // A missing file gives the defaults, as in glibc.
 * assert.deepEqual((await loadResolvConf("/missing", files)).nameservers, ["127.0.0.1", "::1"]);
 * ```
 */
export async function loadResolvConf(path: string, host: FileReader): Promise<ResolvConf> {
  const text = await host.readTextFile(path) ?? "";
  // A NUL never occurs in a text file (UTF-16 has one in every ASCII character): treat the
  // file as unusable rather than guess at servers from it.
  if (text.includes("\0")) throw new Error("Not a text file: it holds a NUL byte");
  return parseResolvConf(text);
}
