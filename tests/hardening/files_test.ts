// Hostile configuration files through the real program (README.md#security): resolv.conf, Courier's
// configuration directory and the STS cache directory missing, empty, huge, binary, a
// directory, a FIFO or a link. Each gives at most one clear line (or a bounded list) and the
// exit status of lib/cli/_exit_status.ts's table, never a crash, a flood or a hang.
import assert from "node:assert/strict";
import { MAIN } from "../world/tool.ts";

const ARG = "[192.0.2.1]"; // an address: no DNS is asked, every file is still read
const RELAY = "Domain [192.0.2.1]:\nRelay: [192.0.2.1], Priority: -1, Address: ::ffff:192.0.2.1\n";

interface Run {
  code: number;
  stdout: string;
  stderr: string[];
}

/** Runs main.ts on hostile files made in a fresh directory `t`; the STS cache is off. */
async function runWith(
  make: (t: string) => Promise<void>,
  argv: (t: string) => string[],
): Promise<Run> {
  const t = await Deno.makeTempDir({ prefix: "hostile-files-" });
  try {
    await Deno.mkdir(`${t}/courier`);
    await Deno.mkdir(`${t}/sts`);
    await Deno.writeTextFile(`${t}/sts/.cache_size`, "0\n");
    await Deno.writeTextFile(`${t}/resolv.conf`, "nameserver 127.0.0.1\n");
    await make(t);
    const command = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--no-prompt",
        MAIN,
        `--resolv-conf=${t}/resolv.conf`,
        `--config-dir=${t}/courier`,
        `--sts-dir=${t}/sts`,
        ...argv(t),
      ],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000), // a hang fails the test instead of stalling CI
    });
    const out = await command.output();
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    const stderr = text(out.stderr).split("\n").slice(0, -1);
    return { code: out.code, stdout: text(out.stdout), stderr };
  } finally {
    await Deno.remove(t, { recursive: true });
  }
}

function noRawControls(lines: string[]): void {
  for (const line of lines) {
    assert.ok(![...line].some((c) => c.charCodeAt(0) < 0x20 || c === "\x7f"), line);
  }
}

const lookup = () => [ARG];

Deno.test("a missing or empty resolv.conf gives glibc's defaults without a word", async () => {
  for (
    const make of [
      (t: string) => Deno.remove(`${t}/resolv.conf`),
      (t: string) => Deno.writeTextFile(`${t}/resolv.conf`, ""),
    ]
  ) {
    const run = await runWith(make, lookup);
    assert.deepEqual(run, { code: 0, stdout: RELAY, stderr: [] });
  }
});

Deno.test("a resolv.conf with a NUL byte (binary, UTF-16) is one line and exit 78", async () => {
  const run = await runWith(
    (t) => Deno.writeFile(`${t}/resolv.conf`, new Uint8Array([0x6e, 0x00, 0x61, 0x00, 0xff])),
    lookup,
  );
  assert.equal(run.code, 78);
  assert.equal(run.stdout, "");
  assert.deepEqual(run.stderr, [
    `testmxlookup: Cannot read resolver configuration ${
      run.stderr[0]?.match(/ (\/\S+resolv\.conf):/)?.[1]
    }: Not a text file: it holds a NUL byte`,
  ]);
});

Deno.test("a binary resolv.conf without NUL gives at most 21 escaped lines, not a flood", async () => {
  const bytes = new Uint8Array(200_000);
  for (let i = 0; i < bytes.length; i++) bytes[i] = 1 + ((i * 7919) % 255);
  const run = await runWith((t) => Deno.writeFile(`${t}/resolv.conf`, bytes), lookup);
  assert.equal(run.code, 0);
  assert.equal(run.stdout, RELAY);
  assert.ok(run.stderr.length >= 2 && run.stderr.length <= 22, `${run.stderr.length} lines`);
  assert.match(run.stderr.at(-1)!, /Ignoring everything after the first 65536 characters$/);
  noRawControls(run.stderr);
});

Deno.test("a 2 MB resolv.conf is parsed up to its cap with a count of what was not shown", async () => {
  const run = await runWith(
    (t) => Deno.writeTextFile(`${t}/resolv.conf`, "bogus line\n".repeat(200_000)),
    lookup,
  );
  assert.equal(run.code, 0);
  assert.equal(run.stderr.length, 22);
  assert.match(run.stderr[20], /: \d+ more lines ignored \(not shown\)$/);
  assert.match(run.stderr[21], /: Ignoring everything after the first 65536 characters$/);
});

Deno.test("a 20 MB resolv.conf, a FIFO or /dev/zero is one line and exit 78, never a hang", async () => {
  const cases: [string, (t: string) => Promise<void>, RegExp][] = [
    [
      "20 MB",
      (t) => Deno.writeTextFile(`${t}/resolv.conf`, "bogus line\n".repeat(2_000_000)),
      /Larger than \d+ bytes/,
    ],
    ["FIFO", async (t) => {
      await Deno.remove(`${t}/resolv.conf`).catch(() => {});
      await new Deno.Command("mkfifo", { args: [`${t}/resolv.conf`] }).output();
    }, /Not a regular file/],
    ["/dev/zero", async (t) => {
      await Deno.remove(`${t}/resolv.conf`).catch(() => {});
      await Deno.symlink("/dev/zero", `${t}/resolv.conf`);
    }, /Not a regular file/],
  ];
  for (const [what, prepare, reason] of cases) {
    const run = await runWith(prepare, lookup);
    assert.equal(run.code, 78, what);
    assert.equal(run.stdout, "", what);
    assert.equal(run.stderr.length, 1, what);
    assert.match(run.stderr[0], reason, what);
  }
});

Deno.test("a directory where resolv.conf, locals or me is expected is one line and exit 78", async () => {
  for (const path of ["resolv.conf", "courier/locals", "courier/me"]) {
    const run = await runWith(async (t) => {
      await Deno.remove(`${t}/${path}`).catch(() => {});
      await Deno.mkdir(`${t}/${path}`);
    }, lookup);
    assert.equal(run.code, 78, path);
    assert.equal(run.stdout, "", path);
    assert.equal(run.stderr.length, 1, path);
    assert.match(run.stderr[0], /^testmxlookup: Cannot read .*: Is a directory/, path);
  }
});

Deno.test("a binary locals or me is one line and exit 78; an empty one is no configuration", async () => {
  for (const name of ["locals", "me", "hosteddomains"]) {
    const run = await runWith(
      (t) => Deno.writeFile(`${t}/courier/${name}`, new Uint8Array([0xff, 0xfe, 0x61, 0x00])),
      lookup,
    );
    assert.equal(run.code, 78, name);
    assert.deepEqual(run.stderr.length, 1, name);
    assert.match(run.stderr[0], new RegExp(`${name} is not a text file: it holds a NUL byte$`));
    const empty = await runWith((t) => Deno.writeTextFile(`${t}/courier/${name}`, ""), lookup);
    assert.deepEqual(empty, { code: 0, stdout: RELAY, stderr: [] }, name);
  }
});

Deno.test("a .cache_size that is a FIFO or a link to /dev/zero is one line, not a hang", async () => {
  const makers = [
    async (t: string) => {
      await Deno.remove(`${t}/sts/.cache_size`);
      const { code } = await new Deno.Command("mkfifo", { args: [`${t}/sts/.cache_size`] })
        .output();
      assert.equal(code, 0);
    },
    async (t: string) => {
      await Deno.remove(`${t}/sts/.cache_size`);
      await Deno.symlink("/dev/zero", `${t}/sts/.cache_size`);
    },
  ];
  for (const [i, make] of makers.entries()) {
    const run = await runWith(make, () => ["--sts-expire"]);
    assert.equal(run.code, 0, `case ${i}`);
    assert.equal(run.stdout, "");
    assert.equal(run.stderr.length, 1, run.stderr.join("\n"));
    assert.match(run.stderr[0], /\.cache_size" is .*: using the default size 1000$/);
  }
});

Deno.test("--sts-expire names the links, directories, FIFOs and hard links it left alone", async () => {
  const run = await runWith(async (t) => {
    await Deno.writeTextFile(`${t}/sts/.cache_size`, "5\n");
    await Deno.writeTextFile(`${t}/secret`, "x");
    await Deno.symlink(`${t}/secret`, `${t}/sts/soft.test`);
    await Deno.link(`${t}/secret`, `${t}/sts/hard.test`);
    await Deno.mkdir(`${t}/sts/dir.test`);
    const { code } = await new Deno.Command("mkfifo", { args: [`${t}/sts/fifo.test`] }).output();
    assert.equal(code, 0);
  }, () => ["--sts-expire"]);
  assert.equal(run.code, 0);
  const reasons = run.stderr.map((line) => line.replace(/^testmxlookup: \S+\/sts\//, "")).sort();
  assert.deepEqual(reasons, [
    "dir.test: is not a regular file, left alone",
    "fifo.test: is not a regular file, left alone",
    "hard.test: has 2 hard links, not used, left alone",
    "soft.test: is a symbolic link, not followed, left alone",
  ]);
});
