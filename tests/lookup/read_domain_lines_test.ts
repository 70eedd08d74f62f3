import assert from "node:assert/strict";
import { MAX_LINE_LENGTH, readDomainLines } from "../../lib/lookup/read_domain_lines.ts";

/** A stream of the given chunks, strings encoded as UTF-8. */
function streamOf(...chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(
    chunks.map((c) => typeof c === "string" ? new TextEncoder().encode(c) : c),
  );
}

async function linesOf(stream: ReadableStream<Uint8Array>): Promise<[number, string][]> {
  const all: [number, string][] = [];
  for await (const { line, domain } of readDomainLines(stream)) all.push([line, domain]);
  return all;
}

const LINE_CASES: { name: string; chunks: (string | Uint8Array)[]; want: [number, string][] }[] = [
  {
    name: "skips blank and # lines but counts them",
    chunks: ["a.test\n\n   \n# note\n  #x.test\nb.test\n"],
    want: [[1, "a.test"], [6, "b.test"]],
  },
  {
    name: "drops \\r\\n ends and surrounding spaces and tabs, keeps inner ones",
    chunks: ["\t a.test \r\nb .test\r\n"],
    want: [[1, "a.test"], [2, "b .test"]],
  },
  {
    name: "reads a last line without a newline",
    chunks: ["a.test\nb.test"],
    want: [[1, "a.test"], [2, "b.test"]],
  },
  {
    name: "joins lines split across chunks",
    chunks: ["a.te", "st\nb", ".test\n"],
    want: [[1, "a.test"], [2, "b.test"]],
  },
  {
    name: "decodes a UTF-8 character split across chunks",
    chunks: [new Uint8Array([0x6d, 0xc3]), new Uint8Array([0xbc, 0x2e, 0x74, 0x0a])],
    want: [[1, "mü.t"]],
  },
  { name: "yields nothing for an empty input", chunks: [], want: [] },
  {
    // Found by the growth target of scripts/fuzz.ts: trimming such lines took a millisecond each.
    name: "keeps a run of 1,000 blanks inside a line, trims its ends",
    chunks: [` \ta${" \t".repeat(500)}b \t\r\n \r\n`],
    want: [[1, `a${" \t".repeat(500)}b`]],
  },
  {
    name: "cuts an overlong line and skips its rest, across chunks",
    chunks: ["x".repeat(MAX_LINE_LENGTH + 10), "y".repeat(5000), "yy\nb.test\n"],
    want: [[1, "x".repeat(MAX_LINE_LENGTH)], [2, "b.test"]],
  },
  {
    name: "cuts an overlong line that arrives in one chunk",
    chunks: [`${"z".repeat(MAX_LINE_LENGTH * 3)}\nb.test`],
    want: [[1, "z".repeat(MAX_LINE_LENGTH)], [2, "b.test"]],
  },
];

for (const { name, chunks, want } of LINE_CASES) {
  Deno.test(`readDomainLines() ${name}`, async () => {
    assert.deepEqual(await linesOf(streamOf(...chunks)), want);
  });
}

Deno.test("readDomainLines() stops a pending read when the signal aborts", async () => {
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode("a.test\n"));
      // Then nothing more, as from a terminal nobody types into.
    },
    cancel() {
      cancelled = true;
    },
  });
  const controller = new AbortController();
  const got: string[] = [];
  for await (const { domain } of readDomainLines(stream, { signal: controller.signal })) {
    got.push(domain);
    setTimeout(() => controller.abort(), 1);
  }
  assert.deepEqual(got, ["a.test"]);
  assert.ok(cancelled);
});
