// Folder-private: the connection of a policy download (RFC 8461 §3.3). `mta-sts.<domain>` is
// looked up through the run's own resolver (D1), its addresses are tried in order over TCP,
// and TLS is started with the name (SNI, certificate verified for it). No system resolver is
// asked: Deno.connect is given addresses only, so glibc's getaddrinfo never runs.
import { DnsError, rethrowPermissionRefusal } from "../errors.ts";
import type { TcpConnection } from "../host.ts";
import type { Querier } from "../resolver/resolver.ts";
import { osErrorText } from "../errors.ts";

/** Addresses of the policy host tried, at most, one after another. */
export const MAX_ADDRESSES_TRIED = 8;

/** Why no connection was made; `fetch.ts` turns it into an `StsError`. */
export class ConnectionFailure extends Error {
  /** `TLS` for a failed handshake, else the network (name lookup, connection). */
  readonly kind: "TLS" | "NETWORK";

  constructor(kind: "TLS" | "NETWORK", message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "ConnectionFailure";
    this.kind = kind;
  }
}

/**
 * The addresses of `host` from the run's own resolver (D1): A and AAAA asked together, IPv4
 * listed first.
 *
 * @throws {DnsError} When neither family has one: the more telling of the two failures.
 */
export async function policyHostAddresses(
  host: string,
  resolver: Querier,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  const answers = await Promise.allSettled(
    ["A", "AAAA"].map((type) => resolver.query(host, type, { signal })),
  );
  signal?.throwIfAborted();
  const addresses: string[] = [];
  let failure: DnsError | undefined;
  for (const answer of answers) {
    if (answer.status === "rejected") {
      if (!(answer.reason instanceof DnsError)) throw answer.reason;
      // NODATA for one family is normal; the other reason says more.
      if (failure === undefined || failure.kind === "NODATA") failure = answer.reason;
      continue;
    }
    for (const record of answer.value.records) {
      if (record.data.type === "A" || record.data.type === "AAAA") {
        addresses.push(record.data.address);
      }
    }
  }
  // A query that succeeds has records of its type, so without addresses both failed.
  if (addresses.length === 0) throw failure;
  return addresses;
}

let warming: Promise<unknown> | undefined;
let warmUps = 0;

/**
 * Starts Deno's one-time TLS set-up on one of its blocking threads (D41). The first use of the
 * crypto library (AWS-LC) seeds its random generator: ~30 ms of CPU, measured with Deno 2.9. A
 * TLS handshake or an HMAC key would do it on the main thread, holding up everything else; an
 * ECDSA key pair is generated on a blocking thread, and the seed it leaves serves every later
 * use. Costs ~0.3 ms on the main thread; later calls cost nothing.
 */
export function warmUpTls(): void {
  warmUps++;
  warming ??= crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"])
    .catch(() => {});
}

/** How often {@linkcode warmUpTls} was asked for (the tests' view of when it happens). */
export function warmUpRequests(): number {
  return warmUps;
}

/** `pending`, or the signal's reason when it aborts first; `onLate` gets a late value. */
function raced<T>(pending: Promise<T>, signal: AbortSignal, onLate: (value: T) => void) {
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      reject(signal.reason);
      pending.then(onLate, () => {});
    };
    signal.addEventListener("abort", onAbort, { once: true });
    pending.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* closed already */ }
}

/** Where and how to connect. */
export interface PolicyConnectionOptions {
  /** The run's resolver, asked for the host's addresses unless `addresses` are given. */
  resolver?: Querier;
  /** Addresses already asked for (lookupSts starts the query with the TXT query, D22). */
  addresses?: Promise<string[]>;
  /** PEM certificates trusted besides Deno's roots. */
  caCerts?: string[];
  /** The port, 443 but in tests. */
  port: number;
  /** Aborts: closes the connection, and every wait rejects with the reason. */
  signal: AbortSignal;
}

/**
 * A TLS connection to `host`, verified for that name, at the first of its addresses that
 * accepts a TCP connection. The signal closes it.
 *
 * @throws {ConnectionFailure} When no address accepts, the name has none, or the handshake
 *   fails (`TLS`).
 * @throws The signal's reason once it aborts; Deno's permission refusal as it is.
 */
export async function connectPolicyHost(
  host: string,
  options: PolicyConnectionOptions,
): Promise<TcpConnection> {
  const { signal, port } = options;
  if (options.addresses === undefined && options.resolver === undefined) {
    throw new TypeError("fetchPolicy() needs a resolver to find the policy host");
  }
  // A handshake follows: its set-up runs while the addresses and the TCP connection come.
  warmUpTls();
  const pending = options.addresses ?? policyHostAddresses(host, options.resolver!, signal);
  let addresses: string[];
  try {
    addresses = await pending;
  } catch (error) {
    signal.throwIfAborted();
    if (!(error instanceof DnsError)) throw error;
    throw new ConnectionFailure("NETWORK", error.message, error);
  }
  let tcp: Deno.TcpConn | undefined;
  const errors: string[] = [];
  for (const address of addresses.slice(0, MAX_ADDRESSES_TRIED)) {
    try {
      const connecting = Deno.connect({ transport: "tcp", hostname: address, port });
      tcp = await raced(connecting, signal, closeQuietly);
      break;
    } catch (error) {
      rethrowPermissionRefusal(error);
      signal.throwIfAborted();
      errors.push(`${address} port ${port}: ${osErrorText(error)}`);
    }
  }
  if (tcp === undefined) {
    throw new ConnectionFailure("NETWORK", `cannot connect to ${errors.join("; ")}`);
  }
  // Without this, Nagle holds TLS's Finished-then-request pair for an ACK: a round trip.
  tcp.setNoDelay(true);
  const tls = await Deno.startTls(tcp, {
    hostname: host,
    ...(options.caCerts ? { caCerts: options.caCerts } : {}),
  });
  const close = () => closeQuietly(tls);
  signal.addEventListener("abort", close, { once: true });
  try {
    await raced(tls.handshake(), signal, () => {});
  } catch (error) {
    signal.removeEventListener("abort", close);
    close();
    rethrowPermissionRefusal(error);
    signal.throwIfAborted();
    const message = error instanceof Error ? error.message : String(error);
    throw new ConnectionFailure("TLS", `TLS with ${tcpPeer(tcp)}: ${message}`, error);
  }
  return {
    async write(data) {
      let written = 0;
      // Bounded: every write sends at least one byte or throws.
      while (written < data.length) written += await tls.write(data.subarray(written));
    },
    read: (buffer) => tls.read(buffer),
    close: () => {
      signal.removeEventListener("abort", close);
      close();
    },
  };
}

function tcpPeer(tcp: Deno.TcpConn): string {
  const { hostname, port } = tcp.remoteAddr;
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}
