/**
 * The run's one-time identity: a random run id, a user name and hostnames derived from it, and an Ed25519 key
 * pair made by ssh-keygen in the run's work directory (private key mode 0600, no passphrase, never copied, never
 * printed; removed with the work directory).
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { parseFingerprints } from "./checks/parse";
import { AcceptanceToolError } from "./errors";
import { runTool } from "./process";

export interface RunIdentity {
  /** 8 hex digits, in every name of the run. */
  readonly runId: string;
  /** The one-time user the seed creates. */
  readonly user: string;
  /** Private key file (0600) in the work directory. */
  readonly privateKeyPath: string;
  /** The public key line. */
  readonly publicKey: string;
  /** `SHA256:…`, as ssh-keygen -l prints it. */
  readonly fingerprint: string;
}

/** The names of a run: its user and each clone's hostname and instance id. Pure, for tests. */
export function runNames(runId: string): {
  user: string;
  hostname(clone: string): string;
  instanceId(clone: string): string;
} {
  return {
    user: `xcpng-accept-${runId}`,
    hostname: (clone) => `xcpng-accept-${runId}-${clone}`,
    instanceId: (clone) => `xcpng-accept-${runId}-${clone}`,
  };
}

/** Makes the identity of a run in `dir` (which must exist, mode 0700). */
export async function createIdentity(
  dir: string,
  runId = randomBytes(4).toString("hex"),
): Promise<RunIdentity> {
  const privateKeyPath = path.join(dir, "id_ed25519");
  await runTool("ssh-keygen", [
    "-q",
    "-t",
    "ed25519",
    "-N",
    "",
    "-C",
    `xcpng-templates acceptance ${runId}`,
    "-f",
    privateKeyPath,
  ]);
  // ssh-keygen writes the private key 0600 itself; make sure, since ssh refuses a key others can read.
  await fs.chmod(privateKeyPath, 0o600);
  const publicKey = (await fs.readFile(`${privateKeyPath}.pub`, "utf8")).trim();
  const listed = await runTool("ssh-keygen", ["-lf", `${privateKeyPath}.pub`]);
  const fingerprint = parseFingerprints(listed.stdout)[0]?.fingerprint;
  if (fingerprint === undefined) {
    throw new AcceptanceToolError(
      "ACCEPTANCE_TOOL_FAILED",
      "ssh-keygen",
      `ssh-keygen -lf printed no fingerprint for the run's key: ${listed.stdout.trim()}`,
    );
  }
  return { runId, user: runNames(runId).user, privateKeyPath, publicKey, fingerprint };
}
