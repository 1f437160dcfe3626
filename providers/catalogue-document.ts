import type { StoredArtifact } from "./stored-artifact";

/**
 * The catalogue index as stored at `<prefix>/index.json` (providers/layout.ts): what consumers read to choose a
 * template (the catalogue page, fleet replicas, Terraform/Pulumi data sources). One source of truth for its shape.
 */

/** One check of a boot acceptance test, as recorded. */
export interface AcceptanceCheckResult {
  readonly name: string;
  /** The command run in the guest (or the SSH attempt made from the runner). */
  readonly command?: string;
  /** `not-applicable` checks (a guest agent the local build has none of) do not fail the run. */
  readonly status?: "pass" | "fail" | "not-applicable";
  readonly passed: boolean;
  /** What was expected, in words ("running"). */
  readonly expected: string;
  /** An excerpt of what the check saw. */
  readonly evidence: string;
}

/** The acceptance result of one build, as the index and the manifest carry it. */
export interface AcceptanceSummary {
  readonly passed: boolean;
  readonly at: string;
  /** Where it booted, e.g. "qemu-tcg" or "qemu-kvm". */
  readonly place: string;
  readonly bootToSshSeconds: number;
  readonly totalSeconds: number;
  readonly checks: readonly AcceptanceCheckResult[];
  /** Keys of the clones' serial console logs, kept in the store beside the XVA. */
  readonly consoleLogKeys?: readonly string[];
}

/** The software bill of materials stored beside an artifact. */
export interface SbomReference {
  readonly key: string;
  readonly sha256: string;
  readonly packages: number;
}

/** How an artifact's bytes are stored. */
export type ArtifactCompression = "none" | "gzip" | "zstd";

/** One stored build of a template, as index.json lists it. */
export interface IndexEntry extends StoredArtifact {
  readonly template: string;
  readonly os: string;
  readonly version: string;
  /** The OS the image reports (guest metrics), e.g. "debian 12". */
  readonly osDetected?: string;
  readonly compression?: ArtifactCompression;
  readonly acceptance?: AcceptanceSummary;
  readonly sbom?: SbomReference;
  /** Set when the stack revoked this build: it is in no channel. */
  readonly revoked?: { readonly reason: string; readonly at: string };
}

/** A channel's build, with what a consumer needs to fetch and check it. */
export interface ChannelPointer {
  readonly buildId: string;
  readonly key: string;
  readonly manifestKey: string;
  readonly sha256: string;
}

/** The channels of one template (HCP Packer's names): the newest verified build, the newest accepted one. */
export interface TemplateChannels {
  readonly candidate?: ChannelPointer;
  readonly stable?: ChannelPointer;
}

export const CATALOGUE_SCHEMA = "xcpng-templates/index@2";

/** The document stored at `<prefix>/index.json`. */
export interface CatalogueDocument {
  readonly schema: typeof CATALOGUE_SCHEMA;
  readonly updatedAt: string;
  /** The stack that publishes it. */
  readonly stack: string;
  /** Every stored build, sorted by template then export time. */
  readonly artifacts: readonly IndexEntry[];
  /** Per template, its channels. */
  readonly channels: Readonly<Record<string, TemplateChannels>>;
  /** Per template, the key of its newest artifact (kept from the first schema for existing readers). */
  readonly latest: Readonly<
    Record<string, { readonly key: string; readonly manifestKey: string; readonly sha256: string }>
  >;
}
