// The outside world as small interfaces: sockets, files, clock, randomness, environment.
// The library takes them as options so that tests can pass fakes; `denoHost()` is the real one.
import { readTextFile } from "./text_file.ts";

export { MAX_TEXT_FILE_BYTES, OPEN_TIMEOUT_MS, openReadOnly, readTextFile } from "./text_file.ts";

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
