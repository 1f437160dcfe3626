import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { sbomPackages } from "../lib/sbom/diff";

/**
 * The SBOM a build wrote (packer/write-sbom.ts, to the file XCPNG_SBOM_FILE names): where it is on the machine
 * that built, and what identifies it anywhere else (its digest and package count). The Artifact provider stores
 * it beside the XVA; the digest lets it check the file it finds, or find the copy an earlier export stored.
 */
export interface BuildSbom {
  /** Path on the machine that ran the build. */
  readonly file: string;
  /** SHA-256 of the file's bytes, hex. */
  readonly sha256: string;
  readonly packages: number;
}

/** The build's SBOM, or undefined when the build wrote none (a Packer template that makes no SBOM). */
export function readBuildSbom(file: string): BuildSbom | undefined {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  return {
    file,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    // Parsing also proves it is a CycloneDX document with Debian packages (an SbomInputError otherwise).
    packages: sbomPackages(bytes.toString("utf8"), file).length,
  };
}
