/**
 * What the page reads of the catalogue index (`<prefix>/index.json`, schema index@2): a structural subset of the
 * providers' `CatalogueDocument`, declared here because a library imports no provider. The page's tests check that
 * every `CatalogueDocument` is one of these, so the two cannot drift apart unnoticed.
 */

export interface PageCheck {
  readonly name: string;
  readonly passed: boolean;
  readonly expected: string;
  readonly evidence: string;
}

export interface PageAcceptance {
  readonly passed: boolean;
  readonly at: string;
  readonly place: string;
  readonly bootToSshSeconds: number;
  readonly totalSeconds: number;
  readonly checks: readonly PageCheck[];
  readonly consoleLogKey?: string;
}

export interface PageBuild {
  readonly template: string;
  readonly os: string;
  readonly version: string;
  readonly key: string;
  readonly manifestKey: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly buildId: string;
  readonly exportedAt: string;
  readonly osDetected?: string;
  readonly compression?: string;
  readonly acceptance?: PageAcceptance;
  readonly sbom?: { readonly key: string; readonly sha256: string; readonly packages: number };
  readonly revoked?: { readonly reason: string; readonly at: string };
}

export interface PageChannel {
  readonly buildId: string;
  readonly key: string;
}

export interface CataloguePageDocument {
  readonly schema: string;
  readonly updatedAt: string;
  readonly stack: string;
  readonly artifacts: readonly PageBuild[];
  readonly channels: Readonly<
    Record<string, { readonly candidate?: PageChannel; readonly stable?: PageChannel }>
  >;
}
