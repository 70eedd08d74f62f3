// UDP sockets reused for several queries in turn, one query at a time each: a batch's CPU time
// would otherwise go to opening and closing sockets. The exchange (exchange.ts) borrows them.
import type { Network, UdpSocket } from "../host.ts";

/** Idle sockets a {@linkcode UdpSocketPool} keeps per address family, at most. */
const MAX_IDLE_SOCKETS = 256;

/** A socket lent for one exchange. */
export interface LentSocket {
  /** The socket. */
  socket: UdpSocket;
  /** Queries it may still send. */
  left: number;
}

/**
 * UDP sockets that serve several queries one after another (`ResolverOptions.socketReuse`):
 * opening and closing a socket per query is most of a batch's CPU time. Each socket still has
 * a random port from the kernel, serves one query at a time with a fresh random ID, and is
 * closed after `queriesPerSocket` queries, or at once after a timeout or any failure.
 */
export class UdpSocketPool implements Disposable {
  readonly #network: Network;
  readonly #queriesPerSocket: number;
  readonly #idle: Record<4 | 6, LentSocket[]> = { 4: [], 6: [] };

  /**
   * @param network Opens the sockets.
   * @param queriesPerSocket Queries sent from one socket before it is closed (1 or more).
   */
  constructor(network: Network, queriesPerSocket: number) {
    this.#network = network;
    this.#queriesPerSocket = queriesPerSocket;
  }

  /** A socket for one exchange: an idle one of the family, else a new one. */
  take(family: 4 | 6): LentSocket {
    return this.#idle[family].pop() ??
      { socket: this.#network.openUdp(family), left: this.#queriesPerSocket };
  }

  /** Takes back a socket whose exchange got its reply; closes it when it is used up. */
  give(family: 4 | 6, lent: LentSocket): void {
    const idle = this.#idle[family];
    if (--lent.left > 0 && idle.length < MAX_IDLE_SOCKETS) idle.push(lent);
    else lent.socket.close();
  }

  /** Closes the idle sockets. */
  [Symbol.dispose](): void {
    for (const family of [4, 6] as const) {
      for (const { socket } of this.#idle[family].splice(0)) socket.close();
    }
  }
}
