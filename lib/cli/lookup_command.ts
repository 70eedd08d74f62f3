// `testmxlookup DOMAIN`: one lookup under the run's deadline, Courier's lines (or `--json`) on
// stdout, the reasons on stderr.
import { lookupDomain } from "../lookup/lookup_domain.ts";
import { exitCodeOf, renderJson } from "../report/json.ts";
import { formatReport, reasonLine } from "../report/text.ts";
import { domainOptions, explain, type Session } from "./session.ts";

/** Looks `domain` up and prints the report; returns the exit status. */
export async function lookupCommand(session: Session, domain: string): Promise<number> {
  const { host, args } = session;
  const options = await domainOptions(session);
  // D4: the deadline is the run's, counted from its start.
  const elapsedMs = performance.now() - session.startedMs;
  const report = await lookupDomain(domain, {
    ...options,
    deadlineMs: Math.max(1, args.deadlineMs - elapsedMs),
    // D37: the trace counts from the start of the process, so that start-up shows in it.
    traceOrigin: 0,
  });
  if (report.outcome === "deadline") {
    // D4: the run has a deadline; reaching it is a soft failure, as a timeout is for Courier.
    if (!args.json) {
      await host.stderr(reasonLine(`Deadline of ${args.deadlineMs / 1000} s reached`));
    }
  } else {
    // A name that cannot be asked has one reason: lookupDomain drops the policy lookup's.
    await explain(session, stsReasons(report.sts));
    await explain(session, [...report.warnings, ...report.reason ? [report.reason] : []]);
  }
  if (args.json) {
    // The run's wall time from the start of the process, as the trace counts (D37).
    const durationMs = performance.now();
    await host.stdout(`${JSON.stringify(renderJson({ ...report, durationMs }))}\n`);
    return exitCodeOf(report);
  }
  await host.stdout(formatReport(report));
  return exitCodeOf(report);
}

/** The STS part's lines for stderr: its warnings, then why there is no usable policy. */
export function stsReasons(sts: { warnings: string[]; reason?: string }): string[] {
  return [...sts.warnings, ...sts.reason === undefined ? [] : [sts.reason]];
}
