import * as grpc from "@grpc/grpc-js";
import { EngineClient } from "@pulumi/pulumi/proto/engine_grpc_pb";
import { LogRequest, LogSeverity } from "@pulumi/pulumi/proto/engine_pb";

/**
 * The lines providers show in `pulumi up`, each printed once.
 *
 * What a dynamic provider writes to stdout reaches the engine as a persistent diagnostic of the stack, which the
 * display prints twice when it is not a terminal (CI, `npm start`): once as it happens and again in the
 * "Diagnostics:" summary at the end. Lines sent here go to the engine's `Log` RPC as **ephemeral** messages
 * instead (`LogRequest.ephemeral`, what Pulumi's providers use for status): the display prints them as they happen
 * and leaves them out of the summary. Errors still end an operation by being thrown (Pulumi prints them once).
 *
 * The engine's address is the provider host's first argument (@pulumi/pulumi `cmd/dynamic-provider`: `main(args)`
 * takes `<engine>`). Without one (unit tests, a script run by hand), or once the engine cannot be reached, lines go
 * to stdout as before, so nothing is ever lost.
 */
export interface UpLog {
  /** A routine line: what is happening. */
  info(line: string): void;
  /** Something the user may want to act on (shown as a Pulumi warning). */
  warn(line: string): void;
  /** Resolves when every line sent so far has been delivered (or given up on). */
  flush(): Promise<void>;
  /** Flushes, then closes the connection to the engine (later lines go to the fallback). */
  close(): Promise<void>;
}

/** Where lines go when there is no engine: stdout, as console.log. */
export type LineSink = (line: string, severity: "info" | "warning") => void;

const consoleSink: LineSink = (line, severity) =>
  console.log(severity === "warning" ? `warning: ${line}` : line);

/**
 * An UpLog that sends to the engine at `engineAddress` (`host:port`), in order, falling back to `fallback` for this
 * line and every later one when a send fails. Without an address it writes to `fallback` only.
 */
export function createUpLog(engineAddress: string | undefined, fallback: LineSink = consoleSink): UpLog {
  let client: EngineClient | undefined =
    engineAddress === undefined
      ? undefined
      : new EngineClient(engineAddress, grpc.credentials.createInsecure());
  let chain: Promise<void> = Promise.resolve();
  const send = (line: string, severity: "info" | "warning"): void => {
    chain = chain.then(
      () =>
        new Promise<void>((resolve) => {
          const c = client;
          if (c === undefined) {
            fallback(line, severity);
            return resolve();
          }
          const req = new LogRequest()
            .setSeverity(severity === "warning" ? LogSeverity.WARNING : LogSeverity.INFO)
            .setMessage(line)
            .setUrn("")
            .setEphemeral(true);
          c.log(req, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (err) => {
            if (err) {
              // The engine is gone or refuses: this line and the rest go to stdout (the engine still reads it).
              client = undefined;
              c.close();
              fallback(line, severity);
            }
            resolve();
          });
        }),
    );
  };
  return {
    info: (line) => send(line, "info"),
    warn: (line) => send(line, "warning"),
    flush: () => chain,
    close: async () => {
      await chain;
      client?.close();
      client = undefined;
    },
  };
}

/** The engine address when this process is Pulumi's Node.js dynamic-provider host, else undefined. */
export function engineAddressOf(argv: readonly string[]): string | undefined {
  const main = argv[1] ?? "";
  const addr = argv[2] ?? "";
  return /dynamic-provider/.test(main) && /^[\w.-]+:\d+$|^\[[0-9a-f:]+\]:\d+$/i.test(addr) ? addr : undefined;
}

let shared: UpLog | undefined;

/** The process's UpLog (one per provider host: every provider's lines in one order). */
export function upLog(): UpLog {
  shared ??= createUpLog(engineAddressOf(process.argv));
  return shared;
}
