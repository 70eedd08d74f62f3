// The machine as the command line sees it: the library's host plus stdout, stderr, the batch
// input and SIGINT; `denoCliHost` is the real one, tests pass fakes.
import { type Host, openReadOnly } from "../host.ts";

/** What the CLI needs beyond the library's host: its two output streams. */
export interface CliHost extends Host {
  /** Writes to stdout. */
  stdout(text: string): Promise<void>;
  /**
   * Writes to stdout without holding up the lookups in flight while the reader is slow:
   * `--batch`'s stream of lines. @default {stdout}
   */
  stdoutStream?(text: string): Promise<void>;
  /** Writes to stderr. */
  stderr(text: string): Promise<void>;
  /** Whether stderr is a terminal. */
  isStderrTerminal(): boolean;
  /**
   * The bytes of a `--batch` input: the file at `path`, or stdin for `-`. Rejects as
   * `Deno.open` does. Without it, `--batch` fails as an internal error.
   */
  openInput?(path: string): Promise<ReadableStream<Uint8Array>>;
  /**
   * Calls `listener` on the first SIGINT instead of ending the process (a second one ends it
   * as usual), until the returned function is called. Only `--batch` listens.
   */
  onInterrupt?(listener: () => void): () => void;
}

async function writeAll(stream: { write(p: Uint8Array): Promise<number> }, text: string) {
  let bytes = new TextEncoder().encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(await stream.write(bytes));
}

/**
 * Writes synchronously: a lookup prints a few lines once, and Deno's asynchronous writes to
 * stdio each go through a blocking thread that it starts on first use (1.5 MiB of RSS).
 */
function writeAllSync(stream: { writeSync(p: Uint8Array): number }, text: string): Promise<void> {
  let bytes = new TextEncoder().encode(text);
  try {
    while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
  } catch (error) {
    return Promise.reject(error);
  }
  return Promise.resolve();
}

/**
 * The real CLI host: Deno's sockets, files and streams.
 *
 * @param host The library host, `denoHost()`.
 * @returns A host for `runCli`.
 */
export function denoCliHost(host: Host): CliHost {
  return {
    ...host,
    stdout: (text) => writeAllSync(Deno.stdout, text),
    stdoutStream: (text) => writeAll(Deno.stdout, text),
    stderr: (text) => writeAllSync(Deno.stderr, text),
    isStderrTerminal: () => Deno.stderr.isTerminal(),
    openInput: async (path) =>
      path === "-" ? Deno.stdin.readable : (await openReadOnly(path)).readable,
    onInterrupt(listener) {
      let listening = true;
      const stop = () => {
        if (!listening) return;
        listening = false;
        Deno.removeSignalListener("SIGINT", onSignal);
      };
      // The first SIGINT asks for a clean stop; without the listener a second one kills.
      const onSignal = () => {
        stop();
        listener();
      };
      Deno.addSignalListener("SIGINT", onSignal);
      return stop;
    },
  };
}
