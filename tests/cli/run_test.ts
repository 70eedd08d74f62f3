import assert from "node:assert/strict";
import type { CliHost } from "../../lib/cli/cli_host.ts";
import { runCli } from "../../lib/cli/run.ts";
import { USAGE } from "../../lib/report/text.ts";

/** A CLI host with files from a table and no network: enough for every path without DNS. */
// Every run gets an STS cache of its own, disabled (`.cache_size` 0) unless a test says else.
const STS_DIR = Deno.makeTempDirSync({ prefix: "run_test_sts_" });
Deno.writeTextFileSync(`${STS_DIR}/.cache_size`, "0\n");
globalThis.addEventListener("unload", () => Deno.removeSync(STS_DIR, { recursive: true }));

function fakeHost(files: Record<string, string> = {}, env: Record<string, string> = {}) {
  env = { TESTMXLOOKUP_STS_DIR: STS_DIR, ...env };
  const out = { stdout: "", stderr: "" };
  const host: CliHost = {
    openUdp: () => {
      throw new Error("no network in this test");
    },
    connectTcp: () => Promise.reject(new Error("no network in this test")),
    now: () => 0,
    readTextFile: (path) => {
      const text = files[path];
      if (text === "<EACCES>") return Promise.reject(new Error("Permission denied"));
      return Promise.resolve(text);
    },
    randomId: () => 1,
    hostname: () => "worldhost",
    env: (name) => env[name],
    stdout: (text) => Promise.resolve(void (out.stdout += text)),
    stderr: (text) => Promise.resolve(void (out.stderr += text)),
    isStderrTerminal: () => false,
  };
  return { host, out };
}

Deno.test("runCli() prints Courier's usage on stderr and exits 1 without arguments", async () => {
  const { host, out } = fakeHost();
  assert.equal(await runCli([], host), 1);
  assert.equal(out.stdout, "");
  assert.equal(out.stderr, USAGE);
});

Deno.test("runCli() rejects an unknown option with one line and the usage (D11)", async () => {
  const { host, out } = fakeHost();
  assert.equal(await runCli(["--bogus", "x.test"], host), 1);
  assert.equal(out.stdout, "");
  assert.match(out.stderr, /^testmxlookup: .*--bogus.*\nUsage: testmxlookup/);
});

Deno.test("runCli() answers [address] without DNS", async () => {
  const { host, out } = fakeHost();
  assert.equal(await runCli(["[192.0.2.1]"], host), 0);
  assert.equal(
    out.stdout,
    "Domain [192.0.2.1]:\nRelay: [192.0.2.1], Priority: -1, Address: ::ffff:192.0.2.1\n",
  );
});

Deno.test("runCli() marks a local host with [ LOCAL ] from the Courier configuration", async () => {
  const { host, out } = fakeHost({ "/etc/courier/locals": "[192.0.2.1]\n" });
  assert.equal(await runCli(["[192.0.2.1]"], host), 0);
  assert.match(out.stdout, /Address: ::ffff:192\.0\.2\.1 \[ LOCAL \]\n$/);
});

Deno.test("runCli() explains Courier's bare hard error on stderr (C6)", async () => {
  const { host, out } = fakeHost();
  assert.equal(await runCli(["192.0.2.1"], host), 1);
  assert.equal(out.stdout, "192.0.2.1: hard error.\n");
  assert.match(out.stderr, /^testmxlookup: "192\.0\.2\.1" is an IP address/);
});

Deno.test("runCli() refuses an unsendable name before any packet, as an internal error", async () => {
  const { host, out } = fakeHost();
  assert.equal(await runCli(["a..b.test"], host), 1);
  assert.equal(out.stdout, "a..b.test: internal error.\n");
  assert.match(out.stderr, /empty label/);
});

Deno.test("runCli() gives a name that cannot be asked one reason line, also with STS on", async () => {
  const dir = await Deno.makeTempDir({ prefix: "run_test_sts_on_" });
  try {
    const { host, out } = fakeHost({}, { TESTMXLOOKUP_STS_DIR: dir });
    const name = `${"a".repeat(64)}.test`;
    assert.equal(await runCli([name], host), 1);
    assert.equal(out.stdout, `${name}: internal error.\n`);
    assert.equal(
      out.stderr,
      `testmxlookup: "${name}" has a label longer than 63 octets\n`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runCli() completes a dotless name with resolv.conf's domain", async () => {
  const { host, out } = fakeHost({
    "/etc/resolv.conf": "domain world.test\nnameserver 127.0.0.1\n",
  });
  // Completion happens before the address check: "1" is then a name, and the query fails.
  assert.equal(await runCli(["1"], host), 1);
  assert.equal(out.stdout, "1: soft error.\n");
  assert.match(out.stderr, /no network in this test/);
});

Deno.test("runCli() fails with exit 78 and one line when resolv.conf cannot be read", async () => {
  const { host, out } = fakeHost({ "/etc/resolv.conf": "<EACCES>" });
  assert.equal(await runCli(["x.test"], host), 78);
  assert.equal(out.stdout, "");
  assert.equal(
    out.stderr,
    "testmxlookup: Cannot read resolver configuration /etc/resolv.conf: Permission denied\n",
  );
});

Deno.test("runCli() takes the resolv.conf path from TESTMXLOOKUP_RESOLV_CONF", async () => {
  const { host, out } = fakeHost({ "/tmp/r.conf": "<EACCES>" }, {
    TESTMXLOOKUP_RESOLV_CONF: "/tmp/r.conf",
  });
  assert.equal(await runCli(["x.test"], host), 78);
  assert.match(out.stderr, /\/tmp\/r\.conf/);
});

Deno.test("runCli() prints --help on stdout and --version", async () => {
  const help = fakeHost();
  assert.equal(await runCli(["--help"], help.host), 0);
  assert.ok(help.out.stdout.startsWith(USAGE));
  const version = fakeHost();
  assert.equal(await runCli(["--version"], version.host), 0);
  assert.match(version.out.stdout, /^testmxlookup \d+\.\d+\.\d+\n$/);
});
