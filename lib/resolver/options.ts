// The options of a Resolver, checked once at construction: servers as socket addresses,
// glibc's timeout and attempts, EDNS0 (with DO, as Courier's `--dnssec` and `--udpsize`).
import { addressToHost, parseAddress } from "../address.ts";
import type { Host, SocketAddress } from "../host.ts";
import { serverLabel } from "./exchange.ts";
import type { ExchangeTrace } from "./querier.ts";
import { DEFAULT_NAMESERVERS } from "./resolv_conf.ts";

/** A server to ask. */
export interface NameServer {
  /** IPv4 or IPv6 address text (Courier's grammar: `127.1` and `0177.0.0.1` work too). */
  address: string;
  /** The port. @default {53} */
  port?: number;
}

/** Options of `Resolver`. */
export interface ResolverOptions {
  /** Servers, tried in order. @default {[{ address: "127.0.0.1" }, { address: "::1" }]} */
  servers?: NameServer[];
  /** Milliseconds to wait for each reply (resolv.conf `timeout`). @default {5000} */
  timeoutMs?: number;
  /** Rounds over the server list (resolv.conf `attempts`). @default {2} */
  attempts?: number;
  /** Start each query at the next server in turn (resolv.conf `rotate`). @default {false} */
  rotate?: boolean;
  /**
   * EDNS0 UDP payload size; 0 sends no OPT record. Above 0 the OPT record also sets DO, as
   * Courier's `--dnssec` and `--udpsize` do. @default {1280 with `dnssec`, else 0}
   */
  udpSize?: number;
  /**
   * Ask with EDNS0 and the DO bit, as `testmxlookup --dnssec`: a validating resolver's AD bit
   * then says which answers it validated (`QueryResult.ad`). @default {false}
   */
  dnssec?: boolean;
  /**
   * resolv.conf's default domain, kept for the caller: pass it as `defaultDomain` to
   * `lookupMx` to complete dotless names as `testmxlookup` does. The resolver itself never
   * completes a name.
   */
  defaultDomain?: string;
  /** CNAME records followed per query before failing. @default {10} */
  maxCnames?: number;
  /**
   * Queries sent from one UDP socket, one after another, before it is closed. 1 opens a
   * fresh socket, with a fresh random port, for every query (RFC 5452 §9.2); a batch of many
   * domains uses more, since opening sockets is then most of its CPU time (see
   * `UdpSocketPool` in udp_socket_pool.ts). Call `close()` when done to close the idle ones.
   * @default {1}
   */
  socketReuse?: number;
  /** Sockets, clock and IDs. @default {denoHost()} */
  host?: Host;
  /** Called after every round trip. */
  onExchange?: (trace: ExchangeTrace) => void;
}

/** Options of `Resolver.fromSystem`. */
export interface SystemResolverOptions extends ResolverOptions {
  /** The resolver configuration to read, through `host`. @default {"/etc/resolv.conf"} */
  resolvConf?: string;
}

/** A server to ask, as the resolver keeps it. */
export interface Server {
  address: SocketAddress;
  label: string;
}

/** The options, checked, defaults filled in. */
export interface Settings {
  /** The servers, in order. */
  servers: Server[];
  /** Milliseconds per reply. */
  timeoutMs: number;
  /** Rounds over the servers. */
  attempts: number;
  /** Whether queries start at the next server in turn. */
  rotate: boolean;
  /** EDNS0 payload, 0 for none. */
  udpSize: number;
  /** CNAMEs followed at most. */
  maxCnames: number;
  /** Queries per UDP socket. */
  socketReuse: number;
}

/**
 * Checks a resolver's options and fills in the defaults.
 *
 * @param options The options as given.
 * @returns The settings.
 * @throws {TypeError} When a server address is not an IP address, or when `host` is not
 *   given and `Deno.listenDatagram` is missing.
 * @throws {RangeError} When a number is out of range, `servers` is empty, or `dnssec` is set
 *   with `udpSize` 0.
 */
export function checkOptions(options: ResolverOptions): Settings {
  if (options.host === undefined) requireDatagrams();
  const servers = options.servers ?? DEFAULT_NAMESERVERS.map((address) => ({ address }));
  if (servers.length === 0) throw new RangeError("Resolver needs at least one server");
  if (options.dnssec && options.udpSize === 0) {
    throw new RangeError("dnssec needs EDNS0, which udpSize 0 turns off");
  }
  return {
    servers: servers.map(toServer),
    timeoutMs: checkRange("timeoutMs", options.timeoutMs ?? 5000, 1, 2 ** 31 - 1),
    attempts: checkRange("attempts", options.attempts ?? 2, 1, 100),
    rotate: options.rotate ?? false,
    udpSize: checkRange(
      "udpSize",
      options.udpSize ?? (options.dnssec ? DNSSEC_UDP_SIZE : 0),
      0,
      65535,
    ),
    maxCnames: checkRange("maxCnames", options.maxCnames ?? 10, 0, 100),
    socketReuse: checkRange("socketReuse", options.socketReuse ?? 1, 1, 65535),
  };
}

/** The EDNS0 payload of `dnssec: true` and of `--dnssec`, as Courier's. */
export const DNSSEC_UDP_SIZE = 1280;

/**
 * Throws when this Deno has no raw UDP sockets: `Deno.listenDatagram` is unstable API, and
 * without it every query would fail as a network error, every lookup as "soft" (D20).
 */
export function requireDatagrams(): void {
  if (typeof Deno.listenDatagram !== "function") {
    throw new TypeError("Deno.listenDatagram is not available: run with --unstable-net");
  }
}

function toServer(server: NameServer): Server {
  const bytes = parseAddress(server.address);
  if (bytes === undefined) throw new TypeError(`Not an IP address: "${server.address}"`);
  const port = checkRange("port", server.port ?? 53, 1, 65535);
  const address = { hostname: addressToHost(bytes), port };
  return { address, label: serverLabel(address) };
}

function checkRange(what: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${what} must be an integer from ${min} to ${max}, not ${value}`);
  }
  return value;
}
