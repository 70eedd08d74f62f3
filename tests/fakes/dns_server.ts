// An in-process DNS server for tests: UDP and TCP on one ephemeral port of 127.0.0.1 (or ::1),
// answering whatever the test's handler says, forged replies included, and recording every
// query. Start it, use `server.nameServer`, and close it in `finally` or with `await using`.
//
// ```ts
// await using server = FakeDnsServer.start((query) =>
//   reply(query, { answers: [{ name: "x.test", data: { type: "A", address: "192.0.2.1" } }] })
// );
// const resolver = new Resolver({ servers: [server.nameServer], timeoutMs: 300 });
// ```
import type { SocketAddress } from "../../lib/host.ts";
import { readExactly } from "../../lib/resolver/exchange.ts";
import type { NameServer } from "../../lib/resolver/resolver.ts";
import {
  decodeMessage,
  encodeResponse,
  type Message,
  type RecordSpec,
  type ResponseSpec,
} from "../../lib/wire/message.ts";

/** One thing the server does in answer to a query. */
export type Reply =
  /** Encoded with `encodeResponse` and sent. */
  | ResponseSpec
  /** Sent as they are (over TCP with the length prefix). */
  | Uint8Array
  /** Waits before the replies that follow. */
  | { delayMs: number }
  /** Sent over UDP from a second socket, so from another port (a spoofing attempt). */
  | { fromOtherPort: ResponseSpec | Uint8Array }
  /**
   * Sent over UDP from 127.0.0.2 (the server's port number when free): another address, as
   * an off-path attacker without source spoofing would send it. IPv4 servers only.
   */
  | { fromOtherAddress: ResponseSpec | Uint8Array }
  /** TCP: the bytes as they are, no length prefix (a torn frame); UDP: one datagram. */
  | { raw: Uint8Array }
  /** TCP: the framed reply, written one byte every `everyMs` (a trickling server). */
  | { trickle: ResponseSpec | Uint8Array; everyMs: number }
  /** TCP: closes the connection now; without it the connection stays open for more. */
  | { close: true };

/** What the handler returns: one reply, several in order, or nothing at all. */
export type Replies = Reply | Reply[] | "silence";

/** How a query arrived. */
export interface QueryContext {
  /** The transport. */
  transport: "udp" | "tcp";
  /** The client's address and port. */
  from: SocketAddress;
}

/** Scripts the server: called once per decodable query. */
export type Handler = (query: Message, context: QueryContext) => Replies | Promise<Replies>;

/** A query the server received. */
export interface ReceivedQuery extends QueryContext {
  /** The decoded query. */
  message: Message;
  /** Its bytes. */
  bytes: Uint8Array;
}

/** Options of {@linkcode FakeDnsServer.start}. */
export interface FakeDnsServerOptions {
  /** The loopback address to listen on. @default {"127.0.0.1"} */
  hostname?: "127.0.0.1" | "::1";
}

/** Datagrams and connections served per server; the hardening tests use thousands. */
const MAX_DATAGRAMS = 20_000;
const MAX_CONNECTIONS = 2_000;
const MAX_MESSAGES_PER_CONNECTION = 16;

/**
 * The usual reply: same ID, the question echoed, RD copied, RA set.
 *
 * @param query The query being answered.
 * @param spec Fields to set or override (`answers`, `rcode`, `flags`, even `id`).
 * @returns A reply to return from a handler.
 */
export function reply(query: Message, spec: Partial<ResponseSpec> = {}): ResponseSpec {
  return {
    id: query.id,
    questions: query.questions,
    ...spec,
    flags: { rd: query.rd, ...spec.flags },
  };
}

/** Records for replies, TTL 300: `rr.a("x.test", "192.0.2.1")`. */
export const rr = {
  a: (name: string, address: string): RecordSpec => ({ name, data: { type: "A", address } }),
  aaaa: (name: string, address: string): RecordSpec => ({
    name,
    data: { type: "AAAA", address },
  }),
  mx: (name: string, preference: number, exchange: string): RecordSpec => ({
    name,
    data: { type: "MX", preference, exchange },
  }),
  cname: (name: string, target: string): RecordSpec => ({
    name,
    data: { type: "CNAME", target },
  }),
  txt: (name: string, ...strings: string[]): RecordSpec => ({
    name,
    data: { type: "TXT", strings: strings.map((s) => new TextEncoder().encode(s)) },
  }),
};

/**
 * Whether this machine can listen on ::1; tests of IPv6 servers skip (and say so) without it.
 *
 * @returns True when a UDP socket on ::1 can be opened.
 */
export function ipv6Available(): boolean {
  try {
    Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
}

/** A scripted DNS server on the loopback interface. */
export class FakeDnsServer implements AsyncDisposable {
  /** The address it listens on. */
  readonly hostname: string;
  /** The port, the same for UDP and TCP. */
  readonly port: number;
  /** Every decodable query received, in order of arrival. */
  readonly queries: ReceivedQuery[] = [];

  readonly #handler: Handler;
  readonly #udp: Deno.DatagramConn;
  readonly #tcp: Deno.TcpListener;
  #otherUdp?: Deno.DatagramConn;
  #otherAddressUdp?: Deno.DatagramConn;
  readonly #connections = new Set<Deno.Conn>();
  readonly #timers = new Map<ReturnType<typeof setTimeout>, () => void>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #loops: Promise<void>[];
  #closed = false;
  #error: unknown;

  private constructor(handler: Handler, udp: Deno.DatagramConn, tcp: Deno.TcpListener) {
    this.#handler = handler;
    this.#udp = udp;
    this.#tcp = tcp;
    const addr = udp.addr as Deno.NetAddr;
    this.hostname = addr.hostname;
    this.port = addr.port;
    this.#loops = [this.#serveUdp(), this.#serveTcp()];
  }

  /**
   * Starts a server on a port that is free for both UDP and TCP.
   *
   * @param handler Decides the replies to each query.
   * @param options The loopback address.
   * @returns The running server.
   */
  static start(handler: Handler, options: FakeDnsServerOptions = {}): FakeDnsServer {
    const hostname = options.hostname ?? "127.0.0.1";
    // The UDP port picked by the kernel may be taken for TCP; a few tries find one free for both.
    for (let i = 0; i < 10; i++) {
      const udp = Deno.listenDatagram({ transport: "udp", hostname, port: 0 });
      const port = (udp.addr as Deno.NetAddr).port;
      try {
        return new FakeDnsServer(handler, udp, Deno.listen({ transport: "tcp", hostname, port }));
      } catch (error) {
        udp.close();
        if (!(error instanceof Deno.errors.AddrInUse)) throw error;
      }
    }
    throw new Error(`No port free for both UDP and TCP on ${hostname}`);
  }

  /** The server as a resolver option. */
  get nameServer(): NameServer {
    return { address: this.hostname, port: this.port };
  }

  /** The server as a socket address. */
  get address(): SocketAddress {
    return { hostname: this.hostname, port: this.port };
  }

  /**
   * Stops serving and waits until every socket, connection and timer is released.
   *
   * @throws The first error a handler threw, so that assertions inside handlers fail the test.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#udp.close();
      this.#otherUdp?.close();
      this.#otherAddressUdp?.close();
      this.#tcp.close();
      for (const conn of this.#connections) conn.close();
      for (const [timer, wake] of this.#timers) {
        clearTimeout(timer);
        wake();
      }
      this.#timers.clear();
    }
    await Promise.all(this.#loops);
    await Promise.all(this.#tasks);
    if (this.#error !== undefined) throw this.#error;
  }

  /** Same as {@linkcode close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #serveUdp(): Promise<void> {
    for (let i = 0; i < MAX_DATAGRAMS; i++) {
      let datagram: [Uint8Array, Deno.Addr];
      try {
        datagram = await this.#udp.receive();
      } catch {
        return; // closed
      }
      const [bytes, addr] = datagram;
      const from = toSocketAddress(addr);
      this.#track(this.#answer(bytes, { transport: "udp", from }, {
        send: (out, via) => this.spoof(out, from, via),
        sendRaw: (out) => this.spoof(out, from, "server"),
        trickle: () => Promise.reject(new TypeError("trickle is for TCP only")),
        close: () => Promise.reject(new TypeError("close is for TCP only")),
      }));
    }
  }

  async #serveTcp(): Promise<void> {
    for (let i = 0; i < MAX_CONNECTIONS; i++) {
      let conn: Deno.Conn;
      try {
        conn = await this.#tcp.accept();
      } catch {
        return; // closed
      }
      this.#connections.add(conn);
      this.#track(this.#serveConnection(conn));
    }
  }

  async #serveConnection(conn: Deno.Conn): Promise<void> {
    const from = toSocketAddress(conn.remoteAddr);
    try {
      for (let i = 0; i < MAX_MESSAGES_PER_CONNECTION; i++) {
        const prefix = await readExactly(conn, 2);
        const bytes = prefix && await readExactly(conn, (prefix[0] << 8) | prefix[1]);
        if (bytes === undefined) return;
        let open = true;
        await this.#answer(bytes, { transport: "tcp", from }, {
          send: async (out, via) => {
            if (via !== "server") throw new TypeError(`${via} is for UDP only`);
            await writeAll(conn, frame(out));
          },
          sendRaw: (out) => writeAll(conn, out),
          trickle: async (out, everyMs) => {
            const framed = frame(out);
            for (let i = 0; i < framed.length && !this.#closed; i++) {
              await writeAll(conn, framed.subarray(i, i + 1));
              if (i + 1 < framed.length) await this.#sleep(everyMs);
            }
          },
          close: () => {
            open = false;
            return Promise.resolve();
          },
        });
        if (!open) return;
      }
    } catch (error) {
      if (!this.#closed) throw error;
    } finally {
      this.#connections.delete(conn);
      conn.close();
    }
  }

  async #answer(bytes: Uint8Array, context: QueryContext, out: Outlet): Promise<void> {
    let message: Message;
    try {
      message = decodeMessage(bytes);
    } catch {
      return; // Not a query; a real server would drop it too.
    }
    this.queries.push({ message, bytes, ...context });
    const replies = await this.#handler(message, context);
    if (replies === "silence") return;
    for (const item of Array.isArray(replies) ? replies : [replies]) {
      if (this.#closed) return;
      if (item instanceof Uint8Array) await out.send(item, "server");
      else if ("delayMs" in item) await this.#sleep(item.delayMs);
      else if ("fromOtherPort" in item) await out.send(toBytes(item.fromOtherPort), "other-port");
      else if ("fromOtherAddress" in item) {
        await out.send(toBytes(item.fromOtherAddress), "other-address");
      } else if ("raw" in item) await out.sendRaw(item.raw);
      else if ("trickle" in item) await out.trickle(toBytes(item.trickle), item.everyMs);
      else if ("close" in item) await out.close();
      else await out.send(encodeResponse(item), "server");
    }
  }

  /**
   * Sends one UDP datagram as an attacker would: from the server's own socket (a perfectly
   * spoofed source address and port), from another port of its address, or from 127.0.0.2.
   *
   * @param bytes The datagram.
   * @param to Where to send it, e.g. the source address of a query in `queries`.
   * @param via Which socket sends it.
   */
  async spoof(bytes: Uint8Array, to: SocketAddress, via: Via): Promise<void> {
    if (this.#closed) return;
    const socket = via === "server"
      ? this.#udp
      : via === "other-port"
      ? this.#otherUdp ??= Deno.listenDatagram({
        transport: "udp",
        hostname: this.hostname,
        port: 0,
      })
      : this.#otherAddressUdp ??= this.#listenOtherAddress();
    await socket.send(bytes, { transport: "udp", ...to });
  }

  #listenOtherAddress(): Deno.DatagramConn {
    if (this.hostname !== "127.0.0.1") throw new TypeError("fromOtherAddress needs 127.0.0.1");
    // The same port number on another address is the closest forgery without raw sockets.
    try {
      return Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.2", port: this.port });
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse)) throw error;
      return Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.2", port: 0 });
    }
  }

  #sleep(ms: number): Promise<void> {
    // After close() no timer may start: close() has already woken the ones it knows.
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      this.#timers.set(timer, resolve);
    });
  }

  #track(task: Promise<void>): void {
    const tracked = task.catch((error) => {
      // A send racing with close() is expected; anything else is the test's business.
      if (!this.#closed) this.#error ??= error;
    }).finally(() => this.#tasks.delete(tracked));
    this.#tasks.add(tracked);
  }
}

/** Which socket an attacker's datagram leaves from. */
export type Via = "server" | "other-port" | "other-address";

/** How replies to one query leave the server. */
interface Outlet {
  send(out: Uint8Array, via: Via): Promise<void>;
  sendRaw(out: Uint8Array): Promise<void>;
  trickle(out: Uint8Array, everyMs: number): Promise<void>;
  close(): Promise<void>;
}

function frame(message: Uint8Array): Uint8Array {
  const framed = new Uint8Array(2 + message.length);
  new DataView(framed.buffer).setUint16(0, message.length);
  framed.set(message, 2);
  return framed;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await conn.write(bytes.subarray(written));
  }
}

function toBytes(item: ResponseSpec | Uint8Array): Uint8Array {
  return item instanceof Uint8Array ? item : encodeResponse(item);
}

function toSocketAddress(addr: Deno.Addr): SocketAddress {
  const net = addr as Deno.NetAddr;
  return { hostname: net.hostname, port: net.port };
}
