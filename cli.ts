/**
 * The command line's own pieces, apart from the library: `runCli` (what `main.ts` runs), its
 * host, the argument parser with its exit statuses, and `UsageError`.
 *
 * @example Run the command line in process, with stdout caught
 * ```ts
 * import { type CliHost, runCli, VERSION } from "@testmxlookup/testmxlookup/cli";
 * import { denoHost } from "@testmxlookup/testmxlookup";
 * import assert from "node:assert/strict";
 *
 * let stdout = "";
 * const host: CliHost = {
 *   ...denoHost(),
 *   stdout: (text) => Promise.resolve(void (stdout += text)),
 *   stderr: () => Promise.resolve(),
 *   isStderrTerminal: () => false,
 * };
 * assert.equal(await runCli(["--version"], host), 0);
 * assert.equal(stdout, `testmxlookup ${VERSION}\n`);
 * ```
 *
 * @module
 */
export { UsageError } from "./lib/errors.ts";
export { type CliAction, type CliArgs, parseArgs } from "./lib/cli/args.ts";
export type { Shard } from "./lib/lookup/shard.ts";
export { type CliHost, denoCliHost } from "./lib/cli/cli_host.ts";
export { runCli, VERSION } from "./lib/cli/run.ts";
export type {
  Clock,
  FileReader,
  Host,
  Network,
  SocketAddress,
  TcpConnection,
  UdpSocket,
} from "./lib/host.ts";
