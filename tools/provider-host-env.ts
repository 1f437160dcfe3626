/**
 * The Node options for processes that run our providers. Pulumi's dynamic-provider host is `node`, started by the
 * engine with the environment of `pulumi`, so NODE_OPTIONS is the one way to tune it; `npm start`
 * (tools/dev/main.ts), the deploy workflow's `pulumi up` and the benches set it, and the README says so for a
 * `pulumi up` run by hand.
 *
 * `--max-semi-space-size=4` (MiB): a transfer's read buffers (the sockets' 64 KiB pieces, then 1 MiB pieces) die
 * young, and V8 frees their memory only when a scavenge runs, that is once the young generation has filled with
 * small JavaScript objects. With Node 24's default (16 MiB semi-spaces) up to ~120 MiB of dead buffers wait for
 * that: a 1 GiB import from S3 peaked at 306 MiB RSS; with 4 MiB, 245 MiB, at the same CPU time (2.6 s), and 2 MiB
 * cost 19 % more CPU (bench/fleet.ts, 2026-12-06). Options already in NODE_OPTIONS are kept, and win.
 */
export const PROVIDER_HOST_NODE_OPTIONS: readonly string[] = ["--max-semi-space-size=4"];

/** `env` with PROVIDER_HOST_NODE_OPTIONS added to its NODE_OPTIONS (an option the caller already set is kept). */
export function withProviderHostNodeOptions(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const current = (env.NODE_OPTIONS ?? "").trim();
  const present = new Set(current.split(/\s+/).map((o) => o.split("=")[0]));
  const added = PROVIDER_HOST_NODE_OPTIONS.filter((o) => !present.has(o.split("=")[0]));
  return { ...env, NODE_OPTIONS: [current, ...added].filter((s) => s !== "").join(" ") };
}
