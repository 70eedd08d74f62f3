// One DNS round trip to one server, over UDP or TCP (RFC 1035 §4.2, RFC 7766), with the
// acceptance rules of RFC 5452 §9.1 and D12: address, port, ID and question must match.
// Retries, server choice and CNAMEs are the resolver's.
import { TimeLimit } from "../deadlines.ts";
import { parseAddress } from "../address.ts";
import { DnsError, isPermissionRefusal } from "../errors.ts";
import type { Network, SocketAddress, TcpConnection } from "../host.ts";
import { sameName } from "../names.ts";
import { decodeMessage, type Message, type Question } from "../wire/message.ts";
import type { LentSocket, UdpSocketPool } from "./udp_socket_pool.ts";

/** Datagrams read per UDP attempt before giving up on a flood of unacceptable ones. */
export const MAX_DATAGRAMS = 64;

/** Messages read per TCP connection before giving up (we send one query). */
export const MAX_TCP_MESSAGES = 4;

const HEADER_LENGTH = 12;

/** What a reply must match. */
export interface ExpectedReply {
  /** The address and port the query went to. */
  server: SocketAddress;
  /** The query's ID. */
  id: number;
  /** The query's question (class IN). */
  question: Question;
}

/** The outcome of {@linkcode acceptReply}. */
export type ReplyVerdict =
  | { message: Message }
  | {
    /** Why the datagram is not our reply, e.g. `wrong ID 4660`. */
    reject: string;
    /** Set when source, ID and QR matched but the bytes do not decode. */
    malformed?: DnsError;
  };

/**
 * Decides whether bytes received are the reply to our query. A reply counts only if it
 * comes from the queried address and port, carries the query's ID with QR set and opcode
 * QUERY, and echoes the one question (name ASCII-case-insensitively, type, class IN).
 *
 * @param bytes The datagram or TCP message, without length prefix.
 * @param from Where it came from; over TCP, the connected server.
 * @param expected The server, ID and question of the query.
 * @returns The decoded message, or why it was rejected.
 */
export function acceptReply(
  bytes: Uint8Array,
  from: SocketAddress,
  expected: ExpectedReply,
): ReplyVerdict {
  if (!sameEndpoint(from, expected.server)) {
    return { reject: `from ${serverLabel(from)}, not ${serverLabel(expected.server)}` };
  }
  if (bytes.length < HEADER_LENGTH) return { reject: `${bytes.length} bytes, no DNS header` };
  const id = (bytes[0] << 8) | bytes[1];
  if (id !== expected.id) return { reject: `wrong ID ${id}` };
  if ((bytes[2] & 0x80) === 0) return { reject: "QR bit clear" };
  let message: Message;
  try {
    message = decodeMessage(bytes);
  } catch (error) {
    if (!(error instanceof DnsError)) throw error;
    const malformed = new DnsError(
      "MALFORMED",
      `Malformed reply from ${describe(expected)}: ${reason(error.cause ?? error)}`,
      { ...fields(expected), cause: error },
    );
    return { reject: "cannot be decoded", malformed };
  }
  if (message.opcode !== "QUERY") return { reject: `opcode ${message.opcode}` };
  if (message.questions.length !== 1) {
    return { reject: `${message.questions.length} questions` };
  }
  const [question] = message.questions;
  const { name, type } = expected.question;
  if (!sameName(question.name, name) || question.type !== type.toUpperCase()) {
    return { reject: `question "${question.name}" ${question.type}` };
  }
  const qclass = message.questions[0].class ?? "IN";
  if (qclass !== "IN") return { reject: `question class ${qclass}` };
  return { message };
}

function sameEndpoint(a: SocketAddress, b: SocketAddress): boolean {
  if (a.port !== b.port) return false;
  if (a.hostname === b.hostname) return true; // the usual case, without parsing
  // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; compare the 16 bytes.
  const x = parseAddress(a.hostname);
  const y = parseAddress(b.hostname);
  if (x === undefined || y === undefined) return a.hostname === b.hostname;
  return x.every((byte, i) => byte === y[i]);
}

/**
 * Names a server in messages: the address alone for port 53, else `a.b.c.d:port` or
 * `[v6]:port`.
 *
 * @param server The address and port.
 * @returns The label, e.g. `127.0.0.1`, `[::1]:5353`.
 */
export function serverLabel(server: SocketAddress): string {
  if (server.port === 53) return server.hostname;
  return server.hostname.includes(":")
    ? `[${server.hostname}]:${server.port}`
    : `${server.hostname}:${server.port}`;
}

/** How to run one exchange. */
export interface ExchangeOptions {
  /** Opens the sockets. */
  host: Network;
  /** Lends UDP sockets for several queries in turn; without it each query opens its own. */
  pool?: UdpSocketPool;
  /** How long to wait for an acceptable reply, in milliseconds. */
  timeoutMs: number;
  /** Aborts the exchange; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Sends a query over UDP from a fresh socket (or one lent by `options.pool`) and waits for
 * the reply that passes {@linkcode acceptReply}; other datagrams are dropped and waiting
 * continues.
 *
 * @param query The encoded query; its ID and question are in `expected`.
 * @param expected The server, ID and question.
 * @param options Sockets, timeout, signal.
 * @returns The reply, possibly truncated (TC set).
 * @throws {DnsError} `TIMEOUT` when no acceptable reply arrives in time, `MALFORMED` when
 *   only an undecodable one did, `NETWORK` when the socket fails.
 */
export async function exchangeUdp(
  query: Uint8Array,
  expected: ExpectedReply,
  options: ExchangeOptions,
): Promise<Message> {
  using attempt = startAttempt(expected, options);
  const family = expected.server.hostname.includes(":") ? 6 : 4;
  let lent: LentSocket;
  try {
    lent = options.pool?.take(family) ?? { socket: options.host.openUdp(family), left: 1 };
  } catch (error) {
    throw attempt.settle(error, undefined, "Cannot open a UDP socket for");
  }
  const { socket } = lent;
  // Closing the socket is what ends a pending receive on timeout or abort.
  const close = () => socket.close();
  attempt.signal.addEventListener("abort", close, { once: true });
  let malformed: DnsError | undefined;
  let sent = false;
  let answered = false;
  try {
    attempt.signal.throwIfAborted();
    await socket.send(query, expected.server);
    sent = true;
    for (let i = 0; i < MAX_DATAGRAMS; i++) {
      const [bytes, from] = await socket.receive();
      const verdict = acceptReply(bytes, from, expected);
      if ("message" in verdict) {
        answered = true;
        return verdict.message;
      }
      malformed = verdict.malformed ?? malformed;
    }
    throw malformed ?? new DnsError(
      "TIMEOUT",
      `No acceptable reply from ${describe(expected)} among ${MAX_DATAGRAMS} datagrams`,
      fields(expected),
    );
  } catch (error) {
    throw attempt.settle(error, malformed, sent ? "Cannot receive from" : "Cannot send to");
  } finally {
    attempt.signal.removeEventListener("abort", close);
    // Only a socket that got its reply goes back: after a timeout or an abort it is closed.
    if (answered && options.pool) options.pool.give(family, lent);
    else socket.close();
  }
}

/**
 * Sends a query over TCP with the two-octet length prefix (RFC 1035 §4.2.2) and reads the
 * reply, checked by {@linkcode acceptReply} against the connected server.
 *
 * @param query The encoded query.
 * @param expected The server, ID and question.
 * @param options Sockets, timeout (connection and reply together), signal.
 * @returns The reply.
 * @throws {DnsError} `TIMEOUT`, `MALFORMED` or `NETWORK` as for {@linkcode exchangeUdp}.
 */
export async function exchangeTcp(
  query: Uint8Array,
  expected: ExpectedReply,
  options: ExchangeOptions,
): Promise<Message> {
  using attempt = startAttempt(expected, options);
  let conn: TcpConnection;
  try {
    attempt.signal.throwIfAborted();
    conn = await options.host.connectTcp(expected.server, attempt.signal);
  } catch (error) {
    throw attempt.settle(error, undefined, "Cannot connect over TCP to");
  }
  const close = () => conn.close();
  attempt.signal.addEventListener("abort", close, { once: true });
  let malformed: DnsError | undefined;
  try {
    const framed = new Uint8Array(2 + query.length);
    new DataView(framed.buffer).setUint16(0, query.length);
    framed.set(query, 2);
    await conn.write(framed);
    let ended = false;
    for (let i = 0; i < MAX_TCP_MESSAGES; i++) {
      const prefix = await readExactly(conn, 2);
      const bytes = prefix && await readExactly(conn, (prefix[0] << 8) | prefix[1]);
      if (bytes === undefined) {
        ended = true;
        break;
      }
      const verdict = acceptReply(bytes, expected.server, expected);
      if ("message" in verdict) return verdict.message;
      malformed = verdict.malformed ?? malformed;
    }
    // A server that keeps sending other messages is not "closed"; both end the exchange.
    const how = ended ? "closed" : `sent ${MAX_TCP_MESSAGES} messages`;
    throw malformed ?? new DnsError(
      "NETWORK",
      `TCP connection to ${describe(expected)} ${how} without a matching reply`,
      fields(expected),
    );
  } catch (error) {
    throw attempt.settle(error, malformed, "TCP exchange failed with");
  } finally {
    attempt.signal.removeEventListener("abort", close);
    conn.close();
  }
}

/**
 * Reads exactly `length` bytes; undefined when the stream ends first.
 *
 * @param conn A connection (a `Deno.Conn` fits).
 * @param length The number of bytes.
 * @returns The bytes, or undefined at the end of the stream.
 */
export async function readExactly(
  conn: Pick<TcpConnection, "read">,
  length: number,
): Promise<Uint8Array | undefined> {
  const buffer = new Uint8Array(length);
  let filled = 0;
  // Every read returns at least one byte or null, so `length` reads are enough.
  for (let i = 0; i <= length && filled < length; i++) {
    const n = await conn.read(buffer.subarray(filled));
    if (n === null) return undefined;
    filled += n;
  }
  return buffer;
}

interface Attempt extends Disposable {
  /** Aborts on timeout or when the caller aborts. */
  signal: AbortSignal;
  /** The error to throw for a failure, given how far the attempt got. */
  settle(error: unknown, malformed: DnsError | undefined, action: string): unknown;
}

function startAttempt(expected: ExpectedReply, options: ExchangeOptions): Attempt {
  const outer = options.signal;
  // Cancelled as soon as the attempt ends: a batch of 100,000 domains must not keep every
  // attempt's timer alive for its full timeout (AbortSignal.timeout did: peak RSS ×3).
  const limit = new TimeLimit(options.timeoutMs, outer);
  return {
    signal: limit.signal,
    settle(error, malformed, action) {
      // The caller's abort wins: it is not the server's fault.
      if (outer?.aborted) return outer.reason;
      if (limit.timedOut) {
        return malformed ?? new DnsError(
          "TIMEOUT",
          `No reply from ${describe(expected)} within ${options.timeoutMs} ms`,
          fields(expected),
        );
      }
      if (error instanceof DnsError) return error;
      // A permission Deno refused is the caller's to report, not a network failure; so is
      // a TypeError (caller misuse, or a runtime without Deno.listenDatagram).
      if (isPermissionRefusal(error) || error instanceof TypeError) return error;
      return new DnsError("NETWORK", `${action} ${describe(expected)}: ${reason(error)}`, {
        ...fields(expected),
        cause: error,
      });
    },
    [Symbol.dispose]: () => limit[Symbol.dispose](),
  };
}

function describe(expected: ExpectedReply): string {
  return `${
    serverLabel(expected.server)
  } for "${expected.question.name}" ${expected.question.type}`;
}

function fields(expected: ExpectedReply): { server: string; name: string; type: string } {
  return {
    server: serverLabel(expected.server),
    name: expected.question.name,
    type: expected.question.type,
  };
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
