// lookupSts() and the real download (TLS on 127.0.0.1): the policy host is looked up through
// the lookup's resolver, its addresses may be asked for while a slow TXT query is out (D22),
// and nothing connects before the TXT id calls for a download.
import assert from "node:assert/strict";
import { DnsError } from "../../lib/errors.ts";
import type { Querier } from "../../lib/resolver/resolver.ts";
import { lookupSts } from "../../lib/sts/lookup.ts";
import { warmUpRequests } from "../../lib/sts/_policy_connection.ts";
import { StsStore } from "../../lib/sts/store.ts";
import { answer } from "../fakes/answer.ts";
import { testCerts } from "./_tls.ts";

const POLICY = "version: STSv1\nmode: enforce\nmx: mx.sts.test\nmax_age: 86400\n";

/** A TLS server on 127.0.0.1 serving POLICY, counting connections, stopped by disposal. */
async function policyServer() {
  const certs = await testCerts();
  let connections = 0;
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: certs.cert,
    key: certs.key,
    onListen() {},
  }, () => {
    connections++;
    return new Response(POLICY, { headers: { "content-type": "text/plain" } });
  });
  return {
    port: server.addr.port,
    ca: certs.ca,
    get connections() {
      return connections;
    },
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/**
 * A resolver whose TXT answer (`txt`, or NXDOMAIN) comes only when `release` is called; the
 * policy host is at 127.0.0.1. `asked` lists the questions in the order they came.
 */
function slowTxtResolver(txt: string | undefined) {
  const asked: string[] = [];
  const gate = Promise.withResolvers<void>();
  const resolver: Querier = {
    async query(name, type) {
      asked.push(`${name} ${type}`);
      if (type === "TXT") {
        await gate.promise;
        if (txt === undefined) throw new DnsError("NXDOMAIN", `No such domain "${name}"`);
        const data = { type: "TXT" as const, strings: [new TextEncoder().encode(txt)] };
        return answer(name, type, [{ name, type, class: "IN", ttl: 300, data }]);
      }
      if (type !== "A") throw new DnsError("NODATA", `No ${type} record for "${name}"`);
      const data = { type: "A" as const, address: "127.0.0.1" };
      return answer(name, type, [{ name, type, class: "IN", ttl: 300, data }]);
    },
  };
  return { resolver, asked, release: () => gate.resolve() };
}

/** Waits until `check` holds, at most 2 s (polled every 5 ms). */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
}

Deno.test("lookupSts() asks for the policy host's addresses while a slow TXT query is out, then downloads", async () => {
  await using server = await policyServer();
  const dns = slowTxtResolver("v=STSv1; id=early1");
  const warmUps = warmUpRequests();
  const pending = lookupSts("sts.test", {
    resolver: dns.resolver,
    caCerts: [server.ca],
    fetchPort: server.port,
  });
  await until(() => dns.asked.length === 3);
  // The address queries went out before the TXT answer, and nothing connected meanwhile; the
  // TLS set-up starts once the TXT query has been out 15 ms (D41).
  assert.deepEqual(dns.asked, [
    "_mta-sts.sts.test TXT",
    "mta-sts.sts.test A",
    "mta-sts.sts.test AAAA",
  ]);
  assert.equal(server.connections, 0);
  await until(() => warmUpRequests() > warmUps);
  assert.equal(warmUpRequests(), warmUps + 1);
  dns.release();
  const sts = await pending;
  assert.equal(sts.source, "fetch");
  assert.equal(sts.policy?.text, POLICY);
  assert.equal(server.connections, 1);
  // The early answers served the download: no second lookup of the host.
  assert.equal(dns.asked.length, 3);
});

Deno.test("lookupSts() connects nowhere when a slow TXT query finds no policy", async () => {
  await using server = await policyServer();
  const dns = slowTxtResolver(undefined);
  const pending = lookupSts("sts.test", {
    resolver: dns.resolver,
    caCerts: [server.ca],
    fetchPort: server.port,
  });
  await until(() => dns.asked.length === 3);
  dns.release();
  const sts = await pending;
  assert.equal(sts.policy, undefined);
  assert.deepEqual(sts.txt, { kind: "none" });
  assert.equal(server.connections, 0);
});

Deno.test("lookupSts() with prefetch off asks for the host only once the TXT id calls for it", async () => {
  await using server = await policyServer();
  const dns = slowTxtResolver("v=STSv1; id=late1");
  const pending = lookupSts("sts.test", {
    resolver: dns.resolver,
    caCerts: [server.ca],
    fetchPort: server.port,
    prefetch: false,
  });
  // Long past the 3 ms after which a prefetch would have asked.
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(dns.asked, ["_mta-sts.sts.test TXT"]);
  dns.release();
  const sts = await pending;
  assert.equal(sts.source, "fetch");
  assert.deepEqual(dns.asked.slice(1).sort(), ["mta-sts.sts.test A", "mta-sts.sts.test AAAA"]);
});

Deno.test("lookupSts() starts no TLS set-up for a fast TXT answer without a policy, nor for a cached policy", async () => {
  const warmUps = warmUpRequests();
  const fast: Querier = {
    query(name) {
      return Promise.reject(new DnsError("NXDOMAIN", `No such domain "${name}"`));
    },
  };
  const none = await lookupSts("sts.test", { resolver: fast });
  assert.deepEqual(none.txt, { kind: "none" });
  assert.equal(warmUpRequests(), warmUps);

  const dir = await Deno.makeTempDir({ prefix: "lookup_download_" });
  try {
    const store = new StsStore(dir);
    await store.write("sts.test", "cached1", POLICY);
    // Past half its max_age, so that the TXT record is asked (docs/courier.md); a slow answer
    // with the cached id: the policy is used as it is.
    const old = Date.now() / 1000 - 50_000;
    await Deno.utime(`${dir}/sts.test`, old, old);
    const dns = slowTxtResolver("v=STSv1; id=cached1");
    const pending = lookupSts("sts.test", { resolver: dns.resolver, store });
    await new Promise((r) => setTimeout(r, 20));
    dns.release();
    const cached = await pending;
    assert.equal(cached.source, "cache");
    assert.deepEqual(dns.asked, ["_mta-sts.sts.test TXT"]);
    assert.equal(warmUpRequests(), warmUps);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
