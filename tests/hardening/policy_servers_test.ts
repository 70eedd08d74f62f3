// Abusive MTA-STS policy servers, hand-written HTTP over real TLS on 127.0.0.1: an endless
// body, a body that stops half-way, a slow body, a redirect to itself, a bad chunk size, an
// endless head, a close without a response, a huge announced body, a certificate for another
// name, an expired one, silence. Each must fail the download with its own kind, give
// lookupSts one line of reason for stderr, and leave the cache as it was: empty.
import assert from "node:assert/strict";
import { Resolver } from "../../lib/resolver/resolver.ts";
import type { StsErrorKind } from "../../lib/sts/errors.ts";
import { fetchPolicy } from "../../lib/sts/fetch.ts";
import { lookupSts } from "../../lib/sts/lookup.ts";
import { StsStore } from "../../lib/sts/store.ts";
import { FakeDnsServer, reply, rr } from "../fakes/dns_server.ts";
import { testCerts } from "../sts/_tls.ts";

const DOMAIN = "sts.test";
/** The download's total timeout. */
const TIMEOUT_MS = 1000;
const POLICY = "version: STSv1\nmode: enforce\nmx: mx.sts.test\nmax_age: 86400\n";

/** What the server does once it has read the request's head. */
type Script = (conn: Deno.Conn, sleep: (ms: number) => Promise<void>) => Promise<void>;

const text = (s: string) => new TextEncoder().encode(s);

/** An HTTPS server on 127.0.0.1 that follows `script` for every request, raw. */
class RawTlsServer implements AsyncDisposable {
  readonly port: number;
  /** Connections accepted. */
  connections = 0;
  readonly #listener: Deno.TlsListener;
  readonly #open = new Set<Deno.Conn>();
  readonly #stop = new AbortController();
  readonly #tasks = new Set<Promise<void>>();
  readonly #loop: Promise<void>;

  constructor(cert: string, key: string, script: Script) {
    this.#listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
    this.port = this.#listener.addr.port;
    this.#loop = this.#serve(script);
  }

  async #serve(script: Script): Promise<void> {
    // A handful of connections per test; the bound keeps a confused client from looping.
    for (let i = 0; i < 20; i++) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // closed
      }
      this.connections++;
      this.#open.add(conn);
      const task = this.#handle(conn, script).finally(() => this.#tasks.delete(task));
      this.#tasks.add(task);
    }
  }

  async #handle(conn: Deno.Conn, script: Script): Promise<void> {
    try {
      // The request's head: read until the blank line, at most 16 KiB.
      const buffer = new Uint8Array(16384);
      let filled = 0;
      for (let i = 0; i < 1000 && filled < buffer.length; i++) {
        const n = await conn.read(buffer.subarray(filled));
        if (n === null) return;
        filled += n;
        if (new TextDecoder().decode(buffer.subarray(0, filled)).includes("\r\n\r\n")) break;
      }
      await script(conn, (ms) => this.#sleep(ms));
    } catch {
      // The client gave up (reset, closed, failed handshake): that is the point of these tests.
    } finally {
      this.#open.delete(conn);
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    const signal = this.#stop.signal;
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", wake);
        resolve();
      }, ms);
      const wake = () => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      signal.addEventListener("abort", wake, { once: true });
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#stop.abort(new Error("server closed"));
    this.#listener.close();
    for (const conn of this.#open) {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
    await this.#loop;
    await Promise.all(this.#tasks);
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await conn.write(bytes.subarray(written));
  }
}

const HEAD = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n";

interface Case {
  name: string;
  /** Which certificate the server shows. */
  tls?: "good" | "other-name" | "expired";
  script: Script;
  kind: StsErrorKind;
  /** What the reason must say. */
  reason: RegExp;
}

const CASES: Case[] = [
  {
    name: "an endless body",
    script: async (conn) => {
      await writeAll(conn, text(`${HEAD}Transfer-Encoding: chunked\r\n\r\n`));
      const chunk = text(`4000\r\n${"x".repeat(0x4000)}\r\n`);
      // "Endless" up to 64 MiB, far past the 64 KiB the client may read.
      for (let i = 0; i < 4096; i++) await writeAll(conn, chunk);
    },
    kind: "TOO_LARGE",
    reason: /the body is over the limit of 65536 bytes$/,
  },
  {
    name: "a body that stops half-way",
    script: async (conn) => {
      await writeAll(conn, text(`${HEAD}Content-Length: ${POLICY.length}\r\n\r\n`));
      await writeAll(conn, text(POLICY.slice(0, POLICY.length >> 1)));
    },
    kind: "NETWORK",
    reason: /body/i,
  },
  {
    name: "a body of one byte a second",
    script: async (conn, sleep) => {
      await writeAll(conn, text(`${HEAD}Content-Length: ${POLICY.length}\r\n\r\n`));
      for (const byte of text(POLICY)) {
        await writeAll(conn, new Uint8Array([byte]));
        await sleep(1000);
      }
    },
    kind: "TIMEOUT",
    reason: new RegExp(`no complete answer within ${TIMEOUT_MS} ms$`),
  },
  {
    name: "headers that never come",
    script: (_conn, sleep) => sleep(60_000),
    kind: "TIMEOUT",
    reason: new RegExp(`no complete answer within ${TIMEOUT_MS} ms$`),
  },
  {
    name: "a redirect to itself",
    script: async (conn) => {
      const self = `https://mta-sts.${DOMAIN}/.well-known/mta-sts.txt`;
      await writeAll(
        conn,
        text(`HTTP/1.1 301 Moved\r\nLocation: ${self}\r\nContent-Length: 0\r\n\r\n`),
      );
    },
    kind: "REDIRECT",
    reason: /status 301 \(redirect to "https:\/\/mta-sts\.sts\.test\/.*" not followed/,
  },
  {
    name: "a bad chunk size",
    script: async (conn) => {
      await writeAll(conn, text(`${HEAD}Transfer-Encoding: chunked\r\n\r\n-5\r\n${POLICY}`));
    },
    kind: "NETWORK",
    reason: /malformed response: bad chunk size "-5"$/,
  },
  {
    name: "an endless head",
    script: async (conn) => {
      await writeAll(conn, text(HEAD));
      for (let i = 0; i < 4096; i++) {
        await writeAll(conn, text(`X-Filler-${i}: ${"y".repeat(1000)}\r\n`));
      }
    },
    kind: "NETWORK",
    reason: /response head over 16384 bytes$/,
  },
  {
    name: "a close without a response",
    script: async () => {},
    kind: "NETWORK",
    reason: /the connection closed without a response$/,
  },
  {
    name: "a body of 1 GiB announced",
    script: async (conn) => {
      await writeAll(conn, text(`${HEAD}Content-Length: 1073741824\r\n\r\n${POLICY}`));
    },
    kind: "TOO_LARGE",
    reason: /1073741824 bytes announced, over the limit of 65536$/,
  },
  {
    name: "a certificate for another name",
    tls: "other-name",
    script: async (conn) => await writeAll(conn, text(`${HEAD}\r\n${POLICY}`)),
    kind: "TLS",
    reason: /certificate/i,
  },
  {
    name: "an expired certificate",
    tls: "expired",
    script: async (conn) => await writeAll(conn, text(`${HEAD}\r\n${POLICY}`)),
    kind: "TLS",
    reason: /expired/i,
  },
];

for (const c of CASES) {
  Deno.test(`lookupSts() with ${c.name} fails as ${c.kind} in one line and caches nothing`, async () => {
    const certs = await testCerts();
    const [cert, key] = c.tls === "other-name"
      ? [certs.otherNameCert, certs.otherNameKey]
      : c.tls === "expired"
      ? [certs.expiredCert, certs.expiredKey]
      : [certs.cert, certs.key];
    await using policyServer = new RawTlsServer(cert, key, c.script);
    // The TXT id, and the policy host at 127.0.0.1 (no AAAA).
    await using dns = FakeDnsServer.start((q) => {
      const { name, type } = q.questions[0];
      if (type === "TXT") return reply(q, { answers: [rr.txt(name, "v=STSv1; id=abc123;")] });
      return reply(q, { answers: type === "A" ? [rr.a(name, "127.0.0.1")] : [] });
    });
    const dir = await Deno.makeTempDir({ prefix: "sts-abuse-" });
    try {
      const resolver = new Resolver({ servers: [dns.nameServer], timeoutMs: 1000, attempts: 1 });
      const options = {
        resolver,
        caCerts: [certs.ca],
        port: policyServer.port,
        timeout: TIMEOUT_MS,
      };
      // The download alone, for its kind.
      const error = await fetchPolicy(DOMAIN, options).then(() => undefined, (e) => e);
      assert.equal(error?.kind, c.kind, String(error));
      // The whole lookup, for what the user sees and what the cache keeps.
      const started = performance.now();
      const sts = await lookupSts(DOMAIN, {
        resolver,
        store: new StsStore(dir),
        caCerts: [certs.ca],
        fetchPort: policyServer.port,
        fetchTimeout: TIMEOUT_MS,
      });
      const ms = Math.round(performance.now() - started);
      const files = [...Deno.readDirSync(dir)].map((e) => e.name);
      console.log(
        `abusive policy server: ${c.name}: ${error.kind} in ${ms} ms ` +
          `(timeout ${TIMEOUT_MS} ms); stderr: ${sts.reason}; cache files: ${files.length}`,
      );
      assert.equal(sts.policy, undefined);
      assert.equal(sts.cache, "unchanged");
      assert.deepEqual(files, []);
      assert.ok(sts.reason !== undefined);
      assert.doesNotMatch(sts.reason, /[\r\n]/);
      assert.match(sts.reason, /^Cannot fetch policy for "sts\.test": /);
      assert.match(sts.reason, c.reason);
      assert.deepEqual(sts.warnings, []);
      // One connection each for fetchPolicy and lookupSts: no redirect followed, no retry.
      assert.equal(policyServer.connections, 2);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
