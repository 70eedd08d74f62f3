// A policy server in memory for lookupSts and fetchPolicy tests that are not about the network:
// a `connect` option that reads the download's HTTP/1.1 request and answers with a `Response`
// serialised as HTTP/1.1 bytes (Content-Length framing), so the real parser and checks run.
import type { TcpConnection } from "../../lib/host.ts";
import type { PolicyConnect } from "../../lib/sts/fetch.ts";

/** A server in memory. */
export interface MemoryServer {
  /** For `FetchPolicyOptions.connect` and `LookupStsOptions.connect`. */
  connect: PolicyConnect;
  /** Every URL requested, `https://<Host><path>`. */
  urls: string[];
  /** Every request head as received. */
  requests: string[];
}

/** `response` as the bytes a server sends. */
export async function responseBytes(response: Response): Promise<Uint8Array> {
  const body = new Uint8Array(await response.arrayBuffer());
  let head = `HTTP/1.1 ${response.status} ${response.statusText || "X"}\r\n`;
  for (const [name, value] of response.headers) {
    if (name !== "content-length") head += `${name}: ${value}\r\n`;
  }
  head += `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  const head8 = new TextEncoder().encode(head);
  const bytes = new Uint8Array(head8.length + body.length);
  bytes.set(head8);
  bytes.set(body, head8.length);
  return bytes;
}

/**
 * A server answering each request with `respond(url)`; a promise that never settles holds the
 * response back until the connection is closed.
 */
export function memoryServer(
  respond: (url: string) => Response | Promise<Response>,
): MemoryServer {
  const urls: string[] = [];
  const requests: string[] = [];
  const connect: PolicyConnect = (_host, signal) => {
    signal.throwIfAborted();
    let received = "";
    let answer: Promise<Uint8Array> | undefined;
    let sent = 0;
    const closed = Promise.withResolvers<never>();
    closed.promise.catch(() => {});
    const conn: TcpConnection = {
      write(data) {
        received += new TextDecoder().decode(data);
        const end = received.indexOf("\r\n\r\n");
        if (end >= 0 && answer === undefined) {
          const head = received.slice(0, end);
          requests.push(head);
          const path = /^GET (\S+) HTTP\/1\.1\r\n/.exec(head)?.[1] ?? "?";
          const host = /\r\nHost: ([^\r]*)/i.exec(head)?.[1] ?? "?";
          const url = `https://${host}${path}`;
          urls.push(url);
          answer = Promise.resolve(respond(url)).then(responseBytes);
          answer.catch(() => {});
        }
        return Promise.resolve();
      },
      async read(buffer) {
        if (answer === undefined) throw new Error("read before the request");
        const bytes = await Promise.race([answer, closed.promise]);
        if (sent >= bytes.length) return null;
        const n = Math.min(buffer.length, bytes.length - sent);
        buffer.set(bytes.subarray(sent, sent + n));
        sent += n;
        return n;
      },
      close() {
        closed.reject(new Deno.errors.BadResource("closed"));
      },
    };
    return Promise.resolve(conn);
  };
  return { connect, urls, requests };
}
