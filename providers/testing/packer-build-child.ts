/**
 * Runs one PackerBuildProvider.create in a process of its own, as the dynamic-provider host would, so a test can
 * signal or kill "the provider" without touching the test runner. Reads `{ inputs, config }` as JSON on stdin
 * (secrets never in argv) and prints one JSON line: `{ ok: true, outs }` or `{ ok: false, code, message }`.
 */
import { PackerBuildProvider, type PackerBuildInputs } from "../packer-build";
import { isXcpngError } from "../../lib/errors";

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const { inputs, config } = JSON.parse(Buffer.concat(chunks).toString()) as {
    inputs: PackerBuildInputs;
    config: Record<string, string>;
  };
  const p = new PackerBuildProvider();
  await p.configure({ config: { get: (k: string) => config[k], require: (k: string) => config[k] ?? "" } });
  try {
    const r = await p.create(inputs);
    process.stdout.write(`${JSON.stringify({ ok: true, outs: r.outs })}\n`);
  } catch (e) {
    const code = isXcpngError(e) ? e.code : "UNKNOWN";
    process.stdout.write(`${JSON.stringify({ ok: false, code, message: (e as Error).message })}\n`);
    process.exitCode = 1;
  }
}

void main();
