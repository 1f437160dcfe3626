import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CreateBucketCommand, DeleteBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { startVersityGw, type VersityGw } from "../devpool/versitygw";
import {
  ArtifactBucketProvider as BucketProvider,
  type BucketInputs,
  type BucketOutputs,
} from "./artifact-bucket";

describe("bucket provider (integ, versitygw)", () => {
  let gw: VersityGw;
  let dir: string;
  let raw: S3Client;
  const provider = () => {
    const p = new BucketProvider();
    const cfg: Record<string, string> = {
      "xcpng-templates:s3AccessKeyId": gw.accessKey,
      "xcpng-templates:s3SecretAccessKey": gw.secretKey,
    };
    void p.configure({
      config: {
        get: (k: string) => cfg[k],
        require: (k: string) => cfg[k] ?? "",
      },
    });
    return p;
  };
  const inputs = (bucket: string, forceDestroy = false): BucketInputs => ({
    bucket,
    region: gw.region,
    endpoint: gw.endpoint,
    forcePathStyle: true,
    forceDestroy,
  });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bucket-"));
    gw = await startVersityGw({ dataDir: dir });
    raw = new S3Client({
      endpoint: gw.endpoint,
      region: gw.region,
      forcePathStyle: true,
      credentials: { accessKeyId: gw.accessKey, secretAccessKey: gw.secretKey },
    });
  });
  after(async () => {
    raw?.destroy();
    await gw?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("creates a bucket, enabling versioning and recording what the store does not implement", async () => {
    const { id, outs } = await provider().create(inputs("fresh-bucket"));
    expect(id).to.equal("fresh-bucket");
    expect(outs?.adopted).to.equal(false);
    expect(outs?.versioning).to.equal("enabled");
    expect(["enabled", "unsupported"]).to.include(outs?.encryption);
    // versitygw answers 501 to lifecycle configuration (toolchain.md §6.2): tolerated, recorded.
    expect(outs?.abortIncompleteUploads).to.equal("unsupported");
  });

  it("adopts a bucket that already exists", async () => {
    await raw.send(new CreateBucketCommand({ Bucket: "existing-bucket" }));
    const { outs } = await provider().create(inputs("existing-bucket"));
    expect(outs?.adopted).to.equal(true);
  });

  it("read reports a bucket deleted out of band as gone", async () => {
    const { outs } = await provider().create(inputs("doomed-bucket"));
    await raw.send(new DeleteBucketCommand({ Bucket: "doomed-bucket" }));
    const r = await provider().read("doomed-bucket", outs);
    expect(r.id).to.equal(undefined);
  });

  it("delete refuses a non-empty bucket unless forceDestroy, then empties and deletes it", async () => {
    const { outs } = await provider().create(inputs("full-bucket"));
    await raw.send(new PutObjectCommand({ Bucket: "full-bucket", Key: "debian/12/x.xva", Body: "x" }));
    let err: Error | undefined;
    try {
      await provider().delete("full-bucket", outs as BucketOutputs);
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).to.match(
      /refusing to delete s3:\/\/full-bucket: it still holds objects.*forceDestroy/,
    );
    await provider().delete("full-bucket", { ...(outs as BucketOutputs), forceDestroy: true });
    const r = await provider().read("full-bucket", outs);
    expect(r.id, "bucket gone after forced delete").to.equal(undefined);
  });

  it("names the credentials to fix when they are wrong", async () => {
    const p = new BucketProvider();
    await p.configure({
      config: {
        get: (k) => (k === "xcpng-templates:s3AccessKeyId" ? gw.accessKey : "wrong"),
        require: () => "",
      },
    });
    let err: Error | undefined;
    try {
      await p.create(inputs("never-made"));
    } catch (e) {
      err = e as Error;
    }
    expect(err?.name).to.equal("S3StoreError");
    expect(err?.message).to.match(/SignatureDoesNotMatch|AccessDenied|InvalidAccessKeyId/);
    expect(err?.message).to.match(/s3SecretAccessKey/);
    expect(err?.message).to.not.include(gw.secretKey);
  });

  it("check returns one failure per wrong property", async () => {
    const r = await new BucketProvider().check(
      {} as BucketInputs,
      {
        bucket: "Not_Valid",
        region: "",
        endpoint: "ftp://x",
      } as BucketInputs,
    );
    expect(r.failures?.map((f) => f.property).sort()).to.deep.equal(["bucket", "endpoint", "region"]);
  });

  it("diff replaces on identity changes, updates on settings, and refreshes changed provider code", async () => {
    const p = new BucketProvider();
    const olds = {
      ...inputs("b-one"),
      adopted: false,
      versioning: "enabled",
      encryption: "enabled",
    } as BucketOutputs;
    expect((await p.diff("b-one", olds, inputs("b-two"))).replaces).to.deep.equal(["bucket"]);
    const d = await p.diff("b-one", olds, inputs("b-one", true));
    expect(d).to.include({ changes: true });
    expect(d.replaces).to.deep.equal([]);
    expect((await p.diff("b-one", olds, inputs("b-one"))).changes).to.equal(false);
    const code = await p.diff(
      "b-one",
      { ...olds, __provider: "old code" } as BucketOutputs,
      { ...inputs("b-one"), __provider: "new code" } as BucketInputs,
    );
    expect(code).to.include({ changes: true });
    expect(code.replaces).to.deep.equal([]);
  });
});
