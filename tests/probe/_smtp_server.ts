// A scripted SMTP server on loopback for the probe's tests: what a real MTA won't do (silence,
// 454 to STARTTLS, endless greeting, garbage, 554) and STARTTLS with any certificate, through
// node:tls on the server side. It records the commands it received.
import type { Socket } from "node:net";

/** What the server does. */
export interface FakeSmtpScript {
  /** Sent on connect; null sends nothing (silence). @default {"220 fake ESMTP\r\n"} */
  greeting?: string | null;
  /** Instead of a greeting: called with the socket (endless greetings, garbage). */
  onConnect?: (socket: Socket) => void;
  /** Reply to EHLO. @default {"250-fake\r\n250-PIPELINING\r\n250 STARTTLS\r\n"} */
  ehlo?: string;
  /** Reply to STARTTLS; TLS follows only when it starts with 220. @default {"220 go\r\n"} */
  starttls?: string;
  /** Certificate chain (PEM) and key for TLS. */
  tls?: { cert: string; key: string };
  /** The address to listen on. @default {"127.0.0.1"} */
  hostname?: string;
  /** The port to listen on. @default {0 (any free port)} */
  port?: number;
}

/** A running fake server. */
export interface FakeSmtpServer extends AsyncDisposable {
  /** Its port. */
  port: number;
  /** Every command line received, in order (plain and TLS). */
  commands: string[];
  /** The SNI names TLS clients sent. */
  serverNames: string[];
}

/** Starts a fake server; dispose of it to stop it. */
export async function startFakeSmtp(script: FakeSmtpScript = {}): Promise<FakeSmtpServer> {
  const net = await import("node:net");
  const tls = await import("node:tls");
  const commands: string[] = [];
  const serverNames: string[] = [];
  const sockets = new Set<Socket>();
  const ehlo = script.ehlo ?? "250-fake\r\n250-PIPELINING\r\n250 STARTTLS\r\n";

  /** Answers command lines on `socket` (plain or TLS). */
  function serve(socket: Socket, secure: boolean): void {
    let buffer = "";
    const onData = (data: Uint8Array) => {
      buffer += new TextDecoder().decode(data);
      for (let at = buffer.indexOf("\r\n"); at !== -1; at = buffer.indexOf("\r\n")) {
        const line = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        commands.push(line);
        const verb = line.split(" ")[0].toUpperCase();
        if (verb === "EHLO") socket.write(secure ? "250-fake\r\n250 8BITMIME\r\n" : ehlo);
        else if (verb === "QUIT") socket.end("221 bye\r\n");
        else if (verb === "STARTTLS" && !secure) {
          const reply = script.starttls ?? "220 go\r\n";
          socket.write(reply);
          if (!reply.startsWith("220") || script.tls === undefined) continue;
          socket.off("data", onData);
          const upgraded = new tls.TLSSocket(socket, {
            isServer: true,
            secureContext: tls.createSecureContext(script.tls),
            SNICallback: (name, callback) => {
              serverNames.push(name);
              callback(null, tls.createSecureContext(script.tls));
            },
          });
          upgraded.on("error", () => socket.destroy());
          sockets.add(upgraded);
          serve(upgraded, true);
          return;
        } else socket.write("502 no\r\n");
      }
    };
    socket.on("data", onData);
  }

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    if (script.onConnect !== undefined) return script.onConnect(socket);
    const greeting = script.greeting === undefined ? "220 fake ESMTP\r\n" : script.greeting;
    if (greeting !== null) socket.write(greeting);
    serve(socket, false);
  });
  const hostname = script.hostname ?? "127.0.0.1";
  await new Promise<void>((resolve) => server.listen(script.port ?? 0, hostname, () => resolve()));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    commands,
    serverNames,
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
