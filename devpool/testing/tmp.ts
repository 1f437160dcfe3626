/** Test helpers: temporary directories that are always removed, and a devpool per test suite. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type Devpool, type DevpoolOptions, startDevpool } from "../index";

export function makeTempDir(prefix = "devpool-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

export const TEST_USER = "root";
/** A test password; generated per process so no fixed secret appears in the repository. */
export const TEST_PASSWORD = `pw-${process.pid}-${Date.now().toString(36)}`;

/** Starts a devpool on a kernel-chosen free port in a fresh temporary directory. */
export async function startTestPool(
  extra: Partial<DevpoolOptions> = {},
): Promise<Devpool & { cleanup(): Promise<void> }> {
  const dataDir = extra.dataDir ?? makeTempDir();
  const pool = await startDevpool({ dataDir, username: TEST_USER, password: TEST_PASSWORD, ...extra });
  return Object.assign(pool, {
    cleanup: async () => {
      await pool.stop();
      if (extra.dataDir === undefined) removeDir(dataDir);
    },
  });
}
