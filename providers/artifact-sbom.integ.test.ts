import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as m from "@aws-sdk/client-s3";
import { parseHTML } from "linkedom";
import { startDevpool, type Devpool } from "../devpool";
import { startVersityGw, type VersityGw } from "../devpool/versitygw";
import { makeDiskVm } from "../devpool/testing/fixtures";
import { SBOM_MEDIA_TYPE } from "../lib/sbom/cyclonedx";
import { createS3Client } from "../lib/s3/client";
import { writeSbom } from "../packer/write-sbom";
import {
  ArtifactProvider,
  type ArtifactInputs,
  type ArtifactManifest,
  type ArtifactOutputs,
} from "./artifact";
import type { BuildSbom } from "./build-sbom";
import { readBuildSbom } from "./build-sbom";
import type { PublishedBuild } from "./catalogue-build";
import type { CatalogueDocument } from "./catalogue-document";
import {
  CatalogueIndexProvider,
  type CatalogueIndexInputs,
  type CatalogueIndexOutputs,
} from "./catalogue-index";
import type { ArtifactStore } from "./store";

const USER = "root";
const PASSWORD = "sbom-integ-password";
const BUCKET = "sboms";
const STACK = "st";
const ROOTFS = path.join(__dirname, "..", "lib", "sbom", "testdata", "bookworm-rootfs");

/** A dpkg status paragraph: the package a rebuild adds. */
const ADDED = [
  "Package: xcpng-marker",
  "Status: install ok installed",
  "Architecture: all",
  "Version: 1.0-1",
  "Maintainer: Test <test@example.org>",
  "Description: a package the rebuild adds",
  "",
].join("\n");

/**
 * The SBOM from the build to the store and the catalogue, on devpool and versitygw: stored beside the XVA with its
 * media type, listed (key, digest, packages) in the manifest, the index and the page; what changed since the
 * stable build in the manifest and the CI summary; a re-export of the same build elsewhere copies the stored SBOM;
 * an SBOM found nowhere fails the export and leaves nothing.
 */
describe("Artifact SBOM and catalogue page (integ: devpool + versitygw)", function () {
  this.timeout(180_000);
  let dir: string;
  let pool: Devpool;
  let gw: VersityGw;
  let s3: m.S3Client;
  let artifact: ArtifactProvider;
  let index: CatalogueIndexProvider;
  const vms: string[] = [];
  const sboms: BuildSbom[] = [];
  let summaryFile: string;
  const savedSummaryEnv = process.env.XCPNG_CHANGES_SUMMARY;

  const store = (): ArtifactStore => ({
    region: gw.region,
    endpoint: gw.endpoint,
    forcePathStyle: true,
    bucket: BUCKET,
    prefix: STACK,
    stack: STACK,
  });
  const inputs = (vm: number, buildId: string, buildSbom: BuildSbom | undefined): ArtifactInputs => ({
    pool: { url: pool.url, username: USER, insecureSkipVerify: false },
    store: store(),
    templateUuid: vms[vm]!,
    templateName: "tmpl",
    os: "debian",
    version: "12",
    virtualSizeBytes: 40 * 1024 * 1024,
    compression: "zstd",
    ...(buildSbom ? { buildSbom } : {}),
    facts: {
      buildId,
      sourceHash: "0".repeat(64),
      toolVersions: "packer 1.9.4",
      packerVersion: "1.9.4",
      buildDurationSeconds: 1,
      poolOs: "debian 12",
    },
  });
  /** What components/golden-template.ts hands the index for a build. */
  const published = (o: ArtifactOutputs): PublishedBuild => ({
    key: o.key,
    manifestKey: o.manifestKey,
    sha256: o.sha256,
    sizeBytes: o.sizeBytes,
    buildId: o.facts.buildId,
    exportedAt: o.exportedAt,
    osDetected: o.xvaOs,
    ...(o.xvaCompression ? { compression: o.xvaCompression } : {}),
    ...(o.sbom ? { sbom: o.sbom } : {}),
  });
  const indexInputs = (builds: ArtifactOutputs[], stable: string): CatalogueIndexInputs => ({
    store: store(),
    templates: [
      {
        template: "tmpl",
        os: "debian",
        version: "12",
        builds: builds.map(published),
        channels: { candidate: builds[0]?.facts.buildId ?? "", stable },
        revoked: [],
      },
    ],
    prune: [],
  });
  const text = async (key: string) =>
    (await s3.send(new m.GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString();
  const keys = async () =>
    ((await s3.send(new m.ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? [])
      .map((c) => c.Key ?? "")
      .sort();
  const nextSecond = () => new Promise((r) => setTimeout(r, 1100));

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sbom-integ-"));
    summaryFile = path.join(dir, "changes.md");
    process.env.XCPNG_CHANGES_SUMMARY = summaryFile;
    pool = await startDevpool({ dataDir: path.join(dir, "pool"), username: USER, password: PASSWORD });
    gw = await startVersityGw({ dataDir: path.join(dir, "s3") });
    s3 = createS3Client(
      { region: gw.region, endpoint: gw.endpoint, forcePathStyle: true },
      { accessKeyId: gw.accessKey, secretAccessKey: gw.secretKey },
    );
    await s3.send(new m.CreateBucketCommand({ Bucket: BUCKET }));
    for (const name of ["one", "two", "three"]) {
      const vm = await makeDiskVm(pool.engine, USER, PASSWORD, name, 40 * 1024 * 1024);
      vms.push(pool.engine.store.get("VM", vm.vm)?.uuid as string);
    }
    // Build 1's image, and build 2's: the same with one package added.
    const plusOne = path.join(dir, "rootfs-plus-one");
    fs.cpSync(ROOTFS, plusOne, { recursive: true, verbatimSymlinks: true });
    fs.appendFileSync(path.join(plusOne, "var/lib/dpkg/status"), `\n${ADDED}`);
    for (const [i, root] of [ROOTFS, plusOne].entries()) {
      const out = path.join(dir, `build-${i + 1}`, "sbom.cdx.json");
      const builtAt = new Date("2026-03-04T05:06:07Z");
      await writeSbom({ source: { rootfs: root }, template: "tmpl", buildId: `b${i + 1}`, builtAt, out });
      sboms.push(readBuildSbom(out)!);
    }
    const config = {
      config: {
        get: (k: string) =>
          ({
            "xcpng-templates:poolPassword": PASSWORD,
            "xcpng-templates:s3AccessKeyId": gw.accessKey,
            "xcpng-templates:s3SecretAccessKey": gw.secretKey,
          })[k],
        require: (k: string) => k,
      },
    };
    artifact = new ArtifactProvider();
    await artifact.configure(config);
    index = new CatalogueIndexProvider();
    await index.configure(config);
  });
  after(async () => {
    if (savedSummaryEnv === undefined) delete process.env.XCPNG_CHANGES_SUMMARY;
    else process.env.XCPNG_CHANGES_SUMMARY = savedSummaryEnv;
    s3?.destroy();
    await pool?.stop();
    await gw?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  let first: ArtifactOutputs;
  let second: ArtifactOutputs;
  let indexState: CatalogueIndexOutputs;

  it("stores the build's SBOM beside the XVA with its media type, and lists it in the manifest", async () => {
    first = (await artifact.create(inputs(0, "b1", sboms[0]))).outs as ArtifactOutputs;
    const key = first.key.replace(/xva$/, "sbom.cdx.json");
    expect(first.sbom).to.deep.equal({ key, sha256: sboms[0]!.sha256, packages: 19 });
    const head = await s3.send(new m.HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(head.ContentType).to.equal(SBOM_MEDIA_TYPE);
    expect(await text(key)).to.equal(fs.readFileSync(sboms[0]!.file, "utf8"));
    const manifest = JSON.parse(await text(first.manifestKey)) as ArtifactManifest;
    expect(manifest.sbom).to.deep.equal(first.sbom);
    expect(manifest.sbomChanges, "nothing published yet to compare with").to.equal(undefined);
    expect(fs.readFileSync(summaryFile, "utf8")).to.match(
      /### tmpl: build `b1`\n\n19 packages .*nothing to compare with/s,
    );
  });

  it("the index lists the SBOM and the compression; the page beside it links them, and every link resolves", async () => {
    const created = await index.create(indexInputs([first], "b1"));
    indexState = created.outs as CatalogueIndexOutputs;
    const doc = JSON.parse(await text(`${STACK}/index.json`)) as CatalogueDocument;
    expect(doc.artifacts[0]).to.deep.include({ compression: "zstd", sbom: first.sbom });
    expect(indexState.pageKey).to.equal(`${STACK}/index.html`);
    const head = await s3.send(new m.HeadObjectCommand({ Bucket: BUCKET, Key: `${STACK}/index.html` }));
    expect(head.ContentType).to.equal("text/html; charset=utf-8");
    // linkedom's types describe a browser window; the page needs only links.
    const page = (
      parseHTML(await text(`${STACK}/index.html`)) as unknown as {
        document: { querySelectorAll(s: string): Iterable<{ getAttribute(n: string): string | null }> };
      }
    ).document;
    const hrefs = [...page.querySelectorAll("a[href]")]
      .map((a) => a.getAttribute("href") ?? "")
      .filter((h) => !h.startsWith("#"));
    const stored = await keys();
    const resolved = hrefs.map((h) =>
      decodeURIComponent(new URL(h, `http://s/${STACK}/index.html`).pathname.slice(1)),
    );
    expect(resolved).to.include(first.sbom!.key).and.include(first.manifestKey).and.include(first.key);
    for (const k of resolved) expect(stored, `${k} is linked from the page`).to.include(k);
    expect(await artifact.read(first.key, first)).to.deep.equal({ id: first.key, props: first });
    expect((await index.read("i", indexState)).props, "refresh finds the page as written").to.deep.equal(
      indexState,
    );
  });

  it("a rebuild with one package added: the manifest, the output and the CI summary say exactly that, since stable", async () => {
    await nextSecond();
    second = (await artifact.update(first.key, first, inputs(1, "b2", sboms[1]))).outs as ArtifactOutputs;
    expect(second.sbom?.packages).to.equal(20);
    const manifest = JSON.parse(await text(second.manifestKey)) as ArtifactManifest;
    expect(manifest.sbomChanges).to.deep.equal({
      against: { buildId: "b1", channel: "stable" },
      packages: { before: 19, after: 20 },
      added: [{ name: "xcpng-marker", version: "1.0-1", arch: "all" }],
      removed: [],
      changed: [],
    });
    const md = fs.readFileSync(summaryFile, "utf8");
    expect(md).to.match(/### tmpl: build `b2`\n\n20 packages .*since the stable build `b1`/s);
    expect(md).to.match(/\| added \| xcpng-marker \| \| 1\.0-1 \|/);
  });

  it("a re-export of the same build where its file is gone copies the SBOM an earlier export stored", async () => {
    fs.rmSync(sboms[1]!.file);
    await nextSecond();
    const again = (await artifact.update(second.key, { ...second, missing: true }, inputs(1, "b2", sboms[1])))
      .outs as ArtifactOutputs;
    expect(again.key).to.not.equal(second.key);
    expect(again.sbom).to.deep.include({ sha256: sboms[1]!.sha256, packages: 20 });
    expect(await text(again.sbom!.key)).to.equal(await text(second.sbom!.key));
    second = again;
  });

  it("an SBOM found nowhere fails the export with the way out, and leaves nothing of it", async () => {
    const before = await keys();
    await nextSecond();
    const err = await artifact
      .create(inputs(2, "b3", { ...sboms[1]!, file: path.join(dir, "gone.json") }))
      .then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
    expect(err?.code).to.equal("ARTIFACT_SBOM_MISSING");
    expect(err?.message).to.match(
      /SBOM of tmpl build b3 .* is neither at .*gone\.json.*pulumi up --replace/s,
    );
    expect(await keys()).to.deep.equal(before);
  });

  it("destroying the index removes the page with it", async () => {
    await index.delete("i", indexState);
    expect(await keys()).to.not.include.members([`${STACK}/index.json`, `${STACK}/index.html`]);
    for (const a of [second, first]) await artifact.delete(a.key, a);
  });
});
