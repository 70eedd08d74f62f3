// The MTA-STS differential test: Courier's own testmxlookup (Debian 1.0.16) and this tool run
// in the same world on every STS case, on Courier's cache option sequence, on each other's
// cache files and on aged entries. stdout, exit status and the cache bytes must be Courier's,
// except where docs/decisions.md names a difference, which the tables below spell out in full.
import assert from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";
import type { JsonReport } from "../../lib/report/json.ts";
import { assertValidReport } from "../_schema.ts";
import {
  cacheEntry,
  COURIER_STUB,
  ctimeUtc,
  normaliseCtime,
  servedPolicy,
  STS_CASES,
  STS_SEQUENCE,
  type StsCase,
} from "./sts_cases.ts";
import { type RunResult, startWorld, type World, worldUnavailableReason } from "./world.ts";

const relay = (host: string, prio: number, addr: string): string =>
  `Relay: ${host}, Priority: ${prio}, Address: ${addr}`;
const mismatch = (host: string): string => `ERROR: STS Policy verification failed: ${host}`;
/** A request line of the policy server's log without its byte count. */
const request = (domain: string, status: number): string =>
  `mta-sts.${domain} GET /.well-known/mta-sts.txt ${status}`;
/** One stderr reason line of this tool (contract 3), matched loosely: the wording may change. */
const reason = (pattern: RegExp): RegExp => new RegExp(`^testmxlookup: .*${pattern.source}`);

/** This tool's expected result where it differs from Courier's on one STS case. */
interface CaseDifference {
  /** The docs/decisions.md item(s) behind the difference. */
  why: string;
  /** Our stdout lines; Courier's when absent. */
  stdout?: string[];
  /** Our STS directory afterwards (name → bytes); Courier's when absent. */
  cache?: Record<string, string>;
  /** Our stderr lines, in order; none when absent. */
  stderr?: RegExp[];
  /** Our policy requests (no byte counts); Courier's when absent. */
  requests?: string[];
  /**
   * Whether `--json` has an STS reason; when absent, whether `stderr` has lines. False where
   * stderr holds warnings only (the policy is used).
   */
  reason?: boolean;
}

/** Every STS case where this tool's stdout, cache, stderr or requests are not Courier's. */
const CASE_DIFFERENCES: Record<string, CaseDifference> = {
  "sts-deep-wildcard.test": {
    why: "D7: `*.sts-deep-wildcard.test` matches one extra label only",
    stdout: [
      "Domain sts-deep-wildcard.test:",
      "STS: enforcing",
      relay("a.b.sts-deep-wildcard.test", 10, "::ffff:203.0.113.41"),
      mismatch("a.b.sts-deep-wildcard.test"),
    ],
  },
  "sts-no-host.test": {
    why: "D6: a failed fetch writes no stub; D1: the policy host is looked up by our resolver",
    cache: {},
    stderr: [reason(/"sts-no-host\.test": No such domain "mta-sts\.sts-no-host\.test"/)],
  },
  "sts-refused.test": {
    why: "D6: a failed fetch writes no stub; the cause on stderr",
    cache: {},
    stderr: [reason(/"sts-refused\.test".*Connection refused/)],
  },
  "sts-untrusted.test": {
    why: "D3, D6: the certificate is not trusted, no stub; the cause on stderr",
    cache: {},
    stderr: [reason(/"sts-untrusted\.test".*UnknownIssuer/)],
  },
  "sts-redirect.test": {
    why: "D3, D6: no redirects, no stub; the status on stderr",
    cache: {},
    stderr: [reason(/"sts-redirect\.test".*301/)],
  },
  "sts-not-found.test": {
    why: "D3, D6: status 200 only, no stub; the status on stderr",
    cache: {},
    stderr: [reason(/"sts-not-found\.test".*404/)],
  },
  "sts-html.test": {
    why: "D3: Content-Type text/html is rejected: no STS line, nothing cached",
    stdout: ["Domain sts-html.test:", relay("mx.sts-html.test", 10, "::ffff:203.0.113.91")],
    cache: {},
    stderr: [reason(/"sts-html\.test".*Content-Type "text\/html"/)],
  },
  "sts-big.test": {
    why: "D3, D6: the body is capped at 64 KiB, no stub; the size on stderr",
    cache: {},
    stderr: [reason(/"sts-big\.test".*65536/)],
  },
  "sts-no-max-age.test": {
    why: "D8: max_age is required: no usable policy, no STS line, nothing cached",
    stdout: [
      "Domain sts-no-max-age.test:",
      relay("mx.sts-no-max-age.test", 10, "::ffff:203.0.113.111"),
    ],
    cache: {},
    stderr: [reason(/max_age/)],
  },
  "sts-bad-mode.test": {
    why: "D8: `mode: enforcing` is invalid: same stdout, nothing cached",
    cache: {},
    stderr: [reason(/"enforcing"/)],
  },
  "sts-two-txt.test": {
    why: "contract 3: same stdout and cache; the rejected TXT records on stderr",
    stderr: [reason(/_mta-sts\.sts-two-txt\.test.*RFC 8461 §3\.1/)],
  },
  "sts-split-txt.test": {
    why: "D2: TXT strings are concatenated: id split1, the policy is fetched and cached",
    stdout: [
      "Domain sts-split-txt.test:",
      "STS: enforcing",
      relay("mx.sts-split-txt.test", 10, "::ffff:203.0.113.151"),
    ],
    cache: { "sts-split-txt.test": cacheEntry("split1", servedPolicy("sts-split-txt.test")) },
    requests: [request("sts-split-txt.test", 200)],
  },
  "sts-repeat-field.test": {
    why:
      "contract 3: same stdout and cache (RFC 8461 §3.2, as Courier); the ignored line on stderr",
    stderr: [reason(/line 3 "mode: enforce" is ignored.*RFC 8461 §3\.2/)],
    reason: false,
  },
  "sts-repeat-id.test": {
    why: "D27: of a repeated TXT id the first counts: id first1, the policy is fetched and cached",
    stdout: [
      "Domain sts-repeat-id.test:",
      "STS: enforcing",
      relay("mx.sts-repeat-id.test", 10, "::ffff:203.0.113.171"),
    ],
    cache: { "sts-repeat-id.test": cacheEntry("first1", servedPolicy("sts-repeat-id.test")) },
    stderr: [reason(/_mta-sts\.sts-repeat-id\.test: .*repeats "id"/)],
    requests: [request("sts-repeat-id.test", 200)],
    reason: false,
  },
  "sts-stray-txt.test": {
    why: 'D28: a record not beginning with "v=STSv1;" is discarded before counting: id stray1',
    stdout: [
      "Domain sts-stray-txt.test:",
      "STS: enforcing",
      relay("mx.sts-stray-txt.test", 10, "::ffff:203.0.113.181"),
    ],
    cache: { "sts-stray-txt.test": cacheEntry("stray1", servedPolicy("sts-stray-txt.test")) },
    stderr: [reason(/_mta-sts\.sts-stray-txt\.test: TXT record "v=STSv1" ignored/)],
    requests: [request("sts-stray-txt.test", 200)],
    reason: false,
  },
  "sts-trailing-space.test": {
    why: "D29: same stdout and cache (the id is kept, as Courier does); the warning on stderr",
    stderr: [reason(/_mta-sts\.sts-trailing-space\.test: white space after the last field/)],
    reason: false,
  },
};

/** This tool's expected result where it differs from Courier's on one sequence step. */
interface StepDifference {
  why: string;
  stdout?: string[];
  /** Our stderr lines: exact text, or a pattern for our own reason lines. */
  stderr?: (string | RegExp)[];
  cache?: Record<string, string>;
  /** Our `ageBefore` (the entries our run has). */
  ageBefore?: Record<string, number>;
}

const ENFORCE = cacheEntry("enforce1", servedPolicy("sts-enforce.test"));
const NONE = cacheEntry("none1", servedPolicy("sts-none.test"));
const TESTING = cacheEntry("testing1", servedPolicy("sts-testing.test"));

/** The steps of `STS_SEQUENCE` (by index) where this tool differs from Courier. */
const STEP_DIFFERENCES: Record<number, StepDifference> = {
  7: {
    why: "contract 3: `--sts` with the cache disabled also says why on stderr",
    stderr: [reason(/disabled/), "sts-enforce.test: STS policy not found."],
  },
  10: {
    why: "D10: `--sts-cache-enable` when already enabled succeeds quietly",
    stderr: [],
  },
  14: {
    why: "D3: sts-html.test's text/html policy is rejected, nothing cached",
    stdout: ["Domain sts-html.test:", relay("mx.sts-html.test", 10, "::ffff:203.0.113.91")],
    stderr: [reason(/Content-Type "text\/html"/)],
    cache: { "sts-enforce.test": ENFORCE, "sts-none.test": NONE, "sts-testing.test": TESTING },
  },
  15: {
    why: "D3 (step 14): no sts-html.test entry to age",
    ageBefore: { "sts-enforce.test": 4000, "sts-testing.test": 3000, "sts-none.test": 2000 },
    cache: {
      ".cache_size": "2\n",
      "sts-enforce.test": ENFORCE,
      "sts-none.test": NONE,
      "sts-testing.test": TESTING,
    },
  },
  16: {
    why: "D3 (step 14): three entries over a limit of two, so only the oldest goes",
    cache: { ".cache_size": "2\n", "sts-none.test": NONE, "sts-testing.test": TESTING },
  },
  17: {
    why: "D3 (step 14): the entries left by step 16",
    cache: { "sts-none.test": NONE, "sts-testing.test": TESTING },
  },
};

const unavailable = worldUnavailableReason();
if (unavailable !== undefined) {
  console.warn(
    `SKIPPING tests/world/sts_differential_test.ts: test world unavailable: ${unavailable}`,
  );
}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const lines = (list: readonly string[]): string => list.map((l) => `${l}\n`).join("");
const nowSec = (): number => Math.floor(Date.now() / 1000);
const MAIN = fromFileUrl(new URL("../../main.ts", import.meta.url));
const ENV = { TZ: "UTC" };
const MAX_AGE = 86400; // sts-enforce.test's policy

/** The permission flags of `deno task lookup`: the documented line is the one tested. */
async function lookupFlags(): Promise<string[]> {
  const config = JSON.parse(
    await Deno.readTextFile(fromFileUrl(new URL("../../deno.json", import.meta.url))),
  );
  const words: string[] = config.tasks.lookup.split(/\s+/);
  assert.deepEqual(words.slice(0, 2), ["deno", "run"]);
  assert.equal(words.at(-1), "main.ts");
  return words.slice(2, -1);
}

function describe(who: string, argv: string[], result: RunResult): string {
  return `${who} ${argv.join(" ")} → exit ${result.code}\n--- stdout\n${text(result.stdout)}` +
    `--- stderr\n${text(result.stderr)}`;
}

/** stderr lines against exact lines or patterns, one for one. */
function assertStderr(actual: string, expected: readonly (string | RegExp)[], label: string) {
  const got = actual === "" ? [] : actual.replace(/\n$/, "").split("\n");
  assert.equal(got.length, expected.length, `${label}: stderr\n${actual}`);
  expected.forEach((want, i) => {
    if (typeof want === "string") assert.equal(got[i], want, `${label}: stderr line ${i + 1}`);
    else assert.match(got[i], want, `${label}: stderr line ${i + 1}`);
  });
}

/** The expected `--sts` output for a policy timestamped `timestamp` (seconds). */
function display(id: string, cached: boolean, timestamp: number, policy: string): string {
  return `STS Policy ID: ${id}${cached ? " (cached)" : ""}\n` +
    `Timestamp    : ${ctimeUtc(timestamp)}\nExpiration   : ${ctimeUtc(timestamp + MAX_AGE)}\n\n` +
    policy;
}

/** What the JSON report says stdout should be: Courier's lines rebuilt from the facts. */
function stdoutFromJson(report: JsonReport): string {
  if (report.outcome !== "ok") return `${report.courierLine}\n`;
  const mode = report.sts.policy?.mode;
  const out = [`Domain ${report.domain}:`];
  if (mode === "enforce") out.push("STS: enforcing");
  if (mode === "testing") out.push("STS: testing");
  for (const host of report.mx) {
    for (const a of host.addresses) {
      out.push(relay(host.host, host.priority, a.address) + (a.dnssec ? " (DNSSEC)" : ""));
      if (host.stsMatch === false) out.push(mismatch(host.host));
    }
  }
  return lines(out);
}

Deno.test({
  name: "STS differential: this tool against Courier on the world's MTA-STS cases and cache",
  ignore: unavailable !== undefined,
  async fn(t) {
    const world: World = await startWorld({ stsCacheSize: null });
    try {
      if (world.courierBin === undefined) {
        throw new Error(`Courier's binary is not available: ${world.courierUnavailableReason}`);
      }
      const flags = await lookupFlags();
      const courier = (argv: string[]) => world.run([world.courierBin!, ...argv], { env: ENV });
      const ours = (argv: string[]) =>
        world.run([Deno.execPath(), "run", ...flags, MAIN, ...argv], { env: ENV });
      const cache = async (): Promise<Record<string, string>> =>
        Object.fromEntries([...await world.readSts()].map(([n, f]) => [n, text(f.bytes)]));
      const stat = (name: string) => Deno.stat(`${world.stsDir}/${name}`);
      /** Runs one program and returns its result with the policy requests it caused. */
      const counted = async (run: Promise<RunResult>) => {
        const before = (await world.policyRequests()).length;
        const result = await run;
        return { result, requests: (await world.policyRequests()).slice(before) };
      };
      const noBytes = (list: string[]) => list.map((l) => l.replace(/ \d+$/, ""));
      /** Writes a cache entry as Courier's account would own it, with mtime `mtime`. */
      const plant = async (name: string, bytes: string, mtime = nowSec()) => {
        const path = `${world.stsDir}/${name}`;
        await Deno.writeTextFile(path, bytes);
        await Deno.chown(path, world.courierIds.uid, world.courierIds.gid);
        await world.setStsMtime(name, mtime);
      };

      // Every `differs` of sts_cases.ts has a spelled-out difference here, and the reverse
      // for stdout or cache: a new case cannot slip through as "same as Courier".
      await t.step("the difference table covers exactly the recorded differences", () => {
        for (const kase of STS_CASES) {
          const difference = CASE_DIFFERENCES[kase.domain];
          if (kase.differs === undefined) {
            assert.ok(!difference?.stdout && !difference?.cache, kase.domain);
          } else {
            assert.ok(difference, `${kase.domain}: no CASE_DIFFERENCES entry`);
            const items = kase.differs.match(/D\d+/g) ?? [];
            for (const item of items) assert.match(difference.why, new RegExp(`\\b${item}\\b`));
          }
        }
      });

      /** One STS case: Courier, then ours, then ours with --json, each on an empty cache. */
      const checkCase = async (kase: StsCase): Promise<void> => {
        const argv = [kase.domain];
        const difference = CASE_DIFFERENCES[kase.domain] ?? { why: "same as Courier" };
        // Courier still does what was recorded: the world has not drifted.
        await world.resetSts(null);
        const c = await counted(courier(argv));
        const label = describe("Courier", argv, c.result);
        assert.equal(c.result.code, kase.exit, label);
        assert.equal(text(c.result.stdout), lines(kase.stdout), label);
        assert.equal(text(c.result.stderr), lines(kase.stderr), label);
        assert.deepEqual(await cache(), kase.cache, `${label}\ncache`);
        assert.deepEqual(c.requests, kase.requests, label);

        // Ours: Courier's stdout, exit and cache bytes, or the difference spelled out.
        const want = {
          stdout: lines(difference.stdout ?? kase.stdout),
          cache: difference.cache ?? kase.cache,
          stderr: difference.stderr ?? [],
          requests: difference.requests ?? noBytes(kase.requests),
        };
        await world.resetSts(null);
        const o = await counted(ours(argv));
        const ourLabel = `${describe("ours", argv, o.result)}\n(${difference.why})`;
        assert.equal(text(o.result.stdout), want.stdout, ourLabel);
        assert.equal(o.result.code, kase.exit, ourLabel);
        if (!difference.stdout) assert.equal(text(o.result.stdout), text(c.result.stdout));
        assertStderr(text(o.result.stderr), want.stderr, ourLabel);
        assert.deepEqual(await cache(), want.cache, `${ourLabel}\ncache`);
        assert.deepEqual(noBytes(o.requests), want.requests, ourLabel);

        // --json: valid, and the same facts as the text run.
        await world.resetSts(null);
        const json = await ours(["--json", ...argv]);
        const jsonLabel = describe("ours", ["--json", ...argv], json);
        const report: JsonReport = JSON.parse(text(json.stdout));
        assertValidReport(report);
        assert.equal(json.code, o.result.code, jsonLabel);
        assert.equal(report.exitCode, o.result.code);
        assert.equal(stdoutFromJson(report), want.stdout, jsonLabel);
        assert.deepEqual(
          report.warnings.map((w) => `testmxlookup: ${w}`),
          text(o.result.stderr).split("\n").filter((l) => l !== ""),
          jsonLabel,
        );
        const reasonGiven = difference.reason ?? want.stderr.length > 0;
        assert.equal(report.sts.reason !== null, reasonGiven, jsonLabel);
        const entry = want.cache[kase.domain];
        if (entry === undefined) {
          assert.equal(report.sts.policy, null, jsonLabel);
          assert.equal(report.sts.cache, "unchanged", jsonLabel);
        } else {
          const [, id, policy] = /^1\nid:(.*)\n\n([^]*)$/.exec(entry)!;
          assert.equal(report.sts.policy?.id, id, jsonLabel);
          assert.equal(report.sts.policy?.text, policy, jsonLabel);
          assert.equal(report.sts.policy?.source, "fetch", jsonLabel);
          assert.equal(report.sts.cache, "written", jsonLabel);
        }
        assert.deepEqual(await cache(), want.cache, `${jsonLabel}\ncache`);
      };

      for (const kase of STS_CASES) {
        await t.step(`case ${kase.domain}`, () => checkCase(kase));
      }

      // Courier's option sequence, on one cache directory each.
      for (const who of ["Courier", "ours"] as const) {
        await t.step(`option sequence: ${who}`, async () => {
          await world.resetSts(null);
          for (const [i, step] of STS_SEQUENCE.entries()) {
            const difference = who === "ours" ? STEP_DIFFERENCES[i] : undefined;
            const now = nowSec();
            const ageBefore = difference?.ageBefore ?? step.ageBefore ?? {};
            for (const [name, age] of Object.entries(ageBefore)) {
              await world.setStsMtime(name, now - age);
            }
            const started = nowSec();
            const r = await (who === "Courier" ? courier(step.argv) : ours(step.argv));
            const ended = Math.ceil(Date.now() / 1000);
            const label = `step ${i + 1}: ${describe(who, step.argv, r)}` +
              (difference ? `\n(${difference.why})` : "");
            const out = normaliseCtime(text(r.stdout));
            assert.equal(r.code, step.exit, label);
            assert.equal(out.stdout, lines(difference?.stdout ?? step.stdout), label);
            if (out.timestamp !== undefined) {
              // The displayed timestamp is this run's fetch, or the file's mtime (just set).
              assert.ok(out.timestamp >= started - 5 && out.timestamp <= ended, label);
            }
            assertStderr(text(r.stderr), difference?.stderr ?? step.stderr, label);
            assert.deepEqual(await cache(), difference?.cache ?? step.cache, `${label}\ncache`);
          }
        });
      }

      await t.step("interop: a policy Courier cached is used by ours, not rewritten", async () => {
        await world.resetSts(null);
        await courier(["sts-enforce.test"]);
        const name = "sts-enforce.test";
        const before = await stat(name);
        assert.equal(text(await Deno.readFile(`${world.stsDir}/${name}`)), ENFORCE);
        const mtime = Math.floor(before.mtime!.getTime() / 1000);
        const shown = await counted(ours(["--sts", name]));
        assert.equal(
          text(shown.result.stdout),
          display("enforce1", true, mtime, servedPolicy(name)),
          describe("ours", ["--sts", name], shown.result),
        );
        assert.equal(shown.result.code, 0);
        assert.deepEqual(shown.requests, []);
        const looked = await counted(ours([name]));
        assert.equal(text(looked.result.stdout), lines(STS_CASES[0].stdout));
        assert.deepEqual(looked.requests, []);
        const after = await stat(name);
        assert.equal(after.ino, before.ino, "ours replaced a fresh entry");
        assert.equal(after.mtime!.getTime(), before.mtime!.getTime(), "ours touched it");
        assert.deepEqual(await cache(), { [name]: ENFORCE });
      });

      await t.step(
        "interop: a policy ours cached is used by Courier, and Courier can rewrite it",
        async () => {
          await world.resetSts(null);
          const name = "sts-enforce.test";
          await ours([name]);
          const info = await stat(name);
          // D5: owned like the directory, so Courier (running as courier) can replace it.
          assert.deepEqual([info.uid, info.gid], [world.courierIds.uid, world.courierIds.gid]);
          assert.equal(info.mode! & 0o777, 0o644);
          const mtime = Math.floor(info.mtime!.getTime() / 1000);
          const shown = await counted(courier(["--sts", name]));
          assert.equal(
            text(shown.result.stdout),
            display("enforce1", true, mtime, servedPolicy(name)),
            describe("Courier", ["--sts", name], shown.result),
          );
          assert.deepEqual(shown.requests, []);
          assert.equal(text(shown.result.stderr), "");
          const override = await courier(["--sts-override=testing", name]);
          assert.match(text(override.stdout), /^STS Policy ID: enforce1 \(cached\)\n/);
          assert.match(text(override.stdout), /\nmode: testing\n$/);
          assert.equal(text(override.stderr), "");
        },
      );

      await t.step(
        "interop: Courier and ours writing the same entry in turn keep reading each other's file",
        async () => {
          await world.resetSts(null);
          const name = "sts-enforce.test";
          const mode = async (run: (argv: string[]) => Promise<RunResult>) => {
            const result = await run([name]);
            assert.equal(result.code, 0, text(result.stderr));
            return /^STS: (\w+)$/m.exec(text(result.stdout))?.[1] ?? "none";
          };
          // Each writer in turn; after each write both tools see the mode it wrote.
          const turns: [string, (argv: string[]) => Promise<RunResult>, string, string][] = [
            ["Courier", courier, "--sts-override=testing", "testing"],
            ["ours", ours, "--sts-override=enforce", "enforcing"],
            ["Courier", courier, "--sts-override=testing", "testing"],
            ["ours", ours, "--sts-override=enforce", "enforcing"],
          ];
          await courier([name]);
          assert.equal(await mode(ours), "enforcing");
          for (const [who, run, option, expected] of turns) {
            const written = await run([option, name]);
            assert.equal(written.code, 0, `${who}: ${text(written.stderr)}`);
            assert.equal(await mode(courier), expected, `Courier after ${who} ${option}`);
            assert.equal(await mode(ours), expected, `ours after ${who} ${option}`);
            assert.match((await cache())[name], /^1\nid:enforce1\n\n/);
          }
          // A purge by either tool brings the served policy back for both.
          await ours(["--sts-purge", name]);
          assert.equal(await mode(courier), "enforcing");
          assert.equal((await cache())[name], `1\nid:enforce1\n\n${servedPolicy(name)}`);
        },
      );

      await t.step(
        "interop: Courier's stub is no policy for ours (refetched, not shown)",
        async () => {
          await world.resetSts(null);
          const name = "sts-no-host.test";
          await courier([name]);
          const stub = cacheEntry("nohost1", COURIER_STUB);
          assert.deepEqual(await cache(), { [name]: stub });
          // Courier shows its stub as a policy; ours tries the download again and has none.
          const theirs = await courier(["--sts", name]);
          assert.match(text(theirs.stdout), /^STS Policy ID: nohost1 \(cached\)\n/);
          const looked = await ours([name]);
          assert.equal(
            text(looked.stdout),
            lines(STS_CASES.find((k) => k.domain === name)!.stdout),
          );
          assertStderr(
            text(looked.stderr),
            [reason(/Cannot fetch policy for "sts-no-host\.test"/)],
            name,
          );
          const shown = await ours(["--sts", name]);
          assert.equal(shown.code, 1);
          assert.equal(text(shown.stdout), "");
          assertStderr(text(shown.stderr), [
            reason(/Cannot fetch policy for "sts-no-host\.test"/),
            "sts-no-host.test: STS policy not found.",
          ], `--sts ${name}`);
          assert.deepEqual(await cache(), { [name]: stub }, "D6: a failed fetch writes nothing");

          // A stub for a domain whose policy can be fetched now: Courier keeps it (no STS line,
          // no download, docs/courier.md#the-temporary-failure-stub); ours downloads and replaces
          // it (D6).
          const enforce = "sts-enforce.test";
          await world.resetSts(null);
          await plant(enforce, cacheEntry("enforce1", COURIER_STUB));
          const c = await counted(courier([enforce]));
          assert.equal(
            text(c.result.stdout),
            lines(STS_CASES[0].stdout.filter((l) => !l.startsWith("STS:"))),
          );
          assert.deepEqual(c.requests, []);
          const o = await counted(ours([enforce]));
          assert.equal(text(o.result.stdout), lines(STS_CASES[0].stdout));
          assert.deepEqual(noBytes(o.requests), [request(enforce, 200)]);
          assert.deepEqual(await cache(), { [enforce]: ENFORCE });
        },
      );

      await t.step("interop: a torn entry (first line 0) is ignored by both", async () => {
        const name = "sts-enforce.test";
        const torn = `0\nid:enforce1\n\n${servedPolicy(name)}`;
        for (const who of ["Courier", "ours"] as const) {
          await world.resetSts(null);
          await plant(name, torn);
          const started = nowSec();
          const r = await counted(
            who === "Courier" ? courier(["--sts", name]) : ours(["--sts", name]),
          );
          const label = describe(who, ["--sts", name], r.result);
          const out = normaliseCtime(text(r.result.stdout));
          assert.equal(out.stdout, lines(STS_SEQUENCE[0].stdout), label);
          assert.ok(out.timestamp !== undefined && out.timestamp >= started - 5, label);
          assert.equal(r.result.code, 0, label);
          assert.deepEqual(noBytes(r.requests), [request(name, 200)], label);
          // Ours says why the file was ignored (contract 3); Courier says nothing.
          assertStderr(text(r.result.stderr), who === "ours" ? [reason(/first line/)] : [], label);
          assert.deepEqual(await cache(), { [name]: ENFORCE }, label);
        }
      });

      await t.step("freshness: past half of max_age ours re-checks the TXT id only", async () => {
        const name = "sts-enforce.test";
        const aged = nowSec() - MAX_AGE / 2 - 100;
        for (const who of ["ours", "Courier"] as const) {
          await world.resetSts(null);
          await plant(name, ENFORCE, aged);
          const before = await stat(name);
          if (who === "ours") {
            const r = await counted(ours(["--json", name]));
            const report: JsonReport = JSON.parse(text(r.result.stdout));
            assertValidReport(report);
            // The TXT id was asked for and is unchanged: no download, nothing written.
            assert.ok(report.trace.some((q) => q.name === `_mta-sts.${name}` && q.type === "TXT"));
            assert.deepEqual(report.sts.txt, { outcome: "id", id: "enforce1", reason: null });
            assert.equal(report.sts.policy?.source, "cache");
            assert.equal(report.sts.cache, "unchanged");
            assert.deepEqual(r.requests, []);
            const shown = await counted(ours(["--sts", name]));
            assert.equal(
              text(shown.result.stdout),
              display("enforce1", true, aged, servedPolicy(name)),
            );
            assert.deepEqual(shown.requests, []);
            const after = await stat(name);
            // D6 (S9): unlike Courier, no touch; max_age still counts from the download.
            assert.equal(after.ino, before.ino);
            assert.equal(after.mtime!.getTime(), aged * 1000);
          } else {
            // Courier touches the entry (docs/courier.md#freshness): same bytes, mtime now.
            const started = nowSec();
            const r = await counted(courier([name]));
            assert.equal(text(r.result.stdout), lines(STS_CASES[0].stdout));
            assert.deepEqual(r.requests, []);
            assert.ok(Math.floor((await stat(name)).mtime!.getTime() / 1000) >= started);
          }
          assert.deepEqual(await cache(), { [name]: ENFORCE }, who);
        }
      });

      await t.step(
        "freshness: past max_age ours downloads again (Courier revalidates)",
        async () => {
          const name = "sts-enforce.test";
          const expired = nowSec() - MAX_AGE - 1;
          for (const who of ["ours", "Courier"] as const) {
            await world.resetSts(null);
            await plant(name, ENFORCE, expired);
            const started = nowSec();
            const r = await counted(
              who === "ours" ? ours(["--sts", name]) : courier(["--sts", name]),
            );
            const label = describe(who, ["--sts", name], r.result);
            const out = normaliseCtime(text(r.result.stdout));
            // D6 (S9): ours fetches anew, so no `(cached)`; Courier reuses it with the same id.
            const id = who === "ours"
              ? "STS Policy ID: enforce1"
              : "STS Policy ID: enforce1 (cached)";
            assert.equal(out.stdout, lines([id, ...STS_SEQUENCE[0].stdout.slice(1)]), label);
            assert.ok(out.timestamp !== undefined && out.timestamp >= started - 5, label);
            assert.deepEqual(
              noBytes(r.requests),
              who === "ours" ? [request(name, 200)] : [],
              label,
            );
            assert.ok(Math.floor((await stat(name)).mtime!.getTime() / 1000) >= started, label);
            assert.deepEqual(await cache(), { [name]: ENFORCE }, label);
          }
        },
      );

      await t.step("--sts-expire without the cache directory: nothing said, exit 0", async () => {
        // A stock install without /var/lib/courier/sts, in this run's own mounts only.
        const without = [
          "sh",
          "-c",
          'umount /var/lib/courier/sts && rmdir /var/lib/courier/sts && exec "$@"',
          "sh",
        ];
        const c = await world.run([...without, world.courierBin!, "--sts-expire"], { env: ENV });
        const o = await world.run(
          [...without, Deno.execPath(), "run", ...flags, MAIN, "--sts-expire"],
          { env: ENV },
        );
        for (const [who, r] of [["Courier", c], ["ours", o]] as const) {
          const label = describe(who, ["--sts-expire"], r);
          assert.deepEqual([r.code, text(r.stdout), text(r.stderr)], [0, "", ""], label);
        }
      });
    } finally {
      await world.stop();
    }
  },
});
