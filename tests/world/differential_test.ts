// The differential test: Courier's own testmxlookup (Debian 1.0.16) and this tool run on the
// same cases in the same world, and their stdout and exit status must be the same bytes,
// except where docs/decisions.md names a difference, which each case below spells out.
import assert from "node:assert/strict";
import type { JsonReport } from "../../lib/report/json.ts";
import { assertValidReport } from "../_schema.ts";
import { WORLD_CASES, type WorldCase } from "./cases.ts";
import { lookupFlags, MAIN } from "./tool.ts";
import { type RunResult, startWorld, type World, worldUnavailableReason } from "./world.ts";

const relay = (host: string, prio: number, addr: string, suffix = ""): string =>
  `Relay: ${host}, Priority: ${prio}, Address: ${addr}${suffix}`;

/** A case where this tool deliberately differs from Courier. */
interface Difference {
  /** The decision that makes the difference, e.g. "D15". */
  why: string;
  /** This tool's stdout lines. */
  stdout: string[];
  /** This tool's exit status. */
  exit: number;
}

/** Cases beyond cases.ts that need the tool's options, several servers or another /etc. */
interface ExtraCase extends WorldCase {
  /** The world's /etc/resolv.conf for this case (it has `domain world.test` otherwise). */
  resolvConf?: string;
  /** The lines this tool writes on stderr, when the case pins them (one reason, not two). */
  stderrLines?: number;
}

const TWO_MX = WORLD_CASES.find((c) => c.argv.join(" ") === "two-mx.test")!;
const LONG_LABEL = `${"a".repeat(64)}.test`;
const NO_DEFAULT_DOMAIN = "nameserver 127.0.0.1\n";

const EXTRA_CASES: ExtraCase[] = [
  ...[["@127.0.0.1"], ["@::1"], ["@127.0.0.9,127.0.0.1"], ["@127.0.0.1 ::1"]].map((at) => ({
    ...TWO_MX,
    argv: [...at, "two-mx.test"],
    about: `${at.join(" ")}: the servers given on the command line`,
  })),
  {
    ...TWO_MX,
    argv: ["two-mx.test."],
    about: "a trailing dot: looked up without it, printed as typed",
    stdout: ["Domain two-mx.test.:", ...TWO_MX.stdout.slice(1)],
  },
  {
    argv: ["--dnssec", "--udpsize", "512", "signed.test"],
    about: "--udpsize 512 after --dnssec keeps DO; AD still shown",
    exit: 0,
    ordered: true,
    stdout: [
      "Domain signed.test:",
      relay("mx.signed.test", 10, "::ffff:192.0.2.72", " (DNSSEC)"),
      relay("mx.signed.test", 10, "2001:db8::72", " (DNSSEC)"),
    ],
  },
  {
    argv: ["[192.0.2.1]"],
    about: "an address literal: no DNS",
    exit: 0,
    ordered: true,
    stdout: ["Domain [192.0.2.1]:", relay("[192.0.2.1]", -1, "::ffff:192.0.2.1")],
  },
  {
    argv: ["192.0.2.1"],
    about: "a bare address is a hard error",
    exit: 1,
    ordered: true,
    stdout: ["192.0.2.1: hard error."],
  },
  {
    argv: ["a..b.test"],
    about: "an empty label cannot be sent",
    exit: 1,
    ordered: true,
    stdout: ["a..b.test: internal error."],
  },
  {
    argv: [LONG_LABEL],
    about: "a label over 63 octets cannot be sent; one reason on stderr",
    exit: 1,
    ordered: true,
    stdout: [`${LONG_LABEL}: internal error.`],
    stderrLines: 1,
  },
  {
    argv: [""],
    about: "the empty argument without a default domain: the root is asked, no mail host",
    exit: 1,
    ordered: true,
    stdout: [": hard error."],
    resolvConf: NO_DEFAULT_DOMAIN,
    stderrLines: 1,
  },
  {
    argv: [""],
    about: "the empty argument completed with the default domain: an empty first label",
    exit: 1,
    ordered: true,
    stdout: [": internal error."],
    stderrLines: 1,
  },
  {
    argv: ["."],
    about: "the root, typed",
    exit: 1,
    ordered: true,
    stdout: [".: hard error."],
  },
  {
    argv: [".two-mx.test"],
    about: "a leading dot is an empty label, not dropped",
    exit: 1,
    ordered: true,
    stdout: [".two-mx.test: internal error."],
  },
];

/** Where this tool differs from Courier 1.0.16, case by case (see docs/decisions.md). */
const DIFFERENCES: Record<string, Difference> = {
  "null-mx.test": {
    why: "contract 4: upstream Courier (≥ 1.1.6) and RFC 7505 say a null MX means no mail",
    stdout: ["null-mx.test: no mail."],
    exit: 1,
  },
  "xn--mnchen-3ya.test": {
    why: "D15: an A-label name is the same name as its U-label form",
    stdout: [
      "Domain xn--mnchen-3ya.test:",
      relay("bücher.münchen.test", 10, "::ffff:192.0.2.91"),
      relay("bücher.münchen.test", 10, "2001:db8::91"),
    ],
    exit: 0,
  },
};

const unavailable = worldUnavailableReason();
if (unavailable !== undefined) {
  console.warn(`SKIPPING tests/world/differential_test.ts: test world unavailable: ${unavailable}`);
}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** Splits stdout into the first line and the rest grouped by priority, each group sorted. */
function byPriority(stdout: string): string[] {
  const lines = stdout.split("\n");
  const head = lines.shift()!;
  const groups = new Map<string, string[]>();
  for (const line of lines) {
    const priority = /, Priority: (-?\d+), /.exec(line)?.[1] ?? "";
    groups.set(priority, [...(groups.get(priority) ?? []), line]);
  }
  return [head, ...[...groups.values()].map((g) => g.sort().join("\n"))];
}

function describe(argv: string[], result: RunResult): string {
  return `${argv.join(" ")} → exit ${result.code}\n--- stdout\n${text(result.stdout)}` +
    `--- stderr\n${text(result.stderr)}`;
}

Deno.test({
  name: "differential: this tool prints Courier's stdout and exit status on every world case",
  ignore: unavailable !== undefined,
  async fn(t) {
    const world: World = await startWorld();
    try {
      if (world.courierBin === undefined) {
        throw new Error(`Courier's binary is not available: ${world.courierUnavailableReason}`);
      }
      const flags = await lookupFlags();
      for (const kase of [...WORLD_CASES, ...EXTRA_CASES]) {
        const extra: ExtraCase = kase;
        const name = `${JSON.stringify(kase.argv.join(" "))}${
          extra.resolvConf ? " (no domain)" : ""
        }`;
        await t.step(name, async () => {
          // Steps run one at a time, so no other run sees this case's resolv.conf.
          const resolvConf = await Deno.readTextFile(world.resolvConf);
          if (extra.resolvConf !== undefined) await world.writeEtc("resolv.conf", extra.resolvConf);
          try {
            await runCase(world, flags, kase);
          } finally {
            if (extra.resolvConf !== undefined) await world.writeEtc("resolv.conf", resolvConf);
          }
        });
      }
    } finally {
      await world.stop();
    }
  },
});

async function runCase(
  world: World,
  flags: string[],
  kase: ExtraCase,
): Promise<void> {
  const [courier, ours, json] = await Promise.all([
    world.run([world.courierBin!, ...kase.argv]),
    world.run([Deno.execPath(), "run", ...flags, MAIN, ...kase.argv]),
    world.run([Deno.execPath(), "run", ...flags, MAIN, "--json", ...kase.argv]),
  ]);
  const expected = `${kase.stdout.join("\n")}\n`;
  // Courier is checked against its recorded output, so the world has not drifted.
  assert.equal(courier.code, kase.exit, describe(kase.argv, courier));
  const difference = DIFFERENCES[kase.argv.join(" ")];
  const oursExpected = difference ? `${difference.stdout.join("\n")}\n` : expected;
  const oursExit = difference ? difference.exit : kase.exit;
  const same = (a: string, b: string) =>
    kase.ordered ? a === b : JSON.stringify(byPriority(a)) === JSON.stringify(byPriority(b));
  assert.ok(same(text(courier.stdout), expected), describe(kase.argv, courier));
  assert.ok(same(text(ours.stdout), oursExpected), describe(kase.argv, ours));
  assert.equal(ours.code, oursExit, describe(kase.argv, ours));
  if (!difference) {
    assert.ok(same(text(ours.stdout), text(courier.stdout)));
    assert.equal(ours.code, courier.code);
  }
  // Contract 3: a failure says why on stderr, one reason per line, no stack trace.
  const stderr = text(ours.stderr);
  assert.doesNotMatch(stderr, /^\s+at /m, describe(kase.argv, ours));
  if (ours.code !== 0) assert.match(stderr, /^testmxlookup: .+$/m);
  if (kase.stderrLines !== undefined) {
    assert.equal(stderr.split("\n").length - 1, kase.stderrLines, describe(kase.argv, ours));
  }
  // --json: valid against the schema, and the same facts as the text report.
  const report: JsonReport = JSON.parse(text(json.stdout));
  assertValidReport(report);
  assert.equal(json.code, ours.code);
  assert.equal(report.exitCode, ours.code);
  const lines = text(ours.stdout).trimEnd().split("\n");
  if (report.outcome === "ok") {
    const relays = report.mx.flatMap((h) =>
      h.addresses.map((a) =>
        relay(h.host, h.priority, a.address) +
        (h.local ? " [ LOCAL ]" : "") + (h.host === a.address ? " [ ERROR ]" : "") +
        (a.dnssec ? " (DNSSEC)" : "")
      )
    );
    // Two runs: Unbound rotates RRsets between them, so unordered cases compare as sets.
    const sorted = (l: string[]) => kase.ordered ? l : [...l].sort();
    assert.deepEqual(
      sorted(relays),
      sorted(lines.filter((l) => l.startsWith("Relay: "))),
    );
  } else {
    assert.deepEqual([report.courierLine], lines);
    assert.ok(report.reason);
  }
}
