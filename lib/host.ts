// The outside world as small interfaces: sockets, files, clock, randomness, environment.
// The library takes them as options so that tests can pass fakes; `denoHost()` is the real one.
import { TimeLimit } from "./deadlines.ts";
import { ConfigError, isPermissionRefusal, osErrorText } from "./errors.ts";

/** A network address with a port. */
export interface SocketAddress {
  /** IPv4 or IPv6 address text, without brackets. */
  hostname: string;
  /** The port. */
  port: number;
}

/** One unconnected UDP socket, as `Deno.listenDatagram` gives it. */
export interface UdpSocket {
  /** Sends one datagram. */
  send(data: Uint8Array, to: SocketAddress): Promise<void>;
  /** Waits for the next datagram. Rejects once the socket is closed. */
  receive(): Promise<[Uint8Array, SocketAddress]>;
  /** Closes the socket; a pending `receive` rejects. Safe to call twice. */
  close(): void;
}

/** One TCP connection. */
export interface TcpConnection {
  /** Writes all of `data`. */
  write(data: Uint8Array): Promise<void>;
  /** Reads into `buffer`; the number of bytes read, or null at the end of the stream. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Closes the connection. Safe to call twice. */
  close(): void;
}

/** Sockets. */
export interface Network {
  /** Opens a fresh UDP socket on an ephemeral port of the given family. */
  openUdp(family: 4 | 6): UdpSocket;
  /** Connects over TCP; rejects when `signal` aborts first. */
  connectTcp(to: SocketAddress, signal: AbortSignal): Promise<TcpConnection>;
}

/** The time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** Options of {@linkcode FileReader.readTextFile}. */
export interface ReadTextFileOptions {
  /** Stops waiting for the file to open (a FIFO without a writer never opens). */
  signal?: AbortSignal;
}

/** Files, read-only. */
export interface FileReader {
  /**
   * The file's text, or undefined when it does not exist. Other errors throw; so does an open
   * that does not complete within {@linkcode OPEN_TIMEOUT_MS} or before `signal` aborts.
   */
  readTextFile(path: string, options?: ReadTextFileOptions): Promise<string | undefined>;
}

/** Everything the library needs from the machine. */
export interface Host extends Network, Clock, FileReader {
  /** A random 16-bit DNS message ID (RFC 5452 §4: unpredictable). */
  randomId(): number;
  /** The machine's host name. */
  hostname(): string;
  /** An environment variable, or undefined when unset. */
  env(name: string): string | undefined;
}

/** A close that runs once and never throws: the runtime may have closed the resource already. */
function closeOnce(close: () => void): () => void {
  let closed = false;
  return () => {
    if (closed) return;
    closed = true;
    try {
      close();
    } catch {
      // Already closed by the runtime.
    }
  };
}

/** The largest UDP payload (IPv4); a receive buffer this size never cuts a datagram. */
const MAX_DATAGRAM = 65_507;

/** Receive buffers kept for reuse, at most: enough for a batch's receives in flight. */
const MAX_SPARE_BUFFERS = 64;

/**
 * Receive buffers of {@linkcode MAX_DATAGRAM} bytes, lent for one receive at a time. Without a
 * buffer, Deno allocates a new 64 KiB one per receive: a batch's 40,000 receives made 2.6 GB
 * of garbage, the largest part of its CPU time. A datagram is copied out before its buffer goes
 * back, so decoded messages never share memory with a later receive.
 */
const spareBuffers: Uint8Array[] = [];

function udpSocket(family: 4 | 6): UdpSocket {
  // Unstable API: missing without --unstable-net. A TypeError, so that it is not taken for a
  // network failure (and every lookup for a soft one).
  if (typeof Deno.listenDatagram !== "function") {
    throw new TypeError("Deno.listenDatagram is not available: run with --unstable-net");
  }
  const conn = Deno.listenDatagram({
    transport: "udp",
    hostname: family === 4 ? "0.0.0.0" : "::",
    port: 0,
  });
  return {
    async send(data, to) {
      await conn.send(data, { transport: "udp", hostname: to.hostname, port: to.port });
    },
    async receive() {
      const buffer = spareBuffers.pop() ?? new Uint8Array(MAX_DATAGRAM);
      try {
        const [data, from] = await conn.receive(buffer);
        const addr = from as Deno.NetAddr;
        return [data.slice(), { hostname: addr.hostname, port: addr.port }];
      } finally {
        // Also after a close ended the receive: the runtime no longer writes into it.
        if (spareBuffers.length < MAX_SPARE_BUFFERS) spareBuffers.push(buffer);
      }
    },
    close: closeOnce(() => conn.close()),
  };
}

/** Query IDs drawn from the system's CSPRNG a block at a time: one call per query was slow. */
const randomIds = new Uint16Array(256);
let randomIdsLeft = 0;

function randomId(): number {
  if (randomIdsLeft === 0) {
    crypto.getRandomValues(randomIds);
    randomIdsLeft = randomIds.length;
  }
  return randomIds[--randomIdsLeft];
}

async function tcpConnect(to: SocketAddress, signal: AbortSignal): Promise<TcpConnection> {
  signal.throwIfAborted();
  const pending = Deno.connect({ transport: "tcp", hostname: to.hostname, port: to.port });
  let conn: Deno.TcpConn;
  try {
    conn = await new Promise<Deno.TcpConn>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      pending.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  } catch (error) {
    // A connection that completes after the abort must not leak.
    pending.then((late) => late.close(), () => {});
    throw error;
  }
  return {
    async write(data) {
      let written = 0;
      while (written < data.length) written += await conn.write(data.subarray(written));
    },
    read: (buffer) => conn.read(buffer),
    close: closeOnce(() => conn.close()),
  };
}

/** The largest configuration file read: a CA bundle is about 220 KiB. */
export const MAX_TEXT_FILE_BYTES: number = 4 * 1024 * 1024;

/** The longest wait for a configuration file to open. */
export const OPEN_TIMEOUT_MS = 5_000;

/**
 * A regular file's text, read through one open file: opened once (following links, as
 * /etc/resolv.conf often is one) and checked by fstat, so that nothing swapped in after a
 * check is read. A stat before refuses a FIFO or device at once; one swapped in between
 * would keep the open waiting (a FIFO without a writer): the wait is bounded by
 * `signal` and {@linkcode OPEN_TIMEOUT_MS} (the open is asynchronous for that, which starts
 * Deno's blocking thread: ~0.1 ms, <1 MiB). A FIFO or device that does open is not read, so
 * /dev/zero cannot fill memory.
 *
 * @param path The file.
 * @param options The signal that ends the wait for the open.
 * @returns The text, or undefined when there is no file.
 */
export async function readTextFile(
  path: string,
  options: ReadTextFileOptions = {},
): Promise<string | undefined> {
  let seen: Deno.FileInfo;
  let file: Deno.FsFile;
  try {
    // A quick refusal of what is not a regular file now; the fstat below decides.
    seen = Deno.statSync(path);
    if (!seen.isFile && !seen.isDirectory) {
      throw new ConfigError("NOT_A_FILE", path, "Not a regular file");
    }
    file = await openReadOnly(path, options.signal);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw configError(path, error);
  }
  try {
    return readOpenFile(file, seen, path);
  } catch (error) {
    throw configError(path, error);
  } finally {
    file.close();
  }
}

/**
 * A read failure as a {@linkcode ConfigError} with the path, its message kept; a permission
 * Deno refused and a directory (which some readers accept) pass unchanged.
 */
function configError(path: string, error: unknown): unknown {
  if (error instanceof ConfigError || error instanceof Deno.errors.IsADirectory) return error;
  if (isPermissionRefusal(error)) return error;
  return new ConfigError("UNREADABLE", path, osErrorText(error), { cause: error });
}

/**
 * Opens `path` for reading, as `Deno.open` does, but waits at most {@linkcode OPEN_TIMEOUT_MS}
 * or until `signal` aborts: a FIFO without a writer never opens (`--batch FILE`).
 *
 * @param path The file.
 * @param signal Ends the wait.
 * @returns The open file.
 * @throws {Error} When the open does not complete in time; else as `Deno.open`.
 */
export async function openReadOnly(path: string, signal?: AbortSignal): Promise<Deno.FsFile> {
  using limit = new TimeLimit(OPEN_TIMEOUT_MS, signal);
  const opening = Deno.open(path, { read: true });
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Error(`Not opened within ${OPEN_TIMEOUT_MS / 1000} s (a FIFO?)`));
    limit.signal.addEventListener("abort", onAbort, { once: true });
    if (limit.signal.aborted) onAbort();
  });
  try {
    return await Promise.race([opening, aborted]);
  } catch (error) {
    // An open that completes after all must not leak.
    opening.then((late) => late.close(), () => {});
    throw error;
  } finally {
    limit.signal.removeEventListener("abort", onAbort!);
  }
}

function readOpenFile(file: Deno.FsFile, seen: Deno.FileInfo, path: string): string {
  // Synchronous from here: a regular file's reads do not block, and they are small.
  const info = file.statSync();
  if (info.isDirectory) throw new Deno.errors.IsADirectory("Is a directory");
  if (!info.isFile) throw new ConfigError("NOT_A_FILE", path, "Not a regular file");
  if (info.ino !== seen.ino || info.dev !== seen.dev) {
    throw new ConfigError("NOT_A_FILE", path, "Replaced while opened");
  }
  const tooLarge = () =>
    new ConfigError("TOO_LARGE", path, `Larger than ${MAX_TEXT_FILE_BYTES} bytes`);
  if (info.size > MAX_TEXT_FILE_BYTES) throw tooLarge();
  // Sized by the fstat, bounded even if the file grows while it is read.
  let bytes = new Uint8Array(info.size + 1);
  let length = 0;
  for (;;) {
    if (length === bytes.length) {
      if (length > MAX_TEXT_FILE_BYTES) throw tooLarge();
      const grown = new Uint8Array(Math.min(bytes.length * 2, MAX_TEXT_FILE_BYTES + 1));
      grown.set(bytes);
      bytes = grown;
    }
    const n = file.readSync(bytes.subarray(length));
    if (n === null) break;
    length += n;
  }
  return new TextDecoder().decode(bytes.subarray(0, length));
}

/**
 * The real machine, through Deno's APIs: UDP and TCP sockets, `Date.now`, files, random IDs
 * from `crypto.getRandomValues`, `Deno.hostname` and `Deno.env`. Nothing is opened or read
 * until a method is called; each method needs the matching Deno permission then.
 *
 * @returns The host; the default of `ResolverOptions.host`.
 *
 * @example Wrap the real host to watch the sockets a resolver opens
 * ```ts
 * import { denoHost, type Host } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * const real = denoHost();
 * let opened = 0;
 * const host: Host = {
 *   ...real,
 *   openUdp(family) {
 *     opened++;
 *     return real.openUdp(family);
 *   },
 * };
 * // A missing file is `undefined`, not an error (resolv.conf may be absent).
 * assert.equal(await host.readTextFile("/nonexistent/resolv.conf"), undefined);
 * assert.equal(opened, 0);
 * // Pass it on: `new Resolver({ host })`.
 * ```
 */
export function denoHost(): Host {
  return {
    openUdp: udpSocket,
    connectTcp: tcpConnect,
    now: () => Date.now(),
    readTextFile,
    randomId,
    hostname: () => Deno.hostname(),
    // A refused permission throws (NotCapable): the CLI names it rather than guessing.
    env: (name) => Deno.env.get(name),
  };
}
