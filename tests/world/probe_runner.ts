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
  /**
   * Timing mode (the bench): each target alone, one after another, then all together; the
   * output is `{ single: ms[], together: ms }` instead of the results.
   */
  timing?: boolean;
}

if (import.meta.main) {
  const request: ProbeRequest = JSON.parse(await new Response(Deno.stdin.readable).text());
  if (request.timing) {
    // One probe first, untimed: node:net, node:tls and node:crypto load once per process.
    await probeHosts(request.targets.slice(0, 1), request.options);
    const single: number[] = [];
    for (const target of request.targets) {
      const started = performance.now();
      await probeHosts([target], request.options);
      single.push(performance.now() - started);
    }
    const started = performance.now();
    await probeHosts(request.targets, request.options);
    console.log(JSON.stringify({ single, together: performance.now() - started }));
  } else {
    const results = await probeHosts(request.targets, request.options);
    console.log(JSON.stringify(results));
  }
}
