// testmxlookup's command line: wiring only.
import { denoCliHost } from "./lib/cli/cli_host.ts";
import { runCli } from "./lib/cli/run.ts";
import { denoHost } from "./lib/host.ts";

Deno.exit(await runCli(Deno.args, denoCliHost(denoHost())));
