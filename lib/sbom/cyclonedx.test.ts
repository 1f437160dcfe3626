import { expect } from "chai";
import { createHash } from "node:crypto";
import * as path from "node:path";
import { createSbom, debPurl, PROP, type PackageDatabase, type SbomSubject } from "./cyclonedx";
import { SbomInputError } from "./errors";
import { rootfsPackageDatabase } from "./rootfs";
import { cycloneDx16Errors } from "./testing";

const FIXTURE = path.join(__dirname, "testdata", "bookworm-rootfs");
const SUBJECT: SbomSubject = {
  template: "debian-12",
  buildId: "20260304T050607Z-1a2b3c",
  builtAt: new Date("2026-03-04T05:06:07Z"),
  osDetected: "debian 12",
};

interface Component {
  type: string;
  name: string;
  version?: string;
  purl?: string;
  "bom-ref"?: string;
  description?: string;
  publisher?: string;
  licenses?: { license: { id?: string; name?: string; acknowledgement?: string } }[];
  properties?: { name: string; value: string }[];
  externalReferences?: { type: string; url: string }[];
}
interface Bom {
  bomFormat: string;
  specVersion: string;
  serialNumber: string;
  metadata: { timestamp: string; component: Component };
  components: Component[];
}

function prop(c: Component | undefined, name: string): string | undefined {
  return c?.properties?.find((p) => p.name === name)?.value;
}

describe("createSbom", () => {
  let db: PackageDatabase;
  let json: string;
  let bom: Bom;
  before(async () => {
    db = await rootfsPackageDatabase(FIXTURE);
    json = (await createSbom(db, SUBJECT)).json;
    bom = JSON.parse(json) as Bom;
  });
  const pkg = (name: string): Component | undefined =>
    bom.components.find((c) => c.type === "library" && c.name === name);

  it("writes a CycloneDX 1.6 document that the 1.6 JSON schema accepts (strict)", async () => {
    expect(bom.bomFormat).to.equal("CycloneDX");
    expect(bom.specVersion).to.equal("1.6");
    expect(await cycloneDx16Errors(json)).to.equal(null);
  });

  it("the schema check rejects what breaks the schema (the check is live)", async () => {
    const broken = JSON.parse(json) as { components: Record<string, unknown>[] };
    (broken.components[1] as Record<string, unknown>).type = "debian-package";
    expect(await cycloneDx16Errors(JSON.stringify(broken))).to.not.equal(null);
  });

  it("lists every installed package of the status, plus the operating system", async () => {
    const { packages } = await createSbom(db, SUBJECT);
    expect(packages).to.equal(19);
    expect(bom.components.filter((c) => c.type === "library")).to.have.length(19);
    expect(bom.components.filter((c) => c.type === "operating-system")).to.deep.equal([
      {
        type: "operating-system",
        name: "debian",
        version: "12",
        "bom-ref": "os:debian@12",
        description: "Debian GNU/Linux 12 (bookworm)",
      },
    ]);
  });

  it("names, versions, purls (epoch, +, arch all) and source packages", () => {
    const cases: {
      name: string;
      version: string;
      purl: string;
      source: string;
      sourceVersion: string;
      arch: string;
    }[] = [
      {
        name: "openssh-server",
        version: "1:9.2p1-2+deb12u10",
        purl: "pkg:deb/debian/openssh-server@1:9.2p1-2+deb12u10?arch=amd64&distro=debian-12",
        source: "openssh",
        sourceVersion: "1:9.2p1-2+deb12u10",
        arch: "amd64",
      },
      {
        name: "bash",
        version: "5.2.15-2+b13",
        purl: "pkg:deb/debian/bash@5.2.15-2+b13?arch=amd64&distro=debian-12",
        source: "bash",
        sourceVersion: "5.2.15-2",
        arch: "amd64",
      },
      {
        name: "libstdc++6",
        version: "12.2.0-14+deb12u1",
        purl: "pkg:deb/debian/libstdc%2B%2B6@12.2.0-14+deb12u1?arch=amd64&distro=debian-12",
        source: "gcc-12",
        sourceVersion: "12.2.0-14+deb12u1",
        arch: "amd64",
      },
      {
        name: "tzdata",
        version: "2026f-0+deb12u1",
        purl: "pkg:deb/debian/tzdata@2026f-0+deb12u1?arch=all&distro=debian-12",
        source: "tzdata",
        sourceVersion: "2026f-0+deb12u1",
        arch: "all",
      },
    ];
    for (const c of cases) {
      const got = pkg(c.name);
      expect(got, c.name).to.include({ name: c.name, version: c.version, purl: c.purl, "bom-ref": c.purl });
      expect(prop(got, PROP.source), c.name).to.equal(c.source);
      expect(prop(got, PROP.sourceVersion), c.name).to.equal(c.sourceVersion);
      expect(prop(got, PROP.architecture), c.name).to.equal(c.arch);
    }
  });

  it("licences where the copyright file is machine-readable: SPDX ids where they exist, else the Debian name", () => {
    const names = (n: string): string[] | undefined =>
      pkg(n)?.licenses?.map((l) => (l.license.id ? `id:${l.license.id}` : `name:${l.license.name}`));
    expect(names("adduser")).to.deep.equal(["id:GPL-2.0-or-later"]);
    expect(names("kmod")).to.have.members(["id:GPL-2.0-or-later", "id:LGPL-2.1-or-later"]);
    expect(names("libncursesw6")).to.have.members(["id:BSD-3-Clause", "id:X11", "name:MIT/X11"]);
    expect(pkg("adduser")?.licenses?.[0]?.license.acknowledgement).to.equal("declared");
    // libc6: free-text copyright; ca-certificates: no file. No licence rather than a guess.
    expect(pkg("libc6")).to.not.have.property("licenses");
    expect(pkg("ca-certificates")).to.not.have.property("licenses");
  });

  it("the image is the subject: template, build id, detected OS, build time", () => {
    expect(bom.metadata.timestamp).to.equal("2026-03-04T05:06:07.000Z");
    expect(bom.metadata.component).to.include({
      type: "operating-system",
      name: "debian-12",
      version: SUBJECT.buildId,
    });
    expect(prop(bom.metadata.component, PROP.template)).to.equal("debian-12");
    expect(prop(bom.metadata.component, PROP.buildId)).to.equal(SUBJECT.buildId);
    expect(prop(bom.metadata.component, PROP.osDetected)).to.equal("debian 12");
  });

  it("keeps synopsis, maintainer and homepage", () => {
    expect(pkg("libc6")).to.deep.include({
      description: "GNU C Library: Shared libraries",
      publisher: "GNU Libc Maintainers <debian-glibc@lists.debian.org>",
      externalReferences: [{ type: "website", url: "https://www.gnu.org/software/libc/libc.html" }],
    });
  });

  it("is deterministic: the same build gives the same bytes and digest; another build another serial", async () => {
    const again = await createSbom(db, SUBJECT);
    expect(again.json).to.equal(json);
    expect(again.sha256).to.equal(createHash("sha256").update(json).digest("hex"));
    expect(bom.serialNumber).to.match(
      /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const other = JSON.parse((await createSbom(db, { ...SUBJECT, buildId: "other" })).json) as Bom;
    expect(other.serialNumber).to.not.equal(bom.serialNumber);
  });

  it("without a licence lookup, no licences (and still valid)", async () => {
    const bare = await createSbom({ dpkgStatus: db.dpkgStatus, osRelease: db.osRelease }, SUBJECT);
    expect((JSON.parse(bare.json) as Bom).components.some((c) => c.licenses)).to.equal(false);
    expect(await cycloneDx16Errors(bare.json)).to.equal(null);
  });

  it("an Ubuntu image gets pkg:deb/ubuntu purls", async () => {
    const sbom = await createSbom(
      {
        dpkgStatus:
          "Package: libc6\nStatus: install ok installed\nArchitecture: arm64\nSource: glibc\nVersion: 2.39-0ubuntu8.4\n",
        osRelease: 'ID=ubuntu\nVERSION_ID="24.04"\nPRETTY_NAME="Ubuntu 24.04.2 LTS"\n',
      },
      SUBJECT,
    );
    const c = (JSON.parse(sbom.json) as Bom).components.find((x) => x.name === "libc6");
    expect(c?.purl).to.equal("pkg:deb/ubuntu/libc6@2.39-0ubuntu8.4?arch=arm64&distro=ubuntu-24.04");
  });

  it("survives hostile text in the package database (JSON-escaped, schema-valid)", async () => {
    const sbom = await createSbom(
      {
        dpkgStatus:
          'Package: evil\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\nDescription: "</script><img src=x onerror=alert(1)>\\\nMaintainer: "quoted" \\ <x@y>\nHomepage: javascript:alert(1)\n',
        osRelease: "ID=debian\nVERSION_ID=12\n",
        licences: () => Promise.resolve(['"><script>', "GPL-2+"]),
      },
      SUBJECT,
    );
    expect(await cycloneDx16Errors(sbom.json)).to.equal(null);
    const c = (JSON.parse(sbom.json) as Bom).components.find((x) => x.name === "evil");
    expect(c?.description).to.equal('"</script><img src=x onerror=alert(1)>\\');
  });

  it("rejects a status that lists one package and architecture twice", async () => {
    const p = "Package: a\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n";
    await createSbom({ dpkgStatus: `${p}\n${p}`, osRelease: "ID=debian\n" }, SUBJECT).then(
      () => expect.fail("resolved"),
      (e: unknown) => expect(e).to.be.instanceOf(SbomInputError).with.property("code", "BAD_DPKG_STATUS"),
    );
  });

  it("debPurl leaves out distro when os-release has no VERSION_ID (testing, sid)", () => {
    expect(
      debPurl({ name: "a", version: "1", architecture: "amd64" }, { id: "debian", prettyName: "x" }),
    ).to.equal("pkg:deb/debian/a@1?arch=amd64");
  });
});
