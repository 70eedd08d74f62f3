import assert from "node:assert/strict";
import { answer } from "../fakes/answer.ts";
import { DnsError, type DnsErrorKind } from "../../lib/errors.ts";
import type { Querier, QueryResult } from "../../lib/resolver/resolver.ts";
import { COURIER_STUB_POLICY, encodeEntry } from "../../lib/sts/cache_file.ts";
import type { PolicyConnect } from "../../lib/sts/fetch.ts";
import { lookupSts, type LookupStsOptions, type StsStep } from "../../lib/sts/lookup.ts";
import { StsStore } from "../../lib/sts/store.ts";
import { type LibUrl, runAsNobody } from "./_as_nobody.ts";
import { memoryServer } from "./_memory_http.ts";

// The injected clock; file ages are set relative to it with Deno.utime.
const NOW_SEC = 1_700_000_000;
const MAX_AGE = 86400;
const FRESH = NOW_SEC - 1000;
const HALF_WAY = NOW_SEC - 50_000; // past max_age / 2 = 43200, before expiry
const EXPIRED = NOW_SEC - 90_000;

const POLICY = "version: STSv1\nmode: enforce\nmx: *.sts.test\nmax_age: 86400\n";
const NEW_POLICY = "version: STSv1\nmode: testing\nmx: mx.sts.test\nmax_age: 86400\n";
// docs/courier.md#cache-file-format, the 72-byte example [V].
const COURIER_FILE = "1\nid:abc123\n\n" + POLICY;
const POLICY_URL = "https://mta-sts.sts.test/.well-known/mta-sts.txt";

type TxtAnswer = string[] | DnsErrorKind;

interface FakeResolver extends Querier {
  /** `<name> <type>` of every query. */
  calls: string[];
}

/** A resolver answering every query with `txt`: TXT strings, or a DnsError of that kind. */
function fakeResolver(txt: TxtAnswer): FakeResolver {
  const calls: string[] = [];
  return {
    calls,
    query(name: string, type: string): Promise<QueryResult> {
      calls.push(`${name} ${type}`);
      if (typeof txt === "string") {
        return Promise.reject(new DnsError(txt, `Fake ${txt} for ${name}`, { name, type }));
      }
      const records = txt.map((text) => ({
        name,
        type: "TXT",
        class: "IN",
        ttl: 300,
        data: { type: "TXT" as const, strings: [new TextEncoder().encode(text)] },
      }));
      return Promise.resolve(answer(name, type, records));
    },
  };
}

interface FakeFetch {
  connect: PolicyConnect;
  /** Every URL requested. */
  calls: string[];
}

/** A policy server that never touches the network: every request gets this answer. */
function fakeFetch(body: string, status = 200, type = "text/plain"): FakeFetch {
  const server = memoryServer(() =>
    new Response(body, { status, headers: { "content-type": type } })
  );
  return { connect: server.connect, calls: server.urls };
}

interface Cache {
  /** The cache directory, inside `root`. */
  dir: string;
  /** A private temporary directory holding `dir`, to see writes outside it. */
  root: string;
  store: StsStore;
  /** The entry for sts.test. */
  path: string;
}

/** Runs `body` with a store on a fresh cache directory, removed afterwards. */
async function withCache(body: (cache: Cache) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "sts-lookup-" });
  const dir = `${root}/cache`;
  await Deno.mkdir(dir);
  try {
    await body({ dir, root, store: new StsStore(dir), path: `${dir}/sts.test` });
  } finally {
    await Deno.chmod(dir, 0o755).catch(() => {});
    await Deno.remove(root, { recursive: true });
  }
}

/** Writes an entry file as Courier would leave it, with the given mtime. */
async function plant(path: string, bytes: string | Uint8Array, mtimeSec: number): Promise<void> {
  if (typeof bytes === "string") await Deno.writeTextFile(path, bytes);
  else await Deno.writeFile(path, bytes);
  await Deno.utime(path, mtimeSec, mtimeSec);
}

/** A file's text and mtime in seconds, or undefined when there is none. */
async function snapshot(path: string): Promise<{ text: string; mtimeSec: number } | undefined> {
  try {
    const text = await Deno.readTextFile(path);
    const mtimeSec = Math.floor((await Deno.stat(path)).mtime!.getTime() / 1000);
    return { text, mtimeSec };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Every path under `dir` with its bytes (directories as "dir") and mtime. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const pending = [dir];
  // Bounded by the few files a test makes.
  for (let turns = 0; pending.length > 0 && turns < 100; turns++) {
    const current = pending.pop()!;
    for await (const item of Deno.readDir(current)) {
      const path = `${current}/${item.name}`;
      const info = await Deno.lstat(path);
      if (item.isDirectory) {
        pending.push(path);
        out.push(`${path} dir`);
      } else {
        out.push(`${path} ${await Deno.readTextFile(path)} ${info.mtime?.getTime()}`);
      }
    }
  }
  return out.sort();
}

function names(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

function options(
  resolver: Querier,
  fetcher: FakeFetch,
  store: StsStore | undefined,
): LookupStsOptions {
  return { resolver, store, connect: fetcher.connect, now: () => NOW_SEC * 1000 };
}

Deno.test("lookupSts() without an entry asks TXT, downloads and saves Courier's exact bytes", async () => {
  await withCache(async ({ dir, store, path }) => {
    const resolver = fakeResolver(["v=STSv1; id=abc123"]);
    const fetcher = fakeFetch(POLICY);
    const result = await lookupSts("STS.Test.", options(resolver, fetcher, store));
    assert.deepEqual(resolver.calls, ["_mta-sts.sts.test TXT"]);
    assert.deepEqual(fetcher.calls, [POLICY_URL]);
    assert.equal(result.source, "fetch");
    assert.equal(result.id, "abc123");
    assert.equal(result.cache, "written");
    assert.equal(result.timestampSec, NOW_SEC);
    assert.deepEqual(result.policy?.mx, ["*.sts.test"]);
    assert.deepEqual(result.warnings, []);
    assert.equal(result.reason, undefined);
    assert.equal(await Deno.readTextFile(path), COURIER_FILE);
    assert.deepEqual(names(dir), ["sts.test"]);
  });
});

Deno.test("lookupSts() uses the first of a repeated TXT id and says so on stderr (D27, D28)", async () => {
  await withCache(async ({ store, path }) => {
    const resolver = fakeResolver(["v=STSv1", "v=STSv1; id=abc123; id=other"]);
    const fetcher = fakeFetch(POLICY);
    const result = await lookupSts("sts.test", options(resolver, fetcher, store));
    assert.equal(result.id, "abc123");
    assert.deepEqual(result.txt, { kind: "id", id: "abc123" });
    assert.deepEqual(result.warnings, [
      '_mta-sts.sts.test: TXT record "v=STSv1" ignored: it does not begin with "v=STSv1;" ' +
      "(RFC 8461 §3.1)",
      '_mta-sts.sts.test: TXT record "v=STSv1; id=abc123; id=other" repeats "id"; the first, ' +
      '"abc123", counts (RFC 8461 §3.2)',
    ]);
    assert.equal(await Deno.readTextFile(path), COURIER_FILE);
  });
});

Deno.test("lookupSts() uses a fresh entry without DNS or download", async () => {
  await withCache(async ({ store, path }) => {
    await plant(path, COURIER_FILE, FRESH);
    const resolver = fakeResolver(["v=STSv1; id=other1"]);
    const fetcher = fakeFetch(NEW_POLICY);
    const result = await lookupSts("sts.test", options(resolver, fetcher, store));
    assert.deepEqual(resolver.calls, []);
    assert.deepEqual(fetcher.calls, []);
    assert.equal(result.source, "cache");
    assert.equal(result.id, "abc123");
    assert.equal(result.timestampSec, FRESH);
    assert.equal(result.cache, "unchanged");
    assert.equal(result.policy?.mode, "enforce");
    assert.deepEqual(await snapshot(path), { text: COURIER_FILE, mtimeSec: FRESH });
  });
});

Deno.test("lookupSts() reads and uses the 72-byte file Courier wrote (docs/courier.md#cache-file-format)", async () => {
  await withCache(async ({ store, path }) => {
    await plant(path, COURIER_FILE, FRESH);
    assert.equal((await Deno.stat(path)).size, 72);
    const fetcher = fakeFetch(NEW_POLICY);
    const result = await lookupSts("sts.test", options(fakeResolver([]), fetcher, store));
    assert.equal(result.source, "cache");
    assert.equal(result.domain, "sts.test");
    assert.equal(result.id, "abc123");
    assert.deepEqual(result.policy, {
      version: "STSv1",
      mode: "enforce",
      maxAge: MAX_AGE,
      mx: ["*.sts.test"],
      text: POLICY,
    });
    assert.deepEqual(result.warnings, []);
  });
});

Deno.test("lookupSts() half-way with the same id asks TXT only and leaves the file untouched", async () => {
  await withCache(async ({ store, path }) => {
    await plant(path, COURIER_FILE, HALF_WAY);
    const resolver = fakeResolver(["v=STSv1; id=abc123"]);
    const fetcher = fakeFetch(NEW_POLICY);
    const result = await lookupSts("sts.test", options(resolver, fetcher, store));
    assert.deepEqual(resolver.calls, ["_mta-sts.sts.test TXT"]);
    assert.deepEqual(fetcher.calls, []);
    assert.equal(result.source, "cache");
    assert.equal(result.cache, "unchanged");
    assert.equal(result.timestampSec, HALF_WAY);
    // Our documented difference: Courier touches the file here (mtime := now), we do not, so
    // max_age still counts from the last fetch (RFC 8461 §3.2).
    assert.deepEqual(await snapshot(path), { text: COURIER_FILE, mtimeSec: HALF_WAY });
  });
});

Deno.test("lookupSts() half-way with a new id downloads and saves the new policy", async () => {
  await withCache(async ({ dir, store, path }) => {
    await plant(path, COURIER_FILE, HALF_WAY);
    const resolver = fakeResolver(["v=STSv1; id=new2"]);
    const fetcher = fakeFetch(NEW_POLICY);
    const result = await lookupSts("sts.test", options(resolver, fetcher, store));
    assert.deepEqual(fetcher.calls, [POLICY_URL]);
    assert.equal(result.source, "fetch");
    assert.equal(result.id, "new2");
    assert.equal(result.cache, "written");
    assert.equal(result.policy?.mode, "testing");
    assert.equal(await Deno.readTextFile(path), "1\nid:new2\n\n" + NEW_POLICY);
    assert.deepEqual(names(dir), ["sts.test"]);
  });
});

Deno.test("lookupSts() half-way with a new id keeps the cached policy when the download fails", async () => {
  await withCache(async ({ store, path }) => {
    await plant(path, COURIER_FILE, HALF_WAY);
    const resolver = fakeResolver(["v=STSv1; id=new2"]);
    const fetcher = fakeFetch("gone", 404);
    const result = await lookupSts("sts.test", options(resolver, fetcher, store));
    assert.deepEqual(fetcher.calls, [POLICY_URL]);
    assert.equal(result.source, "cache");
    assert.equal(result.id, "abc123");
    assert.equal(result.policy?.mode, "enforce");
    assert.equal(result.cache, "unchanged");
    assert.equal(
      result.reason,
      'Cannot fetch policy for "sts.test": status 404; the cached policy stays in use',
    );
    assert.equal(result.error?.kind, "HTTP_STATUS");
    assert.equal(result.error?.message, 'Cannot fetch policy for "sts.test": status 404');
    assert.deepEqual(await snapshot(path), { text: COURIER_FILE, mtimeSec: HALF_WAY });
  });
});

Deno.test("lookupSts() half-way keeps the entry when the TXT record is gone", async () => {
  await withCache(async ({ store, path }) => {
    await plant(path, COURIER_FILE, HALF_WAY);
    const resolver = fakeResolver("NXDOMAIN");
    const fetcher = fakeFetch(NEW_POLICY);
    const result = await lookupSts("sts.test", options(resolver, fetcher, store));
    assert.deepEqual(resolver.calls, ["_mta-sts.sts.test TXT"]);
    assert.deepEqual(fetcher.calls, []);
    assert.equal(result.source, "cache");
    assert.equal(result.error, undefined);
    assert.deepEqual(await snapshot(path), { text: COURIER_FILE, mtimeSec: HALF_WAY });
  });
});

Deno.test("lookupSts() downloads again for an expired entry whose id did not change (D6, S9)", async () => {
  await withCache(async ({ store, path }) => {
    await plant(path, COURIER_FILE, EXPIRED);
    const resolver = fakeResolver(["v=STSv1; id=abc123"]);
    const fetcher = fakeFetch(NEW_POLICY);
    const result = await lookupSts("sts.test", options(resolver, fetcher, store));
    assert.deepEqual(fetcher.calls, [POLICY_URL]);
    assert.equal(result.source, "fetch");
    assert.equal(result.id, "abc123");
    assert.equal(result.cache, "written");
    assert.equal(await Deno.readTextFile(path), "1\nid:abc123\n\n" + NEW_POLICY);
    assert.ok((await snapshot(path))!.mtimeSec > EXPIRED);
  });
});

Deno.test("lookupSts() has no policy when an expired entry cannot be downloaded again, and keeps the file", async () => {
  await withCache(async ({ dir, store, path }) => {
    await plant(path, COURIER_FILE, EXPIRED);
    const resolver = fakeResolver(["v=STSv1; id=abc123"]);
    const fetcher = fakeFetch("<html>", 200, "text/html");
    const result = await lookupSts("sts.test", options(resolver, fetcher, store));
    assert.deepEqual(fetcher.calls, [POLICY_URL]);
    assert.equal(result.policy, undefined);
    assert.equal(result.source, undefined);
    assert.equal(result.cache, "unchanged");
    assert.match(
      result.reason ?? "",
      /^Cannot fetch policy for "sts.test": Content-Type "text\/html"/,
    );
    assert.equal(result.error?.kind, "CONTENT_TYPE");
    assert.equal(result.error?.message, result.reason);
    assert.deepEqual(await snapshot(path), { text: COURIER_FILE, mtimeSec: EXPIRED });
    assert.deepEqual(names(dir), ["sts.test"]);
  });
});

Deno.test("lookupSts() writes nothing, no stub, when the first download fails (D6)", async () => {
  await withCache(async ({ dir, store }) => {
    const resolver = fakeResolver(["v=STSv1; id=abc123"]);
    const fetcher = fakeFetch("oops", 500);
    const result = await lookupSts("sts.test", options(resolver, fetcher, store));
    assert.deepEqual(fetcher.calls, [POLICY_URL]);
    assert.equal(result.policy, undefined);
    assert.equal(result.id, "abc123");
    assert.equal(result.reason, 'Cannot fetch policy for "sts.test": status 500');
    assert.equal(result.error?.kind, "HTTP_STATUS");
    assert.equal(result.cache, "unchanged");
    assert.deepEqual(names(dir), []);
  });
});

for (const kind of ["NXDOMAIN", "NODATA"] as const) {
  Deno.test(`lookupSts() removes an expired entry when the TXT lookup says ${kind}`, async () => {
    await withCache(async ({ dir, store, path }) => {
      await plant(path, COURIER_FILE, EXPIRED);
      const resolver = fakeResolver(kind);
      const fetcher = fakeFetch(POLICY);
      const result = await lookupSts("sts.test", options(resolver, fetcher, store));
      assert.deepEqual(resolver.calls, ["_mta-sts.sts.test TXT"]);
      assert.deepEqual(fetcher.calls, []);
      assert.equal(result.policy, undefined);
      assert.equal(result.cache, "removed");
      assert.equal(result.reason, undefined);
      assert.equal(result.error, undefined);
      assert.deepEqual(result.txt, { kind: "none" });
      assert.deepEqual(names(dir), []);
    });
  });
}

Deno.test("lookupSts() removes an expired entry when the domain publishes no STS record", async () => {
  await withCache(async ({ dir, store, path }) => {
    await plant(path, COURIER_FILE, EXPIRED);
    const resolver = fakeResolver(["google-site-verification=x"]);
    const result = await lookupSts("sts.test", options(resolver, fakeFetch(POLICY), store));
    assert.equal(result.cache, "removed");
    assert.deepEqual(names(dir), []);
  });
});

for (const kind of ["SERVFAIL", "TIMEOUT", "REFUSED", "NETWORK"] as const) {
  Deno.test(`lookupSts() keeps an expired entry when the TXT lookup fails with ${kind} (D5)`, async () => {
    await withCache(async ({ store, path }) => {
      await plant(path, COURIER_FILE, EXPIRED);
      const resolver = fakeResolver(kind);
      const fetcher = fakeFetch(POLICY);
      const result = await lookupSts("sts.test", options(resolver, fetcher, store));
      assert.deepEqual(resolver.calls, ["_mta-sts.sts.test TXT"]);
      assert.deepEqual(fetcher.calls, []);
      assert.equal(result.policy, undefined);
      assert.equal(result.cache, "unchanged");
      assert.equal(result.txt?.kind, "transient");
      assert.equal(
        result.reason,
        `Cannot look up the MTA-STS record: Fake ${kind} for _mta-sts.sts.test`,
      );
      // The typed error beside the reason, with the DNS failure as its cause.
      assert.equal(result.error?.kind, "TXT_LOOKUP");
      assert.equal(result.error?.message, result.reason);
      assert.ok(result.error?.cause instanceof DnsError);
      assert.equal(result.error.cause.kind, kind);
      assert.deepEqual(await snapshot(path), { text: COURIER_FILE, mtimeSec: EXPIRED });
    });
  });
}

Deno.test("lookupSts() treats Courier's stub as absent and replaces it with the real policy (D6)", async () => {
  await withCache(async ({ store, path }) => {
    const stub = encodeEntry("stub1", COURIER_STUB_POLICY);
    assert.equal(stub.length, 228);
    // Fresh, and the TXT id is unchanged: Courier would never download again
    // (docs/courier.md#the-temporary-failure-stub).
    await plant(path, stub, FRESH);
    const resolver = fakeResolver(["v=STSv1; id=stub1"]);
    const fetcher = fakeFetch(POLICY);
    const result = await lookupSts("sts.test", options(resolver, fetcher, store));
    assert.deepEqual(resolver.calls, ["_mta-sts.sts.test TXT"]);
    assert.deepEqual(fetcher.calls, [POLICY_URL]);
    assert.equal(result.source, "fetch");
    assert.equal(result.policy?.mode, "enforce");
    assert.equal(result.cache, "written");
    assert.equal(await Deno.readTextFile(path), "1\nid:stub1\n\n" + POLICY);
  });
});

Deno.test("lookupSts() never writes a stub: Courier's stays as it was when the download fails", async () => {
  await withCache(async ({ store, path }) => {
    const stub = encodeEntry("stub1", COURIER_STUB_POLICY);
    await plant(path, stub, FRESH);
    const resolver = fakeResolver(["v=STSv1; id=stub2"]);
    const fetcher = fakeFetch("", 503);
    const result = await lookupSts("sts.test", options(resolver, fetcher, store));
    assert.deepEqual(fetcher.calls, [POLICY_URL]);
    assert.equal(result.policy, undefined);
    assert.equal(result.cache, "unchanged");
    assert.equal(result.reason, 'Cannot fetch policy for "sts.test": status 503');
    assert.deepEqual(await snapshot(path), {
      text: new TextDecoder().decode(stub),
      mtimeSec: FRESH,
    });
  });
});

Deno.test("lookupSts() ignores a torn 0\\n file with a warning and does not delete it", async () => {
  await withCache(async ({ store, path }) => {
    const torn = "0\nid:abc123\n\n" + POLICY;
    await plant(path, torn, FRESH);
    const resolver = fakeResolver("NXDOMAIN");
    const fetcher = fakeFetch(POLICY);
    const result = await lookupSts("sts.test", options(resolver, fetcher, store));
    // Ignored: DNS is asked although the file is fresh.
    assert.deepEqual(resolver.calls, ["_mta-sts.sts.test TXT"]);
    assert.equal(result.policy, undefined);
    assert.equal(result.cache, "unchanged");
    assert.deepEqual(result.warnings, [
      `${path}: first line is "0", not "1" (written by Courier right now, or torn by a crash)`,
    ]);
    // Courier may be writing it right now: it is not ours to delete.
    assert.deepEqual(await snapshot(path), { text: torn, mtimeSec: FRESH });
  });
});

Deno.test("lookupSts() with .cache_size 0 does nothing at all: no DNS, no download, no file", async () => {
  await withCache(async ({ dir, store, path }) => {
    await Deno.writeTextFile(`${dir}/.cache_size`, "0\n");
    await plant(path, COURIER_FILE, EXPIRED);
    const resolver = fakeResolver(["v=STSv1; id=new2"]);
    const fetcher = fakeFetch(NEW_POLICY);
    const result = await lookupSts("sts.test", options(resolver, fetcher, store));
    assert.deepEqual(result, { enabled: false, cache: "unchanged", warnings: [] });
    assert.deepEqual(resolver.calls, []);
    assert.deepEqual(fetcher.calls, []);
    assert.deepEqual(await snapshot(path), { text: COURIER_FILE, mtimeSec: EXPIRED });
  });
});

Deno.test("lookupSts() with .cache_size junk is off and warns naming the file (D10)", async () => {
  await withCache(async ({ dir, store }) => {
    await Deno.writeTextFile(`${dir}/.cache_size`, "junk\n");
    const resolver = fakeResolver(["v=STSv1; id=new2"]);
    const fetcher = fakeFetch(NEW_POLICY);
    const result = await lookupSts("sts.test", options(resolver, fetcher, store));
    assert.deepEqual(result, {
      enabled: false,
      cache: "unchanged",
      warnings: [`"${dir}/.cache_size" holds "junk", not a number: STS is off`],
    });
    assert.deepEqual(resolver.calls, []);
    assert.deepEqual(fetcher.calls, []);
    assert.deepEqual(names(dir), [".cache_size"]);
  });
});

Deno.test("lookupSts() refuses names that are not domains and touches no file inside or outside (D9)", async () => {
  await withCache(async ({ dir, root, store }) => {
    await Deno.writeTextFile(`${dir}/.cache_size`, "5\n");
    await Deno.writeTextFile(`${root}/x`, "outside");
    await Deno.mkdir(`${dir}/a`);
    await Deno.writeTextFile(`${dir}/a/b`, "inside");
    const before = await tree(root);
    for (const domain of [".cache_size", "../x", "a/b", "..", ".", ""]) {
      const resolver = fakeResolver(["v=STSv1; id=abc123"]);
      const fetcher = fakeFetch(POLICY);
      const result = await lookupSts(domain, options(resolver, fetcher, store));
      assert.equal(result.reason, `Not a domain name: ${JSON.stringify(domain)}`, domain);
      assert.equal(result.error?.kind, "INVALID_NAME");
      assert.equal(result.policy, undefined);
      assert.equal(result.cache, "unchanged");
      assert.deepEqual(resolver.calls, [], domain);
      assert.deepEqual(fetcher.calls, [], domain);
    }
    assert.deepEqual(await tree(root), before);
  });
});

for (const address of ["192.0.2.1", "2001:db8::1", "::1", "127.1", "[192.0.2.1]", "[::1]"]) {
  Deno.test(`lookupSts() does no DNS and no download for the address ${address}`, async () => {
    await withCache(async ({ dir, store }) => {
      const resolver = fakeResolver(["v=STSv1; id=abc123"]);
      const fetcher = fakeFetch(POLICY);
      const result = await lookupSts(address, options(resolver, fetcher, store));
      assert.deepEqual(result, { enabled: true, cache: "unchanged", warnings: [] });
      assert.deepEqual(resolver.calls, []);
      assert.deepEqual(fetcher.calls, []);
      assert.deepEqual(names(dir), []);
    });
  });
}

Deno.test("lookupSts() keeps the StsError beside the reason: an unusable TXT record, an invalid policy", async () => {
  await withCache(async ({ store }) => {
    const two = fakeResolver(["v=STSv1; id=a", "v=STSv1; id=b"]);
    const none = await lookupSts("sts.test", options(two, fakeFetch(POLICY), store));
    assert.equal(none.txt?.kind, "none");
    assert.match(none.reason ?? "", /^No usable MTA-STS record at _mta-sts\.sts\.test: 2 TXT/);
    assert.equal(none.error?.kind, "TXT_INVALID");
    assert.equal(none.error?.message, none.reason);
    const resolver = fakeResolver(["v=STSv1; id=abc123"]);
    const fetcher = fakeFetch("version: STSv1\nmax_age: 86400\n");
    const invalid = await lookupSts("sts.test", options(resolver, fetcher, store));
    assert.equal(invalid.policy, undefined);
    assert.equal(invalid.error?.kind, "POLICY_INVALID");
    assert.equal(invalid.reason, invalid.error?.message);
  });
});

Deno.test("lookupSts() reads .cache_size once per store, and again after the store changes it", async () => {
  await withCache(async ({ dir, store }) => {
    await Deno.writeTextFile(`${dir}/.cache_size`, "0\n");
    const resolver = fakeResolver(["v=STSv1; id=abc123"]);
    const fetcher = fakeFetch(POLICY);
    assert.equal((await lookupSts("sts.test", options(resolver, fetcher, store))).enabled, false);
    // Another program's change is not seen by this store: one read per run, as Courier.
    await Deno.writeTextFile(`${dir}/.cache_size`, "5\n");
    assert.equal((await lookupSts("sts.test", options(resolver, fetcher, store))).enabled, false);
    assert.deepEqual(resolver.calls, []);
    assert.equal(
      (await lookupSts("sts.test", options(resolver, fetcher, new StsStore(dir)))).enabled,
      true,
    );
    await store.removeCacheSize();
    assert.equal((await lookupSts("sts.test", options(resolver, fetcher, store))).enabled, true);
  });
});

Deno.test("lookupSts() without a cache directory downloads and warns once that it could not save", async () => {
  await withCache(async ({ root }) => {
    const store = new StsStore(`${root}/missing`);
    const resolver = fakeResolver(["v=STSv1; id=abc123"]);
    const fetcher = fakeFetch(POLICY);
    const result = await lookupSts("sts.test", options(resolver, fetcher, store));
    assert.equal(result.source, "fetch");
    assert.equal(result.policy?.mode, "enforce");
    assert.equal(result.cache, "unchanged");
    assert.deepEqual(result.warnings, [
      `The policy could not be saved: Cannot write "${root}/missing/sts.test": No such file or directory`,
    ]);
    assert.deepEqual(names(root), ["cache"]);
  });
});

Deno.test("lookupSts() reads an unreadable .cache_size as the default size and says why", async () => {
  await withCache(async ({ dir, store, path }) => {
    await Deno.mkdir(`${dir}/.cache_size`);
    const resolver = fakeResolver(["v=STSv1; id=abc123"]);
    const fetcher = fakeFetch(POLICY);
    const result = await lookupSts("sts.test", options(resolver, fetcher, store));
    assert.equal(result.enabled, true);
    assert.equal(result.source, "fetch");
    assert.equal(result.cache, "written");
    assert.deepEqual(result.warnings, [
      `"${dir}/.cache_size" is not a regular file: using the default size 1000`,
    ]);
    assert.equal(await Deno.readTextFile(path), COURIER_FILE);
  });
});

/** POLICY as a policy server sends it. */
const HTTP_RESPONSE = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" +
  `Content-Length: ${POLICY.length}\r\nConnection: close\r\n\r\n${POLICY}`;

/** What the probe run as another user reports of its lookup. */
interface ProbeReport {
  queries: number;
  fetches: number;
  source?: string;
  mode?: string;
  cache: string;
  reason?: string;
  warnings: string[];
}

/**
 * Runs lookupSts("sts.test") on `dir` in a subprocess, as nobody when we are root (root ignores
 * directory permissions), with a fake resolver answering `txt` and a fake connection serving
 * POLICY.
 */
async function lookupAsNobody(dir: string, txt: TxtAnswer): Promise<ProbeReport> {
  const probe = (lib: LibUrl) => `
    import { lookupSts } from ${lib("sts/lookup.ts")};
    import { StsStore } from ${lib("sts/store.ts")};
    import { DnsError } from ${lib("errors.ts")};
    const txt = ${JSON.stringify(txt)};
    let queries = 0, fetches = 0;
    const resolver = {
      query(name) {
        queries++;
        if (typeof txt === "string") return Promise.reject(new DnsError(txt, "Fake " + txt));
        const records = txt.map((text) => ({
          name, type: "TXT", class: "IN", ttl: 1,
          data: { type: "TXT", strings: [new TextEncoder().encode(text)] },
        }));
        return Promise.resolve({ records });
      },
    };
    const response = new TextEncoder().encode(${JSON.stringify(HTTP_RESPONSE)});
    const connect = () => {
      fetches++;
      let sent = false;
      return Promise.resolve({
        write: () => Promise.resolve(),
        read(buffer) {
          if (sent) return Promise.resolve(null);
          sent = true;
          buffer.set(response);
          return Promise.resolve(response.length);
        },
        close() {},
      });
    };
    const store = new StsStore(${JSON.stringify(dir)});
    const result = await lookupSts("sts.test", { resolver, connect, store, now: () => ${NOW_SEC}000 });
    const { source, cache, reason, warnings } = result;
    console.log(JSON.stringify({ queries, fetches, source, mode: result.policy?.mode, cache, reason, warnings }));
  `;
  return JSON.parse(await runAsNobody(probe));
}

Deno.test("lookupSts() in a read-only cache directory downloads, succeeds and warns once that it could not save", async () => {
  await withCache(async ({ dir, root }) => {
    await Deno.chmod(root, 0o755);
    await Deno.chmod(dir, 0o555);
    assert.deepEqual(await lookupAsNobody(dir, ["v=STSv1; id=abc123"]), {
      queries: 1,
      fetches: 1,
      source: "fetch",
      mode: "enforce",
      cache: "unchanged",
      warnings: [
        `The policy could not be saved: Cannot write "${dir}/sts.test": Permission denied`,
      ],
    });
    assert.deepEqual(names(dir), []);
  });
});

Deno.test("lookupSts() in a read-only cache directory keeps an entry DNS says is gone, with a warning", async () => {
  await withCache(async ({ dir, root, path }) => {
    await plant(path, COURIER_FILE, EXPIRED);
    await Deno.chmod(root, 0o755);
    await Deno.chmod(dir, 0o555);
    assert.deepEqual(await lookupAsNobody(dir, "NXDOMAIN"), {
      queries: 1,
      fetches: 0,
      cache: "unchanged",
      warnings: [
        `The cache entry could not be removed: Cannot remove "${path}": Permission denied`,
      ],
    });
    assert.deepEqual(await snapshot(path), { text: COURIER_FILE, mtimeSec: EXPIRED });
  });
});

Deno.test({
  name: "lookupSts() with a cache directory it cannot enter still downloads, and says why",
  ignore: Deno.uid() !== 0,
  async fn() {
    await withCache(async ({ dir, root }) => {
      await Deno.chmod(root, 0o755);
      await Deno.chmod(dir, 0o700);
      assert.deepEqual(await lookupAsNobody(dir, ["v=STSv1; id=abc123"]), {
        queries: 1,
        fetches: 1,
        source: "fetch",
        mode: "enforce",
        cache: "unchanged",
        warnings: [
          `Cannot read "${dir}/.cache_size": Permission denied`,
          `${dir}/sts.test: Permission denied`,
          `The policy could not be saved: Cannot write "${dir}/sts.test": Permission denied`,
        ],
      });
    });
  },
});

Deno.test("lookupSts() run twice at once with different ids leaves one of the two complete entries", async () => {
  await withCache(async ({ dir, store, path }) => {
    const one = lookupSts(
      "sts.test",
      options(fakeResolver(["v=STSv1; id=one1"]), fakeFetch(POLICY), store),
    );
    const two = lookupSts(
      "sts.test",
      options(fakeResolver(["v=STSv1; id=two2"]), fakeFetch(NEW_POLICY), store),
    );
    const results = await Promise.all([one, two]);
    assert.deepEqual(results.map((r) => [r.source, r.cache]), [
      ["fetch", "written"],
      ["fetch", "written"],
    ]);
    const text = await Deno.readTextFile(path);
    assert.ok(
      ["1\nid:one1\n\n" + POLICY, "1\nid:two2\n\n" + NEW_POLICY].includes(text),
      JSON.stringify(text),
    );
    assert.deepEqual(names(dir), ["sts.test"]);
  });
});

Deno.test("lookupSts() reports its cache read, connection and request as steps, in order and timed", async () => {
  await withCache(async ({ store, path }) => {
    const steps: StsStep[] = [];
    const onStep = (step: StsStep) => steps.push(step);
    const before = performance.now();
    const fetcher = fakeFetch(POLICY);
    const resolver = fakeResolver(["v=STSv1; id=abc123"]);
    await lookupSts("sts.test", { ...options(resolver, fetcher, store), onStep });
    const after = performance.now();
    assert.deepEqual(steps.map((s) => [s.step, s.name, s.found, s.error]), [
      ["cache-read", "sts.test", "none", undefined],
      ["connect", "mta-sts.sts.test", undefined, undefined],
      ["request", "mta-sts.sts.test", undefined, undefined],
    ]);
    for (const [i, step] of steps.entries()) {
      assert.ok(step.startedAt >= before && step.startedAt + step.ms <= after, step.step);
      if (i > 0) assert.ok(step.startedAt >= steps[i - 1].startedAt + steps[i - 1].ms);
    }
    // Cached now: the next lookup finds the entry, and uses it while it is fresh.
    await plant(path, COURIER_FILE, FRESH);
    steps.length = 0;
    await lookupSts("sts.test", { ...options(resolver, fetcher, store), onStep });
    assert.deepEqual(steps.map((s) => [s.step, s.found]), [["cache-read", "entry"]]);
  });
});

Deno.test("lookupSts() reports a failed download step with its error kind", async () => {
  await withCache(async ({ store }) => {
    const steps: StsStep[] = [];
    const resolver = fakeResolver(["v=STSv1; id=abc123"]);
    const fetcher = fakeFetch("not found", 404);
    await lookupSts("sts.test", {
      ...options(resolver, fetcher, store),
      onStep: (step) => steps.push(step),
    });
    assert.deepEqual(steps.map((s) => [s.step, s.error]), [
      ["cache-read", undefined],
      ["connect", undefined],
      ["request", "HTTP_STATUS"],
    ]);
  });
});
