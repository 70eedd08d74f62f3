// The certificates a policy download trusts (D3): Courier's `TLS_TRUSTCERTS` setting in
// courierd, and the PEM files it names, each opened once and checked on the open file
// (lib/host.ts): no FIFO, no device, no huge file, nothing swapped in between.
import { readTextFile } from "../host.ts";

/**
 * The `TLS_TRUSTCERTS` setting of Courier's `courierd` file: a CA bundle file or directory.
 * The file is shell-like: `NAME=value` lines, `#` comments, optional quotes; the last
 * assignment wins.
 *
 * @param text The text of `/etc/courier/courierd`.
 * @returns The path, or undefined when unset or empty.
 *
 * @example Find the CA bundle Courier trusts
 * ```ts
 * import { parseCourierdTrustCerts } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const courierd = `# TLS_TRUSTCERTS=/old\nTLS_TRUSTCERTS="/etc/ssl/certs"\n`;
 * assert.equal(parseCourierdTrustCerts(courierd), "/etc/ssl/certs");
 * assert.equal(parseCourierdTrustCerts("TLS_TRUSTCERTS=\n"), undefined);
 * ```
 */
export function parseCourierdTrustCerts(text: string): string | undefined {
  let value: string | undefined;
  // Only lines holding the name can set it: they are found by a search rather than by
  // matching every line of a file of up to 4 MiB (about 100 ms for a million short lines).
  for (let at = text.indexOf(TRUSTCERTS); at >= 0; at = text.indexOf(TRUSTCERTS, at)) {
    const start = text.lastIndexOf("\n", at) + 1;
    const newline = text.indexOf("\n", at);
    // Lines as split(/\r?\n/) gives them: a CR goes only with the LF after it.
    const end = newline < 0
      ? text.length
      : newline > start && text[newline - 1] === "\r"
      ? newline - 1
      : newline;
    const line = text.slice(start, end);
    at = newline < 0 ? text.length : newline;
    const match = /^[ \t]*(?:export[ \t]+)?TLS_TRUSTCERTS=(.*)$/.exec(line);
    if (!match) continue;
    let raw = match[1].trim();
    const quoted = /^"([^"]*)"|^'([^']*)'/.exec(raw);
    raw = quoted ? quoted[1] ?? quoted[2] : withoutComment(raw);
    value = raw;
  }
  return value === "" ? undefined : value;
}

/**
 * `value` (one line, without line terminators) cut before its first blanks followed by `#`,
 * what /[ \t]+#.*$/ removes. By hand: that regular expression is retried at every blank of a
 * long run, quadratic in a 4 MiB file.
 */
function withoutComment(value: string): string {
  for (let hash = value.indexOf("#"); hash >= 0; hash = value.indexOf("#", hash + 1)) {
    let start = hash;
    while (start > 0 && (value[start - 1] === " " || value[start - 1] === "\t")) start--;
    if (start < hash) return value.slice(0, start);
  }
  return value;
}

const TRUSTCERTS = "TLS_TRUSTCERTS=";

/** The most files read from a `TLS_TRUSTCERTS` directory. */
export const MAX_CA_FILES = 2000;

/**
 * The certificates at a `TLS_TRUSTCERTS` path, for {@linkcode FetchPolicyOptions.caCerts}:
 * the file's text, or for a directory (OpenSSL's hashed form, e.g. `/etc/ssl/certs`) the
 * text of each file in it that holds a PEM certificate, links followed.
 *
 * @param path A file or directory.
 * @returns PEM texts, possibly several certificates each.
 * @throws {Deno.errors.NotFound} And the other file errors, for the caller to report.
 */
export async function readCaCerts(path: string): Promise<string[]> {
  // Opened once and checked by fstat (lib/host.ts): nothing swapped in is read, no open blocks.
  try {
    const text = await readTextFile(path);
    if (text === undefined) throw new Deno.errors.NotFound(`No such file or directory: ${path}`);
    return [text];
  } catch (error) {
    if (!(error instanceof Deno.errors.IsADirectory)) throw error;
  }
  const texts: string[] = [];
  let seen = 0;
  // OpenSSL's hashed links and the named links lead to the same files: each is read once
  // (/etc/ssl/certs: 289 entries, 146 files).
  const files = new Set<string>();
  for await (const item of Deno.readDir(path)) {
    if (++seen > MAX_CA_FILES) break;
    try {
      const entry = `${path}/${item.name}`;
      const { dev, ino } = Deno.statSync(entry);
      const file = `${dev}:${ino}`;
      if (ino !== null && files.has(file)) continue;
      files.add(file);
      const text = await readTextFile(entry);
      if (text?.includes("-----BEGIN CERTIFICATE-----")) texts.push(text);
    } catch {
      // Subdirectories, FIFOs, oversized and unreadable files hold no usable certificate.
    }
  }
  return texts;
}
