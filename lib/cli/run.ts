// The command line end to end: parse, call the command, pick the exit status. Courier's lines
// go to stdout and one reason per failure to stderr. Never exits and never throws (cliffy's
// noExit): main.ts is the only place that ends the process.
import { ConfigError, isPermissionRefusal, UsageError } from "../errors.ts";
import { HELP, reasonLine, usageErrorText, versionLine } from "../report/text.ts";
import {
  type CliArgs,
  EXIT_CONFIG,
  EXIT_IOERR,
  EXIT_NOPERM,
  EXIT_OK,
  EXIT_SOFTWARE,
  parseArgs,
} from "./args.ts";
import type { CliHost } from "./cli_host.ts";
import { lookupCommand } from "./lookup_command.ts";
import { openSession } from "./session.ts";

/** The version `--version` prints. */
export const VERSION = "0.1.0";

async function dispatch(argv: readonly string[], host: CliHost): Promise<number> {
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    await host.stderr(usageErrorText(error));
    return error.exitCode;
  }
  for (const warning of args.warnings) await host.stderr(warning);
  if (args.action === "help") {
    await host.stdout(HELP);
    return EXIT_OK;
  }
  if (args.action === "version") {
    await host.stdout(versionLine(VERSION));
    return EXIT_OK;
  }
  const session = await openSession(args, host);
  const domain = args.domain;
  if (args.action === "lookup" && args.batchFile === undefined && domain !== undefined) {
    return await lookupCommand(session, domain);
  }
  // The other commands are loaded when asked for: a single lookup, the usual run, starts
  // sooner with five modules fewer to load.
  if (args.action === "lookup" && args.batchFile !== undefined) {
    const { batchCommand } = await import("./batch_command.ts");
    return await batchCommand(session, args.batchFile);
  }
  const { maintainCommand, overrideCommand, purgeCommand, showPolicy } = await import(
    "./sts_command.ts"
  );
  switch (args.action) {
    case "sts":
      if (domain !== undefined) return await showPolicy(session, domain);
      break;
    case "purge":
      if (domain !== undefined) return await purgeCommand(session, domain);
      break;
    case "override":
      if (domain !== undefined) {
        return await overrideCommand(session, domain, args.overrideMode ?? "");
      }
      break;
    case "expire":
    case "cache-disable":
    case "cache-enable":
      return await maintainCommand(session);
  }
  await host.stderr(reasonLine(`${args.action} is not implemented yet`));
  return EXIT_SOFTWARE;
}

/** The exit status and the one line for what a command threw. */
function failure(error: unknown): [number, string] {
  const message = error instanceof Error ? error.message : String(error);
  if (isPermissionRefusal(error)) return [EXIT_NOPERM, `Missing Deno permission: ${message}`];
  if (error instanceof ConfigError) return [EXIT_CONFIG, message];
  if (error instanceof Deno.errors.BrokenPipe) {
    return [EXIT_IOERR, `Cannot write output: ${message}`];
  }
  return [EXIT_SOFTWARE, `Internal error: ${message}`];
}

/**
 * Runs the command line.
 *
 * @param argv The arguments, without the program name.
 * @param host The machine: sockets, files, clock, environment, stdout and stderr.
 * @returns The exit status.
 */
export async function runCli(argv: readonly string[], host: CliHost): Promise<number> {
  try {
    return await dispatch(argv, host);
  } catch (error) {
    const [code, text] = failure(error);
    try {
      await host.stderr(reasonLine(text.split("\n")[0]));
    } catch {
      // stderr itself is gone: the status is all that is left to say it.
    }
    return code;
  }
}
