import * as path from "node:path";

/** packer/ of this checkout. */
export const PACKER_DIR = path.resolve(__dirname, "..");
/** The repository root. */
export const REPO_ROOT = path.resolve(PACKER_DIR, "..");
