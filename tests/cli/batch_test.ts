// `--batch`: NDJSON on stdout, one valid report per domain line, in input order; SIGINT keeps
// what is printed and exits 130. In process with a fake host, as a subprocess, and in the
// test world against this tool's own `--json`.
import assert from "node:assert/strict";
import { worseStatus } from "../../lib/cli/batch_command.ts";
import type { CliHost } from "../../lib/cli/cli_host.ts";
import { runCli } from "../../lib/cli/run.ts";
import { MAX_LINE_LENGTH } from "../../lib/lookup/read_domain_lines.ts";
import type { JsonReport } from "../../lib/report/json.ts";
import type { UdpSocket } from "../../lib/host.ts";
import { assertValidReport } from "../_schema.ts";
import { spawnTool, workDir } from "./_batch_tool.ts";
import { toolCommand } from "../world/tool.ts";
import { startWorld, worldUnavailableReason } from "../world/world.ts";

const STS_DIR = Deno.makeTempDirSync({ prefix: "batch_test_sts_" });
Deno.writeTextFileSync(`${STS_DIR}/.cache_size`, "0\n");
globalThis.addEventListener("unload", () => Deno.removeSync(STS_DIR, { recursive: true }));

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** A stream that gives `text` and then, unless `open`, ends. */
function streamOf(text: string, open = false): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(encode(text));
      if (!open) controller.close();
    },
  });
}

/** A UDP socket that sends nowhere and never receives, until closed. */
function silentSocket(sockets: { open: number }): UdpSocket {
  sockets.open++;
  let closed = false;
  let wake = (_: Error) => {};
  return {
    send: () => Promise.resolve(),
    receive: () =>
      new Promise((_, reject) => {
        if (closed) reject(new Error("closed"));
        wake = reject;
      }),
    close() {
      if (closed) return;
      closed = true;
      sockets.open--;
      wake(new Error("closed"));
    },
  };
}

interface FakeOptions {
  inputs?: Record<string, ReadableStream<Uint8Array>>;
  terminal?: boolean;
}

/** A CLI host with a silent network, files from a table and batch inputs by path. */
function fakeHost(options: FakeOptions = {}) {
  const out = { stdout: "", stderr: "" };
  const sockets = { open: 0 };
  const interrupts: (() => void)[] = [];
  const files: Record<string, string> = {
    "/etc/resolv.conf": "nameserver 192.0.2.53\noptions timeout:30 attempts:1\n",
  };
  const env: Record<string, string> = { TESTMXLOOKUP_STS_DIR: STS_DIR };
  const host: CliHost = {
    openUdp: () => silentSocket(sockets),
    connectTcp: () => Promise.reject(new Error("no TCP in this test")),
    now: () => 0,
    readTextFile: (path) => Promise.resolve(files[path]),
    randomId: () => 1,
    hostname: () => "worldhost",
    env: (name) => env[name],
    stdout: (text) => Promise.resolve(void (out.stdout += text)),
    stderr: (text) => Promise.resolve(void (out.stderr += text)),
    isStderrTerminal: () => options.terminal ?? false,
    openInput: (path) => {
      const input = options.inputs?.[path];
      if (!input) return Promise.reject(new Deno.errors.NotFound("No such file or directory"));
      return Promise.resolve(input);
    },
    onInterrupt: (listener) => {
      interrupts.push(listener);
      return () => interrupts.splice(interrupts.indexOf(listener), 1);
    },
  };
  return { host, out, sockets, interrupts };
}

/** Parses NDJSON, checking that every line is a complete, valid report. */
function reports(stdout: string): JsonReport[] {
  assert.ok(stdout === "" || stdout.endsWith("\n"), "the last line is incomplete");
  return stdout.split("\n").slice(0, -1).map((line) => {
    const report = JSON.parse(line);
    assertValidReport(report);
    return report;
  });
}

const summary = (list: JsonReport[]) => list.map((r) => [r.line, r.domain, r.outcome, r.exitCode]);

const MIXED = "[192.0.2.1]\n\n# a comment\n192.0.2.1\r\n  a..b.test\n[192.0.2.2]";

Deno.test("runCli() --batch - prints one valid report per domain line, in order, skipping blank and # lines", async () => {
  const { host, out } = fakeHost({ inputs: { "-": streamOf(MIXED) } });
  assert.equal(await runCli(["--batch", "-"], host), 1);
  assert.deepEqual(summary(reports(out.stdout)), [
    [1, "[192.0.2.1]", "ok", 0],
    [4, "192.0.2.1", "hard", 1],
    [5, "a..b.test", "internal", 1],
    [6, "[192.0.2.2]", "ok", 0],
  ]);
  assert.equal(out.stderr, "");
});

Deno.test("runCli() --batch FILE reads the file and exits 0 when every domain is ok", async () => {
  const { host, out } = fakeHost({ inputs: { "list.txt": streamOf("[192.0.2.1]\n[::1]\n") } });
  assert.equal(await runCli(["--batch", "list.txt", "--concurrency", "1"], host), 0);
  assert.deepEqual(summary(reports(out.stdout)), [
    [1, "[192.0.2.1]", "ok", 0],
    [2, "[::1]", "ok", 0],
  ]);
});

Deno.test("runCli() --batch gives an overlong line an error report of its own", async () => {
  const long = "x".repeat(MAX_LINE_LENGTH * 2);
  const { host, out } = fakeHost({ inputs: { "-": streamOf(`${long}\n[192.0.2.1]\n`) } });
  assert.equal(await runCli(["--batch", "-"], host), 1);
  const list = reports(out.stdout);
  assert.deepEqual(summary(list), [
    [1, "x".repeat(MAX_LINE_LENGTH), "internal", 1],
    [2, "[192.0.2.1]", "ok", 0],
  ]);
  assert.match(list[0].reason ?? "", /long/);
});

Deno.test("runCli() --batch exits 66 with one line when the input cannot be opened", async () => {
  const { host, out } = fakeHost();
  assert.equal(await runCli(["--batch", "missing.txt"], host), 66);
  assert.equal(out.stdout, "");
  assert.equal(
    out.stderr,
    "testmxlookup: Cannot read batch input missing.txt: No such file or directory\n",
  );
});

Deno.test("runCli() --batch shows N/M done on a terminal's stderr, ending the line", async () => {
  const { host, out } = fakeHost({
    inputs: { "-": streamOf("[192.0.2.1]\n192.0.2.1\n[192.0.2.2]\n") },
    terminal: true,
  });
  assert.equal(await runCli(["--batch", "-"], host), 1);
  assert.equal(reports(out.stdout).length, 3);
  assert.match(out.stderr, /^\rtestmxlookup: \d+\/\d+ done, \d+ failed/);
  assert.ok(out.stderr.endsWith("\rtestmxlookup: 3/3 done, 1 failed\n"), out.stderr);
});

Deno.test("runCli() --batch on interrupt keeps the lines printed, aborts the lookups, exits 130", async () => {
  // The input stays open; hang.test waits for a reply that never comes.
  const input = streamOf("[192.0.2.1]\n[192.0.2.2]\nhang.test\n[192.0.2.3]\n", true);
  const { host, out, sockets, interrupts } = fakeHost({ inputs: { "-": input } });
  const run = runCli(["--batch", "-"], host);
  for (let i = 0; i < 2000 && !(out.stdout.split("\n").length === 3 && sockets.open > 0); i++) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  assert.ok(sockets.open > 0, "hang.test never asked");
  assert.equal(interrupts.length, 1);
  interrupts[0]();
  assert.equal(await run, 130);
  assert.equal(out.stderr, "testmxlookup: Interrupted after 2 domains\n");
  assert.deepEqual(summary(reports(out.stdout)), [
    [1, "[192.0.2.1]", "ok", 0],
    [2, "[192.0.2.2]", "ok", 0],
  ]);
  assert.equal(sockets.open, 0, "a socket of an aborted lookup is still open");
  assert.equal(interrupts.length, 0, "the interrupt listener is still installed");
});

/**
 * For `sh -c`: runs "$@" with $LINES (printf %b) on a stdin kept open, waits until $WANT
 * lines are out (at most 20 s), sends SIGINT; prints "exit N" and the stderr on stderr, the
 * stdout on stdout.
 */
const INTERRUPT_SCRIPT = `
set -u
d=$(mktemp -d)
mkfifo "$d/in"
: > "$d/out"
"$@" < "$d/in" > "$d/out" 2> "$d/err" &
pid=$!
exec 3> "$d/in"
printf '%b' "$LINES" >&3
i=0
while [ "$(wc -l < "$d/out")" -lt "$WANT" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
kill -INT $pid
wait $pid
echo "exit $?" >&2
exec 3>&-
cat "$d/out"
cat "$d/err" >&2
rm -rf "$d"
`;

Deno.test("the tool on SIGINT during --batch - prints only complete lines and exits 130", async () => {
  const dir = await workDir("batch_test_");
  try {
    // No --allow-net: the literals need no DNS, and nothing may leave the machine.
    const tool = spawnTool(dir, ["--batch", "-"]);
    const child = tool.child;
    try {
      const stdin = child.stdin.getWriter();
      // The input stays open: the batch is waiting for more when SIGINT comes.
      await stdin.write(encode("[192.0.2.1]\n# more to come\n[192.0.2.2]\n"));
      const reader = child.stdout.getReader();
      let stdout = "";
      while (stdout.split("\n").length < 3) {
        const chunk = await reader.read();
        if (chunk.done) break;
        stdout += decode(chunk.value);
      }
      child.kill("SIGINT");
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        stdout += decode(chunk.value);
      }
      const status = await child.status;
      const stderr = decode(new Uint8Array(await new Response(child.stderr).arrayBuffer()));
      await stdin.close().catch(() => {});
      // Ended by its own exit, not killed by the signal.
      assert.deepEqual([status.code, status.signal], [130, null], stderr);
      assert.equal(stderr, "testmxlookup: Interrupted after 2 domains\n");
      assert.deepEqual(summary(reports(stdout)), [
        [1, "[192.0.2.1]", "ok", 0],
        [3, "[192.0.2.2]", "ok", 0],
      ]);
    } finally {
      tool[Symbol.dispose]();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const unavailable = worldUnavailableReason();
if (unavailable !== undefined) {
  console.warn(`SKIPPING world tests of tests/cli/batch_test.ts: ${unavailable}`);
}

/** A report without what differs from run to run. */
function stable(report: JsonReport): Partial<JsonReport> {
  const { line: _line, durationMs: _ms, trace: _trace, ...rest } = report;
  return rest;
}

Deno.test({
  name: "the tool's --batch in the test world prints what --json prints for each domain",
  ignore: unavailable !== undefined,
  async fn(t) {
    await using world = await startWorld();
    const domains = [
      "two-mx.test",
      "nxdomain.test",
      "servfail.test",
      "[192.0.2.1]",
      "signed.test",
      "a..b.test",
      "null-mx.test",
    ];
    const input = `# monitored\n${domains.join("\n")}\n\n`;

    await t.step("every line equals the single --json report of its domain", async () => {
      const batch = await world.run(await toolCommand(["--batch", "-", "--concurrency", "3"]), {
        stdin: input,
      });
      assert.equal(batch.code, 1, decode(batch.stderr));
      assert.equal(decode(batch.stderr), "");
      const list = reports(decode(batch.stdout));
      assert.deepEqual(list.map((r) => [r.line, r.domain]), domains.map((d, i) => [i + 2, d]));
      for (const report of list) {
        const single = await world.run(await toolCommand(["--json", report.domain]));
        const expected = JSON.parse(decode(single.stdout));
        assert.deepEqual(stable(report), stable(expected), report.domain);
        // Each report holds its own round trips only, though the lookups overlapped.
        for (const trace of report.trace) {
          assert.ok(trace.name.toLowerCase().endsWith(report.domain), trace.name);
        }
      }
    });

    await t.step(
      "with a dead server each name fails soft, literals and bad lines as alone",
      async () => {
        const conf = await Deno.readTextFile(world.resolvConf);
        await world.writeEtc("resolv.conf", "nameserver 127.0.0.9\noptions timeout:1 attempts:1\n");
        try {
          const batch = await world.run(await toolCommand(["--batch", "-"]), {
            stdin: "two-mx.test\n[192.0.2.1]\na..b.test\nsigned.test\n",
          });
          assert.equal(batch.code, 1, decode(batch.stderr));
          const list = reports(decode(batch.stdout));
          assert.deepEqual(summary(list), [
            [1, "two-mx.test", "soft", 1],
            [2, "[192.0.2.1]", "ok", 0],
            [3, "a..b.test", "internal", 1],
            [4, "signed.test", "soft", 1],
          ]);
          assert.equal(list[0].errorKind, "TIMEOUT");
        } finally {
          await world.writeEtc("resolv.conf", conf);
        }
      },
    );

    await t.step(
      "SIGINT with a lookup in flight prints only complete lines, exit 130",
      async () => {
        const conf = await Deno.readTextFile(world.resolvConf);
        // two-mx.test waits 30 s for a dead server: still in flight when SIGINT comes.
        await world.writeEtc(
          "resolv.conf",
          "nameserver 127.0.0.9\noptions timeout:30 attempts:1\n",
        );
        let result;
        try {
          const tool = await toolCommand(["--batch", "-", "--deadline", "600"]);
          result = await world.run(["sh", "-c", INTERRUPT_SCRIPT, "sh", ...tool], {
            env: { LINES: "[192.0.2.1]\\n[192.0.2.2]\\ntwo-mx.test\\n[192.0.2.3]\\n", WANT: "2" },
            timeoutMs: 60_000,
          });
        } finally {
          await world.writeEtc("resolv.conf", conf);
        }
        // "exit 130" from sh's wait, then the tool's own line: it was not killed by SIGINT.
        assert.equal(
          decode(result.stderr),
          "exit 130\ntestmxlookup: Interrupted after 2 domains\n",
        );
        assert.deepEqual(summary(reports(decode(result.stdout))), [
          [1, "[192.0.2.1]", "ok", 0],
          [2, "[192.0.2.2]", "ok", 0],
        ]);
      },
    );
  },
});

Deno.test("worseStatus() ranks 0 < 2 < 3 < 1 < 70 (D35)", () => {
  const order = [0, 2, 3, 1, 70];
  for (const [i, a] of order.entries()) {
    for (const [j, b] of order.entries()) {
      assert.equal(worseStatus(a, b), order[Math.max(i, j)], `${a} ${b}`);
    }
  }
});
