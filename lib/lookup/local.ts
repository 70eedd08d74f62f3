// Courier's `[ LOCAL ]` test, config_islocal (docs/courier.md#local-hosts): `locals` (or `me`, or
// the host name) with `!` exclusions and `.suffix` patterns, then the hosted domains. The GDBM file
// hosteddomains.dat is not read: its text source `hosteddomains` stands in (see below).
import type { FileReader } from "../host.ts";
import { domaincmpName } from "../names.ts";

/** What the `[ LOCAL ]` test reads from the machine. */
export interface LocalConfig {
  /** The text of `locals`; undefined when the file does not exist. */
  locals?: string;
  /** The first line of `me` (at most 255 bytes, no newline); undefined when absent. */
  me?: string;
  /** The system host name. */
  hostname: string;
  /** Keys of the hosted-domain database (`example.com`, `.example.com`). */
  hostedDomains?: string[];
}

/** The host name and files `loadLocalConfig` needs. */
export interface LocalHost extends FileReader {
  /** The machine's host name. */
  hostname(): string;
}

const MAX_ME_BYTES = 255;
/**
 * The largest `locals`, `me` or `hosteddomains` used, in characters (D38): about 50,000 hosted
 * domains; a larger file is a configuration error naming it. `locals` and `hosteddomains` at
 * this size compile within the run's 50 ms budget for a reader, whatever their lines.
 */
export const MAX_LOCAL_CONFIG_CHARS: number = 1024 * 1024;
const MAX_HOSTED_SUFFIXES = 5;

/**
 * The `locals` lines compiled for lookups in time linear in the name, not in the file: Courier
 * tries the lines in order and the first one whose pattern matches decides (`!` = not local).
 * domaincmp (docs/courier.md#domain-comparison) matches a `.suffix` pattern against any deeper name
 * and any other pattern by equality, so each line is filed under its folded pattern, and a name is
 * looked up under itself and under each of its suffixes that begin with a dot. The earliest line
 * wins.
 */
interface CompiledList {
  /** Folded exact pattern → 2 × first line index + 1 when that line says local. */
  exact: Map<string, number>;
  /** Folded `.suffix` pattern → the same encoding. */
  suffix: Map<string, number>;
}

function fileLine(list: CompiledList, line: string, index: number, seen?: Set<string>): void {
  // A line seen before changes nothing (the earliest one decides), and folding an A-label
  // costs microseconds: a file of one repeated line is read at the speed of the scan.
  if (seen) {
    if (seen.has(line)) return;
    seen.add(line);
  }
  const negated = line.startsWith("!");
  const pattern = negated ? line.slice(1) : line;
  if (pattern === "") return;
  const folded = domaincmpName(pattern);
  const map = folded.startsWith(".") ? list.suffix : list.exact;
  if (!map.has(folded)) map.set(folded, 2 * index + (negated ? 0 : 1));
}

const LF = 0x0a;
const CR = 0x0d;
const HASH = 0x23;

/**
 * The `locals` lines compiled: `#` to the end of the line removed, spaces kept, lines split on
 * LF or CR. One pass over the text, no regular expression, and nothing made of an empty or
 * comment line, so that a file of millions of short lines compiles within the run's budget.
 */
function compileLocals(text: string): CompiledList {
  const list: CompiledList = { exact: new Map(), suffix: new Map() };
  const seen = new Set<string>();
  const n = text.length;
  let index = 0;
  for (let start = 0; start <= n; index++) {
    let end = start;
    let code = 0;
    while (end < n && (code = text.charCodeAt(end)) !== LF && code !== CR && code !== HASH) end++;
    if (end > start) fileLine(list, text.slice(start, end), index, seen);
    while (end < n && (code = text.charCodeAt(end)) !== LF && code !== CR) end++;
    start = end + 1;
  }
  return list;
}

/** Whether `name` is local by the list: the first matching line decides. */
function listed(name: string, list: CompiledList): boolean {
  const folded = domaincmpName(name);
  let best = list.exact.get(folded) ?? Infinity;
  if (list.suffix.size > 0) {
    for (let dot = folded.indexOf("."); dot >= 0; dot = folded.indexOf(".", dot + 1)) {
      const found = list.suffix.get(folded.slice(dot));
      if (found !== undefined && found < best) best = found;
    }
  }
  return best !== Infinity && best % 2 === 1;
}

/** The `locals` list, or else the one line `me` (or the host name) stands for. */
function localsList(config: LocalConfig, hostname: string): CompiledList {
  if (config.locals !== undefined) return compileLocals(config.locals);
  const list: CompiledList = { exact: new Map(), suffix: new Map() };
  // Courier expands a leading `*.` in `me` with the host name.
  const me = config.me?.startsWith("*.") ? hostname + config.me.slice(1) : config.me;
  fileLine(list, me ?? hostname, 0);
  return list;
}

/** What isLocal compiled from one configuration, and from which inputs. */
interface Compiled {
  locals?: string;
  me?: string;
  hostname: string;
  hostedDomains?: string[];
  list: CompiledList;
  hosted?: Set<string>;
}

// One compilation per configuration object: a report asks for every MX host, a batch for every
// domain, and a hosting list can hold hundreds of thousands of lines. Recompiled when a field
// the result depends on was replaced.
const compiled = new WeakMap<LocalConfig, Compiled>();

function compile(config: LocalConfig): Compiled {
  const found = compiled.get(config);
  if (
    found !== undefined && found.locals === config.locals && found.me === config.me &&
    found.hostname === config.hostname && found.hostedDomains === config.hostedDomains
  ) {
    return found;
  }
  const hostname = config.hostname.toLowerCase();
  const fresh: Compiled = {
    locals: config.locals,
    me: config.me,
    hostname: config.hostname,
    hostedDomains: config.hostedDomains,
    list: localsList(config, hostname),
    hosted: config.hostedDomains === undefined || config.hostedDomains.length === 0
      ? undefined
      : new Set(config.hostedDomains.map((d) => d.toLowerCase())),
  };
  compiled.set(config, fresh);
  return fresh;
}

/**
 * Courier's "hostname form": the host name itself is `*`, a name under it is `*.rest`
 * (`vm.foo.test` on host `vm` is `*.foo.test`).
 */
function hostnameForm(host: string, hostname: string): string | undefined {
  if (hostname === "") return undefined;
  const h = host.toLowerCase();
  if (h === hostname) return "*";
  if (h.startsWith(hostname + ".")) return "*" + host.slice(hostname.length);
  return undefined;
}

/**
 * Whether a relay host is one of this server's domains (Courier's `[ LOCAL ]`).
 *
 * @param host The host as printed after `Relay:`.
 * @param config The configuration, see {@linkcode loadLocalConfig}.
 * @returns True when `locals` (or `me`, or the host name) or the hosted domains claim it.
 */
export function isLocal(host: string, config: LocalConfig): boolean {
  const { list, hosted } = compile(config);
  const form = hostnameForm(host, config.hostname.toLowerCase());
  if (form !== undefined && listed(form, list)) return true;
  if (listed(host, list)) return true;

  if (hosted === undefined) return false;
  // The database is keyed by the whole name (hostname form first), then by up to five
  // suffixes that keep their leading dot: a.b.c.d → .b.c.d, .c.d, .d.
  const key = (form ?? host).toLowerCase();
  if (hosted.has(key)) return true;
  let suffixes = 0;
  for (let dot = key.indexOf(".", 1); dot >= 0; dot = key.indexOf(".", dot + 1)) {
    if (suffixes++ === MAX_HOSTED_SUFFIXES) break;
    if (hosted.has(key.slice(dot))) return true;
  }
  return false;
}

/**
 * The keys of the text file `hosteddomains`: one domain per line, or `alias<TAB>domain`
 * (the key is the first field); `#` starts a comment; keys lower-cased.
 *
 * @param text The file's text.
 * @returns The keys in file order.
 */
export function parseHostedDomains(text: string): string[] {
  // One pass, no regular expression per line (D38). Per line: white space (JavaScript's, as
  // `trim` sees it) and the first `#` comment, which runs to a CR, U+2028 or U+2029 (what `.`
  // does not match), are skipped; the key runs to white space or that first `#`.
  const keys: string[] = [];
  const n = text.length;
  let at = 0;
  while (at < n) {
    if (text.charCodeAt(at) === LF) {
      at++;
      continue;
    }
    let comment = false;
    for (;;) {
      while (at < n && text.charCodeAt(at) !== LF && isSpace(text.charCodeAt(at))) at++;
      if (comment || at >= n || text.charCodeAt(at) !== HASH) break;
      comment = true;
      while (at < n && text.charCodeAt(at) !== LF && !endsComment(text.charCodeAt(at))) at++;
    }
    const start = at;
    for (; at < n; at++) {
      const code = text.charCodeAt(at);
      if (isSpace(code) || (code === HASH && !comment)) break;
    }
    if (at > start) keys.push(text.slice(start, at).toLowerCase());
    const lf = text.indexOf("\n", at);
    at = lf < 0 ? n : lf + 1;
  }
  return keys;
}

/** JavaScript's white space and line terminators: what `trim` removes and `\s` matches. */
function isSpace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0xa0) return false;
  return code === 0xa0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f ||
    code === 0x3000 || code === 0xfeff;
}

/** The line terminators but LF, which end a `#` comment as they end `.*`. */
function endsComment(code: number): boolean {
  return code === CR || code === 0x2028 || code === 0x2029;
}

async function readHostedDomains(path: string, host: FileReader): Promise<string | undefined> {
  try {
    return await host.readTextFile(path);
  } catch (error) {
    // makehosteddomains also accepts a directory of files; we cannot list it (FileReader).
    if (error instanceof Deno.errors.IsADirectory) return undefined;
    throw error;
  }
}

function firstLine(text: string): string {
  const line = text.split("\n", 1)[0];
  const bytes = new TextEncoder().encode(line);
  if (bytes.length <= MAX_ME_BYTES) return line;
  // Courier reads `me` into a 256-byte buffer: at most 255 bytes survive.
  return new TextDecoder().decode(bytes.subarray(0, MAX_ME_BYTES)).replace(/\uFFFD$/, "");
}

// A binary file (or UTF-16, with a NUL in every ASCII character) would match nothing or
// the wrong names; a huge one would be searched for every MX host. Both are configuration
// errors to name rather than to guess from.
function usable(path: string, text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (text.length > MAX_LOCAL_CONFIG_CHARS) {
    throw new Error(`${path} holds over ${MAX_LOCAL_CONFIG_CHARS} characters`);
  }
  if (text.includes("\0")) throw new Error(`${path} is not a text file: it holds a NUL byte`);
  return text;
}

/**
 * Reads what {@linkcode isLocal} needs from Courier's configuration directory: `locals`,
 * the first line of `me`, and the host name.
 *
 * Hosted domains come from the text file `hosteddomains`, not from `hosteddomains.dat`
 * (GDBM, which Deno cannot read without FFI). Courier builds the `.dat` from that file with
 * `makehosteddomains`, so the two agree unless an administrator edited the text since; a
 * `.dat` built from elsewhere is not seen, nor is `hosteddomains` when it is a directory of
 * files (which makehosteddomains also accepts): then no domain counts as hosted.
 *
 * @param configDir Courier's configuration directory, e.g. `/etc/courier`.
 * @param host Files and the host name.
 * @returns The configuration.
 * @throws {Error} When a file exists but cannot be read, holds a NUL byte (binary,
 *   UTF-16) or is over {@linkcode MAX_LOCAL_CONFIG_CHARS}.
 */
export async function loadLocalConfig(configDir: string, host: LocalHost): Promise<LocalConfig> {
  const dir = configDir.endsWith("/") ? configDir : configDir + "/";
  const [locals, me, hosted] = await Promise.all([
    host.readTextFile(dir + "locals").then((text) => usable(dir + "locals", text)),
    host.readTextFile(dir + "me").then((text) => usable(dir + "me", text)),
    readHostedDomains(dir + "hosteddomains", host).then((text) =>
      usable(dir + "hosteddomains", text)
    ),
  ]);
  const config: LocalConfig = { hostname: host.hostname() };
  if (locals !== undefined) config.locals = locals;
  if (me !== undefined) config.me = firstLine(me);
  if (hosted !== undefined) config.hostedDomains = parseHostedDomains(hosted);
  return config;
}
