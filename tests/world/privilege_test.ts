// Root and an account that owns the cache directory's parent (D25): as root, with exactly the
// permissions of `deno task lookup`, nobody (playing `courier`) owns /var/lib/courier and
// turns /var/lib/courier/sts into a link to a root-owned victim directory, before the run or
// in the middle of it (timed by inotify). The victim must stay untouched; the legitimate
// layouts must keep working; an unsafe one is one line and exit 78.
import assert from "node:assert/strict";
import { cacheEntry, servedPolicy } from "./sts_cases.ts";
import { lookupFlags, MAIN } from "./tool.ts";
import { type RunResult, startWorld, type World, worldUnavailableReason } from "./world.ts";

const unavailable = worldUnavailableReason();
if (unavailable !== undefined) {
  console.warn(`SKIPPING tests/world/privilege_test.ts: test world unavailable: ${unavailable}`);
}
const noInotify = new Deno.Command("sh", { args: ["-c", "command -v inotifywait"] })
    .outputSync().success
  ? undefined
  : "inotifywait not found (Debian's inotify-tools; scripts/install-world-deps.sh)";

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const ENV = { TZ: "UTC" };
const ENFORCE = cacheEntry("enforce1", servedPolicy("sts-enforce.test"));
const C = "/var/lib/courier";
const AS_NOBODY = "setpriv --reuid=65534 --regid=65534 --clear-groups";
/** Takes the world's cache mount away, leaving the run's own (overlay) /var/lib/courier. */
const UNMOUNT = `umount ${C}/sts && rm -rf ${C}/sts`;
/** Iterations of each race, at most, and the time they may take. */
const RACE_RUNS = 300;
const RACE_SECONDS = 45;

interface Snapshot {
  [name: string]: string;
}

/** The victim directory as names → owner, inode, mtime and bytes. */
function snapshot(dir: string): Snapshot {
  const files: Snapshot = {};
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    const info = Deno.lstatSync(path);
    const bytes = info.isFile ? text(Deno.readFileSync(path)) : "";
    files[entry.name] = `${info.uid} ${info.ino} ${info.mtime?.getTime()} ${bytes}`;
  }
  return files;
}

/** A root-owned directory such as /etc/profile.d, holding what each attack aims at. */
function makeVictim(base: string): string {
  const victim = `${base}/victim`;
  Deno.mkdirSync(victim, { mode: 0o755 });
  Deno.chmodSync(victim, 0o755);
  for (const name of ["sts-enforce.test", "a.test", "b.test"]) {
    Deno.writeTextFileSync(`${victim}/${name}`, ENFORCE);
    Deno.utimeSync(`${victim}/${name}`, 1_000_000, 1_000_000);
  }
  Deno.writeTextFileSync(`${victim}/.cache_size`, "1\n");
  return victim;
}

Deno.test({
  name: "root keeps an account that owns the cache's parent from turning the cache against it",
  ignore: unavailable !== undefined,
  async fn(t) {
    const world: World = await startWorld({ stsCacheSize: null });
    const base = Deno.makeTempDirSync({ prefix: "privilege-" });
    Deno.chmodSync(base, 0o755);
    try {
      const flags = await lookupFlags();
      const tool = [Deno.execPath(), "run", ...flags, MAIN];
      const { uid, gid } = world.courierIds;
      /** Runs `script` as root in the world, then the tool with `argv` as "$@". */
      const inWorld = (script: string, argv: string[], timeoutMs = 30_000): Promise<RunResult> =>
        world.run(["sh", "-c", `set -eu\n${script}`, "sh", ...tool, ...argv], {
          env: ENV,
          timeoutMs,
        });
      const victim = makeVictim(base);
      const before = snapshot(victim);

      await t.step("no race: a link planted before the run leads nowhere", async () => {
        const plant = `${UNMOUNT}
chown 65534:65534 ${C} && chmod 0755 ${C}
${AS_NOBODY} ln -s ${victim} ${C}/sts
exec "$@"`;
        const attempts = [
          ["--sts-purge", "sts-enforce.test"],
          ["--sts-cache-enable=1"],
          ["--sts-cache-disable"],
          ["sts-enforce.test"],
          ["--sts-override=testing", "sts-enforce.test"],
          ["--sts-expire"],
        ];
        for (const argv of attempts) {
          const result = await inWorld(plant, argv);
          const label = `${argv.join(" ")}: exit ${result.code}\n${text(result.stderr)}`;
          assert.ok(!result.timedOut, label);
          assert.doesNotMatch(text(result.stderr), /Internal error|Missing Deno permission/, label);
          assert.deepEqual(snapshot(victim), before, label);
        }
      });

      await t.step("legitimate: Debian's courier-owned /var/lib/courier and cache", async () => {
        await world.resetSts(null);
        const result = await inWorld(
          `chown ${uid}:${gid} ${C} && chmod 0750 ${C}\nexec "$@"`,
          ["sts-enforce.test"],
        );
        assert.equal(result.code, 0, text(result.stderr));
        assert.match(text(result.stdout), /^Domain sts-enforce\.test:\nSTS: enforcing\n/);
        const info = Deno.statSync(`${world.stsDir}/sts-enforce.test`);
        assert.deepEqual([info.uid, info.gid], [uid, gid]);
        const purge = await inWorld(
          `chown ${uid}:${gid} ${C} && chmod 0750 ${C}\nexec "$@"`,
          ["--sts-purge", "sts-enforce.test"],
        );
        assert.equal(purge.code, 0, text(purge.stderr));
        assert.match(text(purge.stdout), /^Reloading sts-enforce\.test\nSTS Policy ID: enforce1\n/);
      });

      await t.step("legitimate: a root-owned cache in a root-owned /var/lib/courier", async () => {
        await world.resetSts(null);
        Deno.chownSync(world.stsDir, 0, 0);
        const result = await inWorld(
          `chown 0:0 ${C} && chmod 0755 ${C}\nexec "$@"`,
          ["sts-enforce.test"],
        );
        assert.equal(result.code, 0, text(result.stderr));
        assert.equal(Deno.statSync(`${world.stsDir}/sts-enforce.test`).uid, 0);
      });

      await t.step("legitimate: the administrator's link from a root-owned path", async () => {
        const real = `${base}/real-sts`;
        Deno.mkdirSync(real, { mode: 0o755 });
        Deno.chownSync(real, uid, gid);
        const result = await inWorld(
          `${UNMOUNT}\nchown 0:0 ${C} && chmod 0755 ${C}\nln -s ${real} ${C}/sts\nexec "$@"`,
          ["sts-enforce.test"],
        );
        assert.equal(result.code, 0, text(result.stderr));
        assert.equal(Deno.readTextFileSync(`${real}/sts-enforce.test`), ENFORCE);
        assert.equal(Deno.statSync(`${real}/sts-enforce.test`).uid, uid);
      });

      await t.step(
        "unsafe: a cache below a directory every account may write is exit 78",
        async () => {
          const result = await inWorld(`chmod 0777 ${C}\nexec "$@"`, ["sts-enforce.test"]);
          const stderr = text(result.stderr);
          assert.equal(result.code, 78, stderr);
          assert.equal(text(result.stdout), "");
          assert.match(
            stderr,
            /^testmxlookup: Refusing to work as root in the STS cache directory \/var\/lib\/courier\/sts: \/var\/lib\/courier is writable by every account\n$/,
          );
        },
      );

      /**
       * A race, repeated: `setup` prepares the attacker's cache as nobody, `flip` waits (as
       * nobody, inotify) for the run to touch it and swaps in the victim; then the victim is
       * compared. Bounded by RACE_RUNS and RACE_SECONDS, all in one shell in the world.
       */
      const race = async (setup: string, event: string, watched: string, argv: string[]) => {
        const script = `${UNMOUNT}
chown 65534:65534 ${C} && chmod 0755 ${C}
end=$(( $(date +%s) + ${RACE_SECONDS} ))
runs=0; hits=0
while [ "$runs" -lt ${RACE_RUNS} ] && [ "$(date +%s)" -lt "$end" ]; do
  rm -rf ${C}/sts ${C}/sts.old
  ${AS_NOBODY} sh -c '${setup}'
  log=$(mktemp)
  ready=${C}/ready && rm -f "$ready"
  ${AS_NOBODY} sh -c 'timeout 20 inotifywait -e ${event} ${watched} >/dev/null 2>'"$ready"' && mv ${C}/sts ${C}/sts.old && ln -s ${victim} ${C}/sts && echo >> ${C}/flips' &
  flipper=$!
  # The run starts once the watch is in place (bounded: at most 2 s).
  for _ in $(seq 200); do grep -q "Watches established" "$ready" && break; sleep 0.01; done
  timeout 20 "$@" >"$log" 2>&1 || true
  kill "$flipper" 2>/dev/null || true
  wait "$flipper" 2>/dev/null || true
  # A hit: the run met the victim after the flip (and was refused there).
  if grep -q "Permission denied" "$log"; then hits=$((hits + 1)); fi
  rm -f "$log" "$ready"
  runs=$((runs + 1))
done
echo "runs=$runs flips=$(cat ${C}/flips 2>/dev/null | wc -l) hits=$hits"
`;
        const result = await inWorld(script, argv, (RACE_SECONDS + 30) * 1000);
        const out = text(result.stdout);
        assert.equal(result.code, 0, `${out}\n${text(result.stderr)}`);
        const runs = Number(/runs=(\d+)/.exec(out)?.[1] ?? 0);
        const flips = Number(/flips=(\d+)/.exec(out)?.[1] ?? 0);
        assert.ok(runs >= 20, `only ${runs} runs`);
        const hits = Number(/hits=(\d+)/.exec(out)?.[1] ?? 0);
        // The flip came while the run worked, many times (some runs end before it).
        assert.ok(flips >= 10 && hits >= 5, `${flips} flips, ${hits} hits in ${runs} runs`);
        assert.deepEqual(snapshot(victim), before, `after ${runs} runs`);
        return `${runs} runs, ${flips} flips, ${hits} hits`;
      };

      await t.step({
        name: "race: --sts-expire with the directory swapped mid-walk leaves the victim alone",
        ignore: noInotify !== undefined,
        async fn() {
          // Old entries named like the victim's files, made first so that the directory lists
          // them last (tmpfs lists newest first), and many more to widen the window.
          const setup = `mkdir ${C}/sts && cd ${C}/sts && printf "1\\\\n" > .cache_size && ` +
            `for n in sts-enforce a b; do printf x > $n.test; done && ` +
            `for i in $(seq 1000); do : > e$i.test; done && ` +
            `touch -d @1000000 *.test`;
          const runs = await race(setup, "open", `${C}/sts`, ["--sts-expire"]);
          console.log(`expire race: ${runs}`);
        },
      });

      await t.step({
        name:
          "race: --sts-override with the directory swapped after the read leaves the victim alone",
        ignore: noInotify !== undefined,
        async fn() {
          const entry = JSON.stringify(ENFORCE).slice(1, -1).replaceAll("'", "");
          const setup = `mkdir ${C}/sts && printf "${entry}" > ${C}/sts/sts-enforce.test`;
          const runs = await race(
            setup,
            "close_nowrite",
            `${C}/sts/sts-enforce.test`,
            ["--sts-override=testing", "sts-enforce.test"],
          );
          console.log(`override race: ${runs}`);
        },
      });

      await t.step({
        name: "race: the cache swapped for a FIFO after the rename ends within the deadline",
        ignore: noInotify !== undefined,
        async fn() {
          for (let i = 0; i < 3; i++) {
            // The account's own cache; once the tool renames its entry into place, the account
            // puts a FIFO where the directory was.
            const flip = `${UNMOUNT}
chown ${uid}:${gid} ${C} && chmod 0755 ${C}
mkdir ${C}/sts && chown ${uid}:${gid} ${C}/sts
setpriv --reuid=${uid} --regid=${gid} --clear-groups sh -c 'timeout 20 inotifywait -q -e moved_to ${C}/sts >/dev/null 2>&1 && mv ${C}/sts ${C}/sts.old && mkfifo ${C}/sts' &
sleep 0.05
"$@" --deadline 10`;
            const result = await inWorld(flip, ["sts-enforce.test"], 25_000);
            const label = `exit ${result.code}\n${text(result.stderr)}`;
            assert.ok(!result.timedOut, label);
            assert.equal(result.code, 0, label);
            assert.match(text(result.stdout), /^Domain sts-enforce\.test:\nSTS: enforcing\n/);
          }
        },
      });
    } finally {
      await world.stop();
      Deno.removeSync(base, { recursive: true });
    }
  },
});
