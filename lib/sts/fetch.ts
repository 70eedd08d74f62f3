// The policy download (RFC 8461 §3.3, D3): HTTPS to mta-sts.<domain> at the addresses the run's
// own resolver gives (D1), no redirects, status 200, text/plain, at most 64 KiB, one total
// timeout. HTTP/1.1 is read by http_response.ts; checking the text is policy.ts's job.
import { TimeLimit } from "../deadlines.ts";
import { rethrowPermissionRefusal } from "../errors.ts";
import type { TcpConnection } from "../host.ts";
import type { Querier } from "../resolver/resolver.ts";
import { policyName } from "../names.ts";
import { ConnectionFailure, connectPolicyHost } from "./_policy_connection.ts";
import { quote } from "./_text.ts";
import { StsError, type StsErrorKind } from "./errors.ts";
import {
  fieldValue,
  HttpResponseError,
  type HttpResponseHead,
  HttpResponseParser,
} from "./http_response.ts";
import { MAX_POLICY_BYTES } from "./policy.ts";

// Where the certificates of `FetchPolicyOptions.caCerts` come from, for the command line.
export { MAX_CA_FILES, parseCourierdTrustCerts, readCaCerts } from "./ca_certs.ts";

/** The total time for a download (name lookup, connection, TLS, head, body) in milliseconds (D4). */
export const DEFAULT_FETCH_TIMEOUT = 20_000;

/** The path of the policy on its host (RFC 8461 §3.3). */
const POLICY_PATH = "/.well-known/mta-sts.txt";

/**
 * Opens the connection to the policy host and returns it ready for the request: the default
 * looks the host up through `resolver` and speaks TLS. Tests pass one serving from memory.
 */
export type PolicyConnect = (host: string, signal: AbortSignal) => Promise<TcpConnection>;

/** Options of {@linkcode fetchPolicy}. */
export interface FetchPolicyOptions {
  /**
   * The resolver that finds `mta-sts.<domain>` (D1: the run's own, never the system's).
   * Needed unless `connect` is given.
   */
  resolver?: Querier;
  /** PEM certificates to trust besides Deno's built-in roots (`TLS_TRUSTCERTS`, D3). */
  caCerts?: string[];
  /** Total time in milliseconds. @default {20000} */
  timeout?: number;
  /** Aborts the download, which then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** The policy server's port; another one is for tests only. @default {443} */
  port?: number;
  /** The connection to use instead of TLS to the resolver's addresses (tests). */
  connect?: PolicyConnect;
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
  return `https://${policyHost(domain)}${POLICY_PATH}`;
}

function policyHost(domain: string): string {
  const name = policyName(domain);
  if (name === undefined) {
    throw new StsError("INVALID_NAME", `Not a domain name: ${quote(domain)}`, { domain });
  }
  return `mta-sts.${name}`;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----/;

/** Throws a TypeError unless every entry holds a PEM certificate. */
function checkCaCerts(caCerts: unknown): void {
  if (caCerts === undefined) return;
  if (!Array.isArray(caCerts)) throw new TypeError("caCerts must be an array of PEM texts");
  for (const [i, pem] of caCerts.entries()) {
    if (typeof pem !== "string" || !PEM_CERTIFICATE.test(pem)) {
      throw new TypeError(`caCerts[${i}] holds no PEM certificate`);
    }
  }
}

/**
 * Downloads a domain's policy as RFC 8461 §3.3 and D3 require: `mta-sts.<domain>` looked up
 * through `resolver` (no system resolver), certificate verified for that name (never
 * disabled), redirects not followed, status 200 only, `Content-Type: text/plain` with any
 * parameters, body over {@linkcode MAX_POLICY_BYTES} refused while streaming, everything
 * within `timeout`.
 *
 * @param domain The policy domain.
 * @param options The resolver, trusted certificates, timeout, signal.
 * @returns The body and where it came from.
 * @throws {StsError} `INVALID_NAME`, `REDIRECT`, `HTTP_STATUS`, `CONTENT_TYPE`, `TOO_LARGE`,
 *   `POLICY_INVALID` (not UTF-8), `TLS`, `NETWORK` (also a malformed response) or `TIMEOUT`,
 *   with a message such as `Cannot fetch policy for "a.example": status 301`.
 * @throws {TypeError} When `caCerts` holds something other than PEM certificates, or there is
 *   neither `resolver` nor `connect`.
 * @throws The signal's reason when `signal` aborts, whenever it does.
 * @throws {Deno.errors.NotCapable} When Deno refuses the `net` permission.
 *
 * @example Download and check a policy
 * ```ts ignore
 * import { fetchPolicy, parsePolicy, Resolver, StsError } from "@testmxlookup/testmxlookup";
 *
 * try {
 *   const fetched = await fetchPolicy("example.com", {
 *     resolver: new Resolver({ servers: [{ address: "127.0.0.1" }] }),
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
 * @example The policy host is found by the resolver given, or not at all
 * ```ts
 * import { DnsError, fetchPolicy, type Querier } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const nxdomain: Querier = {
 *   query: (name, type) =>
 *     Promise.reject(new DnsError("NXDOMAIN", `No such domain "${name}"`, { name, type })),
 * };
 * await assert.rejects(fetchPolicy("Example.COM", { resolver: nxdomain }), {
 *   name: "StsError",
 *   kind: "NETWORK",
 *   message: 'Cannot fetch policy for "Example.COM": No such domain "mta-sts.example.com"',
 * });
 * await assert.rejects(
 *   fetchPolicy("example.com", { resolver: nxdomain, caCerts: ["not a certificate"] }),
 *   TypeError,
 * );
 * ```
 */
export function fetchPolicy(
  domain: string,
  options: FetchPolicyOptions = {},
): Promise<FetchedPolicy> {
  return downloadPolicy(domain, options);
}

/**
 * {@linkcode fetchPolicy} with the policy host's addresses already asked for: `lookupSts`
 * starts that query beside the TXT query (D22). The promise must be handled by the caller
 * (a rejection is read here only if the download happens). `onRequestSent` is called once the
 * request is out, for work worth starting only then, while the answer travels.
 */
export async function downloadPolicy(
  domain: string,
  options: FetchPolicyOptions,
  addresses?: Promise<string[]>,
  onRequestSent?: () => void,
): Promise<FetchedPolicy> {
  const host = policyHost(domain);
  const url = `https://${host}${POLICY_PATH}`;
  checkCaCerts(options.caCerts);
  if (!options.connect && !options.resolver && !addresses) {
    throw new TypeError("fetchPolicy() needs a resolver to find the policy host");
  }
  options.signal?.throwIfAborted();
  const timeout = options.timeout ?? DEFAULT_FETCH_TIMEOUT;
  const fail = (kind: StsErrorKind, detail: string, cause?: unknown) =>
    new StsError(kind, `Cannot fetch policy for ${quote(domain)}: ${detail}`, {
      domain,
      url,
      cause,
    });
  // One timer for the whole download, linked to the caller's signal (lib/deadlines.ts).
  using limit = new TimeLimit(timeout, options.signal);
  const { signal } = limit;
  let conn: TcpConnection | undefined;
  try {
    conn = options.connect ? await options.connect(host, signal) : await connectPolicyHost(host, {
      resolver: options.resolver,
      addresses,
      caCerts: options.caCerts,
      port: options.port ?? 443,
      signal,
    });
    signal.throwIfAborted();
    const closeOnAbort = () => conn?.close();
    signal.addEventListener("abort", closeOnAbort, { once: true });
    try {
      return await exchange(conn, domain, url, signal, fail, onRequestSent);
    } finally {
      signal.removeEventListener("abort", closeOnAbort);
    }
  } catch (error) {
    // A permission Deno refused is the CLI's to name (exit 77), not the server's fault.
    rethrowPermissionRefusal(error);
    if (limit.timedOut) throw fail("TIMEOUT", `no complete answer within ${timeout} ms`, error);
    // The caller's abort, however it surfaced (a closed connection, a DNS query's rejection).
    options.signal?.throwIfAborted();
    if (error instanceof StsError) throw error;
    if (error instanceof ConnectionFailure) throw fail(error.kind, error.message, error);
    if (error instanceof HttpResponseError) {
      const kind = error.kind === "BODY_TOO_LARGE" ? "TOO_LARGE" : "NETWORK";
      const detail = error.kind === "MALFORMED"
        ? `malformed response: ${error.message}`
        : error.message;
      throw fail(kind, detail, error);
    }
    throw fail("NETWORK", error instanceof Error ? error.message : String(error), error);
  } finally {
    conn?.close();
  }
}

/** Sends the request and reads the response, judging the head as soon as it is complete. */
async function exchange(
  conn: TcpConnection,
  domain: string,
  url: string,
  signal: AbortSignal,
  fail: (kind: StsErrorKind, detail: string, cause?: unknown) => StsError,
  onRequestSent?: () => void,
): Promise<FetchedPolicy> {
  // Identity only: without Accept-Encoding any content coding would be acceptable (RFC 9110
  // §12.5.3). One request per connection.
  const host = new URL(url).host;
  const request = `GET ${POLICY_PATH} HTTP/1.1\r\nHost: ${host}\r\nAccept: text/plain\r\n` +
    "Accept-Encoding: identity\r\nConnection: close\r\n\r\n";
  await conn.write(new TextEncoder().encode(request));
  onRequestSent?.();
  const parser = new HttpResponseParser({ maxBodyBytes: MAX_POLICY_BYTES });
  const buffer = new Uint8Array(16 * 1024);
  let judged = false;
  const judge = () => {
    if (judged || parser.head === undefined) return;
    judged = true;
    checkHead(parser.head, parser.declaredLength, fail);
  };
  // Bounded: every turn reads at least one byte, and the parser caps what it accepts (head,
  // lines, framing, body); the time limit closes a connection that trickles.
  for (;;) {
    const n = await conn.read(buffer);
    signal.throwIfAborted();
    try {
      if (n === null) parser.end();
      else parser.push(buffer.subarray(0, n));
    } catch (error) {
      // A bad status or type says more than what followed it.
      judge();
      throw error;
    }
    judge();
    if (parser.complete) break;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(parser.body);
  } catch (error) {
    throw new StsError("POLICY_INVALID", `Invalid policy for ${quote(domain)}: not UTF-8`, {
      domain,
      url,
      cause: error,
    });
  }
  return { url, text, contentType: fieldValue(parser.head!, "content-type") ?? "" };
}

function checkHead(
  head: HttpResponseHead,
  declaredLength: number | undefined,
  fail: (kind: StsErrorKind, detail: string) => StsError,
): void {
  const { status } = head;
  if (status >= 300 && status < 400) {
    const location = fieldValue(head, "location");
    const to = location === undefined ? "" : ` to ${quote(location, 200)}`;
    throw fail("REDIRECT", `status ${status} (redirect${to} not followed, RFC 8461 §3.3)`);
  }
  if (status !== 200) throw fail("HTTP_STATUS", `status ${status}`);
  const type = fieldValue(head, "content-type");
  // RFC 8461 §3.2: the policy is served as "text/plain"; parameters such as charset may follow.
  if (type === undefined) throw fail("CONTENT_TYPE", "no Content-Type, expected text/plain");
  if (type.split(";")[0].trim().toLowerCase() !== "text/plain") {
    throw fail("CONTENT_TYPE", `Content-Type ${quote(type, 100)}, expected text/plain`);
  }
  if (declaredLength !== undefined && declaredLength > MAX_POLICY_BYTES) {
    throw fail(
      "TOO_LARGE",
      `${declaredLength} bytes announced, over the limit of ${MAX_POLICY_BYTES}`,
    );
  }
}
