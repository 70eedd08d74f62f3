// What a real MTA won't do, as servers inside the test world's namespace (World.spawn): one
// scripted fake (tests/probe/_smtp_server.ts) per address on port 25, for the probe and
// posttls-finger to meet. Stops by itself after --time-limit-s (the world's stop kills it too).
import { type FakeSmtpScript, startFakeSmtp } from "../probe/_smtp_server.ts";

/** The fakes by address. */
export const SMTP_FAKES: Record<string, { name: string; script: FakeSmtpScript }> = {
  "127.0.25.20": { name: "silent", script: { greeting: null } },
  "127.0.25.21": { name: "starttls-454", script: { starttls: "454 4.7.0 TLS not available\r\n" } },
  "127.0.25.22": {
    name: "endless-greeting",
    script: {
      onConnect(socket) {
        let sent = 0;
        const timer = setInterval(() => {
          if (sent++ < 1000 && !socket.destroyed) socket.write("220-still greeting\r\n".repeat(10));
          else clearInterval(timer);
        }, 2);
        socket.on("close", () => clearInterval(timer));
      },
    },
  },
  "127.0.25.23": { name: "garbage", script: { greeting: "SSH-2.0-OpenSSH_9.2\r\n" } },
  "127.0.25.24": { name: "greeting-554", script: { greeting: "554 5.7.1 No service here\r\n" } },
};

if (import.meta.main) {
  const limit = Number(Deno.args[Deno.args.indexOf("--time-limit-s") + 1] ?? "600");
  const servers = [];
  for (const [hostname, { script }] of Object.entries(SMTP_FAKES)) {
    servers.push(await startFakeSmtp({ ...script, hostname, port: 25 }));
  }
  console.log("ready");
  await new Promise((resolve) => setTimeout(resolve, limit * 1000));
  for (const server of servers) await server[Symbol.asyncDispose]();
}
