import assert from "node:assert/strict";
import {
  fetchPolicy,
  type FetchPolicyOptions,
  parseCourierdTrustCerts,
  policyUrl,
  readCaCerts,
} from "../../lib/sts/fetch.ts";
import { DnsError } from "../../lib/errors.ts";
import type { Querier } from "../../lib/resolver/resolver.ts";
import { MAX_POLICY_BYTES } from "../../lib/sts/policy.ts";
import { answer } from "../fakes/answer.ts";
import { localResolver, testCerts } from "./_tls.ts";

const POLICY = "version: STSv1\nmode: enforce\nmx: mx.a.test\nmax_age: 86400\n";

interface Served {
  port: number;
  /** Paths requested, in order. */
  requests: string[];
}

/** Runs `body` against an HTTPS server on 127.0.0.1 answering with `handler`, then stops it. */
async function withServer(
  handler: (request: Request) => Response | Promise<Response>,
  body: (served: Served) => Promise<void>,
  tls: "good" | "other-name" | "rogue" = "good",
): Promise<void> {
  const certs = await testCerts();
  const [cert, key] = tls === "good"
    ? [certs.cert, certs.key]
    : tls === "other-name"
    ? [certs.otherNameCert, certs.otherNameKey]
    : [certs.rogueCert, certs.rogueKey];
  const requests: string[] = [];
  const server = Deno.serve(
    {
      hostname: "127.0.0.1",
      port: 0,
      cert,
      key,
      onListen() {},
      onError: () => new Response(null, { status: 500 }),
    },
    (request) => {
      requests.push(new URL(request.url).pathname);
      return handler(request);
    },
  );
  try {
    await body({ port: server.addr.port, requests });
  } finally {
    await server.shutdown();
  }
}

/** Options that reach `served` through a resolver putting every policy host at 127.0.0.1. */
async function options(
  served: Served,
  extra: FetchPolicyOptions = {},
): Promise<FetchPolicyOptions> {
  return {
    resolver: localResolver(),
    port: served.port,
    caCerts: [(await testCerts()).ca],
    timeout: 5000,
    ...extra,
  };
}

const plain = (body: BodyInit, init: ResponseInit = {}) =>
  new Response(body, { headers: { "content-type": "text/plain" }, ...init });

Deno.test("policyUrl() uses the A-label, lower-case name without trailing dot", () => {
  assert.equal(
    policyUrl("Bücher.Example."),
    "https://mta-sts.xn--bcher-kva.example/.well-known/mta-sts.txt",
  );
  assert.throws(() => policyUrl("a/b"), { kind: "INVALID_NAME" });
});

Deno.test("fetchPolicy() returns a 200 text/plain body from the well-known path", async () => {
  await withServer(
    () => plain(POLICY, { headers: { "content-type": "text/plain; charset=utf-8" } }),
    async (served) => {
      const got = await fetchPolicy("a.test", await options(served));
      assert.equal(got.text, POLICY);
      assert.equal(got.url, "https://mta-sts.a.test/.well-known/mta-sts.txt");
      assert.equal(got.contentType, "text/plain; charset=utf-8");
      assert.deepEqual(served.requests, ["/.well-known/mta-sts.txt"]);
    },
  );
});

Deno.test("fetchPolicy() keeps CRLF and a body of exactly 64 KiB", async () => {
  const body = "version: STSv1\r\n".padEnd(MAX_POLICY_BYTES, "x");
  await withServer(() => plain(body), async (served) => {
    assert.equal((await fetchPolicy("a.test", await options(served))).text, body);
  });
});

Deno.test("fetchPolicy() does not follow a 301 redirect", async () => {
  await withServer(
    () =>
      new Response(null, { status: 301, headers: { location: "https://elsewhere.test/p.txt" } }),
    async (served) => {
      await assert.rejects(fetchPolicy("a.example", await options(served)), {
        kind: "REDIRECT",
        message: 'Cannot fetch policy for "a.example": status 301 ' +
          '(redirect to "https://elsewhere.test/p.txt" not followed, RFC 8461 §3.3)',
      });
      assert.equal(served.requests.length, 1);
    },
  );
});

Deno.test("fetchPolicy() rejects status 404 and 500", async () => {
  for (const status of [404, 500]) {
    await withServer(() => plain("no", { status }), async (served) => {
      await assert.rejects(fetchPolicy("a.test", await options(served)), {
        kind: "HTTP_STATUS",
        message: `Cannot fetch policy for "a.test": status ${status}`,
      });
    });
  }
});

Deno.test("fetchPolicy() rejects text/html and a missing Content-Type", async () => {
  await withServer(
    () => new Response(POLICY, { headers: { "content-type": "text/html" } }),
    async (served) => {
      await assert.rejects(fetchPolicy("a.test", await options(served)), {
        kind: "CONTENT_TYPE",
        message: 'Cannot fetch policy for "a.test": Content-Type "text/html", expected text/plain',
      });
    },
  );
  await withServer(() => new Response(new TextEncoder().encode(POLICY)), async (served) => {
    await assert.rejects(fetchPolicy("a.test", await options(served)), { kind: "CONTENT_TYPE" });
  });
});

Deno.test("fetchPolicy() rejects a body over 64 KiB, announced or streamed", async () => {
  const big = "x".repeat(MAX_POLICY_BYTES + 1);
  await withServer(() => plain(big), async (served) => {
    await assert.rejects(fetchPolicy("a.test", await options(served)), { kind: "TOO_LARGE" });
  });
  const streamed = () =>
    plain(
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 5; i++) controller.enqueue(new Uint8Array(16384).fill(0x78));
          controller.close();
        },
      }),
    );
  await withServer(streamed, async (served) => {
    await assert.rejects(fetchPolicy("a.test", await options(served)), {
      kind: "TOO_LARGE",
      message:
        `Cannot fetch policy for "a.test": the body is over the limit of ${MAX_POLICY_BYTES} bytes`,
    });
  });
});

Deno.test("fetchPolicy() gives up on a slow body after the total timeout", async () => {
  let stall: ReadableStreamDefaultController<Uint8Array> | undefined;
  const slow = () =>
    plain(
      new ReadableStream<Uint8Array>({
        start(controller) {
          stall = controller;
          controller.enqueue(new TextEncoder().encode("version: STSv1\n"));
        },
      }),
    );
  await withServer(slow, async (served) => {
    const started = Date.now();
    try {
      await assert.rejects(fetchPolicy("a.test", await options(served, { timeout: 300 })), {
        kind: "TIMEOUT",
        message: 'Cannot fetch policy for "a.test": no complete answer within 300 ms',
      });
      assert.ok(Date.now() - started < 3000);
    } finally {
      try {
        stall?.close();
      } catch {
        // Already cancelled by the aborted connection.
      }
    }
  });
});

Deno.test("fetchPolicy() rejects a certificate from an untrusted CA", async () => {
  await withServer(() => plain(POLICY), async (served) => {
    const error = await fetchPolicy("a.test", await options(served)).catch((e) => e);
    assert.equal(error.kind, "TLS");
    assert.match(error.message, /^Cannot fetch policy for "a\.test": .*certificate/i);
  }, "rogue");
});

Deno.test("fetchPolicy() rejects a certificate for another name", async () => {
  await withServer(() => plain(POLICY), async (served) => {
    await assert.rejects(fetchPolicy("a.test", await options(served)), { kind: "TLS" });
  }, "other-name");
});

Deno.test("fetchPolicy() uses the system roots without caCerts, which do not know the test CA", async () => {
  await withServer(() => plain(POLICY), async (served) => {
    const resolver = localResolver();
    await assert.rejects(fetchPolicy("a.test", { resolver, port: served.port, timeout: 5000 }), {
      kind: "TLS",
    });
  });
});

Deno.test("fetchPolicy() reports a refused connection as NETWORK, with the address", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  await assert.rejects(
    fetchPolicy("a.test", {
      resolver: localResolver(),
      caCerts: [(await testCerts()).ca],
      port,
      timeout: 5000,
    }),
    {
      kind: "NETWORK",
      message: `Cannot fetch policy for "a.test": cannot connect to 127.0.0.1 port ${port}: ` +
        "Connection refused",
    },
  );
});

Deno.test("fetchPolicy() asks the resolver given for A and AAAA, and nothing else", async () => {
  await withServer(() => plain(POLICY), async (served) => {
    const resolver = localResolver();
    await fetchPolicy("A.Test.", await options(served, { resolver }));
    assert.deepEqual(resolver.asked.sort(), ["mta-sts.a.test A", "mta-sts.a.test AAAA"]);
  });
});

Deno.test("fetchPolicy() tries the addresses in order until one accepts", async () => {
  // 127.0.0.9 is loopback too, but nothing listens there: refused at once.
  const twoAddresses: Querier = {
    query(name, type) {
      if (type !== "A") return Promise.reject(new DnsError("NODATA", "none"));
      const records = ["127.0.0.9", "127.0.0.1"].map((address) => ({
        name,
        type,
        class: "IN",
        ttl: 300,
        data: { type: "A" as const, address },
      }));
      return Promise.resolve(answer(name, type, records));
    },
  };
  await withServer(() => plain(POLICY), async (served) => {
    const got = await fetchPolicy("a.test", await options(served, { resolver: twoAddresses }));
    assert.equal(got.text, POLICY);
    assert.deepEqual(served.requests, ["/.well-known/mta-sts.txt"]);
  });
});

Deno.test("fetchPolicy() reports the resolver's failure as NETWORK and connects nowhere", async () => {
  const nxdomain: Querier = {
    query: (name, type) =>
      Promise.reject(new DnsError("NXDOMAIN", `No such domain "${name}"`, { name, type })),
  };
  await withServer(() => plain(POLICY), async (served) => {
    await assert.rejects(fetchPolicy("a.test", await options(served, { resolver: nxdomain })), {
      kind: "NETWORK",
      message: 'Cannot fetch policy for "a.test": No such domain "mta-sts.a.test"',
    });
    assert.deepEqual(served.requests, []);
  });
});

Deno.test("fetchPolicy() rejects caCerts that are not PEM certificates at once, as TypeError", async () => {
  const resolver = localResolver();
  for (const caCerts of [["not a certificate"], [""], ["-----BEGIN CERTIFICATE-----\n"]]) {
    await assert.rejects(fetchPolicy("a.test", { resolver, caCerts }), TypeError);
  }
  await assert.rejects(fetchPolicy("a.test", {}), TypeError);
  assert.deepEqual(resolver.asked, []);
});

Deno.test("fetchPolicy() stops when the caller's signal aborts, with its reason", async () => {
  const { promise: response, resolve } = Promise.withResolvers<Response>();
  await withServer(() => response, async (served) => {
    const controller = new AbortController();
    const pending = fetchPolicy("a.test", await options(served, { signal: controller.signal }));
    const reason = new Error("stop now");
    setTimeout(() => controller.abort(reason), 50);
    try {
      await assert.rejects(pending, (error) => error === reason);
    } finally {
      resolve(plain(POLICY));
    }
  });
  const aborted = AbortSignal.abort(new Error("already"));
  await assert.rejects(fetchPolicy("a.test", { resolver: localResolver(), signal: aborted }), {
    message: "already",
  });
});

Deno.test("fetchPolicy() rejects a body that is not UTF-8", async () => {
  await withServer(() => plain(new Uint8Array([0x76, 0xff, 0x0a])), async (served) => {
    await assert.rejects(fetchPolicy("a.test", await options(served)), { kind: "POLICY_INVALID" });
  });
});

Deno.test("parseCourierdTrustCerts() reads the last TLS_TRUSTCERTS assignment", () => {
  const cases: [string, string | undefined][] = [
    ["", undefined],
    ["# TLS_TRUSTCERTS=/x\n", undefined],
    ["TLS_TRUSTCERTS=/etc/ssl/certs\n", "/etc/ssl/certs"],
    ['TLS_TRUSTCERTS="/etc/ssl/certs/ca-certificates.crt"\n', "/etc/ssl/certs/ca-certificates.crt"],
    ["TLS_TRUSTCERTS='/a b'\r\n", "/a b"],
    ["TLS_TRUSTCERTS=/a\nTLS_TRUSTCERTS=/b # later wins\n", "/b"],
    ["TLS_TRUSTCERTS=\n", undefined],
    ["XTLS_TRUSTCERTS=/x\nTLS_TRUSTCERTSX=/y\n", undefined],
    // Found by the growth target of scripts/fuzz.ts: a long run of blanks took seconds.
    [`TLS_TRUSTCERTS=/x${" \t".repeat(50_000)}y\n`, `/x${" \t".repeat(50_000)}y`],
    [`TLS_TRUSTCERTS=/x${" \t".repeat(50_000)}# note\n`, "/x"],
    ["TLS_TRUSTCERTS=/x#y # z #\n", "/x#y"],
    // Lines end at LF; a CR goes with it only right before it.
    ["TLS_TRUSTCERTS=/a\r\nTLS_TRUSTCERTS=/b TLS_TRUSTCERTS=/c\r", "/a"],
    ["TLS_TRUSTCERTS=/a\r\nTLS_TRUSTCERTS=/b TLS_TRUSTCERTS=/c", "/b TLS_TRUSTCERTS=/c"],
    ["TLS_TRUSTCERTS=/a\r\n\r\nexport TLS_TRUSTCERTS=/b\r\n\rTLS_TRUSTCERTS=/c\n", "/b"],
    ["a\nTLS_TRUSTCERTS=/a\r\r\n", undefined],
    ["TLS_TRUSTCERTS=/a\n\n\tTLS_TRUSTCERTS=/b", "/b"],
  ];
  for (const [text, expected] of cases) assert.equal(parseCourierdTrustCerts(text), expected, text);
});

Deno.test("readCaCerts() reads a bundle file or the certificates in a directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sts-ca-" });
  try {
    const { ca } = await testCerts();
    await Deno.writeTextFile(`${dir}/bundle.pem`, ca);
    assert.deepEqual(await readCaCerts(`${dir}/bundle.pem`), [ca]);
    await Deno.writeTextFile(`${dir}/README`, "not a certificate");
    await Deno.mkdir(`${dir}/sub`);
    assert.deepEqual(await readCaCerts(dir), [ca]);
    // OpenSSL's hashed names are links to the same file: read once.
    await Deno.symlink("bundle.pem", `${dir}/0a1b2c3d.0`);
    await Deno.link(`${dir}/bundle.pem`, `${dir}/same.pem`);
    assert.deepEqual(await readCaCerts(dir), [ca]);
    await Deno.writeTextFile(`${dir}/other.pem`, ca);
    assert.deepEqual(await readCaCerts(dir), [ca, ca]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readCaCerts() refuses a FIFO or a device instead of blocking on it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const mkfifo = await new Deno.Command("mkfifo", { args: [`${dir}/ca.pem`] }).output();
    assert.equal(mkfifo.code, 0);
    await assert.rejects(readCaCerts(`${dir}/ca.pem`), /Not a regular file/);
    await Deno.symlink("/dev/zero", `${dir}/zero.pem`);
    await assert.rejects(readCaCerts(`${dir}/zero.pem`), /Not a regular file/);
    // In a directory they are skipped like any file without a certificate.
    assert.deepEqual(await readCaCerts(dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
