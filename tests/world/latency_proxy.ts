/**
 * A relay that adds a fixed delay each way, for the bench's latency-bound figures (the
 * kernel's netem qdisc is not available on the machines this runs on). Run it inside the
 * test world's namespace ({@linkcode World.spawn}); it refuses any address outside
 * 127.0.0.0/8 and ::1, relays UDP datagrams and TCP streams from each `--udp`/`--tcp`
 * listener to its upstream, and stops itself after `--time-limit-s`.
 *
 * ```sh
 * deno run --unstable-net --allow-net tests/world/latency_proxy.ts --delay-ms 25 \
 *   --udp 127.0.0.10:53=127.0.0.1:53 --tcp 127.0.0.10:53=127.0.0.1:53 \
 *   --tcp 127.0.0.11:443=127.0.0.4:443
 * ```
 *
 * What it models: every datagram and every TCP chunk arrives `delay` later, in order, in
 * both directions. What it cannot model from user space: the TCP handshake itself (the
 * kernel completes the client's `connect` at once), so a connection costs one round trip
 * less than on a real path, for every client alike.
 *
 * @module
 */

/** How long a relayed UDP query waits for its upstream reply. */
const UDP_REPLY_TIMEOUT_MS = 5_000;

/** Largest datagram relayed (EDNS0 payloads stay well below). */
const MAX_DATAGRAM = 65_535;

/** Options of {@linkcode startLatencyProxy}. */
export interface LatencyProxyOptions {
  /** Delay added in each direction, in milliseconds. */
  delayMs: number;
  /** UDP relays: listen address → upstream address (`host:port`, `[v6]:port`). */
  udp?: Array<[string, string]>;
  /** TCP relays: listen address → upstream address. */
  tcp?: Array<[string, string]>;
  /** Datagrams relayed (client to upstream) before the UDP relays stop. @default {200000} */
  maxDatagrams?: number;
  /** Connections accepted before the TCP relays stop accepting. @default {10000} */
  maxConnections?: number;
  /** Aborts every relay. */
  signal?: AbortSignal;
}

/** A running proxy: counters, and a promise that settles when every relay has stopped. */
export interface LatencyProxy {
  readonly counts: { datagrams: number; connections: number };
  readonly done: Promise<void>;
}

interface HostPort {
  hostname: string;
  port: number;
}

/**
 * Parses `127.0.0.1:53` or `[::1]:53`, loopback only.
 *
 * @param text The address.
 * @returns The host and port.
 * @throws {RangeError} When it is not a loopback address with a port.
 */
export function parseLoopback(text: string): HostPort {
  const match = /^(?:\[([0-9a-fA-F:]+)\]|(\d+\.\d+\.\d+\.\d+)):(\d{1,5})$/.exec(text);
  if (match === null) throw new RangeError(`Cannot use "${text}": not host:port`);
  const hostname = match[1] ?? match[2];
  const port = Number(match[3]);
  // Network safety: the proxy only ever talks to the world's own loopback servers.
  const loopback = match[1] !== undefined
    ? hostname === "::1"
    : hostname.split(".").map(Number).every((n) => n <= 255) && hostname.startsWith("127.");
  if (!loopback || port === 0 || port > 65_535) {
    throw new RangeError(`Cannot use "${text}": only loopback addresses with a port`);
  }
  return { hostname, port };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Starts the relays.
 *
 * @param options Delay, relays, bounds and signal.
 * @returns The running proxy.
 */
export function startLatencyProxy(options: LatencyProxyOptions): LatencyProxy {
  const counts = { datagrams: 0, connections: 0 };
  const maxDatagrams = options.maxDatagrams ?? 200_000;
  const maxConnections = options.maxConnections ?? 10_000;
  const relays: Promise<void>[] = [];
  for (const [listen, upstream] of options.udp ?? []) {
    relays.push(relayUdp(parseLoopback(listen), parseLoopback(upstream)));
  }
  for (const [listen, upstream] of options.tcp ?? []) {
    relays.push(relayTcp(parseLoopback(listen), parseLoopback(upstream)));
  }

  async function relayUdp(listen: HostPort, upstream: HostPort): Promise<void> {
    const socket = Deno.listenDatagram({ transport: "udp", ...listen });
    const close = () => socket.close();
    options.signal?.addEventListener("abort", close, { once: true });
    const pending = new Set<Promise<void>>();
    try {
      while (counts.datagrams < maxDatagrams && !options.signal?.aborted) {
        let received: [Uint8Array, Deno.Addr];
        try {
          received = await socket.receive();
        } catch {
          break; // closed
        }
        counts.datagrams++;
        const [query, from] = received;
        const exchange = forwardDatagram(socket, query, from as Deno.NetAddr, upstream)
          .catch(() => {/* a lost datagram is what UDP does */});
        pending.add(exchange);
        exchange.finally(() => pending.delete(exchange));
      }
      await Promise.all(pending);
    } finally {
      options.signal?.removeEventListener("abort", close);
      try {
        socket.close();
      } catch { /* closed */ }
    }
  }

  // One upstream socket per query: replies need no routing table, and the upstream sees
  // a fresh port each time, as it would from many clients.
  async function forwardDatagram(
    listener: Deno.DatagramConn,
    query: Uint8Array,
    client: Deno.NetAddr,
    upstream: HostPort,
  ): Promise<void> {
    await sleep(options.delayMs, options.signal);
    const family = upstream.hostname.includes(":") ? "::1" : "127.0.0.1";
    const socket = Deno.listenDatagram({ transport: "udp", hostname: family, port: 0 });
    const timer = setTimeout(() => socket.close(), UDP_REPLY_TIMEOUT_MS);
    try {
      await socket.send(query, { transport: "udp", ...upstream });
      const [reply] = await socket.receive(new Uint8Array(MAX_DATAGRAM));
      await sleep(options.delayMs, options.signal);
      await listener.send(reply, client);
    } finally {
      clearTimeout(timer);
      try {
        socket.close();
      } catch { /* closed by the timer */ }
    }
  }

  async function relayTcp(listen: HostPort, upstream: HostPort): Promise<void> {
    const listener = Deno.listen({ transport: "tcp", ...listen });
    const close = () => listener.close();
    options.signal?.addEventListener("abort", close, { once: true });
    const pending = new Set<Promise<void>>();
    try {
      while (counts.connections < maxConnections && !options.signal?.aborted) {
        let client: Deno.TcpConn;
        try {
          client = await listener.accept();
        } catch {
          break; // closed
        }
        counts.connections++;
        const relay = relayConnection(client, upstream).catch(() => {});
        pending.add(relay);
        relay.finally(() => pending.delete(relay));
      }
      await Promise.all(pending);
    } finally {
      options.signal?.removeEventListener("abort", close);
      try {
        listener.close();
      } catch { /* closed */ }
    }
  }

  async function relayConnection(client: Deno.TcpConn, upstream: HostPort): Promise<void> {
    let server: Deno.TcpConn | undefined;
    const closeBoth = () => {
      for (const conn of [client, server]) {
        try {
          conn?.close();
        } catch { /* closed */ }
      }
    };
    options.signal?.addEventListener("abort", closeBoth, { once: true });
    try {
      server = await Deno.connect({ transport: "tcp", ...upstream });
      client.setNoDelay(true);
      server.setNoDelay(true);
      await Promise.all([pipe(client, server), pipe(server, client)]);
    } finally {
      options.signal?.removeEventListener("abort", closeBoth);
      closeBoth();
    }
  }

  // Every chunk is written `delayMs` after it was read, in order: reading goes on while
  // earlier chunks wait, so the delay is added once per direction, not once per chunk.
  async function pipe(from: Deno.TcpConn, to: Deno.TcpConn): Promise<void> {
    let writes = Promise.resolve();
    let failed = false;
    // Bounded by the connection: each read either returns data or ends the loop.
    for (;;) {
      const buffer = new Uint8Array(16_384);
      let n: number | null;
      try {
        n = await from.read(buffer);
      } catch {
        n = null;
      }
      if (n === null || failed) break;
      const chunk = buffer.subarray(0, n);
      const due = performance.now() + options.delayMs;
      writes = writes.then(async () => {
        await sleep(due - performance.now(), options.signal);
        let rest = chunk;
        while (rest.length > 0) rest = rest.subarray(await to.write(rest));
      }).catch(() => {
        failed = true;
      });
    }
    const due = performance.now() + options.delayMs;
    await writes;
    await sleep(due - performance.now(), options.signal);
    try {
      await to.closeWrite();
    } catch { /* the other side is gone */ }
  }

  return { counts, done: Promise.all(relays).then(() => {}) };
}

/** The command line: see the module documentation. */
async function main(args: string[]): Promise<number> {
  let delayMs = 25;
  let timeLimitS = 600;
  let maxDatagrams: number | undefined;
  let maxConnections: number | undefined;
  const udp: Array<[string, string]> = [];
  const tcp: Array<[string, string]> = [];
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    if (value === undefined) throw new RangeError(`${flag} needs a value`);
    const pair = () => {
      const [from, to] = value.split("=");
      if (to === undefined) throw new RangeError(`${flag} needs listen=upstream`);
      return [from, to] as [string, string];
    };
    if (flag === "--delay-ms") delayMs = Number(value);
    else if (flag === "--time-limit-s") timeLimitS = Number(value);
    else if (flag === "--max-datagrams") maxDatagrams = Number(value);
    else if (flag === "--max-connections") maxConnections = Number(value);
    else if (flag === "--udp") udp.push(pair());
    else if (flag === "--tcp") tcp.push(pair());
    else throw new RangeError(`Unknown option "${flag}"`);
  }
  if (!(delayMs >= 0 && delayMs <= 10_000) || !(timeLimitS > 0 && timeLimitS <= 3_600)) {
    throw new RangeError("--delay-ms must be 0…10000 and --time-limit-s 1…3600");
  }
  const signal = AbortSignal.timeout(timeLimitS * 1000);
  const proxy = startLatencyProxy({ delayMs, udp, tcp, maxDatagrams, maxConnections, signal });
  console.log(`latency proxy: ${delayMs} ms each way, ready`);
  await proxy.done;
  console.log(
    `latency proxy: stopped after ${proxy.counts.datagrams} datagrams, ` +
      `${proxy.counts.connections} connections`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
