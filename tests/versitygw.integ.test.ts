import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { startVersityGw, type VersityGw } from "../devpool/versitygw";

describe("versitygw (integ): the embedded S3 store answers @aws-sdk/client-s3", () => {
  let gw: VersityGw;
  let dir: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "vgw-"));
    gw = await startVersityGw({ dataDir: dir });
  });
  after(async () => {
    await gw?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("creates a bucket, stores and reads back an object, with signed requests", async () => {
    const s3 = new S3Client({
      endpoint: gw.endpoint,
      region: gw.region,
      forcePathStyle: true,
      credentials: { accessKeyId: gw.accessKey, secretAccessKey: gw.secretKey },
    });
    await s3.send(new CreateBucketCommand({ Bucket: "smoke" }));
    await s3.send(new PutObjectCommand({ Bucket: "smoke", Key: "a/b.txt", Body: "hello versitygw" }));
    const got = await s3.send(new GetObjectCommand({ Bucket: "smoke", Key: "a/b.txt" }));
    expect(await got.Body?.transformToString()).to.equal("hello versitygw");
    const list = await s3.send(new ListBucketsCommand({}));
    expect(list.Buckets?.map((b) => b.Name)).to.include("smoke");
    s3.destroy();
  });

  it("rejects a request signed with the wrong secret", async () => {
    const bad = new S3Client({
      endpoint: gw.endpoint,
      region: gw.region,
      forcePathStyle: true,
      credentials: { accessKeyId: gw.accessKey, secretAccessKey: "not-the-secret" },
    });
    let err: unknown;
    try {
      await bad.send(new ListBucketsCommand({}));
    } catch (e) {
      err = e;
    }
    expect((err as { name?: string } | undefined)?.name).to.match(/SignatureDoesNotMatch|AccessDenied/);
    bad.destroy();
  });
});
