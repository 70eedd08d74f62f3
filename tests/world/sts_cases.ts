/**
 * The test world's MTA-STS cases with what Courier's `testmxlookup` 1.0.16 (Debian
 * 1.0.16-3+b6) did for each, observed in the world with the cache enabled (no
 * `.cache_size`) and empty before every case, `TZ=UTC`. The served policies are in
 * `sts_sites.ts`, the DNS data in `zones/test.zone`, the table for humans in
 * `README.md`; `world_test.ts` checks the reference binary against both lists.
 *
 * @module
 */

import { POLICY_SITES } from "./sts_sites.ts";

/** One STS case: a normal run `testmxlookup <domain>` on an empty cache. */
export interface StsCase {
  /** The domain argument (the case's zone). */
  domain: string;
  /** What the case is about. */
  about: string;
  /** Courier's exit status. */
  exit: number;
  /** Courier's stdout, line by line (each line printed with a trailing LF). */
  stdout: string[];
  /** Courier's stderr, line by line. */
  stderr: string[];
  /** The STS directory afterwards: file name → bytes (as text). */
  cache: Record<string, string>;
  /** Requests the policy server logged for the run (`World.policyRequests`). */
  requests: string[];
  /** Where this tool deliberately differs (docs/decisions.md), if it does. */
  differs?: string;
}

/** One step of a sequence on one cache directory. */
export interface StsStep {
  /** Arguments after the program name. */
  argv: string[];
  exit: number;
  /**
   * stdout lines; in the `--sts` header, `<T>` stands for the run's time (ctime in UTC)
   * and `<T+N>` for N seconds later (see {@linkcode normaliseCtime}).
   */
  stdout: string[];
  stderr: string[];
  /**
   * The STS directory afterwards: name → bytes as text (`.cache_size` included).
   * Entries are listed in full after every step.
   */
  cache: Record<string, string>;
  /** Before the step: set these files' mtimes to now minus the given seconds. */
  ageBefore?: Record<string, number>;
}

const relay = (host: string, prio: number, addr: string): string =>
  `Relay: ${host}, Priority: ${prio}, Address: ${addr}`;

const mismatch = (host: string): string => `ERROR: STS Policy verification failed: ${host}`;

/** The body served for `mta-sts.<domain>`. */
export function servedPolicy(domain: string): string {
  const body = POLICY_SITES.find((s) => s.domain === domain)?.body;
  if (body === undefined) throw new RangeError(`${domain} serves no policy body`);
  return body;
}

/** A cache entry as Courier writes it (`docs/courier.md#cache-file-format`). */
export function cacheEntry(id: string, policy: string): string {
  return `1\nid:${id}\n\n${policy}`;
}

/**
 * Courier's temporary-failure stub policy, typos included
 * (`docs/courier.md#the-temporary-failure-stub`).
 */
export const COURIER_STUB = "version: version: STSv1\n" +
  "mode: none\n" +
  "max_age: 86400\n" +
  "info: this is a temporary cache entry that occured when retrieving\n" +
  "info: this domain's STS policy. Another attempt will be made after\n" +
  "info: this cache entry expires.\n";

const get = (domain: string, status: number, bytes: number): string =>
  `mta-sts.${domain} GET /.well-known/mta-sts.txt ${status} ${bytes}`;

/** Every STS case, in the order of the README table. */
export const STS_CASES: readonly StsCase[] = [
  {
    domain: "sts-enforce.test",
    about: "enforce; exact and wildcard mx patterns, every MX host matches",
    exit: 0,
    stdout: [
      "Domain sts-enforce.test:",
      "STS: enforcing",
      relay("mx1.sts-enforce.test", 10, "::ffff:203.0.113.1"),
      relay("mx1.sts-enforce.test", 10, "2001:db8:113::1"),
      relay("mx2.backup.sts-enforce.test", 20, "::ffff:203.0.113.2"),
    ],
    stderr: [],
    cache: { "sts-enforce.test": cacheEntry("enforce1", servedPolicy("sts-enforce.test")) },
    requests: [get("sts-enforce.test", 200, 99)],
  },
  {
    domain: "sts-testing.test",
    about: "mode testing",
    exit: 0,
    stdout: [
      "Domain sts-testing.test:",
      "STS: testing",
      relay("mx.sts-testing.test", 10, "::ffff:203.0.113.11"),
    ],
    stderr: [],
    cache: { "sts-testing.test": cacheEntry("testing1", servedPolicy("sts-testing.test")) },
    requests: [get("sts-testing.test", 200, 69)],
  },
  {
    domain: "sts-none.test",
    about: "mode none: no STS line",
    exit: 0,
    stdout: ["Domain sts-none.test:", relay("mx.sts-none.test", 10, "::ffff:203.0.113.21")],
    stderr: [],
    cache: { "sts-none.test": cacheEntry("none1", servedPolicy("sts-none.test")) },
    requests: [get("sts-none.test", 200, 41)],
  },
  {
    domain: "sts-mismatch.test",
    about: "enforce; mx2 (A and AAAA) matches no pattern: one ERROR line per address",
    exit: 0,
    stdout: [
      "Domain sts-mismatch.test:",
      "STS: enforcing",
      relay("mx1.sts-mismatch.test", 10, "::ffff:203.0.113.31"),
      relay("mx2.sts-mismatch.test", 20, "::ffff:203.0.113.32"),
      mismatch("mx2.sts-mismatch.test"),
      relay("mx2.sts-mismatch.test", 20, "2001:db8:113::32"),
      mismatch("mx2.sts-mismatch.test"),
    ],
    stderr: [],
    cache: { "sts-mismatch.test": cacheEntry("mismatch1", servedPolicy("sts-mismatch.test")) },
    requests: [get("sts-mismatch.test", 200, 70)],
  },
  {
    domain: "sts-deep-wildcard.test",
    about: "`mx: *.sts-deep-wildcard.test` vs MX host a.b.sts-deep-wildcard.test",
    exit: 0,
    stdout: [
      "Domain sts-deep-wildcard.test:",
      "STS: enforcing",
      relay("a.b.sts-deep-wildcard.test", 10, "::ffff:203.0.113.41"),
    ],
    stderr: [],
    cache: {
      "sts-deep-wildcard.test": cacheEntry("deep1", servedPolicy("sts-deep-wildcard.test")),
    },
    requests: [get("sts-deep-wildcard.test", 200, 73)],
    differs: "D7: one label only, so an ERROR line follows the Relay line",
  },
  {
    domain: "sts-no-host.test",
    about: "TXT, but mta-sts.sts-no-host.test does not exist: stub",
    exit: 0,
    stdout: ["Domain sts-no-host.test:", relay("mx.sts-no-host.test", 10, "::ffff:203.0.113.51")],
    stderr: [],
    cache: { "sts-no-host.test": cacheEntry("nohost1", COURIER_STUB) },
    requests: [],
    differs: "D6: no stub written; the reason on stderr",
  },
  {
    domain: "sts-refused.test",
    about: "mta-sts A record to an address where nothing listens: stub",
    exit: 0,
    stdout: ["Domain sts-refused.test:", relay("mx.sts-refused.test", 10, "::ffff:203.0.113.61")],
    stderr: [],
    cache: { "sts-refused.test": cacheEntry("refused1", COURIER_STUB) },
    requests: [],
    differs: "D6: no stub written; the reason on stderr",
  },
  {
    domain: "sts-untrusted.test",
    about: "certificate from an untrusted CA: TLS fails, stub",
    exit: 0,
    stdout: [
      "Domain sts-untrusted.test:",
      relay("mx.sts-untrusted.test", 10, "::ffff:203.0.113.71"),
    ],
    stderr: [],
    cache: { "sts-untrusted.test": cacheEntry("untrusted1", COURIER_STUB) },
    requests: [],
    differs: "D6: no stub written; the certificate error on stderr",
  },
  {
    domain: "sts-redirect.test",
    about: "301 to another policy: wget --max-redirect 0 fails, stub",
    exit: 0,
    stdout: [
      "Domain sts-redirect.test:",
      relay("mx.sts-redirect.test", 10, "::ffff:203.0.113.81"),
    ],
    stderr: [],
    cache: { "sts-redirect.test": cacheEntry("redirect1", COURIER_STUB) },
    requests: [get("sts-redirect.test", 301, 162)],
    differs: "D6: no stub written; the status on stderr",
  },
  {
    domain: "sts-not-found.test",
    about: "404: stub",
    exit: 0,
    stdout: [
      "Domain sts-not-found.test:",
      relay("mx.sts-not-found.test", 10, "::ffff:203.0.113.85"),
    ],
    stderr: [],
    cache: { "sts-not-found.test": cacheEntry("notfound1", COURIER_STUB) },
    requests: [get("sts-not-found.test", 404, 146)],
    differs: "D6: no stub written; the status on stderr",
  },
  {
    domain: "sts-html.test",
    about: "valid enforce policy served as text/html: Courier accepts it",
    exit: 0,
    stdout: [
      "Domain sts-html.test:",
      "STS: enforcing",
      relay("mx.sts-html.test", 10, "::ffff:203.0.113.91"),
    ],
    stderr: [],
    cache: { "sts-html.test": cacheEntry("html1", servedPolicy("sts-html.test")) },
    requests: [get("sts-html.test", 200, 65)],
    differs: "D3: rejected (Content-Type), no STS line, nothing cached",
  },
  {
    domain: "sts-big.test",
    about: "70 000-byte policy: too much data, stub",
    exit: 0,
    stdout: ["Domain sts-big.test:", relay("mx.sts-big.test", 10, "::ffff:203.0.113.101")],
    stderr: ["Too much data read from https://mta-sts.sts-big.test/.well-known/mta-sts.txt"],
    cache: { "sts-big.test": cacheEntry("big1", COURIER_STUB) },
    requests: [get("sts-big.test", 200, 70000)],
    differs: "D3/D6: rejected at 64 KiB, nothing cached",
  },
  {
    domain: "sts-no-max-age.test",
    about: "enforce policy without max_age: Courier enforces it (max_age 600)",
    exit: 0,
    stdout: [
      "Domain sts-no-max-age.test:",
      "STS: enforcing",
      relay("mx.sts-no-max-age.test", 10, "::ffff:203.0.113.111"),
    ],
    stderr: [],
    cache: { "sts-no-max-age.test": cacheEntry("nomaxage1", servedPolicy("sts-no-max-age.test")) },
    requests: [get("sts-no-max-age.test", 200, 56)],
    differs: "D8: no usable policy, no STS line, nothing cached",
  },
  {
    domain: "sts-bad-mode.test",
    about: "`mode: enforcing`: Courier reads mode none and caches the policy",
    exit: 0,
    stdout: [
      "Domain sts-bad-mode.test:",
      relay("mx.sts-bad-mode.test", 10, "::ffff:203.0.113.121"),
    ],
    stderr: [],
    cache: { "sts-bad-mode.test": cacheEntry("badmode1", servedPolicy("sts-bad-mode.test")) },
    requests: [get("sts-bad-mode.test", 200, 71)],
    differs: "D8: same stdout, but nothing cached and the reason on stderr",
  },
  {
    domain: "sts-txt-v2.test",
    about: "TXT v=STSv2: no id, no download, no file",
    exit: 0,
    stdout: [
      "Domain sts-txt-v2.test:",
      relay("mx.sts-txt-v2.test", 10, "::ffff:203.0.113.131"),
    ],
    stderr: [],
    cache: {},
    requests: [],
  },
  {
    domain: "sts-two-txt.test",
    about: "two STSv1 TXT records: no id, no download, no file",
    exit: 0,
    stdout: [
      "Domain sts-two-txt.test:",
      relay("mx.sts-two-txt.test", 10, "::ffff:203.0.113.141"),
    ],
    stderr: [],
    cache: {},
    requests: [],
  },
  {
    domain: "sts-split-txt.test",
    about: 'TXT "v=STSv1; " "id=split1": Courier reads the first string only, no id',
    exit: 0,
    stdout: [
      "Domain sts-split-txt.test:",
      relay("mx.sts-split-txt.test", 10, "::ffff:203.0.113.151"),
    ],
    stderr: [],
    cache: {},
    requests: [],
    differs: "D2: id split1, the policy is fetched: `STS: enforcing`, entry cached",
  },
  {
    domain: "sts-repeat-field.test",
    about: "policy with `mode: testing` then `mode: enforce`: the first counts (RFC 8461 §3.2)",
    exit: 0,
    stdout: [
      "Domain sts-repeat-field.test:",
      "STS: testing",
      relay("mx.sts-repeat-field.test", 10, "::ffff:203.0.113.161"),
    ],
    stderr: [],
    cache: {
      "sts-repeat-field.test": cacheEntry("repeat1", servedPolicy("sts-repeat-field.test")),
    },
    requests: [get("sts-repeat-field.test", 200, 87)],
  },
  {
    domain: "sts-repeat-id.test",
    about: 'TXT "v=STSv1; id=first1; id=second1": Courier finds no id',
    exit: 0,
    stdout: [
      "Domain sts-repeat-id.test:",
      relay("mx.sts-repeat-id.test", 10, "::ffff:203.0.113.171"),
    ],
    stderr: [],
    cache: {},
    requests: [],
    differs: "D27: id first1, the policy is fetched: `STS: enforcing`, entry cached",
  },
  {
    domain: "sts-stray-txt.test",
    about: 'TXT "v=STSv1" and "v=STSv1; id=stray1": Courier counts two records, no id',
    exit: 0,
    stdout: [
      "Domain sts-stray-txt.test:",
      relay("mx.sts-stray-txt.test", 10, "::ffff:203.0.113.181"),
    ],
    stderr: [],
    cache: {},
    requests: [],
    differs: "D28: the stray record is discarded, id stray1: `STS: enforcing`, entry cached",
  },
  {
    domain: "sts-trailing-space.test",
    about: 'TXT "v=STSv1; id=trail1 " (white space after the last field): id trail1',
    exit: 0,
    stdout: [
      "Domain sts-trailing-space.test:",
      "STS: enforcing",
      relay("mx.sts-trailing-space.test", 10, "::ffff:203.0.113.191"),
    ],
    stderr: [],
    cache: {
      "sts-trailing-space.test": cacheEntry("trail1", servedPolicy("sts-trailing-space.test")),
    },
    requests: [get("sts-trailing-space.test", 200, 75)],
  },
];

const ENFORCE = cacheEntry("enforce1", servedPolicy("sts-enforce.test"));
const ENFORCE_DISPLAY = [
  "Timestamp    : <T>",
  "Expiration   : <T+86400>",
  "",
  ...servedPolicy("sts-enforce.test").trimEnd().split("\n"),
];
const OVERRIDDEN_TESTING = "version: STSv1\n" +
  "mx: mx1.sts-enforce.test\n" +
  "mx: *.backup.sts-enforce.test\n" +
  "max_age: 86400\n" +
  "info: this policy has been manually overridden, as follows\n" +
  'info: use "testmxlookup --sts-purge sts-enforce.test" to restore the default policy:\n' +
  "mode: testing\n";
const HTML = cacheEntry("html1", servedPolicy("sts-html.test"));
const NONE = cacheEntry("none1", servedPolicy("sts-none.test"));
const TESTING = cacheEntry("testing1", servedPolicy("sts-testing.test"));

/**
 * Courier's cache sequence on one STS directory (cache enabled, empty at the start),
 * step by step, observed with `TZ=UTC`.
 */
export const STS_SEQUENCE: readonly StsStep[] = [
  {
    argv: ["--sts", "sts-enforce.test"],
    exit: 0,
    stdout: ["STS Policy ID: enforce1", ...ENFORCE_DISPLAY],
    stderr: [],
    cache: { "sts-enforce.test": ENFORCE },
  },
  {
    argv: ["--sts", "sts-enforce.test"],
    exit: 0,
    stdout: ["STS Policy ID: enforce1 (cached)", ...ENFORCE_DISPLAY],
    stderr: [],
    cache: { "sts-enforce.test": ENFORCE },
  },
  {
    argv: ["--sts-override=testing", "sts-enforce.test"],
    exit: 0,
    stdout: [
      "STS Policy ID: enforce1 (cached)",
      "Timestamp    : <T>",
      "Expiration   : <T+86400>",
      "",
      ...OVERRIDDEN_TESTING.trimEnd().split("\n"),
    ],
    stderr: [],
    cache: { "sts-enforce.test": cacheEntry("enforce1", OVERRIDDEN_TESTING) },
  },
  {
    argv: ["sts-enforce.test"],
    exit: 0,
    stdout: [
      "Domain sts-enforce.test:",
      "STS: testing",
      relay("mx1.sts-enforce.test", 10, "::ffff:203.0.113.1"),
      relay("mx1.sts-enforce.test", 10, "2001:db8:113::1"),
      relay("mx2.backup.sts-enforce.test", 20, "::ffff:203.0.113.2"),
    ],
    stderr: [],
    cache: { "sts-enforce.test": cacheEntry("enforce1", OVERRIDDEN_TESTING) },
  },
  {
    argv: ["--sts-purge", "sts-enforce.test"],
    exit: 0,
    stdout: ["Reloading sts-enforce.test", "STS Policy ID: enforce1", ...ENFORCE_DISPLAY],
    stderr: [],
    cache: { "sts-enforce.test": ENFORCE },
  },
  {
    argv: ["--sts-purge", "nothing.test"],
    exit: 1,
    stdout: ["Reloading nothing.test"],
    stderr: [
      "/var/lib/courier/sts/nothing.test: No such file or directory",
      "nothing.test: STS policy not found.",
    ],
    cache: { "sts-enforce.test": ENFORCE },
  },
  {
    argv: ["--sts-cache-disable"],
    exit: 0,
    stdout: [],
    stderr: [],
    cache: { ".cache_size": "0\n", "sts-enforce.test": ENFORCE },
  },
  {
    argv: ["--sts", "sts-enforce.test"],
    exit: 1,
    stdout: [],
    stderr: ["sts-enforce.test: STS policy not found."],
    cache: { ".cache_size": "0\n", "sts-enforce.test": ENFORCE },
  },
  {
    argv: ["--sts-cache-enable=5"],
    exit: 0,
    stdout: [],
    stderr: [],
    cache: { ".cache_size": "5\n", "sts-enforce.test": ENFORCE },
  },
  {
    argv: ["--sts-cache-enable"],
    exit: 0,
    stdout: [],
    stderr: [],
    cache: { "sts-enforce.test": ENFORCE },
  },
  {
    argv: ["--sts-cache-enable"],
    exit: 0,
    stdout: [],
    // The unlink of the missing .cache_size fails, and the message names the directory.
    stderr: ["/var/lib/courier/sts: No such file or directory"],
    cache: { "sts-enforce.test": ENFORCE },
  },
  {
    argv: ["--sts-expire"],
    exit: 0,
    stdout: [],
    stderr: [],
    cache: { "sts-enforce.test": ENFORCE },
  },
  {
    argv: ["sts-testing.test"],
    exit: 0,
    stdout: [
      "Domain sts-testing.test:",
      "STS: testing",
      relay("mx.sts-testing.test", 10, "::ffff:203.0.113.11"),
    ],
    stderr: [],
    cache: { "sts-enforce.test": ENFORCE, "sts-testing.test": TESTING },
  },
  {
    argv: ["sts-none.test"],
    exit: 0,
    stdout: ["Domain sts-none.test:", relay("mx.sts-none.test", 10, "::ffff:203.0.113.21")],
    stderr: [],
    cache: { "sts-enforce.test": ENFORCE, "sts-none.test": NONE, "sts-testing.test": TESTING },
  },
  {
    argv: ["sts-html.test"],
    exit: 0,
    stdout: [
      "Domain sts-html.test:",
      "STS: enforcing",
      relay("mx.sts-html.test", 10, "::ffff:203.0.113.91"),
    ],
    stderr: [],
    cache: {
      "sts-enforce.test": ENFORCE,
      "sts-html.test": HTML,
      "sts-none.test": NONE,
      "sts-testing.test": TESTING,
    },
  },
  {
    argv: ["--sts-cache-enable=2"],
    ageBefore: {
      "sts-enforce.test": 4000,
      "sts-testing.test": 3000,
      "sts-none.test": 2000,
      "sts-html.test": 1000,
    },
    exit: 0,
    stdout: [],
    stderr: [],
    cache: {
      ".cache_size": "2\n",
      "sts-enforce.test": ENFORCE,
      "sts-html.test": HTML,
      "sts-none.test": NONE,
      "sts-testing.test": TESTING,
    },
  },
  {
    argv: ["--sts-expire"],
    exit: 0,
    stdout: [],
    stderr: [],
    // The two oldest entries go; the two newest stay.
    cache: { ".cache_size": "2\n", "sts-html.test": HTML, "sts-none.test": NONE },
  },
  {
    argv: ["--sts-cache-enable"],
    exit: 0,
    stdout: [],
    stderr: [],
    cache: { "sts-html.test": HTML, "sts-none.test": NONE },
  },
];

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** C's `ctime` in UTC, without the newline: `Wed Nov 25 10:35:06 2026`. */
export function ctimeUtc(seconds: number): string {
  const d = new Date(seconds * 1000);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${
    String(d.getUTCDate()).padStart(2, " ")
  } ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${
    two(d.getUTCSeconds())
  } ${d.getUTCFullYear()}`;
}

/**
 * Replaces the `Timestamp` and `Expiration` values of `--sts` output (ctime, UTC) by
 * `<T>` and `<T+N>`, and says what T was; `timestamp` is undefined when there is no
 * `Timestamp` line.
 */
export function normaliseCtime(stdout: string): { stdout: string; timestamp?: number } {
  const parse = (text: string): number | undefined => {
    const m = /^\w{3} (\w{3}) ([ \d]\d) (\d\d):(\d\d):(\d\d) (\d+)$/.exec(text);
    if (!m || !MONTHS.includes(m[1])) return undefined;
    const seconds = Date.UTC(
      Number(m[6]),
      MONTHS.indexOf(m[1]),
      Number(m[2]),
      Number(m[3]),
      Number(m[4]),
      Number(m[5]),
    ) / 1000;
    // The day name must agree too.
    return ctimeUtc(seconds) === text ? seconds : undefined;
  };
  let timestamp: number | undefined;
  const lines = stdout.split("\n").map((line) => {
    const ts = /^Timestamp {4}: (.+)$/.exec(line);
    if (ts) {
      timestamp = parse(ts[1]);
      return timestamp === undefined ? line : "Timestamp    : <T>";
    }
    const exp = /^Expiration {3}: (.+)$/.exec(line);
    if (exp && timestamp !== undefined) {
      const expiration = parse(exp[1]);
      if (expiration !== undefined) return `Expiration   : <T+${expiration - timestamp}>`;
    }
    return line;
  });
  return { stdout: lines.join("\n"), timestamp };
}
