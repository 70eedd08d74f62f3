// The policy download (RFC 8461 §3.3, D3): HTTPS to mta-sts.<domain>, no redirects, status 200,
// text/plain, at most 64 KiB, one total timeout. Checking the text is policy.ts's job.
import { TimeLimit } from "../_deadlines.ts";
import { readTextFile } from "../host.ts";
import { policyName } from "../names.ts";
import { quote } from "./_text.ts";
import { type ConnectRelay, startConnectRelay } from "./_connect_relay.ts";
import { StsError, type StsErrorKind } from "./errors.ts";
import { MAX_POLICY_BYTES } from "./policy.ts";

/** The total time for a download (connection, TLS, headers, body) in milliseconds (D4). */
export const DEFAULT_FETCH_TIMEOUT = 20_000;

/** Options of {@linkcode fetchPolicy}. */
export interface FetchPolicyOptions {
  /** PEM certificates to trust instead of the system's roots (`TLS_TRUSTCERTS`, D3). */
  caCerts?: string[];
  /** Total time in milliseconds. @default {20000} */
  timeout?: number;
  /** Aborts the download. */
  signal?: AbortSignal;
  /** The fetch to use; tests pass one that reaches a local server. @default {globalThis.fetch} */
  fetch?: typeof fetch;
  /**
   * Where `mta-sts.<domain>` is, as IP addresses tried in order, when the caller resolves it
   * (`lookupSts` asks its own resolver); undefined lets fetch resolve it through the system.
   * The certificate is checked for `mta-sts.<domain>` either way. A promise holds the
   * connection back until it settles, so the download can be started before it is known to
   * be wanted; its rejection becomes the download's `NETWORK` error, with its message.
   */
  addresses?: string[] | Promise<string[]>;
}

/**
 * Gets Deno's one-time TLS set-up out of the way: its first handshake seeds the crypto
 * library's random generator, about 23 ms on the main thread (measured with Deno 2.9;
 * generating an HMAC key does the same). A lookup calls this while it waits for the network.
 */
export function warmUpTls(): void {
  crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign"]).catch(() => {});
}

/** A policy as served. */
export interface FetchedPolicy {
  /** The URL it came from. */
  url: string;
  /** The body decoded as UTF-8, unchanged otherwise; `parsePolicy` makes the cache form. */
  text: string;
  /** The Content-Type as sent. */
  contentType: string;
}

/**
 * The policy URL for a domain: `https://mta-sts.<domain>/.well-known/mta-sts.txt` with the
 * domain as lower-case A-labels without the trailing dot (Courier uses the argument raw).
 *
 * @param domain The policy domain.
 * @returns The URL.
 * @throws {StsError} `INVALID_NAME` when the domain is not a host name.
 */
export function policyUrl(domain: string): string {
  const name = policyName(domain);
  if (name === undefined) {
    throw new StsError("INVALID_NAME", `Not a domain name: ${quote(domain)}`, { domain });
  }
  return `https://mta-sts.${name}/.well-known/mta-sts.txt`;
}

/**
 * Downloads a domain's policy as RFC 8461 §3.3 and D3 require: certificate verified for
 * `mta-sts.<domain>` (never disabled), redirects not followed, status 200 only,
 * `Content-Type: text/plain` with any parameters, body over {@linkcode MAX_POLICY_BYTES}
 * aborted while streaming, everything within `timeout`.
 *
 * @param domain The policy domain.
 * @param options Trusted certificates, timeout, signal, fetch.
 * @returns The body and where it came from.
 * @throws {StsError} `INVALID_NAME`, `REDIRECT`, `HTTP_STATUS`, `CONTENT_TYPE`, `TOO_LARGE`,
 *   `POLICY_INVALID` (not UTF-8), `TLS`, `NETWORK`, `TIMEOUT` or `ABORTED`, with a message
 *   such as `Cannot fetch policy for "a.example": status 301`.
 * @throws {DOMException} When `signal` has already aborted (or the signal's own reason).
 * @throws {Deno.errors.NotCapable} When Deno refuses the `net` permission.
 *
 * @example Download and check a policy
 * ```ts ignore
 * import { fetchPolicy, parsePolicy, StsError } from "@testmxlookup/testmxlookup";
 *
 * try {
 *   const fetched = await fetchPolicy("example.com", {
 *     caCerts: [await Deno.readTextFile("/etc/ssl/certs/my-ca.pem")], // optional
 *     timeout: 10_000,
 *   });
 *   const { policy, warnings } = parsePolicy(fetched.text);
 *   console.log(fetched.url, policy.mode, policy.mx, warnings);
 * } catch (error) {
 *   if (!(error instanceof StsError)) throw error;
 *   console.error(error.kind, error.message); // "TLS", "REDIRECT", "POLICY_INVALID", ...
 * }
 * ```
 *
 * @example What the server must send, shown with a stand-in `fetch`
 * ```ts
 * import { fetchPolicy } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const serve = (response: Response) => ({ fetch: () => Promise.resolve(response) });
 * const body = "version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 86400\n";
 * const ok = new Response(body, { headers: { "content-type": "text/plain; charset=utf-8" } });
 * const fetched = await fetchPolicy("Example.COM", serve(ok));
 * assert.equal(fetched.url, "https://mta-sts.example.com/.well-known/mta-sts.txt");
 * assert.equal(fetched.text, body);
 *
 * const moved = new Response(null, { status: 301, headers: { location: "https://x.example/" } });
 * await assert.rejects(fetchPolicy("example.com", serve(moved)), { kind: "REDIRECT" });
 * const html = new Response(body, { headers: { "content-type": "text/html" } });
 * await assert.rejects(fetchPolicy("example.com", serve(html)), { kind: "CONTENT_TYPE" });
 * ```
 */
export async function fetchPolicy(
  domain: string,
  options: FetchPolicyOptions = {},
): Promise<FetchedPolicy> {
  const url = policyUrl(domain);
  const timeout = options.timeout ?? DEFAULT_FETCH_TIMEOUT;
  const fail = (kind: StsErrorKind, detail: string, cause?: unknown) =>
    new StsError(kind, `Cannot fetch policy for ${quote(domain)}: ${detail}`, {
      domain,
      url,
      cause,
    });
  options.signal?.throwIfAborted();

  // A cancellable timer, not AbortSignal.timeout, which outlives the download (see
  // lib/resolver/exchange.ts).
  const limit = new TimeLimit(timeout, options.signal);
  const { signal } = limit;
  // Given addresses, fetch goes through a local CONNECT relay to them (_connect_relay.ts).
  let relay: ConnectRelay | undefined;
  let client: Deno.HttpClient | undefined;
  // Which signal fired tells a timeout from the caller's abort; anything else is the network.
  const failure = (error: unknown): StsError => {
    if (error instanceof StsError) return error;
    if (limit.timedOut) {
      return fail("TIMEOUT", `no complete answer within ${timeout} ms`, error);
    }
    if (options.signal?.aborted) return fail("ABORTED", "aborted", error);
    // The relay knows why no connection was made (the caller's lookup of the addresses, or
    // the connections); fetch only saw a 502 from its proxy.
    if (relay?.failure !== undefined) {
      const why = relay.failure instanceof Error ? relay.failure.message : String(relay.failure);
      return fail("NETWORK", why, relay.failure);
    }
    const detail = networkDetail(error);
    return fail(/certificate|tls|handshake|ssl/i.test(detail) ? "TLS" : "NETWORK", detail, error);
  };
  try {
    if (options.addresses !== undefined) {
      relay = startConnectRelay(`${new URL(url).host}:443`, options.addresses);
    }
    if (options.caCerts || relay) {
      client = Deno.createHttpClient({
        ...(options.caCerts ? { caCerts: options.caCerts } : {}),
        ...(relay ? { proxy: { url: relay.url } } : {}),
      });
    }
    const response = await (options.fetch ?? fetch)(url, {
      redirect: "manual",
      signal,
      client,
      headers: { accept: "text/plain" },
    });
    try {
      checkResponse(response, fail);
      const body = await readCapped(response, fail);
      let text: string;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(body);
      } catch (error) {
        throw new StsError("POLICY_INVALID", `Invalid policy for ${quote(domain)}: not UTF-8`, {
          domain,
          url,
          cause: error,
        });
      }
      return { url, text, contentType: response.headers.get("content-type") ?? "" };
    } finally {
      // Releases the connection when the body was not read to the end.
      await response.body?.cancel().catch(() => {});
    }
  } catch (error) {
    // A permission Deno refused is the CLI's to name (exit 77), not the server's fault.
    if (error instanceof Deno.errors.NotCapable) throw error;
    if (relay?.failure instanceof Deno.errors.NotCapable) throw relay.failure;
    throw failure(error);
  } finally {
    limit[Symbol.dispose]();
    client?.close();
    await relay?.[Symbol.asyncDispose]();
  }
}

function checkResponse(
  response: Response,
  fail: (kind: StsErrorKind, detail: string) => StsError,
): void {
  const { status } = response;
  if (status >= 300 && status < 400) {
    const location = response.headers.get("location");
    const to = location === null ? "" : ` to ${quote(location, 200)}`;
    throw fail("REDIRECT", `status ${status} (redirect${to} not followed, RFC 8461 §3.3)`);
  }
  if (status !== 200) throw fail("HTTP_STATUS", `status ${status}`);
  const type = response.headers.get("content-type");
  // RFC 8461 §3.2: the policy is served as "text/plain"; parameters such as charset may follow.
  if (type === null) throw fail("CONTENT_TYPE", "no Content-Type, expected text/plain");
  if (type.split(";")[0].trim().toLowerCase() !== "text/plain") {
    throw fail("CONTENT_TYPE", `Content-Type ${quote(type, 100)}, expected text/plain`);
  }
  const length = Number(response.headers.get("content-length") ?? "0");
  if (length > MAX_POLICY_BYTES) {
    throw fail("TOO_LARGE", `${length} bytes announced, over the limit of ${MAX_POLICY_BYTES}`);
  }
}

async function readCapped(
  response: Response,
  fail: (kind: StsErrorKind, detail: string) => StsError,
): Promise<Uint8Array> {
  const body = new Uint8Array(MAX_POLICY_BYTES);
  let length = 0;
  if (response.body === null) return body.subarray(0, 0);
  const reader = response.body.getReader();
  try {
    // Bounded: every chunk adds bytes until the cap, and the deadline aborts a stalled read.
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return body.subarray(0, length);
      if (length + value.length > MAX_POLICY_BYTES) {
        throw fail("TOO_LARGE", `the body is over the limit of ${MAX_POLICY_BYTES} bytes`);
      }
      body.set(value, length);
      length += value.length;
    }
  } finally {
    reader.releaseLock();
  }
}

// Deno says "error sending request for url (https://…): client error (Connect): invalid
// peer certificate: UnknownIssuer"; the URL is in the message already, the cause is the news.
function networkDetail(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    parts.push(e.message.replace(/^error sending request for url \([^)]*\): /, ""));
  }
  return parts.join(": ") || String(error);
}

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
  for await (const item of Deno.readDir(path)) {
    if (++seen > MAX_CA_FILES) break;
    try {
      const text = await readTextFile(`${path}/${item.name}`);
      if (text?.includes("-----BEGIN CERTIFICATE-----")) texts.push(text);
    } catch {
      // Subdirectories, FIFOs, oversized and unreadable files hold no usable certificate.
    }
  }
  return texts;
}
