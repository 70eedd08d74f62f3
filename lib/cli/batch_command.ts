// `--batch FILE`: one JSON line per domain, in input order, each as soon as its predecessors
// are out; a progress line on a terminal's stderr; SIGINT stops reading, aborts the lookups in
// flight and keeps the lines already printed (exit 130). As a worker of a larger job:
// `--shard K/N` keeps its part of the lines, `--resume FILE` writes to FILE and skips the lines
// reported there already.
import { ConfigError, isPermissionRefusal, osErrorText } from "../errors.ts";
import { lookupMany } from "../lookup/lookup_many.ts";
import { type DomainLine, readDomainLines } from "../lookup/read_domain_lines.ts";
import { ResumeFileError } from "../lookup/resume.ts";
import { inShard } from "../lookup/shard.ts";
import { exitCodeOf, renderJson } from "../report/json.ts";
import { REASON_PREFIX, reasonLine } from "../report/text.ts";
import {
  EXIT_CANTCREAT,
  EXIT_DATAERR,
  EXIT_INTERRUPTED,
  EXIT_IOERR,
  EXIT_NOINPUT,
  EXIT_OK,
  EXIT_SOFTWARE,
  EXIT_TEMPFAIL,
} from "./args.ts";
import type { CliHost } from "./cli_host.ts";
import { CoalescingWriter } from "./_coalescing_writer.ts";
import {
  openResumeFile,
  ResumeBusyError,
  type ResumeFile,
  ResumeOpenError,
} from "./_resume_file.ts";
import { domainOptions, type Session } from "./session.ts";

const PROGRESS_INTERVAL_MS = 100;

/** The `\r`-rewritten count on a terminal's stderr during `--batch`. */
class Progress {
  readonly #host: CliHost;
  #shownMs = -Infinity;
  #shown = false;

  constructor(host: CliHost) {
    this.#host = host;
  }

  async update(done: number, read: number, failed: number, force = false): Promise<void> {
    const now = performance.now();
    // A terminal redrawn on every one of 100,000 lines would slow the batch down.
    if (!force && now - this.#shownMs < PROGRESS_INTERVAL_MS) return;
    this.#shownMs = now;
    this.#shown = true;
    await this.#host.stderr(`\r${REASON_PREFIX}${done}/${read} done, ${failed} failed`);
  }

  /** Ends the progress line, once. */
  async end(): Promise<void> {
    if (!this.#shown) return;
    this.#shown = false;
    await this.#host.stderr("\n");
  }
}

/**
 * The worse of two domains' exit statuses (D35): an internal error, then a lookup failure
 * (Courier's 1), then `--probe`'s 3 (every address fails), then 2 (some do), then 0.
 */
export function worseStatus(a: number, b: number): number {
  const rank = (status: number) => [EXIT_OK, 2, 3, 1, EXIT_SOFTWARE].indexOf(status);
  return rank(b) > rank(a) ? b : a;
}

/** Looks up every domain of the input at `path` (`-` for stdin); returns the exit status. */
export async function batchCommand(session: Session, path: string): Promise<number> {
  const { host, args } = session;
  const options = await domainOptions(session);
  if (!host.openInput) throw new Error("This host cannot read a batch input");
  let input: ReadableStream<Uint8Array>;
  try {
    input = await host.openInput(path);
  } catch (error) {
    if (isPermissionRefusal(error)) throw error;
    await host.stderr(reasonLine(`Cannot read batch input ${path}: ${osErrorText(error)}`));
    return EXIT_NOINPUT;
  }
  let resume: ResumeFile | undefined;
  if (args.resumeFile !== undefined) {
    try {
      resume = await openResumeFile(args.resumeFile);
    } catch (error) {
      await input.cancel().catch(() => {});
      if (error instanceof ResumeFileError) {
        await host.stderr(reasonLine(
          `Not resuming from ${args.resumeFile}: ${error.message}, so it is not this tool's --batch output`,
        ));
        return EXIT_DATAERR;
      }
      if (!(error instanceof ResumeOpenError)) throw error;
      if (error instanceof ResumeBusyError) {
        await host.stderr(reasonLine(`Cannot use ${args.resumeFile}: ${error.message}`));
        return EXIT_TEMPFAIL;
      }
      await host.stderr(reasonLine(`Cannot open ${args.resumeFile}: ${error.message}`));
      return EXIT_CANTCREAT;
    }
  }
  const { shard } = args;
  const interrupt = new AbortController();
  const stopListening = host.onInterrupt?.(() => interrupt.abort());
  const progress = host.isStderrTerminal() ? new Progress(host) : undefined;
  let read = 0;
  let readFailure: unknown;
  async function* lines(): AsyncGenerator<DomainLine> {
    try {
      for await (const entry of readDomainLines(input, { signal: interrupt.signal })) {
        if (shard && !inShard(entry.domain, shard)) continue;
        if (resume?.done.has(entry.line)) continue;
        read++;
        yield entry;
      }
    } catch (error) {
      readFailure = error;
      throw error;
    }
  }
  let done = 0;
  let failed = 0;
  let exitCode = EXIT_OK;
  // Lines finished while one is being written go out with the next write.
  const out = new CoalescingWriter(resume?.write ?? host.stdoutStream ?? host.stdout);
  try {
    const results = lookupMany(lines(), {
      ...options,
      concurrency: args.concurrency,
      deadlineMs: args.deadlineMs,
      signal: interrupt.signal,
    });
    for await (const { item, report, error } of results) {
      // Output stays in input order: nothing after the first domain the interrupt stopped.
      if (report.outcome === "aborted") break;
      if (error instanceof ConfigError || isPermissionRefusal(error)) throw error;
      await out.write(`${JSON.stringify(renderJson(report, { line: item.line }))}\n`);
      done++;
      const status = exitCodeOf(report);
      if (status !== EXIT_OK) {
        failed++;
        exitCode = worseStatus(exitCode, status);
      }
      await progress?.update(done, read, failed);
    }
    await out.flush();
    if (!interrupt.signal.aborted) await progress?.update(done, read, failed, true);
  } catch (error) {
    if (error !== readFailure) throw error;
    await out.flush();
    await progress?.end();
    await host.stderr(reasonLine(`Cannot read batch input ${path}: ${osErrorText(error)}`));
    return EXIT_IOERR;
  } finally {
    stopListening?.();
    session.resolver.close();
    await resume?.close().catch(() => {});
    await progress?.end();
  }
  if (!interrupt.signal.aborted) return exitCode;
  await host.stderr(reasonLine(`Interrupted after ${done} domains`));
  return EXIT_INTERRUPTED;
}
