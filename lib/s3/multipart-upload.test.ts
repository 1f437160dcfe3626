import { expect } from "chai";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  type CompletedPart,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { S3StoreError } from "./errors";
import { MAX_PARTS, MultipartUpload } from "./multipart-upload";
import { checkStored } from "./stream-upload";

type Command =
  | CreateMultipartUploadCommand
  | UploadPartCommand
  | CompleteMultipartUploadCommand
  | AbortMultipartUploadCommand
  | HeadObjectCommand;

/** A part the fake store has received and not answered yet: the test decides when and how it settles. */
interface HeldPart {
  readonly partNumber: number;
  readonly bytes: number;
  store(): void;
  fail(error: unknown): void;
}

/**
 * A scripted S3 client: CreateMultipartUpload answers `createAnswer`, every UploadPart waits for the test to
 * store or fail it (or is stored at once with `autoStore`), Complete and Abort are recorded. Anything else throws.
 */
class FakeStore {
  readonly calls: string[] = [];
  readonly held: HeldPart[] = [];
  completedParts: CompletedPart[] | undefined;
  createAnswer: () => Promise<{ UploadId?: string }> = () => Promise.resolve({ UploadId: "u-1" });
  abortAnswer: () => Promise<object> = () => Promise.resolve({});
  headLength = 0;
  autoStore = false;
  private waiters: (() => void)[] = [];

  get client(): S3Client {
    return {
      send: (c: Command, o?: { abortSignal?: AbortSignal }) => this.send(c, o),
    } as unknown as S3Client;
  }

  /** Resolves once `n` parts are held. */
  async partsHeld(n: number): Promise<void> {
    while (this.held.length < n) await new Promise<void>((r) => this.waiters.push(r));
  }

  private send(c: Command, o?: { abortSignal?: AbortSignal }): Promise<unknown> {
    this.calls.push(c.constructor.name.replace(/Command$/, ""));
    if (c instanceof CreateMultipartUploadCommand) return this.createAnswer();
    if (c instanceof UploadPartCommand) {
      const body = c.input.Body as Buffer;
      return new Promise((resolve, reject) => {
        const part: HeldPart = {
          partNumber: c.input.PartNumber ?? 0,
          bytes: body.length,
          store: () => resolve({ ETag: `"etag-${c.input.PartNumber}"` }),
          fail: reject,
        };
        o?.abortSignal?.addEventListener("abort", () =>
          reject(Object.assign(new Error("Request aborted"), { name: "AbortError" })),
        );
        if (this.autoStore) part.store();
        else {
          this.held.push(part);
          this.waiters.splice(0).forEach((w) => w());
        }
      });
    }
    if (c instanceof CompleteMultipartUploadCommand) {
      this.completedParts = c.input.MultipartUpload?.Parts;
      return Promise.resolve({});
    }
    if (c instanceof AbortMultipartUploadCommand) return this.abortAnswer();
    if (c instanceof HeadObjectCommand)
      return Promise.resolve({ ContentLength: this.headLength, ETag: '"e"' });
    throw new Error(`the fake store does not expect ${(c as object).constructor.name}`);
  }
}

const upload = (store: FakeStore, queueSize = 2) =>
  new MultipartUpload({ client: store.client, bucket: "b", key: "k/x.xva", queueSize });

describe("MultipartUpload: create, parts in flight, complete, abort", () => {
  it("creates once, uploads numbered parts and completes with them in ascending order, whatever order they were stored in", async () => {
    const store = new FakeStore();
    const up = upload(store, 3);
    await up.add(Buffer.alloc(5));
    await up.add(Buffer.alloc(5));
    const third = up.add(Buffer.alloc(3));
    await store.partsHeld(3);
    // Stored out of order: 3, 1, 2.
    store.held[2]?.store();
    store.held[0]?.store();
    store.held[1]?.store();
    await third;
    await up.finish();
    await up.complete();
    expect(store.calls).to.deep.equal([
      "CreateMultipartUpload",
      "UploadPart",
      "UploadPart",
      "UploadPart",
      "CompleteMultipartUpload",
    ]);
    expect(store.completedParts?.map((p) => p.PartNumber)).to.deep.equal([1, 2, 3]);
    expect(store.completedParts?.map((p) => p.ETag)).to.deep.equal(['"etag-1"', '"etag-2"', '"etag-3"']);
    expect(up.uploadedBytes).to.equal(13);
  });

  it("keeps at most queueSize parts in flight: add waits until one is stored", async () => {
    const store = new FakeStore();
    const up = upload(store, 2);
    await up.add(Buffer.alloc(1));
    let second = false;
    const adding = up.add(Buffer.alloc(1)).then(() => (second = true));
    await store.partsHeld(2);
    await Promise.resolve();
    expect(second, "the queue is full: add has not returned").to.equal(false);
    store.held[0]?.store();
    await adding;
    expect(second).to.equal(true);
    store.held[1]?.store();
    await up.finish();
  });

  it("stores an empty stream as one empty part", async () => {
    const store = new FakeStore();
    store.autoStore = true;
    const up = upload(store);
    await up.finish();
    await up.complete();
    expect(store.calls).to.deep.equal(["CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"]);
    expect(store.completedParts?.map((p) => p.PartNumber)).to.deep.equal([1]);
  });

  it("a failed part stops the stream with that failure, cancels the others, and abort removes the upload", async () => {
    const store = new FakeStore();
    const up = upload(store, 2);
    await up.add(Buffer.alloc(1));
    const adding = up.add(Buffer.alloc(1));
    await store.partsHeld(2);
    const failure = Object.assign(new Error("We encountered an internal error"), { name: "InternalError" });
    store.held[1]?.fail(failure);
    const err = await adding.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.equal(failure);
    // The pipeline reports the cancellation it saw; the part's own failure is the cause to report.
    expect(up.rootCause(Object.assign(new Error("aborted"), { name: "AbortError" }))).to.equal(failure);
    expect(await up.abort()).to.equal(
      "The multipart upload was aborted; nothing partial is left under that key.",
    );
    expect(store.calls.slice(-1)).to.deep.equal(["AbortMultipartUpload"]);
  });

  for (const [what, partFails, streamError, expected] of [
    ["no part failed: the stream's own error", false, "AbortError", "stream"],
    ["a part failed and the stream saw the cancellation: the part's failure", true, "AbortError", "part"],
    [
      "a part failed but the stream failed first for its own reason: the stream's error",
      true,
      "Error",
      "stream",
    ],
  ] as const) {
    it(`rootCause — ${what}`, async () => {
      const store = new FakeStore();
      const up = upload(store, 1);
      const partError = new Error("part failed");
      if (partFails) {
        const adding = up.add(Buffer.alloc(1)).catch(() => undefined);
        await store.partsHeld(1);
        store.held[0]?.fail(partError);
        await adding;
      }
      const streamFailure = Object.assign(new Error("stream failed"), { name: streamError });
      expect(up.rootCause(streamFailure)).to.equal(expected === "part" ? partError : streamFailure);
      await up.abort();
    });
  }

  it("when CreateMultipartUpload failed, abort says no upload was started and calls nothing", async () => {
    const store = new FakeStore();
    const denied = Object.assign(new Error("Access Denied"), { name: "AccessDenied" });
    store.createAnswer = () => Promise.reject(denied);
    const up = upload(store);
    const err = await up.add(Buffer.alloc(1)).catch((e: unknown) => e);
    expect(err).to.equal(denied);
    expect(await up.abort()).to.equal("No multipart upload was started.");
    expect(store.calls).to.deep.equal(["CreateMultipartUpload"]);
  });

  it("a store that answers CreateMultipartUpload without an UploadId is refused (NoUploadId)", async () => {
    const store = new FakeStore();
    store.createAnswer = () => Promise.resolve({});
    const err = await upload(store)
      .add(Buffer.alloc(1))
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(S3StoreError).with.property("code", "NoUploadId");
  });

  it("when the abort fails too, says so and gives the command that removes the upload", async () => {
    const store = new FakeStore();
    store.abortAnswer = () => Promise.reject(new Error("connection reset"));
    const up = upload(store);
    await up.add(Buffer.alloc(1)).catch(() => undefined);
    const sentence = await up.abort();
    expect(sentence).to.equal(
      "Aborting multipart upload u-1 failed too (connection reset): remove it with " +
        "`aws s3api abort-multipart-upload --bucket b --key k/x.xva --upload-id u-1`, or let the bucket's " +
        "abort-incomplete-uploads rule expire it.",
    );
  });

  it(`refuses part ${MAX_PARTS + 1} (TooManyParts): S3 numbers parts 1..${MAX_PARTS}`, async () => {
    const store = new FakeStore();
    store.autoStore = true;
    const up = upload(store, 64);
    const part = Buffer.alloc(1);
    for (let i = 0; i < MAX_PARTS; i++) await up.add(part);
    const err = await up.add(part).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(S3StoreError).with.property("code", "TooManyParts");
    expect(up.partCount).to.equal(MAX_PARTS);
  });
});

describe("checkStored: the stored size after completion", () => {
  it("returns bytes, ETag and no version when the store holds exactly the bytes sent", async () => {
    const store = new FakeStore();
    store.headLength = 42;
    expect(await checkStored(store.client, "b", "k", 42)).to.deep.equal({ bytes: 42, etag: '"e"' });
  });

  it("fails with SizeMismatch when the store reports another size", async () => {
    const store = new FakeStore();
    store.headLength = 41;
    const err = await checkStored(store.client, "b", "k", 42).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(S3StoreError).with.property("code", "SizeMismatch");
    expect((err as Error).message).to.include("reports 41 bytes where 42 were sent");
  });
});
