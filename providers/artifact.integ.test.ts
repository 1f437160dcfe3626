import { expect } from "chai";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as m from "@aws-sdk/client-s3";
import { startDevpool, type Devpool } from "../devpool";
import { startVersityGw, type VersityGw } from "../devpool/versitygw";
import { makeDiskVm } from "../devpool/testing/fixtures";
import { startS3FaultProxy, type S3FaultProxy } from "../tests/support/s3-fault-proxy";
import { ArtifactProvider, type ArtifactInputs, type ArtifactOutputs } from "./artifact";
import { STACK_METADATA } from "./artifact-sweep";
import {
  CatalogueIndexProvider,
  type CatalogueIndexInputs,
  type CatalogueIndexOutputs,
} from "./catalogue-index";
import type { IndexEntry } from "./catalogue-document";
import { planPublication } from "../components/publication-plan";
import type { ArtifactStore } from "./store";
import { createS3Client } from "../lib/s3/client";
import { deleteAllVersions } from "../lib/s3/delete-versions";

const MIB = 1024 * 1024;
const USER = "root";
const PASSWORD = "artifact-integ-password";
const BUCKET = "artifacts";
const STACK = "st";

/** A stack configuration as the provider host hands it to `configure`. */
function stackConfig(values: Record<string, string>) {
  return {
    get: (k: string) => values[k],
    require: (k: string) => {
      const v = values[k];
      if (v === undefined) throw new Error(`missing ${k}`);
      return v;
    },
  };
}

/** The index provider with the store's PutObject of the index refused (a store failing mid-update). */
class IndexProviderFailingWrites extends CatalogueIndexProvider {
  protected override s3Client(store: ArtifactStore): m.S3Client {
    const c = super.s3Client(store);
    c.middlewareStack.add(
      (next, context) => (args) => {
        if (context.commandName === "PutObjectCommand")
          throw new Error("injected: the store refused the index");
        return next(args);
      },
      { step: "initialize", name: "refuseIndexWrites" },
    );
    return c;
  }
}

describe("ArtifactProvider + CatalogueIndexProvider (integ: devpool + versitygw, versioned bucket): retention publishes, then prunes", function () {
  this.timeout(180000);
  let dir: string;
  let pool: Devpool;
  let gw: VersityGw;
  let s3: m.S3Client;
  let provider: ArtifactProvider;
  let index: CatalogueIndexProvider;
  const vms: string[] = [];

  const store = (): ArtifactStore => ({
    region: gw.region,
    endpoint: gw.endpoint,
    forcePathStyle: true,
    bucket: BUCKET,
    prefix: STACK,
    stack: STACK,
  });
  const inputs = (templateUuid: string): ArtifactInputs => ({
    pool: { url: pool.url, username: USER, insecureSkipVerify: false },
    store: store(),
    templateUuid,
    templateName: "tmpl",
    os: "debian",
    version: "12",
    virtualSizeBytes: 8 * MIB,
    facts: {
      buildId: `build-${templateUuid.slice(0, 8)}`,
      sourceHash: "0".repeat(64),
      toolVersions: "packer 1.9.5",
      packerVersion: "1.9.5",
      buildDurationSeconds: 1,
      poolOs: "debian 12",
    },
  });
  /** What the program hands the index (components/golden-template.ts): the plan's kept builds and its prunes. */
  const indexInputs = (a: ArtifactOutputs, retention: number): CatalogueIndexInputs => {
    const history = [a, ...a.previous.filter((p) => p.missing !== true)].map((x) => ({
      key: x.key,
      manifestKey: x.manifestKey,
      sha256: x.sha256,
      sizeBytes: x.sizeBytes,
      buildId: "buildId" in x ? x.buildId : a.facts.buildId,
      exportedAt: x.exportedAt,
    }));
    const plan = planPublication("tmpl", history, { retention, revoked: [] });
    return {
      store: store(),
      templates: [
        {
          template: "tmpl",
          os: "debian",
          version: "12",
          builds: [...plan.kept],
          channels: plan.channels,
          revoked: [],
        },
      ],
      prune: [...plan.prune, ...a.pruned],
    };
  };
  /** The index's state after a publish, as the engine hands it back to the next update. */
  const published = (i: CatalogueIndexInputs): CatalogueIndexOutputs => ({
    ...i,
    key: `${STACK}/index.json`,
    etag: "",
    revokedAt: {},
  });
  const keys = async () =>
    ((await s3.send(new m.ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? [])
      .map((c) => c.Key ?? "")
      .sort();
  /** Every version and delete marker in the bucket, by key: "deleted" means none is left. */
  const versionedKeys = async () => {
    const v = await s3.send(new m.ListObjectVersionsCommand({ Bucket: BUCKET }));
    return [...(v.Versions ?? []), ...(v.DeleteMarkers ?? [])].map((x) => x.Key ?? "").sort();
  };
  const listedIndex = async () =>
    JSON.parse(
      await (
        await s3.send(new m.GetObjectCommand({ Bucket: BUCKET, Key: `${STACK}/index.json` }))
      ).Body!.transformToString(),
    ) as { artifacts: IndexEntry[] };
  /** Keys have a one-second timestamp: exports in the same second would share one. */
  const nextSecond = () => new Promise((r) => setTimeout(r, 1100));

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "artifact-integ-"));
    pool = await startDevpool({ dataDir: path.join(dir, "pool"), username: USER, password: PASSWORD });
    gw = await startVersityGw({ dataDir: path.join(dir, "s3") });
    s3 = createS3Client(
      { region: gw.region, endpoint: gw.endpoint, forcePathStyle: true },
      { accessKeyId: gw.accessKey, secretAccessKey: gw.secretKey },
    );
    await s3.send(new m.CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(
      new m.PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: "Enabled" } }),
    );
    for (const name of ["one", "two", "three"]) {
      const vm = await makeDiskVm(pool.engine, USER, PASSWORD, name, 8 * MIB);
      vms.push(pool.engine.store.get("VM", vm.vm)?.uuid as string);
    }
    const config = {
      config: stackConfig({
        "xcpng-templates:poolPassword": PASSWORD,
        "xcpng-templates:s3AccessKeyId": gw.accessKey,
        "xcpng-templates:s3SecretAccessKey": gw.secretKey,
      }),
    };
    provider = new ArtifactProvider();
    await provider.configure(config);
    index = new CatalogueIndexProvider();
    await index.configure(config);
  });
  after(async () => {
    s3?.destroy();
    await pool?.stop();
    await gw?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  let first: ArtifactOutputs;
  let second: ArtifactOutputs;
  let third: ArtifactOutputs;

  it("create exports the template under the stack's prefix, with its manifest and version ids", async () => {
    first = (await provider.create(inputs(vms[0]!))).outs as ArtifactOutputs;
    expect(first.key).to.match(/^st\/debian\/12\/\d{8}T\d{6}Z\/tmpl\.xva$/);
    expect(first.previous).to.deep.equal([]);
    expect(first.versionId, "the version written is recorded").to.be.a("string").and.not.equal("");
    expect(await keys()).to.deep.equal([first.key, first.manifestKey].sort());
    await index.create(indexInputs(first, 2));
  });

  it("a new build is an update, not a replace, and keeps the earlier artifact", async () => {
    const diff = await provider.diff(first.key, first, inputs(vms[1]!));
    expect(diff).to.include({ changes: true });
    expect(diff.replaces).to.deep.equal([]);
    await nextSecond();
    second = (await provider.update(first.key, first, inputs(vms[1]!))).outs as ArtifactOutputs;
    expect(second.key).to.not.equal(first.key);
    expect(second.previous.map((a) => a.key)).to.deep.equal([first.key]);
    expect(second.pruned).to.deep.equal([]);
    await index.update("i", published(indexInputs(first, 2)), indexInputs(second, 2));
  });

  it("beyond retention the oldest stays until the index no longer lists it, then every version of it goes", async () => {
    await nextSecond();
    third = (await provider.update(second.key, second, inputs(vms[2]!))).outs as ArtifactOutputs;
    expect(
      third.previous.map((a) => a.key),
      "the artifact keeps its history",
    ).to.deep.equal([second.key, first.key]);
    expect(
      indexInputs(third, 2).prune.map((a) => a.key),
      "publication prunes the oldest",
    ).to.deep.equal([first.key]);
    expect(await keys(), "not deleted before the index is published").to.include(first.key);
    expect(
      (await listedIndex()).artifacts.map((a) => a.key),
      "the published index still lists it",
    ).to.include(first.key);
    await index.update("i", published(indexInputs(second, 2)), indexInputs(third, 2));
    expect((await listedIndex()).artifacts.map((a) => a.key)).to.deep.equal([second.key, third.key]);
    expect(await versionedKeys(), "no version of the pruned artifact is left").to.not.include.members([
      first.key,
      first.manifestKey,
    ]);
  });

  it("an index write that fails prunes nothing: the published index never points at a deleted key", async () => {
    await nextSecond();
    const fourth = (await provider.update(third.key, third, inputs(vms[0]!))).outs as ArtifactOutputs;
    expect(
      fourth.previous.map((a) => a.key),
      "a pruned artifact leaves the history",
    ).to.deep.equal([third.key, second.key]);
    const failing = new IndexProviderFailingWrites();
    await failing.configure({
      config: stackConfig({
        "xcpng-templates:s3AccessKeyId": gw.accessKey,
        "xcpng-templates:s3SecretAccessKey": gw.secretKey,
      }),
    });
    const err = await failing.update("i", published(indexInputs(third, 2)), indexInputs(fourth, 1)).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.match(/writing s3:\/\/artifacts\/st\/index\.json failed.*nothing was pruned/s);
    for (const a of (await listedIndex()).artifacts)
      expect(await keys(), `${a.key} is still stored`).to.include(a.key);
    // The next up publishes, then prunes.
    await index.update("i", published(indexInputs(third, 2)), indexInputs(fourth, 1));
    expect(await keys()).to.deep.equal(
      [fourth.key, fourth.manifestKey, `${STACK}/index.json`, `${STACK}/index.html`].sort(),
    );
    third = fourth;
  });

  it("refresh marks an earlier artifact deleted out of band; up hands its manifest to the index", async () => {
    await nextSecond();
    const grown = (await provider.update(third.key, third, inputs(vms[1]!))).outs as ArtifactOutputs;
    expect(grown.previous.map((a) => a.key)).to.deep.equal([third.key]);
    await index.update("i", published(indexInputs(third, 1)), indexInputs(grown, 3));
    await s3.send(new m.DeleteObjectCommand({ Bucket: BUCKET, Key: third.key }));
    const read = await provider.read(grown.key, grown);
    const props = read.props as ArtifactOutputs;
    expect(props.missing).to.equal(undefined);
    expect(props.previous.map((a) => [a.key, a.missing])).to.deep.equal([[third.key, true]]);
    const diff = await provider.diff(grown.key, props, inputs(vms[1]!));
    expect(diff).to.include({ changes: true });
    const healed = (await provider.update(grown.key, props, inputs(vms[1]!))).outs as ArtifactOutputs;
    expect(healed.previous).to.deep.equal([]);
    expect(healed.pruned.map((a) => a.key)).to.deep.equal([third.key]);
    await index.update("i", published(indexInputs(grown, 3)), indexInputs(healed, 3));
    expect(await versionedKeys()).to.not.include.members([third.key, third.manifestKey]);
    third = healed;
  });

  it("a complete XVA left by a failed export is found by diff and removed by the next update; another stack's is not", async () => {
    const stray = third.key.replace(/\d{8}T\d{6}Z/, "20200101T000000Z");
    const foreign = third.key.replace(/\d{8}T\d{6}Z/, "20200101T000001Z");
    await s3.send(
      new m.PutObjectCommand({
        Bucket: BUCKET,
        Key: stray,
        Body: "x",
        Metadata: { [STACK_METADATA]: STACK },
      }),
    );
    await s3.send(
      new m.PutObjectCommand({
        Bucket: BUCKET,
        Key: foreign,
        Body: "y",
        Metadata: { [STACK_METADATA]: "other" },
      }),
    );
    const same = inputs(vms[1]!);
    const diff = await provider.diff(third.key, third, same);
    expect(diff).to.include({ changes: true });
    third = (await provider.update(third.key, third, same)).outs as ArtifactOutputs;
    expect(await versionedKeys()).to.not.include(stray);
    expect(await keys(), "another stack's object is left as it was").to.include(foreign);
    expect((await provider.diff(third.key, third, same)).changes, "nothing left to sweep").to.equal(false);
    await deleteAllVersions(s3, BUCKET, foreign);
  });

  it("S3 refusing a part fails the export with where it stopped, aborts the upload and keeps the artifact", async () => {
    const big = await makeDiskVm(pool.engine, USER, PASSWORD, "big", 48 * MIB);
    for (let off = 0; off < 48 * MIB; off += MIB)
      await pool.engine.disks.write(big.vdiUuid, off, randomBytes(MIB));
    const bigUuid = pool.engine.store.get("VM", big.vm)?.uuid as string;
    const proxy: S3FaultProxy = await startS3FaultProxy(gw.endpoint);
    try {
      proxy.failPartsFrom(2);
      const via = { ...inputs(bigUuid), virtualSizeBytes: 48 * MIB };
      const before = await keys();
      await nextSecond();
      const err = await provider
        .update(third.key, third, { ...via, store: { ...via.store, endpoint: proxy.endpoint } })
        .then(
          () => undefined,
          (e: unknown) => e as Error,
        );
      expect(err?.message).to.match(
        /upload to s3:\/\/artifacts\/st\/debian\/12\/\d{8}T\d{6}Z\/tmpl\.xva aborted after \d+ bytes read and \d+ bytes uploaded: .*part \d+ refused.*The multipart upload was aborted/s,
      );
      expect(proxy.refusedParts).to.be.greaterThan(0);
      const uploads = await s3.send(new m.ListMultipartUploadsCommand({ Bucket: BUCKET }));
      expect(uploads.Uploads ?? []).to.deep.equal([]);
      expect(await keys(), "nothing half-published, the current artifact kept").to.deep.equal(before);
    } finally {
      await proxy.stop();
    }
  });

  it("delete removes the current and every retained artifact, every version of them", async () => {
    await nextSecond();
    const next = (await provider.update(third.key, third, inputs(vms[2]!))).outs as ArtifactOutputs;
    expect(next.previous).to.have.length(1);
    await provider.delete(next.key, next);
    await index.delete("i", published(indexInputs(next, 3)));
    expect(await versionedKeys()).to.deep.equal([]);
  });
});
