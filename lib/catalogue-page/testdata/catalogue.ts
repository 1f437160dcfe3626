import type { CataloguePageDocument, PageBuild } from "../document";

/**
 * A catalogue index as the CatalogueIndex provider writes it for a stack `dev`: debian-12 with a candidate that
 * failed acceptance, a stable that passed, and an earlier build revoked; ubuntu-24.04 with one accepted build.
 */
const checks = [
  { name: "power state", passed: true, expected: "running", evidence: "running" },
  {
    name: "ssh",
    passed: true,
    expected: "SSH answers on port 22",
    evidence: "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10",
  },
  { name: "cloud-init", passed: true, expected: "status: done", evidence: "status: done" },
];

function build(
  template: string,
  os: string,
  version: string,
  ts: string,
  extra: Partial<PageBuild> = {},
): PageBuild {
  const dir = `dev/${os}/${version}/${ts}`;
  const iso = `${ts.slice(0, 4)}-${ts.slice(4, 6)}-${ts.slice(6, 8)}T${ts.slice(9, 11)}:${ts.slice(11, 13)}:${ts.slice(13, 15)}Z`;
  return {
    template,
    os,
    version,
    key: `${dir}/${template}.xva`,
    manifestKey: `${dir}/${template}.manifest.json`,
    sha256: "0".repeat(64),
    sizeBytes: 1_288_490_188,
    buildId: `${ts}-${template}`,
    exportedAt: iso,
    osDetected: `${os} ${version}`,
    compression: "zstd",
    sbom: { key: `${dir}/${template}.cdx.json`, sha256: "1".repeat(64), packages: 223 },
    ...extra,
  };
}

export const DEBIAN_STABLE = build("debian-12", "debian", "12", "20260301T100000Z", {
  acceptance: {
    passed: true,
    at: "2026-03-01T10:20:00Z",
    place: "qemu-tcg",
    bootToSshSeconds: 75,
    totalSeconds: 131,
    checks,
    consoleLogKey: "dev/debian/12/20260301T100000Z/debian-12.console.log",
  },
});
export const DEBIAN_CANDIDATE = build("debian-12", "debian", "12", "20260304T050607Z", {
  sizeBytes: 1_290_000_000,
  sbom: { key: "dev/debian/12/20260304T050607Z/debian-12.cdx.json", sha256: "2".repeat(64), packages: 224 },
  acceptance: {
    passed: false,
    at: "2026-03-04T05:30:00Z",
    place: "qemu-tcg",
    bootToSshSeconds: 80,
    totalSeconds: 190,
    checks: [
      checks[0]!,
      checks[1]!,
      { name: "cloud-init", passed: false, expected: "status: done", evidence: "status: error" },
    ],
  },
});
export const DEBIAN_REVOKED = build("debian-12", "debian", "12", "20260220T080000Z", {
  revoked: { reason: "CVE-2026-0001 in openssh", at: "2026-02-25T12:00:00Z" },
});
export const UBUNTU = build("ubuntu-24.04", "ubuntu", "24.04", "20260302T090000Z", {
  compression: "none",
  acceptance: {
    passed: true,
    at: "2026-03-02T09:30:00Z",
    place: "qemu-tcg",
    bootToSshSeconds: 60,
    totalSeconds: 100,
    checks,
  },
});

export const CATALOGUE: CataloguePageDocument = {
  schema: "xcpng-templates/index@2",
  updatedAt: "2026-03-04T05:31:00Z",
  stack: "dev",
  artifacts: [DEBIAN_REVOKED, DEBIAN_STABLE, DEBIAN_CANDIDATE, UBUNTU],
  channels: {
    "debian-12": {
      candidate: { buildId: DEBIAN_CANDIDATE.buildId, key: DEBIAN_CANDIDATE.key },
      stable: { buildId: DEBIAN_STABLE.buildId, key: DEBIAN_STABLE.key },
    },
    "ubuntu-24.04": {
      candidate: { buildId: UBUNTU.buildId, key: UBUNTU.key },
      stable: { buildId: UBUNTU.buildId, key: UBUNTU.key },
    },
  },
};
