// Deno's fetch resolves a URL's host itself and has no "connect to this address" hook (curl's
// --connect-to). A policy download should connect where the run's own resolver says
// `mta-sts.<domain>` is (D1: the same servers as every other query), and that address can
// be known before the TXT answer comes (#6). So fetch is given this relay as its HTTP proxy:
// fetch sends `CONNECT mta-sts.<domain>:443`, the relay connects to the addresses it was
// given, and the TLS session runs end to end between fetch and the policy server, the
// certificate checked for the URL's host as always. The relay listens on 127.0.0.1 only,
// serves a bounded number of tunnels, and connects nowhere but the given addresses and port:
// a local process that reaches it gets nothing it could not do itself.

/** Tunnels served by one relay: fetch opens one; a retry after a reset, a few. */
const MAX_TUNNELS = 4;

/** The longest CONNECT request head read (fetch's is under 100 bytes). */
const MAX_HEAD_BYTES = 4096;

/** A running relay. */
export interface ConnectRelay extends AsyncDisposable {
  /** The proxy URL for `Deno.createHttpClient`, `http://127.0.0.1:<port>`. */
  url: string;
  /**
   * Why the last tunnel reached no address: the addresses' rejection, Deno's refusal of the
   * `net` permission (`Deno.errors.NotCapable`), or an error naming each failed connection.
   */
  failure?: unknown;
}

/**
 * Starts a relay that tunnels `CONNECT <authority>` to `addresses`, tried in order.
 *
 * @param authority The one `host:port` fetch may ask for, e.g. `mta-sts.example.com:443`.
 * @param addresses IP addresses to connect to, in order of preference. A promise holds every
 *   tunnel back until it settles: fetch may start (and do its own checks) before the caller
 *   knows whether the download is wanted, and nothing leaves the machine until it is.
 * @returns The relay; dispose of it to close the listener and every tunnel.
 */
export function startConnectRelay(
  authority: string,
  addresses: string[] | Promise<string[]>,
): ConnectRelay {
  const port = Number(authority.slice(authority.lastIndexOf(":") + 1));
  const listener = Deno.listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  // Read when a tunnel asks, perhaps never: a rejection is not unhandled meanwhile.
  if (addresses instanceof Promise) addresses.catch(() => {});
  // Disposing ends a tunnel still waiting for its addresses.
  const closed = Promise.withResolvers<never>();
  closed.promise.catch(() => {});
  const relay: ConnectRelay = {
    url: `http://127.0.0.1:${listener.addr.port}`,
    async [Symbol.asyncDispose]() {
      try {
        listener.close();
      } catch { /* closed */ }
      for (const conn of conns) closeQuietly(conn);
      closed.reject(new Error("relay closed"));
      await serving;
    },
  };
  const tunnel = async (client: Deno.TcpConn): Promise<void> => {
    const answer = (status: string) =>
      client.write(new TextEncoder().encode(`HTTP/1.1 ${status}\r\n\r\n`));
    const head = await readHead(client);
    const target = head && /^CONNECT (\S+) HTTP\/1\.[01]\r\n/i.exec(head.text)?.[1];
    if (target?.toLowerCase() !== authority.toLowerCase()) {
      await answer("403 Forbidden");
      return;
    }
    let targets: string[];
    try {
      targets = await Promise.race([addresses, closed.promise]);
    } catch (error) {
      relay.failure = error;
      await answer("502 Bad Gateway");
      return;
    }
    let server: Deno.TcpConn | undefined;
    let refused: Deno.errors.NotCapable | undefined;
    const errors: string[] = [];
    for (const address of targets) {
      try {
        server = await Deno.connect({ transport: "tcp", hostname: address, port });
        break;
      } catch (error) {
        // A permission Deno refused is the caller's to report; fetch sees the 502.
        if (error instanceof Deno.errors.NotCapable) refused = error;
        errors.push(`${address}: ${error instanceof Error ? error.message : error}`);
      }
    }
    if (server === undefined) {
      relay.failure = refused ?? new Error(
        errors.length === 0 ? "no address to connect to" : `cannot connect to ${errors.join("; ")}`,
      );
      await answer("502 Bad Gateway");
      return;
    }
    conns.add(server);
    // Without this, Nagle holds TLS's Finished-then-request pair for an ACK: a round trip.
    server.setNoDelay(true);
    client.setNoDelay(true);
    await answer("200 Connection established");
    if (head!.rest.length > 0) await server.write(head!.rest);
    // Each direction ends when its source does; the other side's close ends the other.
    await Promise.allSettled([
      client.readable.pipeTo(server.writable),
      server.readable.pipeTo(client.writable),
    ]);
  };
  const serving = (async () => {
    const tunnels: Promise<void>[] = [];
    for (let i = 0; i < MAX_TUNNELS; i++) {
      let client: Deno.TcpConn;
      try {
        client = await listener.accept();
      } catch {
        break; // closed by dispose
      }
      conns.add(client);
      tunnels.push(tunnel(client).catch(() => {}).finally(() => closeQuietly(client)));
    }
    await Promise.allSettled(tunnels);
  })();
  return relay;
}

/** The request head up to its blank line, and any bytes read after it. */
async function readHead(
  conn: Deno.TcpConn,
): Promise<{ text: string; rest: Uint8Array } | undefined> {
  const buffer = new Uint8Array(MAX_HEAD_BYTES);
  let length = 0;
  // Bounded: every read adds at least one byte until the buffer is full.
  while (length < buffer.length) {
    const n = await conn.read(buffer.subarray(length));
    if (n === null) return undefined;
    length += n;
    const end = headEnd(buffer.subarray(0, length));
    if (end >= 0) {
      // Only ASCII is compared; other bytes decode to U+FFFD and match nothing.
      const text = new TextDecoder().decode(buffer.subarray(0, end));
      return { text, rest: buffer.slice(end, length) };
    }
  }
  return undefined;
}

/** The index just past the first CRLF CRLF, or -1. */
function headEnd(bytes: Uint8Array): number {
  for (let i = 3; i < bytes.length; i++) {
    if (bytes[i - 3] === 13 && bytes[i - 2] === 10 && bytes[i - 1] === 13 && bytes[i] === 10) {
      return i + 1;
    }
  }
  return -1;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* closed */ }
}
