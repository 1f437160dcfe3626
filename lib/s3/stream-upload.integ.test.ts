import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable, Transform } from "node:stream";
import * as m from "@aws-sdk/client-s3";
import { startVersityGw, type VersityGw } from "../../devpool/versitygw";
import { createS3Client } from "./client";
import { streamToS3 } from "./stream-upload";

const MIB = 1024 * 1024;

/** A client whose UploadPart fails on the Nth call: fault injection at the seam, as lib-storage's e2e test does. */
function failingClient(gw: VersityGw, failOnPart: number): { client: m.S3Client; calls: string[] } {
  const client = createS3Client(
    { region: gw.region, endpoint: gw.endpoint, forcePathStyle: true },
    {
      accessKeyId: gw.accessKey,
      secretAccessKey: gw.secretKey,
    },
  );
  const calls: string[] = [];
  let parts = 0;
  const send = client.send.bind(client) as (c: unknown) => Promise<unknown>;
  (client as unknown as { send: (c: unknown) => Promise<unknown> }).send = (command: unknown) => {
    const name = (command as { constructor: { name: string } }).constructor.name;
    calls.push(name);
    if (name === "UploadPartCommand" && ++parts === failOnPart) {
      return Promise.reject(
        Object.assign(new Error("simulated UploadPart failure"), { name: "InternalError" }),
      );
    }
    return send(command);
  };
  return { client, calls };
}

describe("streamToS3 (integ, versitygw)", function () {
  this.timeout(120000);
  let gw: VersityGw;
  let dir: string;
  let s3: m.S3Client;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "stream-"));
    gw = await startVersityGw({ dataDir: dir });
    s3 = createS3Client(
      { region: gw.region, endpoint: gw.endpoint, forcePathStyle: true },
      {
        accessKeyId: gw.accessKey,
        secretAccessKey: gw.secretKey,
      },
    );
    await s3.send(new m.CreateBucketCommand({ Bucket: "stream" }));
  });
  after(async () => {
    s3?.destroy();
    await gw?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const noUploadsLeft = async () => {
    const u = await s3.send(new m.ListMultipartUploadsCommand({ Bucket: "stream" }));
    expect(u.Uploads ?? [], "no incomplete multipart upload left").to.deep.equal([]);
  };

  it("uploads a stream of unknown length in explicit parts and checks the stored size", async () => {
    const data = randomBytes(13 * MIB + 12345);
    const r = await streamToS3(Readable.from([data.subarray(0, 7 * MIB), data.subarray(7 * MIB)]), [], {
      client: s3,
      bucket: "stream",
      key: "a/b.xva",
      partSizeBytes: 5 * MIB,
    });
    expect(r.bytes).to.equal(data.length);
    const got = await s3.send(new m.GetObjectCommand({ Bucket: "stream", Key: "a/b.xva" }));
    const back = Buffer.from(
      await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    expect(createHash("sha256").update(back).digest("hex")).to.equal(
      createHash("sha256").update(data).digest("hex"),
    );
    await noUploadsLeft();
  });

  it("stores an empty stream as an empty object", async () => {
    const r = await streamToS3(Readable.from([]), [], {
      client: s3,
      bucket: "stream",
      key: "a/empty.xva",
      partSizeBytes: 5 * MIB,
    });
    expect(r.bytes).to.equal(0);
    const head = await s3.send(new m.HeadObjectCommand({ Bucket: "stream", Key: "a/empty.xva" }));
    expect(head.ContentLength).to.equal(0);
    await noUploadsLeft();
  });

  it("keeps at most queueSize parts in flight, whatever the source's pace", async () => {
    const client = createS3Client(
      { region: gw.region, endpoint: gw.endpoint, forcePathStyle: true },
      { accessKeyId: gw.accessKey, secretAccessKey: gw.secretKey },
    );
    let inFlight = 0;
    let peak = 0;
    let parts = 0;
    const send = client.send.bind(client) as (c: unknown) => Promise<unknown>;
    (client as unknown as { send: (c: unknown) => Promise<unknown> }).send = async (command: unknown) => {
      if (!(command instanceof m.UploadPartCommand)) return send(command);
      parts++;
      peak = Math.max(peak, ++inFlight);
      try {
        await new Promise((r) => setTimeout(r, 30)); // a slow store: the source outpaces it
        return await send(command);
      } finally {
        inFlight--;
      }
    };
    const r = await streamToS3(Readable.from([randomBytes(41 * MIB)]), [], {
      client,
      bucket: "stream",
      key: "a/queue.xva",
      partSizeBytes: 5 * MIB,
      queueSize: 3,
    });
    expect(r.bytes).to.equal(41 * MIB);
    expect(parts).to.equal(9);
    expect(peak).to.equal(3);
    client.destroy();
    await noUploadsLeft();
  });

  it("aborts the multipart upload when S3 fails a part, and says where it stopped", async () => {
    const { client, calls } = failingClient(gw, 2);
    let err: Error | undefined;
    try {
      await streamToS3(Readable.from([randomBytes(16 * MIB)]), [], {
        client,
        bucket: "stream",
        key: "fail/part.xva",
        partSizeBytes: 5 * MIB,
        queueSize: 1,
      });
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).to.match(/upload to s3:\/\/stream\/fail\/part.xva aborted after \d+ bytes read/);
    expect(err?.message).to.match(/simulated UploadPart failure/);
    expect(calls).to.include("AbortMultipartUploadCommand");
    await noUploadsLeft();
    const listed = await s3.send(new m.ListObjectsV2Command({ Bucket: "stream", Prefix: "fail/" }));
    expect(listed.KeyCount ?? 0).to.equal(0);
    client.destroy();
  });

  it("aborts when a stage (the verifier) rejects the stream mid-way", async () => {
    let seen = 0;
    const verifier = new Transform({
      transform(chunk: Buffer, _e, cb) {
        seen += chunk.length;
        cb(seen > 9 * MIB ? new Error("chunk Ref:3/00000009 failed its xxhash check") : null, chunk);
      },
    });
    let err: Error | undefined;
    try {
      await streamToS3(
        Readable.from(
          (function* () {
            for (let i = 0; i < 20; i++) yield randomBytes(MIB);
          })(),
        ),
        [verifier],
        {
          client: s3,
          bucket: "stream",
          key: "fail/verify.xva",
          partSizeBytes: 5 * MIB,
        },
      );
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).to.match(/aborted after .* xxhash check/);
    await noUploadsLeft();
  });
});
