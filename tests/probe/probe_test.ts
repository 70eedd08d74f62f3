import assert from "node:assert/strict";
import { probeAddress, probeHosts, type ProbeOptions } from "../../lib/probe/probe.ts";
import type { ProbeConnection } from "../../lib/probe/smtp.ts";
import { probeExitStatus } from "../../lib/probe/verdict.ts";
import { probeCerts } from "./_certs.ts";
import { startFakeSmtp } from "./_smtp_server.ts";

const HOST = "mx.probe.test";

async function options(port: number, extra: Partial<ProbeOptions> = {}): Promise<ProbeOptions> {
  const certs = await probeCerts();
  return { helo: "probe.test", port, caCerts: [certs.ca], stageTimeout: 2_000, ...extra };
}

async function probeWith(cert: string, extra: Partial<ProbeOptions> = {}) {
  const certs = await probeCerts();
  await using server = await startFakeSmtp({ tls: { cert, key: certs.key } });
  return await probeAddress(
    { host: HOST, address: "127.0.0.1" },
    await options(server.port, extra),
  );
}

/** SHA-256 of a PEM certificate's public key, as openssl computes it (posttls-finger's pkey). */
async function opensslSpkiSha256(pem: string): Promise<string> {
  const pub = new Deno.Command("openssl", {
    args: ["x509", "-pubkey", "-noout"],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const w = pub.stdin.getWriter();
  await w.write(new TextEncoder().encode(pem));
  await w.close();
  const key = (await pub.output()).stdout;
  const der = new Deno.Command("openssl", {
    args: ["pkey", "-pubin", "-outform", "der"],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const w2 = der.stdin.getWriter();
  await w2.write(key);
  await w2.close();
  const bytes = (await der.output()).stdout;
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("probeAddress() judges a trusted, matching, current certificate", async () => {
  const certs = await probeCerts();
  const result = await probeWith(certs.good);
  assert.equal(result.error, null);
  assert.equal(result.greeted, true);
  assert.equal(result.starttls, true);
  const cert = result.certificate!;
  assert.deepEqual(
    [cert.trusted, cert.nameMatches, cert.names, cert.expired, cert.notYetValid],
    [true, true, [HOST], false, false],
  );
  assert.equal(cert.spkiSha256, await opensslSpkiSha256(certs.good));
  assert.ok(cert.daysLeft >= 29 && cert.daysLeft <= 30, String(cert.daysLeft));
  assert.equal(result.fails, false);
});

Deno.test("probeAddress() counts days left with the clock it is given", async () => {
  const certs = await probeCerts();
  const now = Date.now() + 10 * 86_400_000;
  const result = await probeWith(certs.good, { now: () => now });
  assert.ok(result.certificate!.daysLeft >= 19 && result.certificate!.daysLeft <= 20);
});

Deno.test("probeAddress() keeps an expired certificate from a trusted CA trusted, and expired", async () => {
  const certs = await probeCerts();
  const cert = (await probeWith(certs.expired)).certificate!;
  assert.deepEqual(
    [cert.trusted, cert.nameMatches, cert.expired, cert.notAfter],
    [true, true, true, "2020-01-02T00:00:00.000Z"],
  );
  assert.ok(cert.daysLeft < -2000);
});

Deno.test("probeAddress() reports a certificate not yet valid", async () => {
  const certs = await probeCerts();
  const cert = (await probeWith(certs.future)).certificate!;
  assert.deepEqual([cert.trusted, cert.notYetValid, cert.expired], [true, true, false]);
});

Deno.test("probeAddress() lists the names of a certificate for another host", async () => {
  const certs = await probeCerts();
  const cert = (await probeWith(certs.wrongName)).certificate!;
  assert.deepEqual(
    [cert.trusted, cert.nameMatches, cert.names],
    [true, false, ["other.probe.test", "www.probe.test"]],
  );
});

Deno.test("probeAddress() accepts a wildcard for one leftmost label", async () => {
  const certs = await probeCerts();
  const cert = (await probeWith(certs.wildcard)).certificate!;
  assert.deepEqual([cert.nameMatches, cert.names], [true, ["*.probe.test"]]);
});

Deno.test("probeAddress() trusts a chain through the intermediate the server sends", async () => {
  const certs = await probeCerts();
  const cert = (await probeWith(certs.viaIntermediate)).certificate!;
  assert.deepEqual([cert.trusted, cert.trustError], [true, null]);
});

Deno.test("probeAddress() does not trust a chain whose intermediate is missing", async () => {
  const certs = await probeCerts();
  const cert = (await probeWith(certs.missingIntermediate)).certificate!;
  assert.deepEqual([cert.trusted, cert.nameMatches], [false, true]);
  assert.equal(cert.trustError, "no chain to a trusted certificate");
});

Deno.test("probeAddress() does not trust a certificate from an unknown CA", async () => {
  const certs = await probeCerts();
  const cert = (await probeWith(certs.rogue)).certificate!;
  assert.deepEqual([cert.trusted, cert.nameMatches], [false, true]);
});

Deno.test("probeAddress() does not trust a self-signed certificate, and says so", async () => {
  const certs = await probeCerts();
  const cert = (await probeWith(certs.selfSigned)).certificate!;
  assert.deepEqual([cert.trusted, cert.trustError], [false, "self-signed certificate"]);
});

Deno.test("probeAddress() MTA-STS: enforce passes a good MX and fails each certificate problem", async () => {
  const certs = await probeCerts();
  const policy = { mode: "enforce" as const, mx: ["*.probe.test"] };
  const cases: Array<[string, string | null]> = [
    [certs.good, null],
    [certs.expired, "certificate expired"],
    [certs.future, "certificate not yet valid"],
    [certs.wrongName, "certificate not valid for the MX host name"],
    [certs.rogue, "certificate not trusted"],
    [certs.selfSigned, "certificate not trusted"],
    [certs.missingIntermediate, "certificate not trusted"],
  ];
  for (const [cert, reason] of cases) {
    const result = await probeWith(cert, { policy });
    assert.deepEqual([result.sts, result.stsReason], [reason === null ? "pass" : "fail", reason]);
    assert.equal(result.fails, reason !== null);
  }
});

Deno.test("probeAddress() MTA-STS: an MX not in the policy fails, a missing STARTTLS fails", async () => {
  const certs = await probeCerts();
  const notListed = await probeWith(certs.good, {
    policy: { mode: "testing", mx: ["mail.other.test"] },
  });
  assert.deepEqual([notListed.sts, notListed.stsReason], [
    "fail",
    "MX host not in the policy's mx list",
  ]);
  assert.equal(notListed.fails, true);
  await using plain = await startFakeSmtp({ ehlo: "250 fake\r\n" });
  const noTls = await probeAddress(
    { host: HOST, address: "127.0.0.1" },
    await options(plain.port, { policy: { mode: "enforce", mx: [HOST] } }),
  );
  assert.deepEqual([noTls.starttls, noTls.sts, noTls.stsReason], [false, "fail", "no STARTTLS"]);
});

Deno.test("probeAddress() without a policy: certificate problems are warnings, not failures", async () => {
  const certs = await probeCerts();
  for (const cert of [certs.expired, certs.rogue, certs.wrongName]) {
    const result = await probeWith(cert);
    assert.deepEqual([result.sts, result.fails], [null, false]);
  }
  const none = await probeWith(certs.rogue, { policy: { mode: "none", mx: [] } });
  assert.deepEqual([none.sts, none.fails], [null, false]);
});

Deno.test("probeAddress() DANE-EE: TLSA 3 1 1 of the key matches, another key mismatches", async () => {
  const certs = await probeCerts();
  const hex = await opensslSpkiSha256(certs.good);
  const data = Uint8Array.from(hex.match(/../g)!, (b) => parseInt(b, 16));
  const tlsa =
    (records: Array<{ usage: number; selector: number; matchingType: number; data: Uint8Array }>) =>
    () => Promise.resolve({ tlsa: "secure" as const, records });
  const target = { host: HOST, address: "127.0.0.1", mxSecure: true, addressSecure: true };
  await using server = await startFakeSmtp({ tls: { cert: certs.expired, key: certs.key } });
  // The expired certificate has the same key: DANE-EE checks neither names nor dates.
  const matched = await probeAddress(
    target,
    await options(server.port, { tlsa: tlsa([{ usage: 3, selector: 1, matchingType: 1, data }]) }),
  );
  assert.deepEqual([matched.dane, matched.daneDetail, matched.fails], ["matched", "3 1 1", false]);
  const wrong = data.map((b, i) => i === 0 ? b ^ 1 : b);
  const mismatched = await probeAddress(
    target,
    await options(server.port, {
      tlsa: tlsa([{ usage: 3, selector: 1, matchingType: 1, data: wrong }]),
    }),
  );
  assert.deepEqual([mismatched.dane, mismatched.fails], ["mismatched", true]);
  const unvalidatedMx = await probeAddress(
    { ...target, mxSecure: false },
    await options(server.port, {
      tlsa: tlsa([{ usage: 3, selector: 1, matchingType: 1, data: wrong }]),
    }),
  );
  assert.deepEqual([unvalidatedMx.dane, unvalidatedMx.fails], ["none", false]);
  const failed = await probeAddress(
    target,
    await options(server.port, { tlsa: () => Promise.reject(new Error("SERVFAIL")) }),
  );
  assert.deepEqual([failed.dane, failed.fails], ["error", true]);
});

Deno.test("probeHosts() probes in parallel within its bound, results in input order", async () => {
  const certs = await probeCerts();
  await using good = await startFakeSmtp({ tls: { cert: certs.good, key: certs.key } });
  await using silent = await startFakeSmtp({ greeting: null });
  const refused = closedPort();
  // Each test address stands for a server on loopback.
  const ports: Record<string, number> = {
    "127.0.0.1": good.port,
    "127.0.0.2": silent.port,
    "127.0.0.3": refused,
  };
  const { connectNode } = await import("../../lib/probe/_node_socket.ts");
  let open = 0;
  let most = 0;
  const results = await probeHosts(
    [
      { host: HOST, address: "127.0.0.1" },
      { host: "silent.probe.test", address: "127.0.0.2" },
      { host: "refused.probe.test", address: "127.0.0.3" },
      { host: HOST, address: "127.0.0.1" },
    ],
    await options(25, {
      stageTimeout: 300,
      concurrency: 2,
      async connect(address, _port, signal) {
        open++;
        most = Math.max(most, open);
        try {
          const conn = await connectNode("127.0.0.1", ports[address], signal);
          return onClose(conn, () => open--);
        } catch (error) {
          open--;
          throw error;
        }
      },
    }),
  );
  assert.deepEqual(results.map((r) => [r.host, r.greeted, r.errorKind]), [
    [HOST, true, null],
    ["silent.probe.test", false, "TIMEOUT"],
    ["refused.probe.test", false, "REFUSED"],
    [HOST, true, null],
  ]);
  assert.equal(most, 2);
  assert.equal(probeExitStatus(results), 2);
});

/** `conn`, calling `closed` before it closes (to count the connections open). */
function onClose(conn: ProbeConnection, closed: () => void): ProbeConnection {
  return {
    read: (s) => conn.read(s),
    write: (t) => conn.write(t),
    startTls: (o, s) => conn.startTls(o, s),
    get queued() {
      return conn.queued;
    },
    close() {
      closed();
      conn.close();
    },
  };
}

function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

function pemDer(pem: string): Uint8Array<ArrayBuffer> {
  const body = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
}

Deno.test("probeAddress() DANE-TA: TLSA 2 0 1 of the intermediate the server sends matches", async () => {
  const certs = await probeCerts();
  const intermediate = certs.viaIntermediate.match(
    /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g,
  )![1];
  const data = new Uint8Array(await crypto.subtle.digest("SHA-256", pemDer(intermediate)));
  const target = { host: HOST, address: "127.0.0.1", mxSecure: true, addressSecure: true };
  const tlsa = () =>
    Promise.resolve({
      tlsa: "secure" as const,
      records: [{ usage: 2, selector: 0, matchingType: 1, data }],
    });
  await using server = await startFakeSmtp({
    tls: { cert: certs.viaIntermediate, key: certs.key },
  });
  const matched = await probeAddress(target, await options(server.port, { tlsa }));
  assert.deepEqual([matched.dane, matched.daneDetail], ["matched", "2 0 1"]);
  // The same anchor, but the MX host name is not the certificate's.
  const other = await probeAddress(
    { ...target, host: "mail.elsewhere.test" },
    await options(server.port, { tlsa }),
  );
  assert.equal(other.dane, "mismatched");
  assert.match(other.daneDetail ?? "", /not valid for the MX host name/);
});

Deno.test("probeHosts() calls sharing a ConnectionLimiter keep within its bound together", async () => {
  const { ConnectionLimiter } = await import("../../lib/probe/limit.ts");
  const { connectNode } = await import("../../lib/probe/_node_socket.ts");
  await using server = await startFakeSmtp({ ehlo: "250 fake\r\n" });
  const limiter = new ConnectionLimiter(2);
  let open = 0;
  let most = 0;
  const opts = await options(server.port, {
    limiter,
    concurrency: 4,
    async connect(address, port, signal) {
      const conn = await connectNode(address, port, signal);
      most = Math.max(most, ++open);
      return onClose(conn, () => open--);
    },
  });
  const targets = Array.from({ length: 4 }, () => ({ host: HOST, address: "127.0.0.1" }));
  const [a, b] = await Promise.all([probeHosts(targets, opts), probeHosts(targets, opts)]);
  assert.ok([...a, ...b].every((r) => r.greeted && r.error === null));
  assert.ok(most <= 2, `at most 2 open, saw ${most}`);
  assert.equal(limiter.open, 0);
});

Deno.test("probeHosts() reports a probe aborted while waiting for a slot", async () => {
  const { ConnectionLimiter } = await import("../../lib/probe/limit.ts");
  await using silent = await startFakeSmtp({ greeting: null });
  const limiter = new ConnectionLimiter(1);
  const controller = new AbortController();
  const pending = probeHosts(
    [{ host: HOST, address: "127.0.0.1" }, { host: HOST, address: "127.0.0.1" }],
    await options(silent.port, { limiter, signal: controller.signal }),
  );
  setTimeout(() => controller.abort(new Error("deadline")), 100);
  const results = await pending;
  assert.deepEqual(results.map((r) => [r.errorKind, r.errorStage, r.reached]), [
    ["ABORTED", "greeting", true],
    ["ABORTED", "connect", false],
  ]);
  assert.equal(results[1].error, "Aborted: deadline");
  assert.equal(limiter.open, 0);
});
