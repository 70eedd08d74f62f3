// The delivery probe of MX addresses: the SMTP dialogue (smtp.ts), then the certificate, DANE and
// MTA-STS verdicts of each address, many addresses at once with a bound on open connections.
// node:net, node:tls and node:crypto load only when a probe runs.
import { matchesMx } from "../sts/match.ts";
import { type CertificateInfo, type CertificateVerdict, judgeCertificate } from "./certificate.ts";
import {
  type DaneInput,
  daneOfChain,
  type DaneResult,
  type DaneVerdict,
  type DnsSecurity,
  type TlsaRecord,
} from "./dane.ts";
import { ProbeError, type ProbeErrorKind, type ProbeStage } from "./errors.ts";
import { emptyDialogue, type ProbeConnect, type SmtpDialogue, smtpDialogue } from "./smtp.ts";
import { addressFails, type StsVerdict, stsVerdict } from "./verdict.ts";
import type { ConnectionLimiter } from "./limit.ts";
import { type TrustContext as Context, trustContext as context } from "./x509.ts";

/** One address of an MX host to probe. */
export interface ProbeTarget {
  /** The MX host name (A-labels, no trailing dot): SNI and the name certificates must match. */
  host: string;
  /** An IP address of it. */
  address: string;
  /** The MX answer was DNSSEC-validated (DANE needs it). @default {false} */
  mxSecure?: boolean;
  /** The host's address answer was DNSSEC-validated (DANE needs it). @default {false} */
  addressSecure?: boolean;
}

/** The `_N._tcp.<host>` TLSA answer, from the run's own resolver with the DO bit. */
export interface TlsaAnswer {
  /** Its DNSSEC status. */
  tlsa: DnsSecurity;
  /** The records (empty for NXDOMAIN or NODATA). */
  records: TlsaRecord[];
  /** Records whose data could not be read (left out of `records`). @default {0} */
  malformed?: number;
}

/** The domain's MTA-STS policy, as the verdict needs it. */
export interface ProbePolicy {
  /** The mode. */
  mode: "enforce" | "testing" | "none";
  /** The `mx` patterns. */
  mx: readonly string[];
}

/** Options of {@linkcode probeAddress} and {@linkcode probeHosts}. */
export interface ProbeOptions {
  /** The name sent with EHLO (Courier's `me` file, else the host name). */
  helo: string;
  /** The TCP port. @default {25} */
  port?: number;
  /**
   * PEM texts of the trusted certificates (bundles allowed): courierd's `TLS_TRUSTCERTS`, else
   * the system bundle. Undefined: the TLS library's built-in roots, against which an expired
   * certificate cannot be told from an untrusted one (D31 needs the roots themselves).
   */
  caCerts?: string[];
  /** Each stage's timeout in milliseconds. @default {10000} */
  stageTimeout?: number;
  /** The domain's MTA-STS policy; undefined when it has none. */
  policy?: ProbePolicy;
  /** Looks up TLSA records; undefined: DANE is not looked at (`none`). */
  tlsa?: (host: string, port: number, signal?: AbortSignal) => Promise<TlsaAnswer>;
  /** The most connections open at once in {@linkcode probeHosts}. @default {16} */
  concurrency?: number;
  /** A bound on open connections shared with other probes (a batch's), besides `concurrency`. */
  limiter?: ConnectionLimiter;
  /** The time, ms since the epoch. @default {Date.now} */
  now?: () => number;
  /** Opens connections; tests pass their own. */
  connect?: ProbeConnect;
  /** Aborts the probe. */
  signal?: AbortSignal;
}

/** What probing one address found. */
export interface AddressProbe {
  /** The MX host name. */
  host: string;
  /** The address. */
  address: string;
  /** The port. */
  port: number;
  /** The TCP connection was made. */
  reached: boolean;
  /** A complete 220 greeting came. */
  greeted: boolean;
  /** Why the dialogue stopped early, or null. */
  error: string | null;
  /** The kind of that failure, or null. */
  errorKind: ProbeErrorKind | null;
  /** The stage it failed in, or null. */
  errorStage: ProbeStage | null;
  /** STARTTLS offered in the EHLO reply; null without an EHLO reply. */
  starttls: boolean | null;
  /** The TLS session, or null. */
  tls: { version: string; cipher: string } | null;
  /** The certificate verdicts, or null without a handshake. */
  certificate: CertificateVerdict | null;
  /** The DANE verdict. */
  dane: DaneVerdict;
  /** The TLSA record that matched (`3 1 1`), or why DANE failed or does not apply. */
  daneDetail: string | null;
  /** The MTA-STS verdict. */
  sts: StsVerdict;
  /** Why MTA-STS fails, or null. */
  stsReason: string | null;
  /** The address fails (see `addressFails` in verdict.ts): it counts for the exit status. */
  fails: boolean;
}

/** A TLSA lookup that threw: reported as `error` (RFC 7672 §2.1.1: not as no TLSA). */
const TLSA_FAILED: TlsaAnswer = { tlsa: "error", records: [] };

async function probeOne(
  target: ProbeTarget,
  options: ProbeOptions,
  ctx: Context,
  tlsa: Promise<TlsaAnswer> | undefined,
): Promise<AddressProbe> {
  const port = options.port ?? 25;
  const now = options.now ?? Date.now;
  let release: (() => void) | undefined;
  try {
    release = await options.limiter?.acquire(options.signal);
  } catch (error) {
    // Aborted while waiting for a slot: reported like any aborted dialogue.
    return finish(target, port, options, ctx, tlsa, abortedDialogue(error), now);
  }
  let dialogue: SmtpDialogue;
  try {
    dialogue = await smtpDialogue(target.address, {
      servername: target.host,
      helo: options.helo,
      port,
      caCerts: options.caCerts,
      stageTimeout: options.stageTimeout,
      signal: options.signal,
      connect: options.connect,
    });
  } finally {
    release?.();
  }
  return await finish(target, port, options, ctx, tlsa, dialogue, now);
}

function abortedDialogue(reason: unknown): SmtpDialogue {
  const text = reason instanceof Error ? reason.message : String(reason);
  return emptyDialogue(
    new ProbeError("ABORTED", "connect", `Aborted: ${text}`, { cause: reason }),
  );
}

/** The verdicts on what a dialogue saw. */
async function finish(
  target: ProbeTarget,
  port: number,
  options: ProbeOptions,
  ctx: Context,
  tlsa: Promise<TlsaAnswer> | undefined,
  dialogue: SmtpDialogue,
  now: () => number,
): Promise<AddressProbe> {
  let certificate: CertificateVerdict | null = null;
  let chain: CertificateInfo[] = [];
  let certificateError: string | null = null;
  if (dialogue.tls !== null && dialogue.tls.chain.length > 0) {
    try {
      chain = dialogue.tls.chain.map((der) => ctx.x509.parse(der));
      certificate = judgeCertificate(chain, target.host, {
        anchors: ctx.anchors,
        issuedBy: ctx.x509.issuedBy,
        library: dialogue.tls,
        now: now(),
      });
    } catch (error) {
      certificateError = `Cannot parse the server's certificate: ${
        error instanceof Error ? error.message : String(error)
      }`;
      chain = [];
    }
  }
  let dane: DaneResult = { dane: "none", matchedRecord: null, reason: null };
  if (tlsa !== undefined) {
    let answer: TlsaAnswer;
    try {
      answer = await tlsa;
    } catch {
      answer = TLSA_FAILED;
    }
    const input: DaneInput = {
      mxSecure: target.mxSecure ?? false,
      addressSecure: target.addressSecure ?? false,
      tlsa: answer.tlsa,
      records: answer.records,
      malformed: answer.malformed ?? 0,
    };
    dane = daneOfChain(input, chain, target.host, ctx.x509, now());
  }
  const policy = options.policy;
  const sts = stsVerdict(policy, {
    mxMatches: policy === undefined ? false : matchesMx(target.host, policy.mx),
    starttls: dialogue.starttls,
    certificate,
  });
  const greeted = dialogue.greeting?.code === 220;
  const result: AddressProbe = {
    host: target.host,
    address: target.address,
    port,
    reached: dialogue.reached,
    greeted,
    error: dialogue.error?.message ?? certificateError,
    errorKind: dialogue.error?.kind ?? null,
    errorStage: dialogue.error?.stage ?? null,
    starttls: dialogue.starttls,
    tls: dialogue.tls === null
      ? null
      : { version: dialogue.tls.version, cipher: dialogue.tls.cipher },
    certificate,
    dane: dane.dane,
    daneDetail: dane.matchedRecord ?? dane.reason,
    sts: sts.sts,
    stsReason: sts.reason,
    fails: false,
  };
  result.fails = addressFails(result);
  return result;
}

/**
 * Probes one address of an MX host: the SMTP dialogue up to the TLS handshake and QUIT (never
 * MAIL FROM), then the certificate, DANE and MTA-STS verdicts. Never throws for what the server
 * does; the failure is in the result.
 *
 * @example Probe one address with the world's CA, under an enforce policy
 * ```ts ignore
 * import { probeAddress } from "@testmxlookup/testmxlookup";
 *
 * const result = await probeAddress(
 *   { host: "mx.example.com", address: "192.0.2.25" },
 *   {
 *     helo: "mail.example.net",
 *     caCerts: [await Deno.readTextFile("/etc/ssl/certs/ca-certificates.crt")],
 *     policy: { mode: "enforce", mx: ["mx.example.com"] },
 *     signal: AbortSignal.timeout(60_000),
 *   },
 * );
 * console.log(result.starttls, result.certificate?.trusted, result.sts, result.fails);
 * ```
 *
 * @param target The MX host name and one of its addresses.
 * @param options EHLO name, port, trusted certificates, policy, TLSA lookup, timeouts, signal.
 * @returns What the probe found.
 */
export async function probeAddress(
  target: ProbeTarget,
  options: ProbeOptions,
): Promise<AddressProbe> {
  const ctx = await context(options.caCerts);
  const port = options.port ?? 25;
  // Looked up while the dialogue runs; a failure is DANE's `error`, never an unhandled rejection.
  const tlsa = options.tlsa?.(target.host, port, options.signal).catch(() => TLSA_FAILED);
  return await probeOne(target, options, ctx, tlsa);
}

/**
 * Probes many addresses at once, at most `concurrency` connections open, each host's TLSA
 * records looked up once. The results are in the order of `targets`.
 *
 * @example Every address of two MX hosts, at most 8 connections at once
 * ```ts ignore
 * import { probeHosts } from "@testmxlookup/testmxlookup";
 *
 * const results = await probeHosts([
 *   { host: "mx1.example.com", address: "192.0.2.1" },
 *   { host: "mx1.example.com", address: "2001:db8::1" },
 *   { host: "mx2.example.com", address: "192.0.2.2" },
 * ], { helo: "mail.example.net", concurrency: 8 });
 * console.log(results.filter((r) => r.fails).map((r) => `${r.address}: ${r.error}`));
 * ```
 *
 * @param targets The addresses, with their MX host names.
 * @param options As for {@linkcode probeAddress}, plus `concurrency`.
 * @returns One result per target.
 */
export async function probeHosts(
  targets: readonly ProbeTarget[],
  options: ProbeOptions,
): Promise<AddressProbe[]> {
  const concurrency = Math.max(1, options.concurrency ?? 16);
  const ctx = await context(options.caCerts);
  const port = options.port ?? 25;
  const tlsaByHost = new Map<string, Promise<TlsaAnswer>>();
  const tlsaOf = (host: string) => {
    if (options.tlsa === undefined) return undefined;
    let answer = tlsaByHost.get(host);
    if (answer === undefined) {
      answer = options.tlsa(host, port, options.signal).catch(() => TLSA_FAILED);
      tlsaByHost.set(host, answer);
    }
    return answer;
  };
  const results = new Array<AddressProbe>(targets.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < targets.length) {
      const index = next++;
      const target = targets[index];
      results[index] = await probeOne(target, options, ctx, tlsaOf(target.host));
    }
  }
  await Promise.all(
    Array.from({ length: Math.min(concurrency, targets.length) }, () => worker()),
  );
  return results;
}
