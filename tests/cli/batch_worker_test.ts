// `--batch` as one worker of many: `--shard K/N` partitions a list, `--resume FILE` appends to
// FILE and skips what it reports, so a worker killed with SIGKILL and started again ends with
// exactly one line per input line. The tool runs as a subprocess on address literals, which
// need no DNS: nothing leaves the machine (no --allow-net).
import assert from "node:assert/strict";
import { spawnTool, workDir } from "./_batch_tool.ts";
import { assertValidReport } from "../_schema.ts";

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** Runs the tool to its end (killed after 60 s at most). */
async function run(dir: string, argv: string[], stdin = "", ffi = false) {
  using tool = spawnTool(dir, argv, { allowWrite: true, ffi });
  const writer = tool.child.stdin.getWriter();
  await writer.write(encode(stdin));
  await writer.close();
  const { code, stdout, stderr } = await tool.child.output();
  return { code, stdout: decode(stdout), stderr: decode(stderr) };
}

/** Waits until FILE's text satisfies `done`: at most 600 looks, 50 ms apart. */
async function untilFile(path: string, done: (text: string) => boolean): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (done(await Deno.readTextFile(path).catch(() => ""))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The `[line, domain]` of each NDJSON line, each checked against the schema. */
function reported(ndjson: string): [number, string][] {
  assert.ok(ndjson === "" || ndjson.endsWith("\n"), "the last line is incomplete");
  return ndjson.split("\n").slice(0, -1).map((text) => {
    const report = JSON.parse(text);
    assertValidReport(report);
    return [report.line, report.domain];
  });
}

/** 90 address literals, a comment and a blank line among them, and a bad name. */
function list(): { text: string; expected: [number, string][] } {
  const lines: string[] = ["# survey"];
  for (let i = 1; i <= 90; i++) {
    lines.push(i % 3 === 0 ? `[2001:db8::${i.toString(16)}]` : `[192.0.2.${i}]`);
    if (i === 40) lines.push("");
  }
  lines.push("a..b.test");
  const expected: [number, string][] = [];
  lines.forEach((domain, i) => {
    if (domain !== "" && !domain.startsWith("#")) expected.push([i + 1, domain]);
  });
  return { text: lines.join("\n") + "\n", expected };
}

const byLine = (a: [number, string], b: [number, string]) => a[0] - b[0];

Deno.test("the tool --batch --shard K/N - N workers over one list look each domain up exactly once, with the whole input's line numbers", async () => {
  const dir = await workDir("batch_worker_test_");
  try {
    const { text, expected } = list();
    const all: [number, string][] = [];
    for (let k = 0; k < 3; k++) {
      const { code, stdout, stderr } = await run(dir, ["--batch", "-", "--shard", `${k}/3`], text);
      assert.equal(stderr.includes("Internal error"), false, stderr);
      // The bad name fails (exit 1) in the one shard it falls into.
      assert.ok(code === 0 || code === 1, stderr);
      const part = reported(stdout);
      assert.ok(part.length > 10 && part.length < 80, `shard ${k} took ${part.length}`);
      assert.deepEqual(part, [...part].sort(byLine), "each worker writes in input order");
      all.push(...part);
    }
    assert.deepEqual(all.sort(byLine), expected);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const ffi of [false, true]) {
  Deno.test(`the tool --batch --resume FILE - a worker killed with SIGKILL mid-batch and started again ends with exactly one line per domain (${ffi ? "libc" : "node:fs"})`, async () => {
    const dir = await workDir("batch_worker_test_");
    const out = `${dir}/out.ndjson`;
    try {
      const { text, expected } = list();
      const half = text.split("\n").slice(0, 50).join("\n") + "\n";
      // The first worker gets half of the list and waits for the rest, which never comes.
      const tool = spawnTool(dir, ["--batch", "-", "--resume", out], {
        allowWrite: true,
        output: "null",
        ffi,
      });
      const child = tool.child;
      const writer = child.stdin.getWriter();
      try {
        await writer.write(encode(half));
        await untilFile(out, (now) => now.split("\n").length > 40);
        child.kill("SIGKILL");
        const status = await child.status;
        assert.equal(status.signal, "SIGKILL");
      } finally {
        tool[Symbol.dispose]();
        await writer.close().catch(() => {});
      }
      const first = reported(await Deno.readTextFile(out));
      assert.ok(first.length > 30 && first.length < expected.length, `${first.length} lines`);
      // What a kill in the middle of a write leaves: half a line.
      const cut = await Deno.readTextFile(out);
      const next = expected[first.length];
      await Deno.writeTextFile(out, `{"schemaVersion":1,"line":${next[0]},"domain":"[19`, {
        append: true,
      });
      const again = await run(dir, ["--batch", "-", "--resume", out], text, ffi);
      assert.equal(again.stdout, "", "the lines go to FILE");
      assert.equal(again.code, 1, again.stderr); // a..b.test fails
      const after = await Deno.readTextFile(out);
      assert.ok(after.startsWith(cut), "the complete lines are kept as they were");
      assert.deepEqual(reported(after).sort(byLine), expected);
      // Started once more, it has nothing left to do and adds nothing.
      const third = await run(dir, ["--batch", "-", "--resume", out], text, ffi);
      assert.equal(third.code, 0, third.stderr);
      assert.equal(await Deno.readTextFile(out), after);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("the tool --batch --resume FILE - refuses a FILE that is not its output, with one line and exit 65, leaving it untouched", async () => {
  const dir = await workDir("batch_worker_test_");
  try {
    const foreign = `${dir}/notes.txt`;
    const content = 'shopping list\nmilk\n{"line":';
    await Deno.writeTextFile(foreign, content);
    const { code, stdout, stderr } = await run(
      dir,
      ["--batch", "-", "--resume", foreign],
      "[192.0.2.1]\n",
    );
    assert.deepEqual([code, stdout], [65, ""]);
    assert.equal(
      stderr,
      `testmxlookup: Not resuming from ${foreign}: Line 1 is not JSON, so it is not this tool's --batch output\n`,
    );
    assert.equal(await Deno.readTextFile(foreign), content);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the tool --batch --resume FILE - refuses a link, a FIFO and a directory at once with exit 73, following and opening none", async () => {
  const dir = await workDir("batch_worker_test_");
  try {
    const target = `${dir}/target`;
    await Deno.writeTextFile(target, "");
    await Deno.symlink(target, `${dir}/link`);
    await Deno.mkdir(`${dir}/directory`);
    const mkfifo = await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
    assert.ok(mkfifo.success);
    const cases: [string, string][] = [
      ["link", "Is a symbolic link"],
      ["fifo", "Not a regular file"],
      ["directory", "Not a regular file"],
    ];
    for (const [name, reason] of cases) {
      for (const ffi of [false, true]) {
        const path = `${dir}/${name}`;
        const result = await run(dir, ["--batch", "-", "--resume", path], "[192.0.2.1]\n", ffi);
        assert.deepEqual(
          [result.code, result.stdout, result.stderr],
          [73, "", `testmxlookup: Cannot open ${path}: ${reason}\n`],
          `${name}, ${ffi ? "libc" : "node:fs"}`,
        );
      }
    }
    assert.equal(await Deno.readTextFile(target), "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the tool --batch --resume FILE - a second worker on the same FILE is refused with exit 75 while the first runs (FFI granted)", async () => {
  const dir = await workDir("batch_worker_test_");
  const out = `${dir}/out.ndjson`;
  try {
    // The first worker reports one line and waits for more input, holding FILE.
    const first = spawnTool(dir, ["--batch", "-", "--resume", out], {
      allowWrite: true,
      output: "null",
      ffi: true,
    });
    const writer = first.child.stdin.getWriter();
    try {
      await writer.write(encode("[192.0.2.1]\n"));
      await untilFile(out, (now) => now.endsWith("\n"));
      const held = await Deno.readTextFile(out);
      assert.equal(reported(held).length, 1);
      const second = await run(dir, ["--batch", "-", "--resume", out], "[192.0.2.2]\n", true);
      assert.deepEqual(
        [second.code, second.stdout, second.stderr],
        [75, "", `testmxlookup: Cannot use ${out}: Another testmxlookup --resume is writing it\n`],
      );
      assert.equal(await Deno.readTextFile(out), held, "the second worker left FILE alone");
      await writer.close();
      assert.equal((await first.child.status).code, 0);
    } finally {
      first[Symbol.dispose]();
      await writer.close().catch(() => {});
    }
    // Once the first has ended, FILE is free again.
    const third = await run(
      dir,
      ["--batch", "-", "--resume", out],
      "[192.0.2.1]\n[192.0.2.3]\n",
      true,
    );
    assert.equal(third.code, 0, third.stderr);
    assert.deepEqual(reported(await Deno.readTextFile(out)).map(([, d]) => d), [
      "[192.0.2.1]",
      "[192.0.2.3]",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
