import assert from "node:assert/strict";
import { UsageError } from "../../lib/errors.ts";
import {
  type AddressReport,
  type DomainReport,
  type HostReport,
  NO_STS,
} from "../../lib/lookup/domain_report.ts";
import {
  cachedPolicyNotFoundLine,
  ctime,
  domainLine,
  type FailureKind,
  failureLine,
  formatReport,
  HELP,
  invalidAddressLine,
  noWritePermissionLine,
  pathErrorLine,
  reasonLine,
  type RelayLine,
  relayLine,
  reloadingLine,
  stsDisplay,
  stsFailedLine,
  stsModeLine,
  stsPolicyNotFoundLine,
  unknownStsPolicyLine,
  USAGE,
  usageErrorText,
  versionLine,
} from "../../lib/report/text.ts";

Deno.test("USAGE is Courier's 12 lines and 651 bytes", () => {
  assert.equal(new TextEncoder().encode(USAGE).length, 651);
  assert.equal(USAGE.split("\n").length - 1, 12);
  assert.ok(USAGE.startsWith("Usage: testmxlookup [options] [domain]\n   @ip-address "));
  assert.ok(USAGE.endsWith("(none,\n                       testing, enforce)\n"));
});

Deno.test("HELP starts with Courier's usage and names every new option", () => {
  assert.ok(HELP.startsWith(USAGE));
  for (
    const option of [
      "--json",
      "--deadline",
      "--batch",
      "--concurrency",
      "--shard",
      "--resume",
      "--help",
      "--version",
    ]
  ) {
    assert.ok(HELP.includes(`   ${option} `), option);
  }
  for (
    const option of [
      "--resolv-conf",
      "--config-dir",
      "--sts-dir",
      "--ca-file",
      "--probe",
      "--port",
      "--helo",
      "--probe-timeout",
    ]
  ) {
    assert.ok(HELP.includes(`   ${option} `), option);
  }
});

Deno.test("domainLine() and stsModeLine() print Courier's header", () => {
  assert.equal(domainLine("Example.COM,x"), "Domain Example.COM,x:\n");
  assert.equal(stsModeLine("testing"), "STS: testing\n");
  assert.equal(stsModeLine("enforce"), "STS: enforcing\n");
  assert.equal(stsModeLine("none"), "");
  assert.equal(stsModeLine(undefined), "");
});

const RELAY: RelayLine = {
  host: "mx.a.test",
  priority: 10,
  address: "::ffff:192.0.2.1",
  local: false,
  dnssec: false,
};

const RELAY_CASES: { name: string; line: Partial<RelayLine>; want: string }[] = [
  {
    name: "passes ::ffff: addresses through",
    line: {},
    want: "Relay: mx.a.test, Priority: 10, Address: ::ffff:192.0.2.1\n",
  },
  {
    name: "prints priority -1 for the implicit MX",
    line: { priority: -1, address: "2001:db8::1" },
    want: "Relay: mx.a.test, Priority: -1, Address: 2001:db8::1\n",
  },
  {
    name: "adds [ LOCAL ]",
    line: { local: true },
    want: "Relay: mx.a.test, Priority: 10, Address: ::ffff:192.0.2.1 [ LOCAL ]\n",
  },
  {
    name: "adds (DNSSEC)",
    line: { dnssec: true },
    want: "Relay: mx.a.test, Priority: 10, Address: ::ffff:192.0.2.1 (DNSSEC)\n",
  },
  {
    name: "adds [ ERROR ] when host and address text are identical",
    line: { host: "::ffff:0.0.0.10", address: "::ffff:0.0.0.10" },
    want: "Relay: ::ffff:0.0.0.10, Priority: 10, Address: ::ffff:0.0.0.10 [ ERROR ]\n",
  },
  {
    name: "orders the suffixes LOCAL, ERROR, DNSSEC",
    line: { host: "::1", address: "::1", local: true, dnssec: true },
    want: "Relay: ::1, Priority: 10, Address: ::1 [ LOCAL ] [ ERROR ] (DNSSEC)\n",
  },
  {
    name: "compares host and address byte for byte (case matters)",
    line: { host: "2001:DB8::1", address: "2001:db8::1" },
    want: "Relay: 2001:DB8::1, Priority: 10, Address: 2001:db8::1\n",
  },
  {
    name: "prints U-label hosts as given",
    line: { host: "bücher.idn.test" },
    want: "Relay: bücher.idn.test, Priority: 10, Address: ::ffff:192.0.2.1\n",
  },
];

for (const { name, line, want } of RELAY_CASES) {
  Deno.test(`relayLine() ${name}`, () => {
    assert.equal(relayLine({ ...RELAY, ...line }), want);
  });
}

Deno.test("failureLine() prints each of Courier's failure lines", () => {
  const want: Record<FailureKind, string> = {
    soft: "a.test: soft error.\n",
    hard: "a.test: hard error.\n",
    internal: "a.test: internal error.\n",
    cname: "a.test: bad DNS records (recursive CNAME).\n",
    nomail: "a.test: no mail.\n",
  };
  for (const [kind, line] of Object.entries(want)) {
    assert.equal(failureLine("a.test", kind as FailureKind), line);
  }
});

Deno.test("the STS and message lines are Courier's", () => {
  assert.equal(stsFailedLine("mx.a.test"), "ERROR: STS Policy verification failed: mx.a.test\n");
  assert.equal(reloadingLine("a.test"), "Reloading a.test\n");
  assert.equal(unknownStsPolicyLine("bogus"), "Unknown STS policy: bogus\n");
  assert.equal(unknownStsPolicyLine(""), "Unknown STS policy: \n");
  assert.equal(
    cachedPolicyNotFoundLine("nocache.test"),
    "nocache.test: cached policy not found.\n",
  );
  assert.equal(
    noWritePermissionLine("/var/lib/courier/sts/sts.test"),
    "/var/lib/courier/sts/sts.test: no write permission.\n",
  );
  assert.equal(stsPolicyNotFoundLine("a.test"), "a.test: STS policy not found.\n");
  assert.equal(invalidAddressLine("bogus"), "bogus: invalid IP address\n");
  assert.equal(
    pathErrorLine("/var/lib/courier/sts/never.test", "No such file or directory"),
    "/var/lib/courier/sts/never.test: No such file or directory\n",
  );
  assert.equal(
    reasonLine("Cannot read /etc/resolv.conf"),
    "testmxlookup: Cannot read /etc/resolv.conf\n",
  );
  assert.equal(versionLine("0.1.0"), "testmxlookup 0.1.0\n");
});

Deno.test("usageErrorText() prints the message, then the usage when asked", () => {
  assert.equal(usageErrorText(new UsageError("", 1, true)), USAGE);
  assert.equal(usageErrorText(new UsageError("Invalid option.", 1)), "Invalid option.\n");
  assert.equal(
    usageErrorText(new UsageError('testmxlookup: Unknown option "--x"', 1, true)),
    'testmxlookup: Unknown option "--x"\n' + USAGE,
  );
});

function report(domain: string, fields: Partial<DomainReport> = {}): DomainReport {
  return {
    domain,
    outcome: "ok",
    hosts: [],
    sts: NO_STS,
    warnings: [],
    trace: [],
    ...fields,
    durationMs: 0,
  };
}

const V4: AddressReport = { ip: "192.0.2.1", family: 4, dnssec: false };

function host(
  name: string,
  fields: Partial<HostReport>,
  ...addresses: AddressReport[]
): HostReport {
  return {
    host: name,
    priority: 10,
    outcome: "ok",
    source: "query",
    local: false,
    stsMatch: null,
    errors: [],
    ...fields,
    addresses: addresses.length > 0 ? addresses : [V4],
  };
}

const REPORTS: { name: string; report: DomainReport; want: string }[] = [
  {
    name: "prints a failure as its single line",
    report: report("A.Test", { outcome: "soft" }),
    want: "A.Test: soft error.\n",
  },
  {
    name: "prints a reached deadline as Courier's soft error (D4)",
    report: report("a.test", { outcome: "deadline" }),
    want: "a.test: soft error.\n",
  },
  {
    name: "prints the domain line and relays without STS",
    report: report("a.test", {
      hosts: [host("mx.a.test", {}, V4, { ip: "2001:db8::1", family: 6, dnssec: true })],
    }),
    want: "Domain a.test:\n" +
      "Relay: mx.a.test, Priority: 10, Address: ::ffff:192.0.2.1\n" +
      "Relay: mx.a.test, Priority: 10, Address: 2001:db8::1 (DNSSEC)\n",
  },
  {
    name: "prints no ERROR lines for mode none",
    report: report("a.test", { stsMode: "none", hosts: [host("mx.a.test", { stsMatch: false })] }),
    want: "Domain a.test:\nRelay: mx.a.test, Priority: 10, Address: ::ffff:192.0.2.1\n",
  },
  {
    name: "prints the ERROR line after every address line of a non-matching host",
    report: report("a.test", {
      stsMode: "enforce",
      hosts: [
        host("good.a.test", { stsMatch: true }),
        host("bad.a.test", { stsMatch: false }, V4, {
          ip: "2001:db8::2",
          family: 6,
          dnssec: false,
        }),
      ],
    }),
    want: "Domain a.test:\nSTS: enforcing\n" +
      "Relay: good.a.test, Priority: 10, Address: ::ffff:192.0.2.1\n" +
      "Relay: bad.a.test, Priority: 10, Address: ::ffff:192.0.2.1\n" +
      "ERROR: STS Policy verification failed: bad.a.test\n" +
      "Relay: bad.a.test, Priority: 10, Address: 2001:db8::2\n" +
      "ERROR: STS Policy verification failed: bad.a.test\n",
  },
  {
    name: "prints STS: testing and its ERROR lines",
    report: report("a.test", {
      stsMode: "testing",
      hosts: [host("mx.a.test", { local: true, stsMatch: false })],
    }),
    want: "Domain a.test:\nSTS: testing\n" +
      "Relay: mx.a.test, Priority: 10, Address: ::ffff:192.0.2.1 [ LOCAL ]\n" +
      "ERROR: STS Policy verification failed: mx.a.test\n",
  },
  {
    name: "prints an IPv4 address from an AAAA record as glibc does",
    report: report("a.test", {
      hosts: [host("mx.a.test", {}, { ip: "::ffff:192.0.2.7", family: 6, dnssec: false })],
    }),
    want: "Domain a.test:\nRelay: mx.a.test, Priority: 10, Address: ::ffff:192.0.2.7\n",
  },
  {
    name: "prints only the domain line when there are no entries",
    report: report("a.test"),
    want: "Domain a.test:\n",
  },
];

for (const { name, report, want } of REPORTS) {
  Deno.test(`formatReport() ${name}`, () => {
    assert.equal(formatReport(report), want);
  });
}

Deno.test("ctime() space-pads the day and zero-pads the time from local fields", () => {
  assert.equal(ctime(new Date(2024, 10, 5, 9, 3, 7)), "Tue Nov  5 09:03:07 2024\n");
  assert.equal(ctime(new Date(2025, 0, 31, 23, 59, 59)), "Fri Jan 31 23:59:59 2025\n");
  assert.equal(ctime(new Date(2163, 5, 1, 0, 0, 0)), "Wed Jun  1 00:00:00 2163\n");
});

Deno.test("ctime() rejects an invalid date", () => {
  assert.throws(() => ctime(new Date(NaN)), RangeError);
});

async function ctimeIn(tz: string, ms: number): Promise<string> {
  const url = new URL("../../lib/report/text.ts", import.meta.url).href;
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { ctime } from "${url}"; Deno.stdout.write(new TextEncoder().encode(ctime(new Date(${ms}))));`,
    ],
    env: { TZ: tz },
    stdout: "piped",
    stderr: "inherit",
    signal: AbortSignal.timeout(20_000),
  }).output();
  assert.equal(code, 0);
  return new TextDecoder().decode(stdout);
}

Deno.test("ctime() follows the TZ of the process", async () => {
  const ms = Date.UTC(2024, 10, 5, 9, 3, 7);
  assert.equal(await ctimeIn("UTC", ms), "Tue Nov  5 09:03:07 2024\n");
  assert.equal(await ctimeIn("Asia/Tokyo", ms), "Tue Nov  5 18:03:07 2024\n");
  assert.equal(await ctimeIn("America/New_York", ms), "Tue Nov  5 04:03:07 2024\n");
});

Deno.test("stsDisplay() prints the header, a blank line and the policy verbatim", () => {
  const timestamp = new Date(2024, 10, 5, 9, 3, 7);
  const expiration = new Date(2024, 10, 12, 9, 3, 7);
  const policy = "version: STSv1\nmode: enforce\nmx: mx.a.test\nmax_age: 604800";
  assert.equal(
    stsDisplay({ id: "20240101", cached: true, timestamp, expiration, policy }),
    "STS Policy ID: 20240101 (cached)\n" +
      "Timestamp    : Tue Nov  5 09:03:07 2024\n" +
      "Expiration   : Tue Nov 12 09:03:07 2024\n" +
      "\n" +
      "version: STSv1\nmode: enforce\nmx: mx.a.test\nmax_age: 604800",
  );
  assert.equal(
    stsDisplay({ id: "x", cached: false, timestamp, expiration, policy: "mode: none\n" }),
    "STS Policy ID: x\nTimestamp    : Tue Nov  5 09:03:07 2024\n" +
      "Expiration   : Tue Nov 12 09:03:07 2024\n\nmode: none\n",
  );
});
