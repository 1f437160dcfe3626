import * as fs from "node:fs";
import { renderSbomDiffMarkdown, type SbomDiff } from "../lib/sbom/diff";

/**
 * What changed in each image built by this `up`, as Markdown for a CI job's summary: when XCPNG_CHANGES_SUMMARY
 * names a file, the Artifact provider appends one section per export there (the deploy workflow adds the file to
 * the job's summary afterwards). The environment reaches the provider through the Pulumi CLI.
 */
export function changesSummarySection(s: {
  readonly template: string;
  readonly buildId: string;
  readonly packages: number;
  /** Where the SBOM is stored (`s3://bucket/key`). */
  readonly sbomAt: string;
  readonly since: { readonly buildId: string; readonly channel?: string; readonly diff: SbomDiff } | string;
}): string {
  const head = `### ${s.template}: build \`${s.buildId}\`\n\n${s.packages} packages (SBOM: \`${s.sbomAt}\`)`;
  if (typeof s.since === "string") return `${head}; nothing to compare with: ${s.since}.\n`;
  const against = `${s.since.channel ?? "earlier"} build \`${s.since.buildId}\``;
  return `${head}; since the ${against}:\n\n${renderSbomDiffMarkdown(s.since.diff)}\n`;
}

/** Appends `section` to the file XCPNG_CHANGES_SUMMARY names, if it names one. */
export function appendChangesSummary(env: NodeJS.ProcessEnv, section: string): void {
  const file = env.XCPNG_CHANGES_SUMMARY;
  if (file) fs.appendFileSync(file, `${section}\n`);
}
