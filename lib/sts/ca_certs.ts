// The certificates a policy download trusts (D3): Courier's `TLS_TRUSTCERTS` setting in
// courierd, and the PEM files it names, read with bounds (no FIFO, no device, no huge file).

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
  for (const line of text.split(/\r?\n/)) {
    const match = /^[ \t]*(?:export[ \t]+)?TLS_TRUSTCERTS=(.*)$/.exec(line);
    if (!match) continue;
    let raw = match[1].trim();
    const quoted = /^"([^"]*)"|^'([^']*)'/.exec(raw);
    raw = quoted ? quoted[1] ?? quoted[2] : raw.replace(/[ \t]+#.*$/, "");
    value = raw;
  }
  return value === "" ? undefined : value;
}

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
  const info = await Deno.stat(path);
  if (!info.isDirectory) return [await readCertificateFile(path, info)];
  const texts: string[] = [];
  let seen = 0;
  for await (const item of Deno.readDir(path)) {
    if (++seen > MAX_CA_FILES) break;
    try {
      const file = `${path}/${item.name}`;
      const text = await readCertificateFile(file, await Deno.stat(file));
      if (text.includes("-----BEGIN CERTIFICATE-----")) texts.push(text);
    } catch {
      // Subdirectories, dangling links, FIFOs and unreadable files hold no usable certificate.
    }
  }
  return texts;
}

/** The largest certificate file read: Debian's whole bundle is about 220 KiB. */
const MAX_CA_FILE_BYTES = 4 * 1024 * 1024;

async function readCertificateFile(path: string, info: Deno.FileInfo): Promise<string> {
  // Checked before opening: a FIFO would block the run, /dev/zero would never end.
  if (!info.isFile) throw new Error(`${path}: not a regular file`);
  if (info.size > MAX_CA_FILE_BYTES) {
    throw new Error(`${path}: larger than ${MAX_CA_FILE_BYTES} bytes`);
  }
  return await Deno.readTextFile(path);
}
