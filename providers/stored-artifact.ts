import type { ArtifactCompression, SbomReference } from "./catalogue-document";

/** One XVA in the store with its manifest: what the index lists and publication keeps or prunes. */
export interface StoredArtifact {
  readonly key: string;
  readonly manifestKey: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly buildId: string;
  readonly exportedAt: string;
  /** The OS the archive reports (its guest metrics), e.g. "debian 12". */
  readonly osDetected?: string;
  /** How the XVA is stored (absent: before compression existed, a plain XVA). */
  readonly compression?: ArtifactCompression;
  /** The SBOM stored beside it, when its build wrote one. */
  readonly sbom?: SbomReference;
}

/** An earlier artifact of a template still in the store (newest first in the Artifact's `previous`). */
export interface RetainedArtifact extends StoredArtifact {
  /** Set by refresh when its XVA is gone from the store: the next `up` removes what is left (its manifest). */
  readonly missing?: boolean;
}
