import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Readable } from "node:stream";
import * as m from "@aws-sdk/client-s3";
import { startDevpool, type Devpool } from "../devpool";
import { startVersityGw, type VersityGw } from "../devpool/versitygw";
import { makeDiskVm } from "../devpool/testing/fixtures";
import { unpackBootDisk } from "../lib/acceptance/xva-disk";
import { createS3Client } from "../lib/s3/client";
import {
  ArtifactProvider,
  type ArtifactInputs,
  type ArtifactManifest,
  type ArtifactOutputs,
} from "./artifact";
import type { ArtifactCompression } from "./catalogue-document";
import type { ArtifactStore } from "./store";

const MIB = 1024 * 1024;
const USER = "root";
const PASSWORD = "compression-integ-password";
const BUCKET = "compressed";

/**
 * The stack's `compression` end to end on devpool and versitygw: the export is asked for with `use_compression`,
 * verified on the fly (the verifier decompresses as it checks every chunk), stored with its media type, recorded
 * in the manifest, and read back and unpacked into the very disk the pool holds, as the acceptance boot does.
 */
describe("Artifact compression (integ: devpool + versitygw): export, verify, store, read back, unpack", function () {
  this.timeout(180_000);
  let dir: string;
  let pool: Devpool;
  let gw: VersityGw;
  let s3: m.S3Client;
  let provider: ArtifactProvider;
  let vm: { uuid: string; vdiUuid: string };

  const store = (): ArtifactStore => ({
    region: gw.region,
    endpoint: gw.endpoint,
    forcePathStyle: true,
    bucket: BUCKET,
    prefix: "st",
    stack: "st",
  });
  const inputs = (compression: ArtifactCompression): ArtifactInputs => ({
    pool: { url: pool.url, username: USER, insecureSkipVerify: false },
    store: store(),
    templateUuid: vm.uuid,
    templateName: `tmpl-${compression}`,
    os: "debian",
    version: "12",
    virtualSizeBytes: 40 * MIB,
    compression,
    facts: {
      buildId: `b-${compression}`,
      sourceHash: "0".repeat(64),
      toolVersions: "packer 1.9.4",
      packerVersion: "1.9.4",
      buildDurationSeconds: 1,
      poolOs: "debian 12",
    },
  });
  const get = async (key: string) => s3.send(new m.GetObjectCommand({ Bucket: BUCKET, Key: key }));

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "compression-integ-"));
    pool = await startDevpool({ dataDir: path.join(dir, "pool"), username: USER, password: PASSWORD });
    gw = await startVersityGw({ dataDir: path.join(dir, "s3") });
    s3 = createS3Client(
      { region: gw.region, endpoint: gw.endpoint, forcePathStyle: true },
      { accessKeyId: gw.accessKey, secretAccessKey: gw.secretKey },
    );
    await s3.send(new m.CreateBucketCommand({ Bucket: BUCKET }));
    // A disk that compresses like a file system does: runs of text and zeros, a few random blocks (makeDiskVm's,
    // which it writes up to 37 MiB: the disk is larger, so every byte written is inside it).
    const disk = await makeDiskVm(pool.engine, USER, PASSWORD, "compressible", 40 * MIB);
    const text = Buffer.from("Package: libc6\nVersion: 2.36-9+deb12u4\nArchitecture: amd64\n".repeat(20000));
    for (let off = MIB; off < 16 * MIB; off += 2 * MIB)
      await pool.engine.disks.write(disk.vdiUuid, off, text.subarray(0, MIB));
    vm = { uuid: pool.engine.store.get("VM", disk.vm)?.uuid as string, vdiUuid: disk.vdiUuid };
    provider = new ArtifactProvider();
    await provider.configure({
      config: {
        get: (k: string) =>
          ({
            "xcpng-templates:poolPassword": PASSWORD,
            "xcpng-templates:s3AccessKeyId": gw.accessKey,
            "xcpng-templates:s3SecretAccessKey": gw.secretKey,
          })[k],
        require: (k: string) => k,
      },
    });
  });
  after(async () => {
    s3?.destroy();
    await pool?.stop();
    await gw?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const sizes: Partial<Record<ArtifactCompression, number>> = {};
  const cases: ReadonlyArray<[ArtifactCompression, string]> = [
    ["zstd", "application/zstd"],
    ["gzip", "application/gzip"],
    ["none", "application/x-tar"],
  ];
  for (const [compression, contentType] of cases) {
    it(`${compression}: stored as exported, recorded, and read back into the pool's own disk`, async () => {
      const outs = (await provider.create(inputs(compression))).outs as ArtifactOutputs;
      sizes[compression] = outs.sizeBytes;
      expect(outs.xvaCompression).to.equal(compression);
      expect(outs.chunksVerified).to.be.greaterThan(0);
      const head = await s3.send(new m.HeadObjectCommand({ Bucket: BUCKET, Key: outs.key }));
      expect(head.ContentType).to.equal(contentType);
      expect(
        head.ContentEncoding,
        "no Content-Encoding: clients keep the bytes whose SHA-256 is published",
      ).to.equal(undefined);
      const manifest = JSON.parse(
        await (await get(outs.manifestKey)).Body!.transformToString(),
      ) as ArtifactManifest;
      expect(manifest).to.include({
        compression,
        contentType,
        sha256: outs.sha256,
        sizeBytes: outs.sizeBytes,
      });
      expect(manifest.tarBytes).to.be.at.least(outs.sizeBytes);
      // Read back as the acceptance boot reads it: every chunk verified, the stream's SHA-256 checked.
      const work = fs.mkdtempSync(path.join(dir, `unpack-${compression}-`));
      const unpacked = await unpackBootDisk((await get(outs.key)).Body as Readable, work, {
        expectedSha256: outs.sha256,
      });
      expect(unpacked.bytes).to.equal(outs.sizeBytes);
      const original = fs.readFileSync(pool.engine.disks.path(vm.vdiUuid));
      expect(fs.readFileSync(unpacked.path).equals(original), "the same disk, byte for byte").to.equal(true);
      await provider.delete(outs.key, outs);
    });
  }

  it("compressed artifacts are smaller than the plain one (zstd and gzip on a compressible disk)", () => {
    expect(sizes.zstd).to.be.below(sizes.none!);
    expect(sizes.gzip).to.be.below(sizes.none!);
  });
});
