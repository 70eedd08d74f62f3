// Typed errors of the library: one class per family, a `kind` to branch on, the cause kept.
// "The network failed" (TIMEOUT, NETWORK) and "DNS said no" (NXDOMAIN, SERVFAIL, ...) stay
// apart so that callers (and `--json`) can tell a dead server from a missing record.

/** What went wrong with a DNS question. */
export type DnsErrorKind =
  /** The name does not exist (RCODE 3). */
  | "NXDOMAIN"
  /** The name exists but has no record of the asked type. */
  | "NODATA"
  /** The server failed (RCODE 2), or answered with an RCODE this tool does not expect. */
  | "SERVFAIL"
  /** The server refused the question (RCODE 5). */
  | "REFUSED"
  /** The server did not understand the question (RCODE 1), even without EDNS. */
  | "FORMERR"
  /** The server does not implement the question (RCODE 4). */
  | "NOTIMP"
  /** No acceptable reply arrived in time from any server. */
  | "TIMEOUT"
  /** A reply that passed the acceptance checks could not be decoded. */
  | "MALFORMED"
  /** A socket could not be opened, or sending or connecting failed. */
  | "NETWORK"
  /** A CNAME chain was longer than the limit, or looped. */
  | "CNAME_LOOP"
  /** The name cannot be put on the wire (empty label, label over 63 octets, name over 255). */
  | "INVALID_NAME";

/** Options of {@linkcode DnsError}. */
export interface DnsErrorOptions {
  /** The server that gave the answer, or the last one tried, as `address` or `[v6]:port`. */
  server?: string;
  /** The name that was asked for. */
  name?: string;
  /** The record type that was asked for. */
  type?: string;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * A DNS question that failed, with the reason in `kind` and `message`.
 * `Resolver.query` throws it; `lookupMx` and `lookupSts` turn it into outcomes.
 *
 * @example Tell "DNS said no" from "the network failed"
 * ```ts
 * import { DnsError } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const missing = new DnsError("NXDOMAIN", `No such domain "nope.example"`, {
 *   server: "127.0.0.1",
 *   name: "nope.example",
 *   type: "MX",
 * });
 * assert.equal(missing.kind, "NXDOMAIN");
 * assert.equal(missing.qname, "nope.example");
 * assert.equal(missing.transient, false);
 * assert.equal(new DnsError("TIMEOUT", "No reply from 127.0.0.1").transient, true);
 * ```
 */
export class DnsError extends Error {
  /** What went wrong. */
  readonly kind: DnsErrorKind;
  /** The server that answered, or the last one tried. */
  readonly server?: string;
  /** The name that was asked for. */
  readonly qname?: string;
  /** The record type that was asked for. */
  readonly qtype?: string;

  /**
   * Creates an error.
   *
   * @param kind What went wrong.
   * @param message One sentence, sentence case, no period.
   * @param options Server, name, type and cause.
   */
  constructor(kind: DnsErrorKind, message: string, options: DnsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "DnsError";
    this.kind = kind;
    this.server = options.server;
    this.qname = options.name;
    this.qtype = options.type;
  }

  /** True for failures that may pass (Courier's "soft error"), false for answers that say no. */
  get transient(): boolean {
    return this.kind !== "NXDOMAIN" && this.kind !== "NODATA" &&
      this.kind !== "INVALID_NAME" && this.kind !== "CNAME_LOOP";
  }
}

/**
 * A command line the tool cannot run; `runCli` prints `message` and exits with `exitCode`.
 *
 * @example The fields the command line's driver reads
 * ```ts
 * import { UsageError } from "@testmxlookup/testmxlookup/cli";
 * import assert from "node:assert/strict";
 *
 * const error = new UsageError("--udpsize needs a number", 1, true);
 * assert.equal(error.name, "UsageError");
 * assert.equal(error.exitCode, 1);
 * assert.equal(error.showUsage, true);
 * ```
 */
export class UsageError extends Error {
  /** The process exit status to use. */
  readonly exitCode: number;
  /** Whether to print the usage text after the message. */
  readonly showUsage: boolean;

  /**
   * Creates an error.
   *
   * @param message One line; empty when the usage text says it all.
   * @param exitCode The exit status.
   * @param showUsage Whether the usage text follows.
   */
  constructor(message: string, exitCode = 1, showUsage = false) {
    super(message);
    this.name = "UsageError";
    this.exitCode = exitCode;
    this.showUsage = showUsage;
  }
}

/** Why a configuration file cannot be used. */
export type ConfigErrorKind =
  /** The operating system refused to open or read it (`EACCES`, `EIO`, ...). */
  | "UNREADABLE"
  /** It is a directory, FIFO, device or socket, or a link where none is allowed. */
  | "NOT_A_FILE"
  /** It is larger than the reader accepts. */
  | "TOO_LARGE"
  /** Its content is not what the reader accepts (`TLS_TRUSTCERTS` with no certificate). */
  | "INVALID"
  /** It or its directory cannot be used safely by a privileged run. */
  | "UNSAFE";

/**
 * A configuration file that exists but cannot be used; the command line exits 78 with the
 * message. Thrown where the file is read, with the path that was read.
 *
 * @example Branch on the kind
 * ```ts
 * import { ConfigError } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const error = new ConfigError("UNREADABLE", "/etc/resolv.conf", "Cannot read resolver configuration /etc/resolv.conf: Permission denied");
 * assert.equal(error.kind, "UNREADABLE");
 * assert.equal(error.path, "/etc/resolv.conf");
 * ```
 */
export class ConfigError extends Error {
  /** Why the file cannot be used. */
  readonly kind: ConfigErrorKind;
  /** The path that was read. */
  readonly path: string;

  /**
   * Creates an error.
   *
   * @param kind Why the file cannot be used.
   * @param path The path that was read.
   * @param message One line: what, where, why.
   * @param options The underlying error.
   */
  constructor(kind: ConfigErrorKind, path: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConfigError";
    this.kind = kind;
    this.path = path;
  }
}

/**
 * Whether `error` is Deno refusing a permission the run was not given (`--allow-*`), as
 * opposed to the operating system refusing access. Such errors are passed on unchanged so
 * that the command line reports the missing permission (exit 77).
 */
export function isPermissionRefusal(error: unknown): boolean {
  return error instanceof Deno.errors.NotCapable ||
    (error instanceof Deno.errors.PermissionDenied && error.message.includes("--allow-"));
}

/** Throws `error` again when it is a permission refusal (see {@linkcode isPermissionRefusal}). */
export function rethrowPermissionRefusal(error: unknown): void {
  if (isPermissionRefusal(error)) throw error;
}

/**
 * An operating-system error as C's strerror(3) words it: Deno's message without its
 * " (os error N)…" tail ("Permission denied (os error 13): open '/x'" → "Permission denied").
 */
export function osErrorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const at = message.indexOf(" (os error ");
  return at > 0 ? message.slice(0, at) : message;
}

/**
 * The errno name of a node:fs error, or of one lib/_libc_file.ts words as node:fs does
 * (`ELOOP`), if it is one.
 */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * The reason as strerror(3) words it, from a `Deno.errors.*` error or a node:fs one
 * ("EACCES: permission denied, open '/x'" becomes "Permission denied").
 */
export function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const node = /^E[A-Z0-9]+: ([^,]+)/.exec(message);
  return node ? node[1].charAt(0).toUpperCase() + node[1].slice(1) : osErrorText(error);
}

/**
 * `text` in double quotes with anything but printable ASCII as `\xHH` / `\u{…}`, cut after
 * `max` characters (records and policy lines can be long; names and paths are short).
 */
export function quote(text: string, max = Infinity): string {
  let out = "";
  let count = 0;
  for (const char of text) {
    if (count++ === max) return `"${out}"…`;
    const code = char.codePointAt(0)!;
    if (char === '"' || char === "\\") out += "\\" + char;
    else if (code >= 0x20 && code < 0x7f) out += char;
    else if (code < 0x100) out += "\\x" + code.toString(16).padStart(2, "0");
    else out += `\\u{${code.toString(16)}}`;
  }
  return `"${out}"`;
}
