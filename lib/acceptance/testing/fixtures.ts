/**
 * Recorded outputs of the check commands (lib/acceptance/checks/fixtures/*.json), written by record-outputs.ts
 * from real boots, or by hand for a family that cannot be built here (Ubuntu).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CheckContext, CommandOutput } from "../checks/types";

export interface OutputsFixture {
  readonly os: string;
  readonly version: string;
  /** `good` (every check passes), `broken` (tests/fixtures/acceptance/break-image.sh applied), ... */
  readonly variant: string;
  /** Per clone: the context the checks ran with, and each check's output by check name. */
  readonly clones: Record<string, { context: CheckContext; outputs: Record<string, CommandOutput> }>;
}

export const FIXTURES_DIR = path.join(__dirname, "..", "checks", "fixtures");

/** Reads `<os>-<version>-<variant>.json`. */
export function loadOutputs(name: string): OutputsFixture {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES_DIR, `${name}.json`), "utf8")) as OutputsFixture;
}
