// The SMTP dialogue of a probe (RFC 5321, RFC 3207): connect to an address, greeting, EHLO,
// STARTTLS if offered, the TLS handshake with SNI = the MX host name, EHLO again, QUIT. Never
// MAIL FROM: nothing is sent as mail. Judging the certificate is certificate.ts's job.
import { TimeLimit } from "../deadlines.ts";
import { addressToHost, parseAddress } from "../address.ts";
import { codeOf } from "../errors.ts";
import { ProbeError, type ProbeStage } from "./errors.ts";
import {
  MAX_REPLY_LINE,
  MAX_REPLY_LINES,
  offersStartTls,
  printable,
  ReplyReader,
  type SmtpReply,
} from "./reply.ts";

/** Each stage's timeout in milliseconds (D32). */
export const DEFAULT_STAGE_TIMEOUT = 10_000;

/**
 * The longest wait for the reply to QUIT: by then every verdict is known, and a server that
 * stays silent must not hold the probe for a whole stage.
 */
export const MAX_QUIT_WAIT = 2_000;

/** What the TLS handshake gave. */
export interface TlsSession {
  /** The protocol, as `TLSv1.3`. */
  version: string;
  /** The cipher suite's standard name. */
  cipher: string;
  /** The DER of every certificate the server sent, leaf first. */
  chain: Uint8Array[];
  /** Whether the TLS library verified the chain against the trusted certificates. */
  authorized: boolean;
  /** The TLS library's reason when it did not. */
  authorizationError: string | null;
}

/** One connection as the dialogue uses it; `connectNode` in `_node_socket.ts` is the real one. */
export interface ProbeConnection {
  /** The next bytes received, or null at the end of the stream. */
  read(signal: AbortSignal): Promise<Uint8Array | null>;
  /** Bytes received and not yet read. */
  readonly queued: number;
  /** Sends text. */
  write(text: string): Promise<void>;
  /** Upgrades the connection to TLS. */
  startTls(
    options: { servername: string; caCerts?: string[] },
    signal: AbortSignal,
  ): Promise<TlsSession>;
  /** Closes it; safe to call twice. */
  close(): void;
}

/** Opens a connection to an address and port. */
export type ProbeConnect = (
  address: string,
  port: number,
  signal: AbortSignal,
) => Promise<ProbeConnection>;

/** Options of {@linkcode smtpDialogue}. */
export interface SmtpDialogueOptions {
  /** The MX host name, sent as SNI. */
  servername: string;
  /** The name sent with EHLO. */
  helo: string;
  /** The TCP port. @default {25} */
  port?: number;
  /** PEM certificates the TLS library verifies against; undefined: its built-in roots. */
  caCerts?: string[];
  /** Each stage's timeout in milliseconds. @default {10000} */
  stageTimeout?: number;
  /** Aborts the dialogue. */
  signal?: AbortSignal;
  /** Opens the connection. @default {connectNode from _node_socket.ts} */
  connect?: ProbeConnect;
}

/** What one dialogue saw. */
export interface SmtpDialogue {
  /** The TCP connection was made. */
  reached: boolean;
  /** The greeting, complete (whatever its code), or null. */
  greeting: SmtpReply | null;
  /** The first EHLO reply, or null. */
  ehlo: SmtpReply | null;
  /** STARTTLS was offered in the EHLO reply; null without an EHLO reply. */
  starttls: boolean | null;
  /** The handshake, or null. */
  tls: TlsSession | null;
  /** The EHLO reply after the handshake, or null. */
  ehloTls: SmtpReply | null;
  /** The first failure, or null when the dialogue ran to QUIT. */
  error: ProbeError | null;
}

function isRefusal(error: unknown): boolean {
  const code = codeOf(error);
  return code === "ECONNREFUSED" || code === "ECONNRESET" ||
    error instanceof Deno.errors.ConnectionRefused;
}

function reasonText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A dialogue that has not (yet) reached the server, ending with `error`. */
export function emptyDialogue(error: ProbeError | null): SmtpDialogue {
  return {
    reached: false,
    greeting: null,
    ehlo: null,
    starttls: null,
    tls: null,
    ehloTls: null,
    error,
  };
}

/**
 * Runs the dialogue against one address. Never throws for what the server does: the failure
 * is in `error`, with what was seen before it.
 *
 * @param address An IP address (never a name: nothing is resolved here); `::ffff:a.b.c.d` is
 *   probed over IPv4.
 * @param options The MX host name, EHLO name, port, trusted certificates, timeouts.
 * @returns What the dialogue saw.
 * @throws {TypeError} When `address` is not an IP address, or the EHLO or MX host name is not
 *   one token of printable ASCII (it would let a caller's text inject SMTP commands).
 */
export async function smtpDialogue(
  address: string,
  options: SmtpDialogueOptions,
): Promise<SmtpDialogue> {
  const parsed = parseAddress(address);
  if (parsed === undefined) throw new TypeError(`Cannot probe "${address}": not an IP address`);
  if (!/^[!-~]{1,255}$/.test(options.helo)) {
    throw new TypeError(`Cannot send EHLO ${JSON.stringify(options.helo)}: not a host name`);
  }
  if (!/^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252}[A-Za-z0-9])?\.?$/.test(options.servername)) {
    throw new TypeError(`Cannot probe for ${JSON.stringify(options.servername)}: not a host name`);
  }
  const port = options.port ?? 25;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Cannot probe port ${port}: not 1..65535`);
  }
  const stageTimeout = options.stageTimeout ?? DEFAULT_STAGE_TIMEOUT;
  const result = emptyDialogue(null);
  const outer = options.signal;
  /** A signal for one stage: its own timeout, linked to the caller's signal. */
  const stage = (name: ProbeStage, what: string) => {
    const ms = name === "quit" ? Math.min(stageTimeout, MAX_QUIT_WAIT) : stageTimeout;
    return new TimeLimit(
      ms,
      outer,
      () => new ProbeError("TIMEOUT", name, `No ${what} within ${ms / 1000} s`),
    );
  };
  /** The error to record for a failure of stage `name`. */
  const failure = (
    name: ProbeStage,
    error: unknown,
    limit: TimeLimit,
    fallback: () => ProbeError,
  ) => {
    if (error instanceof ProbeError) return error;
    if (limit.timedOut) return limit.signal.reason as ProbeError;
    if (outer?.aborted) {
      return new ProbeError("ABORTED", name, `Aborted: ${reasonText(outer.reason)}`, {
        cause: outer.reason,
      });
    }
    return fallback();
  };

  const connect = options.connect ??
    (async (a: string, p: number, s: AbortSignal) =>
      (await import("./_node_socket.ts")).connectNode(a, p, s));
  let conn: ProbeConnection;
  {
    using limit = stage("connect", "connection");
    try {
      conn = await connect(addressToHost(parsed), port, limit.signal);
    } catch (error) {
      result.error = failure(
        "connect",
        error,
        limit,
        () =>
          isRefusal(error)
            ? new ProbeError("REFUSED", "connect", `Connection refused`, { cause: error })
            : new ProbeError("NETWORK", "connect", `Cannot connect: ${reasonText(error)}`, {
              cause: error,
            }),
      );
      return result;
    }
  }
  result.reached = true;
  const reader = new ReplyReader();

  async function reply(name: ProbeStage, what: string): Promise<SmtpReply> {
    using limit = stage(name, what);
    try {
      // Each read brings at least one byte, and the reader throws past its limits: bounded.
      for (let reads = 0; reads <= MAX_REPLY_LINE * MAX_REPLY_LINES; reads++) {
        const ready = reader.next();
        if (ready !== undefined) return ready;
        const bytes = await conn.read(limit.signal);
        if (bytes === null) {
          throw new ProbeError("CLOSED", name, `Connection closed while waiting for ${what}`);
        }
        reader.push(bytes, name);
      }
      throw new ProbeError(
        "TOO_LONG",
        name,
        `No complete reply in ${MAX_REPLY_LINE * MAX_REPLY_LINES} reads`,
      );
    } catch (error) {
      throw failure(
        name,
        error,
        limit,
        () =>
          new ProbeError("NETWORK", name, `Connection failed: ${reasonText(error)}`, {
            cause: error,
          }),
      );
    }
  }

  async function command(name: ProbeStage, text: string, what: string): Promise<SmtpReply> {
    try {
      await conn.write(`${text}\r\n`);
    } catch (error) {
      throw new ProbeError(
        "NETWORK",
        name,
        `Cannot send ${text.split(" ")[0]}: ${reasonText(error)}`,
        {
          cause: error,
        },
      );
    }
    return await reply(name, what);
  }

  /** QUIT as a courtesy: its reply is read, but a failure there changes no verdict. */
  async function quit(): Promise<void> {
    try {
      await command("quit", "QUIT", "reply to QUIT");
    } catch {
      // The server may close at once.
    }
  }

  try {
    const greeting = await reply("greeting", "greeting");
    result.greeting = greeting;
    if (greeting.code !== 220) {
      await quit();
      throw new ProbeError(
        "REJECTED",
        "greeting",
        `Greeting ${greeting.code} ${printable(greeting.lines.join(" "))}`,
      );
    }
    const ehlo = await command("ehlo", `EHLO ${options.helo}`, "reply to EHLO");
    if (ehlo.code !== 250) {
      await quit();
      throw new ProbeError("EHLO_REFUSED", "ehlo", `EHLO answered ${ehlo.code}`);
    }
    result.ehlo = ehlo;
    result.starttls = offersStartTls(ehlo);
    if (!result.starttls) {
      await quit();
      return result;
    }
    const ready = await command("starttls", "STARTTLS", "reply to STARTTLS");
    if (ready.code !== 220) {
      await quit();
      throw new ProbeError(
        "STARTTLS_REFUSED",
        "starttls",
        `STARTTLS answered ${ready.code} ${printable(ready.lines.join(" "))}`,
      );
    }
    // RFC 3207 §4.2 and D32: plain text that came with the 220 must not be read as
    // if it were protected by TLS.
    if (reader.pending || conn.queued > 0) {
      throw new ProbeError(
        "STARTTLS_INJECTION",
        "starttls",
        "Plain text sent after the reply to STARTTLS",
      );
    }
    {
      using limit = stage("handshake", "TLS handshake");
      try {
        result.tls = await conn.startTls(
          { servername: options.servername, caCerts: options.caCerts },
          limit.signal,
        );
      } catch (error) {
        throw failure(
          "handshake",
          error,
          limit,
          () =>
            new ProbeError(
              "TLS_FAILED",
              "handshake",
              `TLS handshake failed: ${reasonText(error)}`,
              {
                cause: error,
              },
            ),
        );
      }
    }
    const again = await command("ehlo-tls", `EHLO ${options.helo}`, "reply to EHLO over TLS");
    if (again.code !== 250) {
      await quit();
      throw new ProbeError("EHLO_REFUSED", "ehlo-tls", `EHLO over TLS answered ${again.code}`);
    }
    result.ehloTls = again;
    await quit();
  } catch (error) {
    result.error = error instanceof ProbeError
      ? error
      : new ProbeError("NETWORK", "connect", reasonText(error), { cause: error });
  } finally {
    conn.close();
  }
  return result;
}
