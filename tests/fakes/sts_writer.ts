// A cache writer for the crash tests: writes large policies with StsStore.write, cycling over
// the given domains, and prints "<domain> <id>" after each completed write, until done or
// killed. The policy is a function of its id, so a reader can tell a whole entry from a torn one.
//
//   deno run --allow-read=DIR --allow-write=DIR tests/fakes/sts_writer.ts DIR PREFIX COUNT DOMAIN...
//
// Ids are `<PREFIX>n<i>` for i = 0 … COUNT-1.
import { StsStore } from "../../lib/sts/store.ts";

/** The approximate size of every policy written, under the store's read limit. */
export const WRITER_POLICY_BYTES = 60 * 1024;

/**
 * The policy the writer stores for `id`: a valid header, then `info:` lines naming the id
 * until about {@linkcode WRITER_POLICY_BYTES}.
 *
 * @param id The TXT id.
 * @returns The policy text.
 */
export function writerPolicy(id: string): string {
  const lines = ["version: STSv1", "mode: enforce", "mx: *.crash.test", "max_age: 86400"];
  let size = 0;
  // Each line adds over 64 bytes, so this ends within WRITER_POLICY_BYTES / 64 turns.
  for (let i = 0; size < WRITER_POLICY_BYTES; i++) {
    const line = `info: ${id} ${String(i).padStart(5, "0")} ${"x".repeat(50)}`;
    lines.push(line);
    size += line.length + 1;
  }
  return lines.join("\n") + "\n";
}

/** The id of the `i`-th write of a writer started with `prefix`. */
export function writerId(prefix: string, i: number): string {
  return `${prefix}n${i}`;
}

if (import.meta.main) {
  const [dir, prefix, countText, ...domains] = Deno.args;
  const count = Number(countText);
  if (!dir || !prefix || !Number.isInteger(count) || domains.length === 0) {
    console.error("usage: sts_writer.ts DIR PREFIX COUNT DOMAIN...");
    Deno.exit(2);
  }
  const store = new StsStore(dir);
  for (let i = 0; i < count; i++) {
    const domain = domains[i % domains.length];
    const id = writerId(prefix, i);
    await store.write(domain, id, writerPolicy(id));
    console.log(`${domain} ${id}`);
  }
}
