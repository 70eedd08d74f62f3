/**
 * The test world's DNS cases with what Courier's `testmxlookup` 1.0.16 (Debian
 * 1.0.16-3+b6) printed for each, observed in the world. `tests/world/README.md` has the
 * same table for humans; `world_test.ts` checks the reference binary against it.
 *
 * @module
 */

/** One case: the arguments after `testmxlookup` and Courier's observed result. */
export interface WorldCase {
  /** Arguments after the program name. */
  argv: string[];
  /** What the zone data is for. */
  about: string;
  /** Courier's exit status. */
  exit: number;
  /** Courier's stdout, line by line (each line printed with a trailing LF). */
  stdout: string[];
  /**
   * `false` when Courier's order of the Relay lines varies between runs (equal
   * priorities, several addresses of one family): compare the lines as a multiset, the
   * `Domain` line first. Courier's stderr was empty in every case.
   */
  ordered: boolean;
}

const relay = (host: string, prio: number, addr: string): string =>
  `Relay: ${host}, Priority: ${prio}, Address: ${addr}`;

const bigRelays = Array.from({ length: 40 }, (_, i) => {
  const n = i + 1;
  return relay(`mx${String(n).padStart(2, "0")}.big.test`, 10, `::ffff:198.51.100.${n}`);
});

/** Every case, in the order of the README table. */
export const WORLD_CASES: readonly WorldCase[] = [
  {
    argv: ["two-mx.test"],
    about: "two MX of different priority, A and AAAA each",
    exit: 0,
    ordered: true,
    stdout: [
      "Domain two-mx.test:",
      relay("mx1.two-mx.test", 10, "::ffff:192.0.2.1"),
      relay("mx1.two-mx.test", 10, "2001:db8::1"),
      relay("mx2.two-mx.test", 20, "::ffff:192.0.2.2"),
      relay("mx2.two-mx.test", 20, "2001:db8::2"),
    ],
  },
  {
    argv: ["equal-mx.test"],
    about: "three MX of equal priority, A and AAAA each (the bench domain)",
    exit: 0,
    ordered: false,
    stdout: [
      "Domain equal-mx.test:",
      relay("mxa.equal-mx.test", 10, "::ffff:192.0.2.11"),
      relay("mxa.equal-mx.test", 10, "2001:db8::11"),
      relay("mxb.equal-mx.test", 10, "::ffff:192.0.2.12"),
      relay("mxb.equal-mx.test", 10, "2001:db8::12"),
      relay("mxc.equal-mx.test", 10, "::ffff:192.0.2.13"),
      relay("mxc.equal-mx.test", 10, "2001:db8::13"),
    ],
  },
  {
    argv: ["multi-a.test"],
    about: "one MX host with three A records and one AAAA",
    exit: 0,
    ordered: false,
    stdout: [
      "Domain multi-a.test:",
      relay("mx.multi-a.test", 10, "::ffff:192.0.2.21"),
      relay("mx.multi-a.test", 10, "::ffff:192.0.2.22"),
      relay("mx.multi-a.test", 10, "::ffff:192.0.2.23"),
      relay("mx.multi-a.test", 10, "2001:db8::21"),
    ],
  },
  {
    argv: ["no-addr.test"],
    about: "the only MX target has no A/AAAA (NODATA)",
    exit: 1,
    ordered: true,
    stdout: ["no-addr.test: hard error."],
  },
  {
    argv: ["partial-addr.test"],
    about: "MX 10 resolves, MX 20 target does not exist",
    exit: 0,
    ordered: true,
    stdout: ["Domain partial-addr.test:", relay("mx.partial-addr.test", 10, "::ffff:192.0.2.31")],
  },
  {
    argv: ["mx-cname.test"],
    about: "MX target is a CNAME",
    exit: 0,
    ordered: true,
    stdout: [
      "Domain mx-cname.test:",
      relay("alias.mx-cname.test", 10, "::ffff:192.0.2.41"),
      relay("alias.mx-cname.test", 10, "2001:db8::41"),
    ],
  },
  {
    argv: ["cname-to-mx.test"],
    about: "the domain is a CNAME to two-mx.test",
    exit: 0,
    ordered: true,
    stdout: [
      "Domain cname-to-mx.test:",
      relay("mx1.two-mx.test", 10, "::ffff:192.0.2.1"),
      relay("mx1.two-mx.test", 10, "2001:db8::1"),
      relay("mx2.two-mx.test", 20, "::ffff:192.0.2.2"),
      relay("mx2.two-mx.test", 20, "2001:db8::2"),
    ],
  },
  {
    argv: ["cname-loop.test"],
    about: "CNAME to itself (Unbound answers SERVFAIL)",
    exit: 1,
    ordered: true,
    stdout: ["cname-loop.test: soft error."],
  },
  {
    argv: ["loop-a.test"],
    about: "two-name CNAME loop (Unbound answers SERVFAIL)",
    exit: 1,
    ordered: true,
    stdout: ["loop-a.test: soft error."],
  },
  {
    argv: ["chain10.test"],
    about: "chain of exactly 10 CNAME records, then MX",
    exit: 0,
    ordered: true,
    stdout: ["Domain chain10.test:", relay("mx.end.chain10.test", 10, "::ffff:192.0.2.51")],
  },
  {
    argv: ["chain11.test"],
    about: "chain of 11 CNAME records, then MX",
    exit: 1,
    ordered: true,
    stdout: ["chain11.test: bad DNS records (recursive CNAME)."],
  },
  {
    argv: ["implicit.test"],
    about: "no MX, A and AAAA only (implicit MX)",
    exit: 0,
    ordered: true,
    stdout: [
      "Domain implicit.test:",
      relay("implicit.test", -1, "::ffff:192.0.2.61"),
      relay("implicit.test", -1, "2001:db8::61"),
    ],
  },
  {
    argv: ["null-mx.test"],
    about: "null MX (MX 0 .); upstream >= 1.1.6 and this tool print `no mail.`",
    exit: 1,
    ordered: true,
    stdout: ["null-mx.test: hard error."],
  },
  {
    argv: ["nxdomain.test"],
    about: "NXDOMAIN",
    exit: 1,
    ordered: true,
    stdout: ["nxdomain.test: hard error."],
  },
  {
    argv: ["example.com"],
    about: "any name outside test.: Unbound answers NXDOMAIN from local data",
    exit: 1,
    ordered: true,
    stdout: ["example.com: hard error."],
  },
  {
    argv: ["servfail.test"],
    about: "delegated to a server that refuses: Unbound answers SERVFAIL",
    exit: 1,
    ordered: true,
    stdout: ["servfail.test: soft error."],
  },
  {
    argv: ["refused.test"],
    about: "Unbound answers REFUSED",
    exit: 1,
    ordered: true,
    stdout: ["refused.test: soft error."],
  },
  {
    argv: ["big.test"],
    about: "40 MX: the 866-byte answer is truncated over UDP without EDNS, TCP follows",
    exit: 0,
    ordered: false,
    stdout: ["Domain big.test:", ...bigRelays],
  },
  {
    argv: ["--udpsize", "512", "big.test"],
    about: "40 MX with EDNS payload 512: truncated, TCP follows",
    exit: 0,
    ordered: false,
    stdout: ["Domain big.test:", ...bigRelays],
  },
  {
    argv: ["--dnssec", "big.test"],
    about: "40 MX with EDNS payload 1280: fits in UDP",
    exit: 0,
    ordered: false,
    stdout: ["Domain big.test:", ...bigRelays],
  },
  {
    argv: ["ip-literal.test"],
    about: "MX target 192.0.2.55 (an IP literal)",
    exit: 0,
    ordered: true,
    stdout: [
      "Domain ip-literal.test:",
      relay("::ffff:192.0.2.55", 10, "::ffff:192.0.2.55 [ ERROR ]"),
    ],
  },
  {
    argv: ["ip-number.test"],
    about: "MX target 10 (a number, read as 0.0.0.10)",
    exit: 0,
    ordered: true,
    stdout: ["Domain ip-number.test:", relay("::ffff:0.0.0.10", 10, "::ffff:0.0.0.10 [ ERROR ]")],
  },
  {
    argv: ["signed.test"],
    about: "DNSSEC-signed zone, asked without DO: Unbound sets no AD",
    exit: 0,
    ordered: true,
    stdout: [
      "Domain signed.test:",
      relay("mx.signed.test", 10, "::ffff:192.0.2.72"),
      relay("mx.signed.test", 10, "2001:db8::72"),
    ],
  },
  {
    argv: ["--dnssec", "signed.test"],
    about: "DNSSEC-signed zone with DO: AD set",
    exit: 0,
    ordered: true,
    stdout: [
      "Domain signed.test:",
      relay("mx.signed.test", 10, "::ffff:192.0.2.72 (DNSSEC)"),
      relay("mx.signed.test", 10, "2001:db8::72 (DNSSEC)"),
    ],
  },
  {
    argv: ["--dnssec", "unsigned.test"],
    about: "unsigned data with DO: no AD",
    exit: 0,
    ordered: true,
    stdout: [
      "Domain unsigned.test:",
      relay("mx.unsigned.test", 10, "::ffff:192.0.2.71"),
      relay("mx.unsigned.test", 10, "2001:db8::71"),
    ],
  },
  {
    argv: ["bogus.test"],
    about: "signed, but the trust anchor is another key: validation fails, SERVFAIL",
    exit: 1,
    ordered: true,
    stdout: ["bogus.test: soft error."],
  },
  {
    argv: ["dotless"],
    about: "dotless name completed with resolv.conf's `domain world.test`",
    exit: 0,
    ordered: true,
    stdout: [
      "Domain dotless:",
      relay("mx.dotless.world.test", 10, "::ffff:192.0.2.81"),
      relay("mx.dotless.world.test", 10, "2001:db8::81"),
    ],
  },
  {
    argv: ["münchen.test"],
    about: "IDN domain (xn--mnchen-3ya.test), MX target xn--bcher-kva.xn--mnchen-3ya.test",
    exit: 0,
    ordered: true,
    stdout: [
      "Domain münchen.test:",
      relay("bücher.münchen.test", 10, "::ffff:192.0.2.91"),
      relay("bücher.münchen.test", 10, "2001:db8::91"),
    ],
  },
  {
    argv: ["xn--mnchen-3ya.test"],
    about: "the same domain typed as an A-label: Courier 1.0.16 fails it (this tool: D15)",
    exit: 1,
    ordered: true,
    stdout: ["xn--mnchen-3ya.test: hard error."],
  },
  {
    argv: ["mixed-case.test"],
    about: "MX target in mixed case (served by Unbound's local-data)",
    exit: 0,
    ordered: true,
    stdout: [
      "Domain mixed-case.test:",
      relay("Mx.HoSt.mixed-case.test", 10, "::ffff:192.0.2.101"),
      relay("Mx.HoSt.mixed-case.test", 10, "2001:db8::101"),
    ],
  },
  {
    argv: ["MiXeD-CaSe.TEST"],
    about: "the same, typed in mixed case: compressed labels echo the question's case",
    exit: 0,
    ordered: true,
    stdout: [
      "Domain MiXeD-CaSe.TEST:",
      relay("Mx.HoSt.MiXeD-CaSe.TEST", 10, "::ffff:192.0.2.101"),
      relay("Mx.HoSt.MiXeD-CaSe.TEST", 10, "2001:db8::101"),
    ],
  },
];

/**
 * Compares a program's stdout with a case: byte for byte when the case is ordered, else
 * the first line exactly and the rest as a multiset.
 *
 * @param kase the case
 * @param stdout the program's stdout
 * @returns whether it matches
 */
export function matchesCase(kase: WorldCase, stdout: string): boolean {
  const expected = kase.stdout.map((l) => `${l}\n`).join("");
  if (kase.ordered) return stdout === expected;
  if (!stdout.endsWith("\n")) return false;
  const lines = stdout.slice(0, -1).split("\n");
  if (lines[0] !== kase.stdout[0] || lines.length !== kase.stdout.length) return false;
  const sorted = (a: readonly string[]) => [...a.slice(1)].sort().join("\n");
  return sorted(lines) === sorted(kase.stdout);
}
