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
import { createS3Client } from "../lib/s3/client";

const MIB = 1024 * 1024;
const USER = "root";
const PASSWORD = "artifact-integ-password";
const BUCKET = "artifacts";

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

describe("ArtifactProvider (integ: devpool + versitygw): retention, refresh and delete", function () {
  this.timeout(180000);
  let dir: string;
  let pool: Devpool;
  let gw: VersityGw;
  let s3: m.S3Client;
  let provider: ArtifactProvider;
  const vms: string[] = [];

  const inputs = (templateUuid: string, retention: number): ArtifactInputs => ({
    pool: { url: pool.url, username: USER, insecureSkipVerify: false },
    store: { region: gw.region, endpoint: gw.endpoint, forcePathStyle: true, bucket: BUCKET },
    templateUuid,
    templateName: "tmpl",
    os: "debian",
    version: "12",
    virtualSizeBytes: 8 * MIB,
    retention,
    facts: {
      buildId: `build-${templateUuid.slice(0, 8)}`,
      sourceHash: "0".repeat(64),
      toolVersions: "packer 1.9.4",
      packerVersion: "1.9.4",
      buildDurationSeconds: 1,
      poolOs: "debian 12",
    },
  });
  const keys = async () =>
    ((await s3.send(new m.ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? [])
      .map((c) => c.Key ?? "")
      .sort();
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
    for (const name of ["one", "two", "three"]) {
      const vm = await makeDiskVm(pool.engine, USER, PASSWORD, name, 8 * MIB);
      vms.push(pool.engine.store.get("VM", vm.vm)?.uuid as string);
    }
    provider = new ArtifactProvider();
    await provider.configure({
      config: stackConfig({
        "xcpng-templates:poolPassword": PASSWORD,
        "xcpng-templates:s3AccessKeyId": gw.accessKey,
        "xcpng-templates:s3SecretAccessKey": gw.secretKey,
      }),
    });
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

  it("create exports the template with its manifest and no earlier artifact", async () => {
    first = (await provider.create(inputs(vms[0]!, 2))).outs as ArtifactOutputs;
    expect(first.key).to.match(/^debian\/12\/\d{8}T\d{6}Z\/tmpl\.xva$/);
    expect(first.previous).to.deep.equal([]);
    expect(await keys()).to.deep.equal([first.key, first.manifestKey].sort());
  });

  it("a new build is an update, not a replace, and keeps the earlier artifact", async () => {
    const diff = await provider.diff(first.key, first, inputs(vms[1]!, 2));
    expect(diff).to.include({ changes: true });
    expect(diff.replaces).to.deep.equal([]);
    await nextSecond();
    second = (await provider.update(first.key, first, inputs(vms[1]!, 2))).outs as ArtifactOutputs;
    expect(second.key).to.not.equal(first.key);
    expect(second.previous.map((a) => a.key)).to.deep.equal([first.key]);
    expect(second.previous[0]).to.include({ sha256: first.sha256, buildId: first.facts.buildId });
    expect(await keys()).to.deep.equal([first.key, first.manifestKey, second.key, second.manifestKey].sort());
  });

  it("beyond retention the oldest artifact and its manifest are deleted", async () => {
    await nextSecond();
    third = (await provider.update(second.key, second, inputs(vms[2]!, 2))).outs as ArtifactOutputs;
    expect(third.previous.map((a) => a.key)).to.deep.equal([second.key]);
    expect(await keys()).to.deep.equal([second.key, second.manifestKey, third.key, third.manifestKey].sort());
  });

  it("refresh marks an earlier artifact deleted out of band; up removes its manifest and keeps the current one", async () => {
    await s3.send(new m.DeleteObjectCommand({ Bucket: BUCKET, Key: second.key }));
    const read = await provider.read(third.key, third);
    const props = read.props as ArtifactOutputs;
    expect(props.missing).to.equal(undefined);
    expect(props.previous.map((a) => [a.key, a.missing])).to.deep.equal([[second.key, true]]);
    const diff = await provider.diff(third.key, props, inputs(vms[2]!, 2));
    expect(diff).to.include({ changes: true });
    third = (await provider.update(third.key, props, inputs(vms[2]!, 2))).outs as ArtifactOutputs;
    expect(third.previous).to.deep.equal([]);
    expect(await keys()).to.deep.equal([third.key, third.manifestKey].sort());
  });

  it("lowering retention prunes without exporting again", async () => {
    await nextSecond();
    const grown = (await provider.update(third.key, third, inputs(vms[0]!, 3))).outs as ArtifactOutputs;
    expect(grown.previous.map((a) => a.key)).to.deep.equal([third.key]);
    const same = { ...inputs(vms[0]!, 1) };
    const diff = await provider.diff(grown.key, grown, same);
    expect(diff).to.include({ changes: true });
    const pruned = (await provider.update(grown.key, grown, same)).outs as ArtifactOutputs;
    expect(pruned.key, "no new export").to.equal(grown.key);
    expect(pruned.previous).to.deep.equal([]);
    expect(await keys()).to.deep.equal([grown.key, grown.manifestKey].sort());
    third = pruned;
  });

  it("S3 refusing a part fails the export with where it stopped, aborts the upload and keeps the artifact", async () => {
    const big = await makeDiskVm(pool.engine, USER, PASSWORD, "big", 48 * MIB);
    for (let off = 0; off < 48 * MIB; off += MIB)
      await pool.engine.disks.write(big.vdiUuid, off, randomBytes(MIB));
    const bigUuid = pool.engine.store.get("VM", big.vm)?.uuid as string;
    const proxy: S3FaultProxy = await startS3FaultProxy(gw.endpoint);
    try {
      proxy.failPartsFrom(2);
      const via = { ...inputs(bigUuid, 3), virtualSizeBytes: 48 * MIB };
      const before = await keys();
      await nextSecond();
      let err: Error | undefined;
      try {
        await provider.update(third.key, third, {
          ...via,
          store: { ...via.store, endpoint: proxy.endpoint },
        });
      } catch (e) {
        err = e as Error;
      }
      expect(err?.message).to.match(
        /upload to s3:\/\/artifacts\/debian\/12\/\d{8}T\d{6}Z\/tmpl\.xva aborted after \d+ bytes read and \d+ bytes uploaded: .*part \d+ refused.*The multipart upload was aborted/s,
      );
      expect(proxy.refusedParts).to.be.greaterThan(0);
      const uploads = await s3.send(new m.ListMultipartUploadsCommand({ Bucket: BUCKET }));
      expect(uploads.Uploads ?? []).to.deep.equal([]);
      expect(await keys(), "nothing half-published, the current artifact kept").to.deep.equal(before);
    } finally {
      await proxy.stop();
    }
  });

  it("delete removes the current and every retained artifact", async () => {
    await nextSecond();
    const next = (await provider.update(third.key, third, inputs(vms[1]!, 3))).outs as ArtifactOutputs;
    expect(next.previous).to.have.length(1);
    await provider.delete(next.key, next);
    expect(await keys()).to.deep.equal([]);
  });
});
