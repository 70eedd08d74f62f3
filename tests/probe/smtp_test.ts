import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { smtpDialogue, type SmtpDialogueOptions } from "../../lib/probe/smtp.ts";
import { probeCerts } from "./_certs.ts";
import { type FakeSmtpServer, startFakeSmtp } from "./_smtp_server.ts";

const base = (port: number): SmtpDialogueOptions => ({
  port,
  servername: "mx.probe.test",
  helo: "probe.test",
  stageTimeout: 2_000,
});

/**
 * A server that greets, answers EHLO with `ehlo` and hands STARTTLS to `starttls`; it answers
 * nothing else (not QUIT).
 */
function startScripted(
  ehlo: string,
  starttls: (socket: Socket) => void = () => {},
): Promise<FakeSmtpServer> {
  return startFakeSmtp({
    onConnect(socket) {
      socket.write("220 fake\r\n");
      socket.on("data", (data: Uint8Array) => {
        const line = new TextDecoder().decode(data);
        if (line.startsWith("EHLO")) socket.write(ehlo);
        else if (line.startsWith("STARTTLS")) starttls(socket);
      });
    },
  });
}

Deno.test("smtpDialogue() greets, EHLOs, upgrades with SNI, EHLOs again and QUITs, never MAIL", async () => {
  const certs = await probeCerts();
  await using server = await startFakeSmtp({ tls: { cert: certs.good, key: certs.key } });
  const result = await smtpDialogue("127.0.0.1", { ...base(server.port), caCerts: [certs.ca] });
  assert.equal(result.error, null);
  assert.equal(result.reached, true);
  assert.deepEqual(result.greeting, { code: 220, lines: ["fake ESMTP"] });
  assert.equal(result.starttls, true);
  assert.equal(result.tls?.authorized, true);
  assert.match(result.tls?.version ?? "", /^TLSv1\.[23]$/);
  assert.ok(result.tls!.chain.length >= 1);
  assert.deepEqual(result.ehloTls?.lines, ["fake", "8BITMIME"]);
  assert.deepEqual(server.commands, ["EHLO probe.test", "STARTTLS", "EHLO probe.test", "QUIT"]);
  assert.deepEqual(server.serverNames, ["mx.probe.test"]);
});

Deno.test("smtpDialogue() records an untrusted chain without refusing the handshake", async () => {
  const certs = await probeCerts();
  await using server = await startFakeSmtp({ tls: { cert: certs.rogue, key: certs.key } });
  const result = await smtpDialogue("127.0.0.1", { ...base(server.port), caCerts: [certs.ca] });
  assert.equal(result.error, null);
  assert.equal(result.tls?.authorized, false);
  assert.notEqual(result.tls?.authorizationError, null);
  assert.equal(server.commands.at(-1), "QUIT");
});

Deno.test("smtpDialogue() over IPv6", async () => {
  const certs = await probeCerts();
  await using server = await startFakeSmtp({
    hostname: "::1",
    tls: { cert: certs.good, key: certs.key },
  });
  const result = await smtpDialogue("::1", { ...base(server.port), caCerts: [certs.ca] });
  assert.equal(result.error, null);
  assert.equal(result.tls?.authorized, true);
});

Deno.test("smtpDialogue() without STARTTLS offered QUITs after EHLO", async () => {
  await using server = await startFakeSmtp({ ehlo: "250-fake\r\n250 8BITMIME\r\n" });
  const result = await smtpDialogue("127.0.0.1", base(server.port));
  assert.equal(result.error, null);
  assert.equal(result.starttls, false);
  assert.equal(result.tls, null);
  assert.deepEqual(server.commands, ["EHLO probe.test", "QUIT"]);
});

Deno.test("smtpDialogue() reports 454 to STARTTLS", async () => {
  await using server = await startFakeSmtp({ starttls: "454 4.7.0 TLS not available\r\n" });
  const result = await smtpDialogue("127.0.0.1", base(server.port));
  assert.equal(result.starttls, true);
  assert.equal(result.tls, null);
  assert.equal(result.error?.kind, "STARTTLS_REFUSED");
  assert.match(result.error!.message, /454/);
});

Deno.test("smtpDialogue() refuses plain text sent after the 220 to STARTTLS", async () => {
  await using server = await startFakeSmtp({ starttls: "220 go\r\n250 injected\r\n" });
  const result = await smtpDialogue("127.0.0.1", base(server.port));
  assert.equal(result.tls, null);
  assert.equal(result.error?.kind, "STARTTLS_INJECTION");
});

Deno.test("smtpDialogue() times out a silent server at the greeting", async () => {
  await using server = await startFakeSmtp({ greeting: null });
  const result = await smtpDialogue("127.0.0.1", { ...base(server.port), stageTimeout: 300 });
  assert.equal(result.reached, true);
  assert.equal(result.greeting, null);
  assert.deepEqual(
    [result.error?.kind, result.error?.stage, result.error?.message],
    ["TIMEOUT", "greeting", "No greeting within 0.3 s"],
  );
});

Deno.test("smtpDialogue() stops a greeting that never ends", async () => {
  let timer: ReturnType<typeof setInterval> | undefined;
  await using server = await startFakeSmtp({
    onConnect(socket) {
      let sent = 0;
      timer = setInterval(() => {
        if (sent++ < 2000 && !socket.destroyed) socket.write("220-still greeting\r\n".repeat(10));
        else clearInterval(timer);
      }, 1);
    },
  });
  try {
    const result = await smtpDialogue("127.0.0.1", base(server.port));
    assert.equal(result.greeting, null);
    assert.deepEqual([result.error?.kind, result.error?.stage], ["TOO_LONG", "greeting"]);
  } finally {
    clearInterval(timer);
  }
});

Deno.test("smtpDialogue() reports garbage instead of a greeting", async () => {
  await using server = await startFakeSmtp({ greeting: "SSH-2.0-OpenSSH_9.2\r\n" });
  const result = await smtpDialogue("127.0.0.1", base(server.port));
  assert.equal(result.error?.kind, "GARBAGE");
  assert.match(result.error!.message, /SSH-2\.0/);
});

Deno.test("smtpDialogue() reports a 554 greeting as a refusal and says QUIT", async () => {
  await using server = await startFakeSmtp({ greeting: "554 5.7.1 go away\r\n" });
  const result = await smtpDialogue("127.0.0.1", base(server.port));
  assert.deepEqual(result.greeting, { code: 554, lines: ["5.7.1 go away"] });
  assert.equal(result.ehlo, null);
  assert.equal(result.starttls, null);
  assert.equal(result.error?.kind, "REJECTED");
  assert.deepEqual(server.commands, ["QUIT"]);
});

Deno.test("smtpDialogue() reports a refused connection", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const result = await smtpDialogue("127.0.0.1", base(port));
  assert.equal(result.reached, false);
  assert.deepEqual([result.error?.kind, result.error?.stage], ["REFUSED", "connect"]);
});

Deno.test("smtpDialogue() reports a connection closed before the greeting", async () => {
  await using server = await startFakeSmtp({ onConnect: (socket) => socket.end() });
  const result = await smtpDialogue("127.0.0.1", base(server.port));
  assert.deepEqual([result.error?.kind, result.error?.stage], ["CLOSED", "greeting"]);
});

Deno.test("smtpDialogue() stops when the caller's signal aborts", async () => {
  await using server = await startFakeSmtp({ greeting: null });
  const controller = new AbortController();
  const pending = smtpDialogue("127.0.0.1", { ...base(server.port), signal: controller.signal });
  setTimeout(() => controller.abort(new Error("stop")), 50);
  const result = await pending;
  assert.deepEqual([result.error?.kind, result.error?.stage], ["ABORTED", "greeting"]);
});

Deno.test("smtpDialogue() refuses names where addresses belong, and EHLO text with line ends", async () => {
  const options = base(25);
  await assert.rejects(() => smtpDialogue("localhost", options), TypeError);
  await assert.rejects(() => smtpDialogue("mx.example.com", options), TypeError);
  await assert.rejects(
    () => smtpDialogue("127.0.0.1", { ...options, helo: "x\r\nMAIL FROM:<a@b>" }),
    TypeError,
  );
  await assert.rejects(() => smtpDialogue("127.0.0.1", { ...options, helo: "" }), TypeError);
  await assert.rejects(
    () => smtpDialogue("127.0.0.1", { ...options, servername: "mx example" }),
    TypeError,
  );
  await assert.rejects(() => smtpDialogue("127.0.0.1", { ...options, port: 0 }), RangeError);
});

Deno.test("smtpDialogue() probes an IPv4-mapped address over IPv4", async () => {
  await using server = await startFakeSmtp({ ehlo: "250 fake\r\n" });
  const result = await smtpDialogue("::ffff:127.0.0.1", base(server.port));
  assert.deepEqual([result.error, result.starttls], [null, false]);
});

Deno.test("smtpDialogue() waits for the reply to QUIT at most MAX_QUIT_WAIT", async () => {
  // A server that never answers QUIT: the dialogue still ends, with no error.
  await using server = await startScripted("250 fake\r\n");
  const result = await smtpDialogue("127.0.0.1", { ...base(server.port), stageTimeout: 60_000 });
  assert.deepEqual([result.error, result.starttls], [null, false]);
});

Deno.test("smtpDialogue() reports a handshake that fails", async () => {
  await using server = await startScripted("250-fake\r\n250 STARTTLS\r\n", (socket) => {
    socket.write("220 go\r\n");
    // Not a TLS record: the client's handshake must fail, not hang.
    setTimeout(() => socket.write("HTTP/1.1 400 Bad Request\r\n\r\n".repeat(4)), 20);
  });
  const result = await smtpDialogue("127.0.0.1", base(server.port));
  assert.equal(result.tls, null);
  assert.deepEqual([result.error?.kind, result.error?.stage], ["TLS_FAILED", "handshake"]);
});

Deno.test("smtpDialogue() times out a handshake the server never answers", async () => {
  await using server = await startScripted(
    "250-fake\r\n250 STARTTLS\r\n",
    (socket) => socket.write("220 go\r\n"),
  );
  const result = await smtpDialogue("127.0.0.1", { ...base(server.port), stageTimeout: 300 });
  assert.deepEqual(
    [result.error?.kind, result.error?.stage, result.error?.message],
    ["TIMEOUT", "handshake", "No TLS handshake within 0.3 s"],
  );
});
