// Runs the probe library inside the test world (World.run): reads a JSON request on stdin
// (targets and options), prints the results as JSON on stdout. The world's tests cannot reach
// the namespace's addresses from outside it.
import { probeHosts, type ProbeOptions, type ProbeTarget } from "../../lib/probe/probe.ts";

/** What the runner reads. */
export interface ProbeRequest {
  /** The addresses. */
  targets: ProbeTarget[];
  /** Options that survive JSON (no functions, no signal). */
  options: Omit<ProbeOptions, "tlsa" | "connect" | "signal" | "now">;
}

if (import.meta.main) {
  const request: ProbeRequest = JSON.parse(await new Response(Deno.stdin.readable).text());
  const results = await probeHosts(request.targets, request.options);
  console.log(JSON.stringify(results));
}
