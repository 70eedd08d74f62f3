/**
 * The command line's own pieces, apart from the library: `runCli` (what `main.ts` runs), its
 * host, the argument parser with its exit statuses, and `UsageError`.
 *
 * @example Run the command line in process
 * ```ts ignore
 * import { denoCliHost, runCli } from "@testmxlookup/testmxlookup/cli";
 * import { denoHost } from "@testmxlookup/testmxlookup";
 *
 * Deno.exit(await runCli(["--version"], denoCliHost(denoHost())));
 * ```
 *
 * @module
 */
export { UsageError } from "./lib/errors.ts";
export { type CliAction, type CliArgs, parseArgs } from "./lib/cli/args.ts";
export { type CliHost, denoCliHost } from "./lib/cli/cli_host.ts";
export { runCli, VERSION } from "./lib/cli/run.ts";
