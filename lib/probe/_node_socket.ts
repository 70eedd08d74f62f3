// The probe's sockets: node:net for the plain-text part and node:tls to upgrade the same socket
// after STARTTLS, because Deno.startTls gives no access to the peer's certificate chain. Both
// load only when a probe runs (dynamic import), so a plain lookup's start-up does not change.
import type { ProbeConnection, TlsSession } from "./smtp.ts";

/** Bytes received but not yet read, at most; past it the connection is dropped. */
const MAX_QUEUED = 64 * 1024;

/** The longest chain followed through `issuerCertificate`. */
const MAX_CHAIN = 10;

type NodeSocket = import("node:net").Socket;

/** A socket event listener, as node:net types it. */
// deno-lint-ignore no-explicit-any
type Listener = (...args: any[]) => void;

interface Waiter {
  resolve(value: Uint8Array | null): void;
  reject(error: unknown): void;
}

/** A pull-based reader over a Node socket's events, bounded by MAX_QUEUED. */
class Inbox {
  readonly #chunks: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  #error: unknown;
  #waiter: Waiter | undefined;
  readonly #socket: NodeSocket;
  readonly #listeners: Array<[string, Listener]>;

  constructor(socket: NodeSocket) {
    this.#socket = socket;
    this.#listeners = [
      ["data", (chunk: Uint8Array) => this.#data(chunk)],
      ["end", () => this.#end()],
      ["close", () => this.#end()],
      ["error", (error: unknown) => this.#fail(error)],
    ];
    for (const [event, listener] of this.#listeners) socket.on(event, listener);
  }

  /** Stops listening (before the socket is handed to node:tls). */
  detach(): void {
    for (const [event, listener] of this.#listeners) this.#socket.off(event, listener);
  }

  /** Bytes received and not yet read. */
  get queued(): number {
    return this.#queued;
  }

  read(signal: AbortSignal): Promise<Uint8Array | null> {
    const chunk = this.#chunks.shift();
    if (chunk !== undefined) {
      this.#queued -= chunk.length;
      return Promise.resolve(chunk);
    }
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(null);
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#waiter = undefined;
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiter = {
        resolve: (value) => {
          signal.removeEventListener("abort", onAbort);
          resolve(value);
        },
        reject: (error) => {
          signal.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
    });
  }

  #data(chunk: Uint8Array): void {
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter.resolve(chunk);
      return;
    }
    this.#queued += chunk.length;
    if (this.#queued > MAX_QUEUED) {
      this.#fail(new Error(`More than ${MAX_QUEUED} bytes sent unasked`));
      this.#socket.destroy();
      return;
    }
    this.#chunks.push(chunk);
  }

  #end(): void {
    this.#ended = true;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve(null);
  }

  #fail(error: unknown): void {
    this.#error ??= error;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(error);
  }
}

/** The DER of each certificate the server sent, leaf first, from getPeerCertificate(true). */
function chainOf(peer: import("node:tls").DetailedPeerCertificate): Uint8Array[] {
  const chain: Uint8Array[] = [];
  let cert: import("node:tls").DetailedPeerCertificate | undefined = peer;
  while (cert?.raw !== undefined && chain.length < MAX_CHAIN) {
    const der = new Uint8Array(cert.raw);
    // A self-issued certificate refers to itself; stop at the first repeat.
    if (chain.some((seen) => equalBytes(seen, der))) break;
    chain.push(der);
    cert = cert.issuerCertificate;
  }
  return chain;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** Waits for `event` on `emitter`; rejects with its "error" or with the signal's reason. */
function eventOrAbort(emitter: NodeSocket, event: string, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    emitter.once(event, () => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
    emitter.once("error", (error: unknown) => {
      signal.removeEventListener("abort", onAbort);
      reject(error);
    });
  });
}

/**
 * Opens a TCP connection to `address` port `port` (an address, never a name: no resolution
 * happens here) and returns it as a ProbeConnection.
 */
export async function connectNode(
  address: string,
  port: number,
  signal: AbortSignal,
): Promise<ProbeConnection> {
  const net = await import("node:net");
  const socket = net.connect({ host: address, port, family: net.isIPv6(address) ? 6 : 4 });
  try {
    await eventOrAbort(socket, "connect", signal);
  } catch (error) {
    socket.destroy();
    throw error;
  }
  let inbox = new Inbox(socket);
  let current: NodeSocket = socket;
  return {
    read: (readSignal) => inbox.read(readSignal),
    get queued() {
      return inbox.queued;
    },
    write(text) {
      return new Promise((resolve, reject) => {
        current.write(text, (error?: Error | null) => error ? reject(error) : resolve());
      });
    },
    async startTls({ servername, caCerts }, tlsSignal): Promise<TlsSession> {
      const tls = await import("node:tls");
      inbox.detach();
      // The TLS socket reports the plain socket's failures; this keeps one from being thrown.
      socket.on("error", () => {});
      const secure = tls.connect({
        socket,
        servername,
        ca: caCerts,
        // Verification is inspected, not enforced: the verdicts report it (certificate.ts).
        rejectUnauthorized: false,
        // The name is checked by certificate.ts, apart from the chain, so that `authorized`
        // says only whether the chain verified.
        checkServerIdentity: () => undefined,
      });
      current = secure;
      inbox = new Inbox(secure);
      await eventOrAbort(secure, "secureConnect", tlsSignal);
      const cipher = secure.getCipher();
      return {
        version: secure.getProtocol() ?? "unknown",
        cipher: cipher?.standardName ?? cipher?.name ?? "unknown",
        chain: chainOf(secure.getPeerCertificate(true)),
        authorized: secure.authorized,
        authorizationError: secure.authorized
          ? null
          : String(secure.authorizationError ?? "unknown"),
      };
    },
    close() {
      current.destroy();
      socket.destroy();
    },
  };
}
