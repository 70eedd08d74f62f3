// Typed failures of the delivery probe: one class, a `kind` that says which stage failed and
// how, so that a report can word it and a monitor can branch on it.

/** What went wrong while probing one address. */
export type ProbeErrorKind =
  /** The TCP connection was refused or reset before the greeting. */
  | "REFUSED"
  /** Connecting, or a socket call, failed otherwise (no route, address family unsupported). */
  | "NETWORK"
  /** A stage took longer than its timeout. */
  | "TIMEOUT"
  /** The server closed the connection before the dialogue was over. */
  | "CLOSED"
  /** A line that is not an SMTP reply (RFC 5321 §4.2). */
  | "GARBAGE"
  /** A reply line or a multi-line reply over the limits. */
  | "TOO_LONG"
  /** The greeting was not 220 (a 554 greeting refuses service, RFC 5321 §3.1). */
  | "REJECTED"
  /** EHLO, or the EHLO after the handshake, was refused. */
  | "EHLO_REFUSED"
  /** STARTTLS was answered with something other than 220 (454: TLS not available now). */
  | "STARTTLS_REFUSED"
  /**
   * Bytes arrived after the 220 to STARTTLS, before the handshake: text a client must not
   * trust as if TLS protected it (RFC 3207 §4.2).
   */
  | "STARTTLS_INJECTION"
  /** The TLS handshake failed. */
  | "TLS_FAILED"
  /** The caller's signal aborted the probe. */
  | "ABORTED";

/**
 * A probe that could not complete a stage of the SMTP dialogue, with the stage in `stage`.
 *
 * @example The fields a caller branches on
 * ```ts
 * import { ProbeError } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const error = new ProbeError("TIMEOUT", "greeting", "No greeting within 10 s");
 * assert.equal(error.kind, "TIMEOUT");
 * assert.equal(error.stage, "greeting");
 * ```
 */
export class ProbeError extends Error {
  /** What went wrong. */
  readonly kind: ProbeErrorKind;
  /** The stage of the dialogue it went wrong in. */
  readonly stage: ProbeStage;

  /**
   * Creates an error.
   *
   * @param kind What went wrong.
   * @param stage The stage.
   * @param message One sentence, sentence case, no period.
   * @param options The underlying error.
   */
  constructor(kind: ProbeErrorKind, stage: ProbeStage, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProbeError";
    this.kind = kind;
    this.stage = stage;
  }
}

/** The stages of the dialogue, in order. */
export type ProbeStage =
  | "connect"
  | "greeting"
  | "ehlo"
  | "starttls"
  | "handshake"
  | "ehlo-tls"
  | "quit";
