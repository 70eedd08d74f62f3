import assert from "node:assert/strict";
import {
  type CliArgs,
  DEFAULT_BATCH_DEADLINE_MS,
  DEFAULT_CONCURRENCY,
  DEFAULT_DEADLINE_MS,
  DEFAULT_PROBE_TIMEOUT_MS,
  EXIT_CANTCREAT,
  EXIT_CONFIG,
  EXIT_DATAERR,
  EXIT_FAILURE,
  EXIT_INTERRUPTED,
  EXIT_IOERR,
  EXIT_NOINPUT,
  EXIT_NOPERM,
  EXIT_OK,
  EXIT_SOFTWARE,
  parseArgs,
} from "../../lib/cli/args.ts";
import { UsageError } from "../../lib/errors.ts";

const BASE: CliArgs = {
  action: "lookup",
  warnings: [],
  udpSize: 0,
  json: false,
  deadlineMs: DEFAULT_DEADLINE_MS,
  concurrency: DEFAULT_CONCURRENCY,
  probe: false,
  port: 25,
  probeTimeoutMs: DEFAULT_PROBE_TIMEOUT_MS,
};

interface Accepted {
  name: string;
  argv: string[];
  want: Partial<CliArgs>;
}

const ACCEPTED: Accepted[] = [
  // --probe (D33, D35).
  {
    name: "--probe turns the DO bit on and keeps the defaults",
    argv: ["--probe", "a.test"],
    want: { domain: "a.test", probe: true, udpSize: 1280, port: 25, probeTimeoutMs: 10_000 },
  },
  {
    name: "--probe keeps a payload size given",
    argv: ["--udpsize", "4096", "a.test", "--probe"],
    want: { domain: "a.test", probe: true, udpSize: 4096 },
  },
  {
    name: "--probe with --udpsize 0 still sets the DO bit",
    argv: ["--probe", "--udpsize", "0", "a.test"],
    want: { domain: "a.test", probe: true, udpSize: 1280 },
  },
  {
    name: "--port, --helo and --probe-timeout",
    argv: ["--probe", "--port=2525", "--helo", "mail.example", "--probe-timeout", "2.5", "a.test"],
    want: {
      domain: "a.test",
      probe: true,
      udpSize: 1280,
      port: 2525,
      helo: "mail.example",
      probeTimeoutMs: 2500,
    },
  },
  {
    name: "--batch --probe",
    argv: ["--batch", "-", "--probe"],
    want: { batchFile: "-", probe: true, udpSize: 1280, deadlineMs: DEFAULT_BATCH_DEADLINE_MS },
  },
  // Courier's grammar (docs/courier.md#argument-grammar).
  { name: "a bare domain is a lookup", argv: ["a.test"], want: { domain: "a.test" } },
  {
    name: "the domain is kept exactly as typed",
    argv: ["[127.0.0.1],X"],
    want: { domain: "[127.0.0.1],X" },
  },
  { name: "an empty argument is the domain", argv: [""], want: { domain: "" } },
  {
    name: "--dnssec sets the payload to 1280",
    argv: ["--dnssec", "a.test"],
    want: { domain: "a.test", udpSize: 1280 },
  },
  {
    name: "--udpsize alone enables EDNS with its size",
    argv: ["--udpsize", "512", "a.test"],
    want: { domain: "a.test", udpSize: 512 },
  },
  {
    name: "--udpsize 0 after --dnssec turns EDNS off",
    argv: ["--dnssec", "--udpsize", "0", "a.test"],
    want: { domain: "a.test", udpSize: 0 },
  },
  {
    name: "--dnssec after --udpsize wins",
    argv: ["--udpsize", "512", "--dnssec", "a.test"],
    want: { domain: "a.test", udpSize: 1280 },
  },
  {
    name: "--udpsize accepts 65535",
    argv: ["--udpsize", "65535", "a.test"],
    want: { domain: "a.test", udpSize: 65535 },
  },
  {
    name: "--udpsize=n is accepted too",
    argv: ["--udpsize=1232", "a.test"],
    want: { domain: "a.test", udpSize: 1232 },
  },
  {
    name: "--sts shows the policy",
    argv: ["--sts", "a.test"],
    want: { action: "sts", domain: "a.test" },
  },
  {
    name: "repeated flags count once",
    argv: ["--sts", "--sts", "a.test"],
    want: { action: "sts", domain: "a.test" },
  },
  { name: "--sts-expire takes no domain", argv: ["--sts-expire"], want: { action: "expire" } },
  {
    name: "--sts-purge takes a domain",
    argv: ["--sts-purge", "a.test"],
    want: { action: "purge", domain: "a.test" },
  },
  {
    name: "--sts-override= keeps the mode raw",
    argv: ["--sts-override=bogus", "a.test"],
    want: { action: "override", domain: "a.test", overrideMode: "bogus" },
  },
  {
    name: "--sts-override= accepts an empty mode",
    argv: ["--sts-override=", "a.test"],
    want: { action: "override", domain: "a.test", overrideMode: "" },
  },
  {
    name: "the last --sts-override= wins",
    argv: ["--sts-override=none", "--sts-override=enforce", "a.test"],
    want: { action: "override", domain: "a.test", overrideMode: "enforce" },
  },
  {
    name: "--sts-cache-disable takes no domain",
    argv: ["--sts-cache-disable"],
    want: { action: "cache-disable" },
  },
  {
    name: "--sts-cache-enable without a size",
    argv: ["--sts-cache-enable"],
    want: { action: "cache-enable" },
  },
  {
    name: "--sts-cache-enable=1 is the smallest size",
    argv: ["--sts-cache-enable=1"],
    want: { action: "cache-enable", cacheSize: 1 },
  },
  {
    name: "--sts-cache-enable=999999 is the largest size",
    argv: ["--sts-cache-enable=999999"],
    want: { action: "cache-enable", cacheSize: 999999 },
  },
  {
    name: "--sts-cache-enable=007 is 7",
    argv: ["--sts-cache-enable=007"],
    want: { action: "cache-enable", cacheSize: 7 },
  },
  {
    name: "plain --sts-cache-enable after =N drops the size",
    argv: ["--sts-cache-enable=5", "--sts-cache-enable"],
    want: { action: "cache-enable" },
  },
  // @ lists (docs/courier.md#the-server-list-argument).
  {
    name: "@ takes one server",
    argv: ["@127.0.0.1", "a.test"],
    want: { domain: "a.test", servers: ["127.0.0.1"] },
  },
  {
    name: "@ splits on commas and runs of spaces, skipping empty pieces",
    argv: ["@,127.0.0.1,, ::1  127.1,", "a.test"],
    want: { domain: "a.test", servers: ["127.0.0.1", "::1", "127.1"] },
  },
  {
    name: "@ keeps four valid addresses and ignores later pieces unchecked",
    argv: ["@1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,bogus,5.5.5.5", "a.test"],
    want: { domain: "a.test", servers: ["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"] },
  },
  {
    name: "@ warns about invalid pieces in Courier's words and keeps the valid ones",
    argv: ["@bogus,0x7f.1,192.0.2.1,fe80::1%eth0", "a.test"],
    want: {
      domain: "a.test",
      servers: ["192.0.2.1"],
      warnings: [
        "bogus: invalid IP address\n",
        "0x7f.1: invalid IP address\n",
        "fe80::1%eth0: invalid IP address\n",
      ],
    },
  },
  {
    name: "invalid pieces count toward nothing: four valid ones after them are kept",
    argv: ["@x,1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4", "a.test"],
    want: {
      domain: "a.test",
      servers: ["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"],
      warnings: ["x: invalid IP address\n"],
    },
  },
  {
    name: "a later @ replaces the earlier list but earlier warnings stay",
    argv: ["@x,10.0.0.1", "@::1", "a.test"],
    want: { domain: "a.test", servers: ["::1"], warnings: ["x: invalid IP address\n"] },
  },
  // D11: options anywhere.
  {
    name: "options after the domain count (D11)",
    argv: ["a.test", "--dnssec", "@::1"],
    want: { domain: "a.test", udpSize: 1280, servers: ["::1"] },
  },
  {
    name: "--sts-override= as the last argument works (D11)",
    argv: ["a.test", "--sts-override=testing"],
    want: { action: "override", domain: "a.test", overrideMode: "testing" },
  },
  {
    name: "--sts-override= followed by another option works (D11)",
    argv: ["--sts-override=testing", "--dnssec", "sts.test"],
    want: { action: "override", domain: "sts.test", overrideMode: "testing", udpSize: 1280 },
  },
  {
    name: "--sts after the domain counts (D11)",
    argv: ["a.test", "--sts"],
    want: { action: "sts", domain: "a.test" },
  },
  // New options.
  { name: "--json sets json", argv: ["--json", "a.test"], want: { domain: "a.test", json: true } },
  {
    name: "--deadline takes seconds",
    argv: ["--deadline", "5", "a.test"],
    want: { domain: "a.test", deadlineMs: 5000 },
  },
  {
    name: "--deadline=0.25 takes fractions",
    argv: ["--deadline=0.25", "a.test"],
    want: { domain: "a.test", deadlineMs: 250 },
  },
  {
    name: "path options are kept as given",
    argv: [
      "--sts-dir",
      "/tmp/sts",
      "--resolv-conf=/tmp/resolv.conf",
      "--config-dir",
      "/tmp/courier",
      "--ca-file",
      "/tmp/ca.pem",
      "a.test",
    ],
    want: {
      domain: "a.test",
      stsDir: "/tmp/sts",
      resolvConf: "/tmp/resolv.conf",
      configDir: "/tmp/courier",
      caFile: "/tmp/ca.pem",
    },
  },
  {
    name: "a separate option value may start with a dash",
    argv: ["--sts-dir", "-odd", "a.test"],
    want: { domain: "a.test", stsDir: "-odd" },
  },
  {
    name: "--batch replaces the domain and makes the deadline each domain's",
    argv: ["--batch", "-", "--concurrency", "16"],
    want: { batchFile: "-", concurrency: 16, deadlineMs: DEFAULT_BATCH_DEADLINE_MS },
  },
  {
    name: "--deadline with --batch is each domain's deadline, in either order",
    argv: ["--deadline", "2.5", "--batch", "in.txt", "--concurrency=256"],
    want: { batchFile: "in.txt", concurrency: 256, deadlineMs: 2500 },
  },
  {
    name: "--shard and --resume with --batch",
    argv: ["--batch", "in.txt", "--shard", "3/8", "--resume=out.ndjson"],
    want: {
      batchFile: "in.txt",
      deadlineMs: DEFAULT_BATCH_DEADLINE_MS,
      shard: { index: 3, count: 8 },
      resumeFile: "out.ndjson",
    },
  },
  {
    name: "--help wins over everything",
    argv: ["--bogus", "x", "y", "--help"],
    want: { action: "help" },
  },
  { name: "--version needs no domain", argv: ["--version"], want: { action: "version" } },
  { name: "--help wins over --version", argv: ["--version", "--help"], want: { action: "help" } },
];

for (const { name, argv, want } of ACCEPTED) {
  Deno.test(`parseArgs() ${name}`, () => {
    assert.deepEqual(parseArgs(argv), { ...BASE, ...want });
  });
}

interface Rejected {
  name: string;
  argv: string[];
  message: string;
  showUsage: boolean;
}

const COURIER_USAGE = { message: "", showUsage: true };

const REJECTED: Rejected[] = [
  {
    name: "--probe with --sts",
    argv: ["--probe", "--sts", "a.test"],
    message: "testmxlookup: Option --probe works only for MX lookups",
    showUsage: true,
  },
  {
    name: "--port 0",
    argv: ["--port", "0", "a.test"],
    message: 'testmxlookup: Invalid value "0" for --port: expected a port number from 1 to 65535',
    showUsage: false,
  },
  {
    name: "--helo with a command in it",
    argv: ["--helo", "x\r\nMAIL FROM:<a@b>", "a.test"],
    message:
      'testmxlookup: Invalid value "x\\r\\nMAIL FROM:<a@b>" for --helo: expected a host name or an [address] literal',
    showUsage: false,
  },
  {
    name: "--probe-timeout 0",
    argv: ["--probe-timeout", "0", "a.test"],
    message:
      'testmxlookup: Invalid value "0" for --probe-timeout: expected seconds, more than 0 and at most 600',
    showUsage: false,
  },
  // Courier's usage check (docs/courier.md#usage-text): usage only.
  // Courier's usage check (docs/courier.md#usage-text): usage only.
  { name: "no arguments print the usage", argv: [], ...COURIER_USAGE },
  { name: "options without a domain print the usage", argv: ["--dnssec"], ...COURIER_USAGE },
  { name: "--sts without a domain prints the usage", argv: ["--sts"], ...COURIER_USAGE },
  {
    name: "two actions print the usage",
    argv: ["--sts", "--sts-purge", "a.test"],
    ...COURIER_USAGE,
  },
  {
    name: "--sts-override= with --sts prints the usage",
    argv: ["--sts-override=none", "--sts", "a.test"],
    ...COURIER_USAGE,
  },
  {
    name: "cache enable and disable together print the usage",
    argv: ["--sts-cache-enable", "--sts-cache-disable"],
    ...COURIER_USAGE,
  },
  {
    name: "--sts-expire with a domain prints the usage",
    argv: ["--sts-expire", "a.test"],
    ...COURIER_USAGE,
  },
  {
    name: "--sts-cache-disable with a domain prints the usage",
    argv: ["a.test", "--sts-cache-disable"],
    ...COURIER_USAGE,
  },
  {
    name: "--sts-cache-enable=5 with a domain prints the usage",
    argv: ["--sts-cache-enable=5", "a.test"],
    ...COURIER_USAGE,
  },
  // Courier's `Invalid option.` (docs/courier.md#argument-grammar), before the usage check.
  ...["0", "1000000", "abc", "", "5x", "+5", " 5", "-1"].map((n) => ({
    name: `--sts-cache-enable=${JSON.stringify(n)} is Courier's "Invalid option."`,
    argv: [`--sts-cache-enable=${n}`, "a.test"],
    message: "Invalid option.",
    showUsage: false,
  })),
  // D11.
  {
    name: "an unknown option is a usage error (D11)",
    argv: ["--bogus"],
    message: 'testmxlookup: Unknown option "--bogus"',
    showUsage: true,
  },
  {
    name: "an unknown option after the domain is a usage error (D11)",
    argv: ["a.test", "-x"],
    message: 'testmxlookup: Unknown option "-x"',
    showUsage: true,
  },
  {
    name: "--sts-override without = is an unknown option",
    argv: ["--sts-override", "none", "a.test"],
    message: 'testmxlookup: Unknown option "--sts-override"',
    showUsage: true,
  },
  {
    name: "a flag given a value is an unknown option",
    argv: ["--dnssec=1", "a.test"],
    message: 'testmxlookup: Unknown option "--dnssec=1"',
    showUsage: true,
  },
  {
    name: "options are case-sensitive",
    argv: ["--DNSSEC", "a.test"],
    message: 'testmxlookup: Unknown option "--DNSSEC"',
    showUsage: true,
  },
  {
    name: "a second domain is a usage error (D11)",
    argv: ["a.test", "b.test"],
    message: 'testmxlookup: Unexpected argument "b.test": the domain is already "a.test"',
    showUsage: true,
  },
  {
    name: "@ with nothing after it is an error (D11)",
    argv: ["@", "a.test"],
    message: 'testmxlookup: No valid name server address in "@"',
    showUsage: false,
  },
  {
    name: "@ with only invalid pieces is an error (D11)",
    argv: ["@bogus,", "a.test"],
    message: 'testmxlookup: No valid name server address in "@bogus,"',
    showUsage: false,
  },
  {
    name: "--udpsize at the end needs a value",
    argv: ["a.test", "--udpsize"],
    message: "testmxlookup: Option --udpsize needs a value",
    showUsage: true,
  },
  ...["65536", "70000", "-1", "abc", "", "0x10", "1e3", "12345678901"].map((n) => ({
    name: `--udpsize ${JSON.stringify(n)} is out of 0..65535 (D11)`,
    argv: ["--udpsize", n, "a.test"],
    message: `testmxlookup: Invalid value ${
      JSON.stringify(n)
    } for --udpsize: expected a number from 0 to 65535`,
    showUsage: false,
  })),
  {
    name: "--udpsize does not take the next option as its value silently",
    argv: ["--udpsize", "--dnssec", "a.test"],
    message:
      'testmxlookup: Invalid value "--dnssec" for --udpsize: expected a number from 0 to 65535',
    showUsage: false,
  },
  ...["0", "-1", "abc", "86401", "1.2345"].map((n) => ({
    name: `--deadline ${JSON.stringify(n)} is rejected`,
    argv: ["--deadline", n, "a.test"],
    message: `testmxlookup: Invalid value ${
      JSON.stringify(n)
    } for --deadline: expected seconds, more than 0 and at most 86400`,
    showUsage: false,
  })),
  ...["0", "257"].map((n) => ({
    name: `--concurrency ${n} is rejected`,
    argv: ["--batch", "f", "--concurrency", n],
    message:
      `testmxlookup: Invalid value "${n}" for --concurrency: expected a number from 1 to 256`,
    showUsage: false,
  })),
  {
    name: "an empty path is rejected",
    argv: ["--sts-dir=", "a.test"],
    message: 'testmxlookup: Invalid value "" for --sts-dir: expected a path',
    showUsage: false,
  },
  {
    name: "--batch with a domain is a usage error",
    argv: ["--batch", "f", "a.test"],
    message: "testmxlookup: Option --batch takes no domain argument",
    showUsage: true,
  },
  ...["8/8", "-1/8", "1/0", "a/b", "3"].map((shard) => ({
    name: `--shard ${shard} is rejected`,
    argv: ["--batch", "f", "--shard", shard],
    message:
      `testmxlookup: Invalid value "${shard}" for --shard: expected K/N with 0 <= K < N <= 1000000`,
    showUsage: false,
  })),
  {
    name: "--shard without --batch is a usage error",
    argv: ["--shard", "0/2", "a.test"],
    message: "testmxlookup: Option --shard works only with --batch",
    showUsage: true,
  },
  {
    name: "--resume without --batch is a usage error",
    argv: ["a.test", "--resume", "out"],
    message: "testmxlookup: Option --resume works only with --batch",
    showUsage: true,
  },
  {
    name: "--batch with an STS action is a usage error",
    argv: ["--batch", "f", "--sts"],
    message: "testmxlookup: Option --batch works only for MX lookups",
    showUsage: true,
  },
];

for (const { name, argv, message, showUsage } of REJECTED) {
  Deno.test(`parseArgs() rejects: ${name}`, () => {
    assert.throws(() => parseArgs(argv), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.deepEqual(
        { message: error.message, exitCode: error.exitCode, showUsage: error.showUsage },
        { message, exitCode: 1, showUsage },
      );
      return true;
    });
  });
}

Deno.test("parseArgs() reports the first error from the left", () => {
  assert.throws(() => parseArgs(["--sts-cache-enable=0", "--bogus"]), {
    message: "Invalid option.",
  });
  assert.throws(() => parseArgs(["--bogus", "--sts-cache-enable=0"]), {
    message: 'testmxlookup: Unknown option "--bogus"',
  });
});

Deno.test("parseArgs() does not change its input", () => {
  const argv = Object.freeze(["--udpsize", "512", "a.test"]);
  parseArgs(argv);
  assert.deepEqual(argv, ["--udpsize", "512", "a.test"]);
});

Deno.test("exit codes are Courier's 0 and 1, then sysexits values, all distinct", () => {
  const codes = [
    EXIT_OK,
    EXIT_FAILURE,
    EXIT_DATAERR,
    EXIT_NOINPUT,
    EXIT_SOFTWARE,
    EXIT_CANTCREAT,
    EXIT_IOERR,
    EXIT_NOPERM,
    EXIT_CONFIG,
    EXIT_INTERRUPTED,
  ];
  assert.deepEqual(codes, [0, 1, 65, 66, 70, 73, 74, 77, 78, 130]);
});
