// The package as an outside user sees it: only what mod.ts exports, each export exercised —
// the pure ones in process, the network ones in the test world (skipped loudly without it),
// plus the library's promises: nothing happens on import, pure parts need no permission, and
// many lookups run concurrently in one process.
import assert from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";
import * as mod from "../mod.ts";
import {
  denoHost,
  DnsError,
  entryName,
  fetchPolicy,
  type FileReader,
  formatAddress,
  formatReport,
  type JsonReport,
  loadResolvConf,
  lookupDomain,
  lookupMx,
  lookupSts,
  matchesMx,
  type Message,
  parseAddress,
  parseCourierdTrustCerts,
  parsePolicy,
  parseResolvConf,
  parseStsRecords,
  type PolicyConnect,
  type Querier,
  type QueryResult,
  renderJson,
  Resolver,
  type ResourceRecord,
  StsError,
  StsStore,
} from "../mod.ts";
import { UsageError } from "../cli.ts";
import { assertValidReport } from "./_schema.ts";
import { memoryServer } from "./sts/_memory_http.ts";
import { startWorld, WORLD_CA_FILE, worldUnavailableReason } from "./world/world.ts";

const MOD = fromFileUrl(new URL("../mod.ts", import.meta.url));
const CONFIG = fromFileUrl(new URL("../deno.json", import.meta.url));
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

const POLICY = "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 86400\n";

/** An answer as a resolver gives it: the records in the answer section of a NOERROR reply. */
function answer(name: string, type: string, records: ResourceRecord[]): QueryResult {
  const message: Message = {
    id: 1,
    qr: true,
    opcode: "QUERY",
    aa: false,
    tc: false,
    rd: true,
    ra: true,
    ad: false,
    cd: false,
    rcode: "NOERROR",
    questions: [{ name, type }],
    answers: records,
    authorities: [],
    additionals: [],
  };
  return {
    name,
    canonicalName: name,
    type,
    records,
    message,
    ad: false,
    cnames: [],
    server: "192.0.2.53",
    transport: "udp",
  };
}

/** A Querier over a fixed table; a name or type not in it is NODATA, as a real one says. */
function tableQuerier(
  table: Record<string, ResourceRecord["data"][]>,
): Querier & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    query(name, type) {
      asked.push(`${name} ${type}`);
      const data = table[`${name} ${type}`];
      if (data === undefined) {
        return Promise.reject(
          new DnsError("NODATA", `No ${type} record for "${name}"`, { name, type }),
        );
      }
      const records = data.map((d) => ({ name, type, class: "IN", ttl: 300, data: d }));
      return Promise.resolve(answer(name, type, records));
    },
  };
}

const EXAMPLE_DNS = {
  "example.com MX": [{ type: "MX" as const, preference: 10, exchange: "mx.example.com" }],
  "mx.example.com A": [{ type: "A" as const, address: "192.0.2.1" }],
  "mx.example.com AAAA": [{ type: "AAAA" as const, address: "2001:db8::1" }],
  "_mta-sts.example.com TXT": [{ type: "TXT" as const, strings: [utf8("v=STSv1; id=20240101")] }],
};

/** A policy server in memory that serves one policy and counts its requests. */
function policyServer(body: string): { connect: PolicyConnect; urls: string[] } {
  return memoryServer(() => new Response(body, { headers: { "content-type": "text/plain" } }));
}

Deno.test("mod.ts exports these values and nothing else that runs", () => {
  assert.deepEqual(Object.keys(mod).sort(), [
    "ConfigError",
    "ConnectionLimiter",
    "DnsError",
    "JSON_SCHEMA_VERSION",
    "MAX_LINE_LENGTH",
    "ProbeError",
    "Resolver",
    "StsError",
    "StsStore",
    "denoHost",
    "entryName",
    "exitCodeOf",
    "expireCache",
    "fetchPolicy",
    "formatAddress",
    "formatReport",
    "heloName",
    "loadResolvConf",
    "lookupDomain",
    "lookupMany",
    "lookupMx",
    "lookupSts",
    "matchesMx",
    "overrideMode",
    "parseAddress",
    "parseCourierdTrustCerts",
    "parsePolicy",
    "parseResolvConf",
    "parseStsRecords",
    "parseTlsRpt",
    "parseTlsa",
    "probeAddress",
    "probeHosts",
    "probeJson",
    "probeReport",
    "purgePolicy",
    "readDomainLines",
    "renderJson",
    "setCacheSize",
  ]);
});

Deno.test("parseAddress() and formatAddress() round-trip Courier's address text", () => {
  const table: [string, string | undefined][] = [
    ["192.0.2.1", "::ffff:192.0.2.1"],
    ["127.1", "::ffff:127.0.0.1"],
    ["0177.0.0.1", "::ffff:127.0.0.1"],
    ["0.0.0.0", "::"],
    ["2001:DB8::1", "2001:db8::1"],
    ["::192.0.2.1", "::192.0.2.1"],
    ["0x7f.0.0.1", undefined],
    ["[::1]", undefined],
    ["192.0.2.1:25", undefined],
    ["", undefined],
  ];
  for (const [input, printed] of table) {
    const address = parseAddress(input);
    assert.equal(address && formatAddress(address), printed, input);
    if (address) assert.equal(address.length, 16);
  }
});

Deno.test("parseResolvConf() and loadResolvConf() give a resolver's settings", async () => {
  const conf = parseResolvConf(
    "# comment\nnameserver 127.1\nnameserver bogus\ndomain Example.COM\noptions attempts:9\n",
  );
  assert.deepEqual(conf.nameservers, ["127.0.0.1"]);
  assert.equal(conf.domain, "example.com");
  assert.deepEqual(conf.search, ["example.com"]);
  assert.equal(conf.attempts, 5);
  assert.deepEqual(conf.warnings.map((w) => w.line), [3, 5]);
  const files: FileReader = {
    readTextFile: (path) => Promise.resolve(path === "/r" ? "nameserver ::1\n" : undefined),
  };
  assert.deepEqual((await loadResolvConf("/r", files)).nameservers, ["::1"]);
  assert.deepEqual((await loadResolvConf("/none", files)).nameservers, ["127.0.0.1", "::1"]);
  const failing: FileReader = { readTextFile: () => Promise.reject(new Error("EACCES")) };
  await assert.rejects(loadResolvConf("/r", failing), { message: "EACCES" });
});

Deno.test("parseStsRecords() finds exactly one valid STS record", () => {
  const txt = (...strings: string[]) => strings.map(utf8);
  assert.deepEqual(parseStsRecords([txt("v=STSv1;", " id=abc123")]), {
    found: true,
    id: "abc123",
    record: "v=STSv1; id=abc123",
    warnings: [],
  });
  const invalid = parseStsRecords([txt("v=STSv1; id=not-alnum")]);
  assert.equal(invalid.found, false);
  assert.equal(!invalid.found && invalid.published, true);
  assert.equal(parseStsRecords([txt("v=spf1 -all")]).found, false);
});

Deno.test("parsePolicy() accepts RFC 8461 policies and rejects with StsError kinds", () => {
  const { policy, warnings } = parsePolicy(POLICY.replaceAll("\n", "\r\n"));
  assert.deepEqual(policy, {
    version: "STSv1",
    mode: "enforce",
    maxAge: 86400,
    mx: ["mx.example.com"],
    text: POLICY,
  });
  assert.deepEqual(warnings, []);
  for (
    const bad of [
      "",
      "version: STSv1\nmode: enforce\nmax_age: 86400\n",
      "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n",
      "version: STSv2\nmode: none\nmax_age: 1\n",
    ]
  ) {
    assert.throws(() => parsePolicy(bad), (error) => {
      assert.ok(error instanceof StsError);
      assert.equal(error.kind, "POLICY_INVALID");
      assert.match(error.message, /^Invalid policy: [^\n]+[^.]$/);
      return true;
    }, JSON.stringify(bad));
  }
});

Deno.test("matchesMx() matches exact names and one-label wildcards only", () => {
  const patterns = ["mx1.example.com", "*.backup.example.com"];
  const table: [string, boolean][] = [
    ["mx1.example.com", true],
    ["MX1.EXAMPLE.COM.", true],
    ["x.backup.example.com", true],
    ["backup.example.com", false],
    ["y.x.backup.example.com", false],
    ["mx2.example.com", false],
    ["192.0.2.1", false],
  ];
  for (const [host, expected] of table) assert.equal(matchesMx(host, patterns), expected, host);
});

Deno.test("entryName() and StsStore keep one safe cache file per domain", async () => {
  assert.equal(entryName("MÜNCHEN.test."), "xn--mnchen-3ya.test");
  for (const bad of ["", ".", "..", "a/b", ".cache_size", "a..b"]) {
    assert.throws(() => entryName(bad), { name: "StsError", kind: "INVALID_NAME" }, bad);
  }
  const dir = await Deno.makeTempDir();
  try {
    const store = new StsStore(dir);
    assert.equal(store.dir, dir);
    assert.deepEqual(await store.read("example.com"), {
      kind: "absent",
      path: `${dir}/example.com`,
    });
    await store.write("Example.COM.", "id1", POLICY);
    assert.equal(await Deno.readTextFile(`${dir}/example.com`), `1\nid:id1\n\n${POLICY}`);
    const read = await store.read("example.com");
    assert.deepEqual(read.kind === "entry" && read.entry, {
      id: "id1",
      policy: POLICY,
      stub: false,
    });
    await store.writeCacheSize(1);
    assert.deepEqual(await store.readCacheSize(), { size: 1 });
    await store.write("a.example", "id2", POLICY);
    await store.touch("a.example", Math.floor(Date.now() / 1000) + 60);
    assert.deepEqual(await store.expire(1), {
      removed: ["example.com"],
      removedCount: 1,
      warnings: [],
    });
    assert.equal(await store.remove("a.example"), true);
    assert.equal(await store.remove("a.example"), false);
    await store.removeCacheSize();
    assert.deepEqual(await store.readCacheSize(), { size: 1000 });
    await assert.rejects(store.write("../x", "id", POLICY), { kind: "INVALID_NAME" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("formatReport() prints Courier's lines for a lookup and for each failure", async () => {
  const querier = tableQuerier(EXAMPLE_DNS);
  const report = await lookupDomain("example.com", {
    resolver: querier,
    local: { hostname: "mx.example.com" },
  });
  const testing = {
    ...report,
    stsMode: "testing" as const,
    hosts: report.hosts.map((h) => ({ ...h, stsMatch: false })),
  };
  assert.equal(
    formatReport(testing),
    "Domain example.com:\nSTS: testing\n" +
      "Relay: mx.example.com, Priority: 10, Address: ::ffff:192.0.2.1 [ LOCAL ]\n" +
      "ERROR: STS Policy verification failed: mx.example.com\n" +
      "Relay: mx.example.com, Priority: 10, Address: 2001:db8::1 [ LOCAL ]\n" +
      "ERROR: STS Policy verification failed: mx.example.com\n",
  );
  const failures = ["soft", "hard", "internal", "cname", "nomail", "deadline"] as const;
  const failed = failures.map((outcome) => formatReport({ ...report, outcome, domain: "a.test" }));
  assert.deepEqual(failed, [
    "a.test: soft error.\n",
    "a.test: hard error.\n",
    "a.test: internal error.\n",
    "a.test: bad DNS records (recursive CNAME).\n",
    "a.test: no mail.\n",
    "a.test: soft error.\n",
  ]);
});

Deno.test("errors carry kind, fields and cause", () => {
  const cause = new Error("socket closed");
  const dns = new DnsError("NETWORK", "Cannot send to 127.0.0.1", {
    server: "127.0.0.1",
    name: "a.test",
    type: "MX",
    cause,
  });
  assert.ok(dns instanceof Error);
  assert.equal(dns.name, "DnsError");
  assert.deepEqual([dns.kind, dns.server, dns.qname, dns.qtype, dns.cause], [
    "NETWORK",
    "127.0.0.1",
    "a.test",
    "MX",
    cause,
  ]);
  assert.equal(dns.transient, true);
  for (const kind of ["NXDOMAIN", "NODATA", "INVALID_NAME", "CNAME_LOOP"] as const) {
    assert.equal(new DnsError(kind, "x").transient, false, kind);
  }
  const sts = new StsError("TLS", "Cannot fetch policy", { domain: "a.test", url: "https://x/" });
  assert.deepEqual([sts.name, sts.kind, sts.domain, sts.url, sts.path], [
    "StsError",
    "TLS",
    "a.test",
    "https://x/",
    undefined,
  ]);
  const usage = new UsageError("Unknown option --x");
  assert.deepEqual([usage.name, usage.exitCode, usage.showUsage], ["UsageError", 1, false]);
});

Deno.test("Resolver rejects bad options at construction, before any I/O", () => {
  assert.throws(() => new Resolver({ servers: [] }), RangeError);
  assert.throws(() => new Resolver({ servers: [{ address: "ns.example" }] }), TypeError);
  assert.throws(() => new Resolver({ servers: [{ address: "127.0.0.1", port: 0 }] }), RangeError);
  assert.throws(() => new Resolver({ udpSize: 65536 }), RangeError);
  assert.ok(new Resolver({ servers: [{ address: "0177.0.0.1", port: 5353 }] }));
});

Deno.test("lookupMx() works through any Querier and turns DNS failures into outcomes", async () => {
  const querier = tableQuerier(EXAMPLE_DNS);
  const result = await lookupMx("example.com", { resolver: querier });
  assert.equal(result.outcome, "ok");
  assert.equal(result.queryName, "example.com");
  assert.deepEqual(
    result.entries.map((e) => `${e.priority} ${e.host} ${formatAddress(e.address)} ${e.family}`),
    ["10 mx.example.com ::ffff:192.0.2.1 4", "10 mx.example.com 2001:db8::1 6"],
  );
  assert.deepEqual(result.hosts.map((h) => [h.host, h.outcome, h.source]), [
    ["mx.example.com", "ok", "query"],
  ]);
  const v6first = await lookupMx("example.com", { resolver: querier, preferIpv6: true });
  assert.deepEqual(v6first.entries.map((e) => e.family), [6, 4]);

  const nomx = await lookupMx("nothing.example", { resolver: tableQuerier({}) });
  assert.equal(nomx.outcome, "hard");
  assert.ok(nomx.reason);

  const refused: Querier = {
    query: (name, type) => Promise.reject(new DnsError("REFUSED", "Refused", { name, type })),
  };
  const soft = await lookupMx("example.com", { resolver: refused });
  assert.equal(soft.outcome, "soft");
  assert.equal(soft.error?.kind, "REFUSED");

  const aborted = AbortSignal.abort();
  const waiting: Querier = {
    query: (_name, _type, options) => {
      options?.signal?.throwIfAborted();
      return Promise.reject(new Error("not reached"));
    },
  };
  await assert.rejects(lookupMx("example.com", { resolver: waiting, signal: aborted }), {
    name: "AbortError",
  });
});

Deno.test("fetchPolicy() enforces RFC 8461 §3.3 on what the server sends", async () => {
  const serve = (response: Response) => ({ connect: memoryServer(() => response).connect });
  const plain = { "content-type": "text/plain" };
  const fetched = await fetchPolicy(
    "Example.COM.",
    serve(new Response(POLICY, { headers: plain })),
  );
  assert.deepEqual(fetched, {
    url: "https://mta-sts.example.com/.well-known/mta-sts.txt",
    text: POLICY,
    contentType: "text/plain",
  });
  const cases: [Response, string][] = [
    [new Response(null, { status: 302, headers: { location: "https://a/" } }), "REDIRECT"],
    [new Response("gone", { status: 404, headers: plain }), "HTTP_STATUS"],
    [new Response(POLICY, { headers: { "content-type": "text/html" } }), "CONTENT_TYPE"],
    [new Response("x".repeat(65537), { headers: plain }), "TOO_LARGE"],
    [new Response(new Uint8Array([0xff, 0xfe]), { headers: plain }), "POLICY_INVALID"],
  ];
  for (const [response, kind] of cases) {
    await assert.rejects(fetchPolicy("example.com", serve(response)), { name: "StsError", kind });
  }
  await assert.rejects(fetchPolicy("a..example"), { kind: "INVALID_NAME" });
  const failing = { connect: () => Promise.reject(new Error("connection refused")) };
  await assert.rejects(fetchPolicy("example.com", failing), {
    kind: "NETWORK",
    message: 'Cannot fetch policy for "example.com": connection refused',
  });
  // The policy host is looked up through the resolver given, and its failure is the download's.
  const querier = tableQuerier(EXAMPLE_DNS);
  await assert.rejects(fetchPolicy("example.com", { resolver: querier }), { kind: "NETWORK" });
  assert.deepEqual(querier.asked.sort(), ["mta-sts.example.com A", "mta-sts.example.com AAAA"]);
  await assert.rejects(fetchPolicy("example.com"), TypeError);
  await assert.rejects(
    fetchPolicy("example.com", { resolver: querier, caCerts: ["x"] }),
    TypeError,
  );
  const aborted = AbortSignal.abort(new Error("stop"));
  await assert.rejects(fetchPolicy("example.com", { resolver: querier, signal: aborted }), {
    message: "stop",
  });
});

Deno.test("parseCourierdTrustCerts() reads TLS_TRUSTCERTS as Courier's shell would", () => {
  assert.equal(parseCourierdTrustCerts("TLS_TRUSTCERTS=/etc/ca.pem # the bundle\n"), "/etc/ca.pem");
  assert.equal(parseCourierdTrustCerts("TLS_TRUSTCERTS='/a'\nTLS_TRUSTCERTS=\"/b\"\n"), "/b");
  assert.equal(parseCourierdTrustCerts("#TLS_TRUSTCERTS=/a\n"), undefined);
});

Deno.test("lookupSts() fetches, caches and reuses a policy through injected DNS and fetch", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const querier = tableQuerier(EXAMPLE_DNS);
    const server = policyServer(POLICY);
    const options = {
      resolver: querier,
      store: new StsStore(dir),
      connect: server.connect,
      now: () => 1_700_000_000_000,
    };
    const first = await lookupSts("Example.COM", options);
    assert.equal(first.domain, "example.com");
    assert.equal(first.enabled, true);
    assert.equal(first.policy?.mode, "enforce");
    assert.deepEqual(first.policy?.mx, ["mx.example.com"]);
    assert.equal(first.id, "20240101");
    assert.equal(first.source, "fetch");
    assert.equal(first.cache, "written");
    assert.equal(first.timestampSec, 1_700_000_000);
    assert.deepEqual(first.txt, { kind: "id", id: "20240101" });
    // The cache file's mtime is the real time of writing; a clock at that time finds it fresh.
    const second = await lookupSts("example.com", { ...options, now: Date.now });
    assert.equal(second.source, "cache");
    assert.equal(second.cache, "unchanged");
    assert.equal(second.policy?.text, POLICY);
    assert.equal(server.urls.length, 1);
    assert.deepEqual(querier.asked, ["_mta-sts.example.com TXT"]);

    // The store reads .cache_size once for its lifetime, and sees its own change.
    await options.store.writeCacheSize(0);
    const off = await lookupSts("example.com", options);
    assert.deepEqual(off, { enabled: false, cache: "unchanged", warnings: [] });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lookupDomain() computes each host's STS match and [ LOCAL ] once; renderJson() follows the schema", async () => {
  const querier = tableQuerier(EXAMPLE_DNS);
  const found = await lookupDomain("example.com", {
    resolver: querier,
    local: { hostname: "mx.example.com" },
  });
  // The injected fetch serves the policy: lookupSts is the same function lookupDomain calls.
  const sts = await lookupSts("example.com", {
    resolver: querier,
    connect: policyServer(POLICY).connect,
  });
  assert.equal(sts.policy?.mode, "enforce");
  assert.deepEqual(found.hosts.map((h) => [h.host, h.local, h.stsMatch]), [
    ["mx.example.com", true, null],
  ]);
  assert.deepEqual(found.hosts[0].addresses, [
    { ip: "192.0.2.1", family: 4, dnssec: false },
    { ip: "2001:db8::1", family: 6, dnssec: false },
  ]);
  const report = renderJson({
    ...found,
    sts,
    stsMode: "enforce",
    hosts: found.hosts.map((h) => ({ ...h, stsMatch: true })),
    trace: [{
      server: "127.0.0.1",
      name: "example.com",
      type: "MX",
      transport: "udp",
      edns: false,
      rcode: "NOERROR",
      startMs: 0.25,
      ms: 1.5,
    }],
    durationMs: 12.25,
  });
  assertValidReport(JSON.parse(JSON.stringify(report)));
  assert.equal(report.outcome, "ok");
  assert.equal(report.exitCode, 0);
  assert.equal(report.courierLine, null);
  assert.equal(report.sts.policy?.mode, "enforce");
  assert.deepEqual(report.mx.map((h) => [h.host, h.local, h.stsMatch, h.addresses.length]), [
    ["mx.example.com", true, true, 2],
  ]);
  assert.equal(report.mx[0].addresses[0].address, "::ffff:192.0.2.1");

  const failed = renderJson(await lookupDomain("nothing.example", { resolver: tableQuerier({}) }));
  assertValidReport(JSON.parse(JSON.stringify(failed)));
  assert.deepEqual([failed.outcome, failed.exitCode, failed.courierLine], [
    "hard",
    1,
    "nothing.example: hard error.",
  ]);
  const silent: Querier = {
    query: (_name, _type, options) =>
      new Promise((_, reject) =>
        options?.signal?.addEventListener("abort", () => reject(options.signal?.reason))
      ),
  };
  const deadline = renderJson(
    await lookupDomain("slow.example", { resolver: silent, deadlineMs: 5 }),
  );
  assertValidReport(JSON.parse(JSON.stringify(deadline)));
  assert.deepEqual([deadline.outcome, deadline.exitCode, deadline.courierLine], [
    "deadline",
    1,
    "slow.example: soft error.",
  ]);
});

Deno.test("denoHost() is the real machine, touched only when a method is called", async () => {
  const host = denoHost();
  assert.equal(await host.readTextFile("/nonexistent/testmxlookup"), undefined);
  const id = host.randomId();
  assert.ok(Number.isInteger(id) && id >= 0 && id <= 0xffff);
  assert.ok(Math.abs(host.now() - Date.now()) < 1000);
});

/** Runs a script with `deno run` and no permission flag: any access would be refused. */
async function runWithoutPermissions(source: string): Promise<Deno.CommandOutput> {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/script.ts`;
    await Deno.writeTextFile(script, source);
    return await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--config", CONFIG, "--cached-only", script],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("importing mod.ts has no side effects: no permission needed, nothing printed", async () => {
  const result = await runWithoutPermissions(`import ${JSON.stringify(MOD)};\n`);
  assert.equal(text(result.stderr), "");
  assert.equal(text(result.stdout), "");
  assert.equal(result.code, 0);
});

Deno.test("the pure exports run without any permission", async () => {
  const result = await runWithoutPermissions(`
import * as lib from ${JSON.stringify(MOD)};
const address = lib.formatAddress(lib.parseAddress("127.1")!);
const conf = lib.parseResolvConf("nameserver 192.0.2.53\\n");
const { policy } = lib.parsePolicy(${JSON.stringify(POLICY)});
const match = lib.matchesMx("mx.example.com", policy.mx);
const txt = lib.parseStsRecords([[new TextEncoder().encode("v=STSv1; id=1")]]);
const found = await lib.lookupDomain("[192.0.2.1]", { resolver: new lib.Resolver() });
const report = lib.renderJson(found);
const text = lib.formatReport({ ...found, outcome: "soft", domain: "a.test" });
console.log(JSON.stringify([address, conf.nameservers, match, txt.found,
  lib.entryName("A.Test."), report.mx[0].addresses[0].ip, text]));
`);
  assert.equal(text(result.stderr), "");
  assert.equal(result.code, 0);
  assert.deepEqual(JSON.parse(text(result.stdout)), [
    "::ffff:127.0.0.1",
    ["192.0.2.53"],
    true,
    true,
    "a.test",
    "192.0.2.1",
    "a.test: soft error.\n",
  ]);
});

// In-process library calls against the test world: the world runs programs inside its network
// namespace, so this script runs there and prints what the library returned as JSON.
const WORLD_SCRIPT = `
import {
  denoHost,
  DnsError,
  type ExchangeTrace,
  fetchPolicy,
  formatAddress,
  loadResolvConf,
  lookupDomain,
  lookupMx,
  lookupSts,
  type MxResult,
  renderJson,
  Resolver,
  StsError,
  StsStore,
} from ${JSON.stringify(MOD)};

const kindOf = (error: unknown): string =>
  error instanceof DnsError || error instanceof StsError ? error.kind : String(error);
const lines = (r: MxResult): string[] =>
  r.entries.map((e) => \`\${e.priority} \${e.host} \${formatAddress(e.address)}\`);
const trace: ExchangeTrace[] = [];
const resolver = new Resolver({
  servers: [{ address: "127.0.0.1" }],
  onExchange: (t) => trace.push(t),
});
const caCerts = [await Deno.readTextFile(${JSON.stringify(WORLD_CA_FILE)})];

const twoMx = await lookupMx("two-mx.test", { resolver });

// 20 lookups at once on one resolver, two domains interleaved: no reply may cross over.
const shared = new Resolver({ servers: [{ address: "127.0.0.1" }] });
const domains = Array.from({ length: 20 }, (_, i) => i % 2 ? "two-mx.test" : "sts-enforce.test");
const concurrent = await Promise.all(domains.map((d) => lookupMx(d, { resolver: shared })));

const dir = await Deno.makeTempDir();
let first, second, files;
try {
  const store = new StsStore(dir);
  first = await lookupSts("sts-enforce.test", { resolver, store, caCerts });
  second = await lookupSts("sts-enforce.test", { resolver, store, caCerts });
  files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
} finally {
  await Deno.remove(dir, { recursive: true });
}
const report = renderJson(await lookupDomain("sts-enforce.test", { resolver, caCerts }));
const fetched = await fetchPolicy("sts-enforce.test", { resolver, caCerts });
const untrusted = await fetchPolicy("sts-untrusted.test", { resolver, caCerts })
  .then(() => "ok", kindOf);
const redirect = await fetchPolicy("sts-redirect.test", { resolver, caCerts })
  .then(() => "ok", kindOf);
const nxdomain = await resolver.query("nxdomain.test", "MX").then(() => "ok", kindOf);
const conf = await loadResolvConf("/etc/resolv.conf", denoHost());

console.log(JSON.stringify({
  twoMx: lines(twoMx),
  concurrent: concurrent.map((r, i) => [domains[i], r.outcome, lines(r)]),
  first: { policy: first.policy, source: first.source, cache: first.cache, id: first.id },
  second: { source: second.source, cache: second.cache, reason: second.reason ?? null },
  files,
  report,
  fetched: { url: fetched.url, text: fetched.text },
  untrusted,
  redirect,
  nxdomain,
  conf: { nameservers: conf.nameservers, domain: conf.domain },
}));
`;

const TWO_MX = [
  "10 mx1.two-mx.test ::ffff:192.0.2.1",
  "10 mx1.two-mx.test 2001:db8::1",
  "20 mx2.two-mx.test ::ffff:192.0.2.2",
  "20 mx2.two-mx.test 2001:db8::2",
];
const STS_ENFORCE = [
  "10 mx1.sts-enforce.test ::ffff:203.0.113.1",
  "10 mx1.sts-enforce.test 2001:db8:113::1",
  "20 mx2.backup.sts-enforce.test ::ffff:203.0.113.2",
];

const unavailable = worldUnavailableReason();
if (unavailable !== undefined) {
  console.warn(`SKIPPING tests/mod_test.ts world test: test world unavailable: ${unavailable}`);
}

Deno.test({
  name: "the library in one process against the test world: MX, STS, concurrency, errors",
  ignore: unavailable !== undefined,
  async fn() {
    const world = await startWorld();
    const dir = await Deno.makeTempDir();
    try {
      const script = `${dir}/world_script.ts`;
      await Deno.writeTextFile(script, WORLD_SCRIPT);
      // --check: the script is type-checked against mod.ts before it runs.
      const run = await world.run(
        [Deno.execPath(), "run", "--check", "-A", "--config", CONFIG, "--cached-only", script],
        { timeoutMs: 60_000 },
      );
      assert.equal(run.code, 0, `--- stdout\n${text(run.stdout)}--- stderr\n${text(run.stderr)}`);
      const out = JSON.parse(text(run.stdout));

      assert.deepEqual(out.twoMx, TWO_MX);
      assert.equal(out.concurrent.length, 20);
      for (const [domain, outcome, lines] of out.concurrent) {
        assert.equal(outcome, "ok", domain);
        assert.deepEqual(lines, domain === "two-mx.test" ? TWO_MX : STS_ENFORCE, domain);
      }

      assert.deepEqual(out.first.policy.mx, ["mx1.sts-enforce.test", "*.backup.sts-enforce.test"]);
      assert.equal(out.first.policy.mode, "enforce");
      assert.equal(out.first.policy.maxAge, 86400);
      assert.deepEqual([out.first.id, out.first.source, out.first.cache], [
        "enforce1",
        "fetch",
        "written",
      ]);
      assert.deepEqual(out.second, { source: "cache", cache: "unchanged", reason: null });
      assert.deepEqual(out.files, ["sts-enforce.test"]);

      const report: JsonReport = out.report;
      assertValidReport(report);
      assert.equal(report.outcome, "ok");
      assert.equal(report.sts.policy?.id, "enforce1");
      assert.deepEqual(report.mx.map((h) => [h.host, h.stsMatch]), [
        ["mx1.sts-enforce.test", true],
        ["mx2.backup.sts-enforce.test", true],
      ]);
      assert.ok(report.trace.length > 0);
      const dns = report.trace.filter((t) => t.transport === "udp" || t.transport === "tcp");
      assert.ok(dns.length > 0 && dns.every((t) => t.server === "127.0.0.1"));
      // The download shows too: the connection, then the request.
      assert.deepEqual(
        report.trace.filter((t) => t.transport === "https").map((t) => [t.type, t.name]),
        [["CONNECT", "mta-sts.sts-enforce.test"], ["GET", "mta-sts.sts-enforce.test"]],
      );

      assert.equal(out.fetched.url, "https://mta-sts.sts-enforce.test/.well-known/mta-sts.txt");
      assert.equal(out.fetched.text, out.first.policy.text);
      assert.equal(out.untrusted, "TLS");
      assert.equal(out.redirect, "REDIRECT");
      assert.equal(out.nxdomain, "NXDOMAIN");
      assert.deepEqual(out.conf, { nameservers: ["127.0.0.1"], domain: "world.test" });
    } finally {
      await Deno.remove(dir, { recursive: true });
      await world.stop();
    }
  },
});
