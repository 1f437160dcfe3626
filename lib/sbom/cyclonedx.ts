import { createHash } from "node:crypto";
import { Enums, Models, Serialize, Spec } from "@cyclonedx/cyclonedx-library";
import { PackageURL } from "packageurl-js";
import { parseDpkgStatus, type DebPackage } from "./dpkg-status";
import { SbomInputError } from "./errors";
import { spdxIdOf } from "./licence-id";
import { parseOsRelease, type OsRelease } from "./os-release";

/**
 * The DEP-5 licence names of a binary package (`dep5LicenceNames` of its `usr/share/doc/<name>/copyright`), or
 * undefined when its package database says none in a machine-readable way. The local build path reads the root
 * filesystem (`rootfsLicences`); the pool path answers from what it collected in the guest.
 */
export type LicenceLookup = (packageName: string) => Promise<readonly string[] | undefined>;

/** An image's own package database, as read from its root filesystem or collected in the guest. */
export interface PackageDatabase {
  /** The text of `/var/lib/dpkg/status`. */
  readonly dpkgStatus: string;
  /** The text of `/etc/os-release`. */
  readonly osRelease: string;
  /** @default no licences */
  readonly licences?: LicenceLookup;
}

/** The build the SBOM describes. */
export interface SbomSubject {
  /** Template name, e.g. `debian-12`. */
  readonly template: string;
  readonly buildId: string;
  /** When the image was built: the document's timestamp (never "now", so the same build gives the same bytes). */
  readonly builtAt: Date;
  /** The OS the pool detected in the image, e.g. `debian 12`, when known. */
  readonly osDetected?: string;
}

/** A serialized SBOM, ready to store beside the XVA (content type {@link SBOM_MEDIA_TYPE}). */
export interface GeneratedSbom {
  /** The CycloneDX 1.6 JSON document. */
  readonly json: string;
  /** SHA-256 of the UTF-8 bytes of `json`, lower-case hex. */
  readonly sha256: string;
  /** Packages listed (the operating-system component excluded). */
  readonly packages: number;
}

/** The media type CycloneDX registers for its JSON format, version 1.6. */
export const SBOM_MEDIA_TYPE = "application/vnd.cyclonedx+json; version=1.6";

/** Namespace of the properties this project adds (CycloneDX property taxonomy: a namespace per producer). */
export const PROPERTY_NAMESPACE = "xcpng-templates";
export const PROP = {
  template: `${PROPERTY_NAMESPACE}:template`,
  buildId: `${PROPERTY_NAMESPACE}:build-id`,
  osDetected: `${PROPERTY_NAMESPACE}:os-detected`,
  architecture: `${PROPERTY_NAMESPACE}:deb:architecture`,
  source: `${PROPERTY_NAMESPACE}:deb:source`,
  sourceVersion: `${PROPERTY_NAMESPACE}:deb:source-version`,
  dpkgState: `${PROPERTY_NAMESPACE}:deb:state`,
} as const;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const LIBRARY_VERSION = (require("@cyclonedx/cyclonedx-library/package.json") as { version: string }).version;

/**
 * The CycloneDX 1.6 SBOM of an image from its own package database: one `library` component per package whose
 * files are installed (name, version, purl, source package, licences where the database says), one
 * `operating-system` component from os-release, and the image itself (template, build id) as the subject in the
 * metadata. Deterministic: the same database and subject give the same bytes (sorted lists, the build's time, a
 * serial number derived from template and build id).
 */
export async function createSbom(db: PackageDatabase, subject: SbomSubject): Promise<GeneratedSbom> {
  const os = parseOsRelease(db.osRelease, "os-release");
  const packages = parseDpkgStatus(db.dpkgStatus, "dpkg status");
  const bom = new Models.Bom({ serialNumber: serialNumberOf(subject) });
  bom.metadata = metadataOf(subject, os);
  bom.components.add(osComponent(os));
  const licenceCache = new Map<string, readonly string[] | undefined>();
  const seen = new Set<string>();
  for (const pkg of packages) {
    if (!licenceCache.has(pkg.name)) licenceCache.set(pkg.name, await db.licences?.(pkg.name));
    const component = packageComponent(pkg, os, licenceCache.get(pkg.name));
    if (seen.has(component.purl ?? "")) {
      throw new SbomInputError(
        "BAD_DPKG_STATUS",
        `dpkg status lists ${pkg.name}:${pkg.architecture} twice; dpkg keeps one paragraph per package and ` +
          `architecture. Give the image's own /var/lib/dpkg/status, unmodified`,
      );
    }
    seen.add(component.purl ?? "");
    bom.components.add(component);
  }
  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6));
  const json = serializer.serialize(bom, { sortLists: true, space: 2 });
  return { json, sha256: createHash("sha256").update(json, "utf8").digest("hex"), packages: packages.length };
}

/** The purl of a Debian package (purl-spec, type `deb`): `pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12`. */
export function debPurl(pkg: Pick<DebPackage, "name" | "version" | "architecture">, os: OsRelease): string {
  const qualifiers: Record<string, string> = { arch: pkg.architecture };
  if (os.versionId) qualifiers.distro = `${os.id}-${os.versionId}`;
  return new PackageURL("deb", os.id, pkg.name, pkg.version, qualifiers, undefined).toString();
}

function packageComponent(
  pkg: DebPackage,
  os: OsRelease,
  licenceNames: readonly string[] | undefined,
): Models.Component {
  const purl = debPurl(pkg, os);
  const licenses = new Models.LicenseRepository();
  for (const name of licenceNames ?? []) {
    const id = spdxIdOf(name);
    const licence = id === undefined ? new Models.NamedLicense(name) : new Models.SpdxLicense(id);
    licence.acknowledgement = Enums.LicenseAcknowledgement.Declared;
    licenses.add(licence);
  }
  const properties = new Models.PropertyRepository([
    new Models.Property(PROP.architecture, pkg.architecture),
    new Models.Property(PROP.source, pkg.source.name),
    new Models.Property(PROP.sourceVersion, pkg.source.version),
  ]);
  if (pkg.state !== "installed") properties.add(new Models.Property(PROP.dpkgState, pkg.state));
  const externalReferences = new Models.ExternalReferenceRepository();
  if (pkg.homepage !== undefined && URL.canParse(pkg.homepage)) {
    externalReferences.add(new Models.ExternalReference(pkg.homepage, Enums.ExternalReferenceType.Website));
  }
  return new Models.Component(Enums.ComponentType.Library, pkg.name, {
    bomRef: purl,
    version: pkg.version,
    purl,
    licenses,
    properties,
    externalReferences,
    ...(pkg.synopsis ? { description: pkg.synopsis } : {}),
    ...(pkg.maintainer ? { publisher: pkg.maintainer } : {}),
  });
}

function osComponent(os: OsRelease): Models.Component {
  return new Models.Component(Enums.ComponentType.OperatingSystem, os.id, {
    bomRef: `os:${os.id}${os.versionId ? `@${os.versionId}` : ""}`,
    description: os.prettyName,
    ...(os.versionId ? { version: os.versionId } : {}),
  });
}

function metadataOf(subject: SbomSubject, os: OsRelease): Models.Metadata {
  const image = new Models.Component(Enums.ComponentType.OperatingSystem, subject.template, {
    bomRef: `image:${subject.template}@${subject.buildId}`,
    version: subject.buildId,
    description: `VM template ${subject.template}, build ${subject.buildId} (${os.prettyName})`,
    properties: new Models.PropertyRepository([
      new Models.Property(PROP.template, subject.template),
      new Models.Property(PROP.buildId, subject.buildId),
      ...(subject.osDetected ? [new Models.Property(PROP.osDetected, subject.osDetected)] : []),
    ]),
  });
  const tools = new Models.Tools({
    components: new Models.ComponentRepository([
      new Models.Component(Enums.ComponentType.Application, PROPERTY_NAMESPACE, {
        description: "reads the image's dpkg database",
      }),
      new Models.Component(Enums.ComponentType.Library, "cyclonedx-library", {
        group: "@cyclonedx",
        version: LIBRARY_VERSION,
      }),
    ]),
  });
  return new Models.Metadata({
    timestamp: subject.builtAt,
    component: image,
    tools,
    lifecycles: new Models.LifecycleRepository([Enums.LifecyclePhase.PostBuild]),
  });
}

/** A name-based UUID (RFC 9562 version 5) of template and build id: one build, one serial number. */
function serialNumberOf(subject: SbomSubject): string {
  const urlNamespace = Buffer.from("6ba7b8119dad11d180b400c04fd430c8", "hex"); // RFC 9562 appendix: NameSpace_URL
  const name = `urn:${PROPERTY_NAMESPACE}:sbom:${subject.template}:${subject.buildId}`;
  const h = createHash("sha1").update(urlNamespace).update(name, "utf8").digest().subarray(0, 16);
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const x = h.toString("hex");
  return `urn:uuid:${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
