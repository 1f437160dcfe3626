/**
 * One S3 multipart upload, in the phases lib-storage's `Upload` names: create, parts in flight, complete, abort.
 * The S3 calls and the bookkeeping between them live here; how bytes become parts is {@link streamToS3}'s business.
 *
 * S3's rules relied on (Amazon S3 API reference: CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
 * AbortMultipartUpload): part numbers 1..10,000; every part but the last at least 5 MiB; the parts listed at
 * completion in ascending order with the ETag each UploadPart returned; an upload that is neither completed nor
 * aborted keeps its parts stored (and billed) until aborted or expired by a lifecycle rule.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  type S3Client,
  UploadPartCommand,
  type CompletedPart,
} from "@aws-sdk/client-s3";
import { messageOf } from "../errors";
import { S3StoreError } from "./errors";

/** S3's limit on the parts of one upload. */
export const MAX_PARTS = 10_000;

export interface MultipartUploadOptions {
  readonly client: S3Client;
  readonly bucket: string;
  readonly key: string;
  /** Parts uploaded at once; {@link MultipartUpload.add} waits while this many are in flight. */
  readonly queueSize: number;
  readonly contentType?: string;
  readonly metadata?: Record<string, string>;
  /** Called once a part is stored, with its buffer (the SDK no longer reads it) and the bytes stored so far. */
  readonly onPartStored?: (body: Buffer, uploadedBytes: number) => void;
}

export class MultipartUpload {
  /** Bytes of the parts stored so far. */
  uploadedBytes = 0;
  /** Parts handed to {@link add} so far. */
  partCount = 0;

  private readonly created: Promise<string>;
  private uploadId: string | undefined;
  private readonly cancel = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly parts: CompletedPart[] = [];
  private partFailure: { error: unknown } | undefined;

  constructor(private readonly opts: MultipartUploadOptions) {
    this.created = this.create();
    this.created.catch(() => undefined); // awaited by the first part, complete or abort; a failure is reported there
  }

  /** `s3://bucket/key`, for messages. */
  get where(): string {
    return `s3://${this.opts.bucket}/${this.opts.key}`;
  }

  /** Phase 1, started by the constructor so that it runs while the first part fills: CreateMultipartUpload. */
  private async create(): Promise<string> {
    const { client, bucket, key } = this.opts;
    const r = await client.send(
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        ...(this.opts.contentType !== undefined ? { ContentType: this.opts.contentType } : {}),
        ...(this.opts.metadata !== undefined ? { Metadata: this.opts.metadata } : {}),
      }),
    );
    if (r.UploadId === undefined || r.UploadId === "") {
      throw new S3StoreError(
        `the store answered CreateMultipartUpload for ${this.where} without an UploadId; it does not implement ` +
          `multipart uploads as S3 does`,
        "NoUploadId",
      );
    }
    this.uploadId = r.UploadId;
    return r.UploadId;
  }

  /**
   * Phase 2: sends the next part and returns once there is room for another (fewer than `queueSize` in flight).
   * Rethrows the first failure of any part, so the stream feeding the upload stops at once.
   */
  async add(body: Buffer): Promise<void> {
    const uploadId = await this.created;
    this.rethrowPartFailure();
    if (this.partCount + 1 > MAX_PARTS) {
      throw new S3StoreError(
        `the stream needs more than ${MAX_PARTS} parts of ${body.length} bytes for ${this.where}; ` +
          `give a larger part size (partSizeFor(maximum size))`,
        "TooManyParts",
      );
    }
    this.send(uploadId, ++this.partCount, body);
    while (this.inFlight.size >= this.opts.queueSize) {
      await Promise.race(this.inFlight);
      this.rethrowPartFailure();
    }
    this.rethrowPartFailure();
  }

  /** The end of the stream: an empty stream is stored as one empty part; waits for every part in flight. */
  async finish(): Promise<void> {
    const uploadId = await this.created;
    if (this.partCount === 0) this.send(uploadId, ++this.partCount, Buffer.alloc(0));
    await Promise.all(this.inFlight);
    this.rethrowPartFailure();
  }

  /** Phase 3: CompleteMultipartUpload with the parts in ascending order. */
  async complete(): Promise<void> {
    const uploadId = await this.created;
    const parts = [...this.parts].sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    await this.opts.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.opts.bucket,
        Key: this.opts.key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
  }

  /**
   * The failure that explains why the upload stopped: when a part failed, the stream only saw the cancellation
   * of the others (an AbortError), so the part's own failure is the cause to report.
   */
  rootCause(streamError: unknown): unknown {
    return this.partFailure !== undefined && isCancellation(streamError)
      ? this.partFailure.error
      : streamError;
  }

  /**
   * Phase 4, after any failure: cancels the parts in flight and waits for them, then aborts the upload so that no
   * part is left stored. Never throws: returns the sentence that tells what was left behind and, when the abort
   * failed too, the command that removes the upload.
   */
  async abort(): Promise<string> {
    this.cancel.abort();
    await Promise.allSettled(this.inFlight);
    const id = this.uploadId ?? (await this.created.catch(() => undefined));
    if (id === undefined) return "No multipart upload was started.";
    const { client, bucket, key } = this.opts;
    return client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: id })).then(
      () => "The multipart upload was aborted; nothing partial is left under that key.",
      (abortError: unknown) =>
        `Aborting multipart upload ${id} failed too (${messageOf(abortError)}): remove it with ` +
        `\`aws s3api abort-multipart-upload --bucket ${bucket} --key ${key} --upload-id ${id}\`, or let ` +
        `the bucket's abort-incomplete-uploads rule expire it.`,
    );
  }

  /** One UploadPart, tracked in the set of parts in flight; a failure cancels the others. */
  private send(uploadId: string, partNumber: number, body: Buffer): void {
    const { client, bucket, key } = this.opts;
    const p = (async () => {
      const r = await client.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: body,
          ContentLength: body.length,
        }),
        { abortSignal: this.cancel.signal },
      );
      this.parts.push({ PartNumber: partNumber, ETag: r.ETag });
      this.uploadedBytes += body.length;
      this.opts.onPartStored?.(body, this.uploadedBytes); // send() has settled: the SDK no longer reads body
    })().catch((error: unknown) => {
      this.partFailure ??= { error };
      this.cancel.abort();
    });
    const tracked = p.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  /** Rethrows the first part failure (a method: it is set from callbacks TypeScript's flow analysis cannot see). */
  private rethrowPartFailure(): void {
    if (this.partFailure !== undefined) throw this.partFailure.error;
  }
}

/** An AbortError: how the SDK and Node streams report a cancelled operation. */
function isCancellation(e: unknown): boolean {
  return (e as { name?: string } | undefined)?.name === "AbortError";
}
