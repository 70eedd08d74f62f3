// testmxlookup's command line: wiring only.
import { denoCliHost, runCli } from "./lib/cli/run.ts";
import { denoHost } from "./lib/host.ts";

Deno.exit(await runCli(Deno.args, denoCliHost(denoHost())));
