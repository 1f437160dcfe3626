/**
 * Errors of the SBOM library, in the project's error model ({@link XcpngError}: a stable `code`, the `cause` kept).
 */
import { XcpngError } from "../errors";

/** What an {@link SbomInputError} reports, for callers that branch on it. */
export type SbomInputErrorCode =
  /** A deb822 text (dpkg status, DEP-5 copyright) that breaks the format: a line that is neither a field nor a continuation. */
  | "BAD_DEB822"
  /** A dpkg status paragraph without a field dpkg always writes for it (Package, Status, Version, Architecture). */
  | "BAD_DPKG_STATUS"
  /** An os-release text that says nothing usable (no ID), or a line that is not `KEY=value`. */
  | "BAD_OS_RELEASE"
  /** A file the image must have is missing from the root filesystem, or cannot be read. */
  | "MISSING_FILE"
  /** The package database collected in a guest is not the gzip'd tar `guestCollectCommand` writes, or too large. */
  | "BAD_ARCHIVE"
  /** A document given as an SBOM that is not a CycloneDX JSON document, or lists one package twice. */
  | "NOT_AN_SBOM";

/** The package database, os-release or an SBOM given to this library cannot be used. */
export class SbomInputError extends XcpngError {
  declare readonly code: SbomInputErrorCode;

  constructor(code: SbomInputErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, `sbom: ${message}`, options);
  }
}
