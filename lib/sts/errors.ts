// Typed errors of the MTA-STS part (RFC 8461): one class, a `kind` to branch on, the cause kept.
// "The download failed" (NETWORK, TLS, TIMEOUT) stays apart from "the server said no"
// (HTTP_STATUS, REDIRECT, CONTENT_TYPE, TOO_LARGE) and from "the policy is wrong".

/** What went wrong with an MTA-STS step. */
export type StsErrorKind =
  /** The domain cannot name a cache entry or a policy host (D9). */
  | "INVALID_NAME"
  /** The `_mta-sts` TXT query got no definite answer (timeout, SERVFAIL): the `DnsError` is the cause. */
  | "TXT_LOOKUP"
  /** TXT records at `_mta-sts` look like an STS record but none is usable (RFC 8461 §3.1). */
  | "TXT_INVALID"
  /** The policy text breaks RFC 8461 §3.2 as applied by D8. */
  | "POLICY_INVALID"
  /** The policy server answered with a status other than 200 or 3xx. */
  | "HTTP_STATUS"
  /** The policy server answered with a redirect, which RFC 8461 §3.3 forbids following. */
  | "REDIRECT"
  /** The policy was not served as `text/plain` (RFC 8461 §3.2). */
  | "CONTENT_TYPE"
  /** The policy body is larger than the cap. */
  | "TOO_LARGE"
  /** The TLS handshake failed, e.g. an untrusted or mismatched certificate. */
  | "TLS"
  /** The connection failed (name resolution, refused, reset) or the response is malformed. */
  | "NETWORK"
  /** The total time allowed for the download ran out. */
  | "TIMEOUT"
  /** A cache file or the cache directory could not be read. */
  | "CACHE_READ"
  /** A cache file could not be written, touched or removed (read-only directory, no space). */
  | "CACHE_WRITE";

/** Options of {@linkcode StsError}. */
export interface StsErrorOptions {
  /** The domain the work was for, as given. */
  domain?: string;
  /** The policy URL, for download failures. */
  url?: string;
  /** The file, for cache failures. */
  path?: string;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * An MTA-STS step that failed, with the reason in `kind` and `message`.
 *
 * @example Branch on `kind`
 * ```ts
 * import { parsePolicy, StsError } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * try {
 *   parsePolicy("version: STSv1\nmax_age: 86400\n");
 *   assert.fail("expected an invalid policy");
 * } catch (error) {
 *   assert.ok(error instanceof StsError);
 *   assert.equal(error.kind, "POLICY_INVALID");
 *   assert.equal(error.message, `Invalid policy: no "mode" field`);
 * }
 * ```
 */
export class StsError extends Error {
  /** What went wrong. */
  readonly kind: StsErrorKind;
  /** The domain the work was for. */
  readonly domain?: string;
  /** The policy URL, for download failures. */
  readonly url?: string;
  /** The file, for cache failures. */
  readonly path?: string;

  /**
   * Creates an error.
   *
   * @param kind What went wrong.
   * @param message One sentence, sentence case, no period.
   * @param options Domain, URL, path and cause.
   */
  constructor(kind: StsErrorKind, message: string, options: StsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "StsError";
    this.kind = kind;
    this.domain = options.domain;
    this.url = options.url;
    this.path = options.path;
  }
}
