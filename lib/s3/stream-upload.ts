import { Transform, Writable, type Readable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from "@aws-sdk/client-s3";
import { S3StoreError, s3ErrorCode } from "./errors";

/** S3's limits on multipart uploads. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
export const MAX_PARTS = 10_000;
const MIB = 1024 * 1024;

/**
 * Part size for a stream whose length is unknown (xapi sends no Content-Length on /export) but bounded by
 * `maxBytes`: the smallest whole MiB that fits `maxBytes` in 9,000 parts (10% headroom under S3's 10,000), never
 * below `floorBytes`. With 5 MiB parts (S3's minimum, lib-storage's default) an object caps at ~48.8 GiB.
 */
export function partSizeFor(maxBytes: number, floorBytes = 8 * MIB): number {
  const needed = Math.ceil(maxBytes / 9000 / MIB) * MIB;
  return Math.max(floorBytes, MIN_PART_BYTES, needed);
}

/**
 * Re-chunks a byte stream into part-sized buffers, each its own allocation (allocUnsafeSlow), so a part in flight
 * pins exactly its own bytes: the only copy the data makes between the socket and S3. A part handed back with
 * `recycle` once stored is filled again: a fresh allocation's pages are faulted in (and zeroed by the kernel) on
 * first write, which profiled at 20 % of the upload's CPU time when every part was new.
 */
export class Rechunker extends Transform {
  private buf: Buffer;
  private used = 0;
  private readonly spare: Buffer[] = [];
  constructor(private readonly partBytes: number) {
    super({ readableHighWaterMark: 1 });
    this.buf = Buffer.allocUnsafeSlow(partBytes);
  }
  /** Gives back a full part the consumer no longer reads, to be filled again. */
  recycle(part: Buffer): void {
    if (part.length === this.partBytes && part.byteOffset === 0) this.spare.push(part);
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(this.partBytes - this.used, chunk.length - off);
      chunk.copy(this.buf, this.used, off, off + n);
      this.used += n;
      off += n;
      if (this.used === this.partBytes) {
        this.push(this.buf);
        this.buf = this.spare.pop() ?? Buffer.allocUnsafeSlow(this.partBytes);
        this.used = 0;
      }
    }
    cb();
  }
  override _flush(cb: TransformCallback): void {
    if (this.used > 0) this.push(this.buf.subarray(0, this.used));
    cb();
  }
}

export interface StreamUploadOptions {
  readonly client: S3Client;
  readonly bucket: string;
  readonly key: string;
  readonly partSizeBytes: number;
  /**
   * Parts uploaded at once. Memory held for the upload is about partSizeBytes × (queueSize + 2): the parts in
   * flight, the one being filled and one waiting. @default queueSizeFor(partSizeBytes)
   */
  readonly queueSize?: number;
  readonly contentType?: string;
  readonly metadata?: Record<string, string>;
  /** Called after each uploaded part with the bytes stored so far. */
  readonly onProgress?: (uploadedBytes: number) => void;
}

/** Result of a completed upload, checked against the store. */
export interface StreamUploadResult {
  readonly bytes: number;
  readonly etag: string;
  readonly versionId?: string;
}

/**
 * Bytes the parts in flight may hold together: 4 parts of 8 MiB (a small template's part size). Measured: more
 * parts in flight or bigger parts do not go faster on the bench machine (CPU-bound), and cost memory.
 */
export const IN_FLIGHT_BUDGET_BYTES = 32 * MIB;

/** Parts in flight for a part size: as many as fit the in-flight budget, at least 2 (one sending, one ready). */
export function queueSizeFor(partSizeBytes: number): number {
  return Math.max(2, Math.floor(IN_FLIGHT_BUDGET_BYTES / partSizeBytes));
}

/**
 * Streams `source` (through `stages`, e.g. a verifier) into one multipart upload, with at most `queueSize` parts
 * in flight. On any failure (source, stage or S3) the parts in flight are cancelled and awaited, then the
 * multipart upload is aborted, so no part is stranded; the error says how many bytes had been read and stored.
 * After completion, HeadObject must report exactly the bytes that went through.
 *
 * Written on the S3 client's multipart calls rather than lib-storage's `Upload`: lib-storage (3.1169) cuts a part
 * only once it holds more than the part size, so a stream's parts are Buffer.concat'ed in pairs; profiled, that
 * copy was 31 % of the upload's time and doubled the memory of every part in flight (bench/README.md).
 */
export async function streamToS3(
  source: Readable,
  stages: readonly Transform[],
  opts: StreamUploadOptions,
): Promise<StreamUploadResult> {
  const { client, bucket, key } = opts;
  const where = `s3://${bucket}/${key}`;
  const queueSize = Math.max(1, opts.queueSize ?? queueSizeFor(opts.partSizeBytes));
  let bytes = 0;
  let uploaded = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _e, cb) {
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  const cancel = new AbortController();
  const inFlight = new Set<Promise<void>>();
  const parts: CompletedPart[] = [];
  let partFailure: { error: unknown } | undefined;
  /** Rethrows the first part failure (a function: the failure is set from callbacks TypeScript cannot see). */
  const rethrowPartFailure = (): void => {
    if (partFailure !== undefined) throw partFailure.error;
  };
  // Created while the first part fills, so it costs no time on the way.
  const created = client.send(
    new CreateMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      ...(opts.contentType !== undefined ? { ContentType: opts.contentType } : {}),
      ...(opts.metadata !== undefined ? { Metadata: opts.metadata } : {}),
    }),
  );
  created.catch(() => undefined); // awaited below; a failure is reported there
  let uploadId: string | undefined;

  const rechunker = new Rechunker(opts.partSizeBytes);
  const sendPart = (partNumber: number, body: Buffer): void => {
    const p = (async () => {
      const id = uploadId as string;
      const r = await client.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: id,
          PartNumber: partNumber,
          Body: body,
          ContentLength: body.length,
        }),
        { abortSignal: cancel.signal },
      );
      parts.push({ PartNumber: partNumber, ETag: r.ETag });
      rechunker.recycle(body); // send() has settled: the SDK no longer reads it
      uploaded += body.length;
      opts.onProgress?.(uploaded);
    })().catch((error: unknown) => {
      partFailure ??= { error };
      cancel.abort();
    });
    const tracked = p.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };

  let partNumber = 0;
  const sink = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _enc, cb) {
      void (async () => {
        uploadId ??= (await created).UploadId;
        if (uploadId === undefined)
          throw new Error("the store answered CreateMultipartUpload without an UploadId");
        rethrowPartFailure();
        if (++partNumber > MAX_PARTS) {
          throw new Error(`the stream needs more than ${MAX_PARTS} parts of ${opts.partSizeBytes} bytes`);
        }
        sendPart(partNumber, chunk);
        while (inFlight.size >= queueSize) {
          await Promise.race(inFlight);
          rethrowPartFailure();
        }
        rethrowPartFailure();
      })().then(() => cb(), cb);
    },
    final(cb) {
      void (async () => {
        uploadId ??= (await created).UploadId;
        if (uploadId === undefined)
          throw new Error("the store answered CreateMultipartUpload without an UploadId");
        if (partNumber === 0) sendPart(++partNumber, Buffer.alloc(0)); // an empty stream is one empty part
        await Promise.all(inFlight);
        rethrowPartFailure();
      })().then(() => cb(), cb);
    },
  });

  try {
    await pipeline([source, ...stages, counter, rechunker, sink]);
    parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
  } catch (e) {
    cancel.abort();
    await Promise.allSettled(inFlight);
    const cause = partFailure !== undefined && isCancellation(e) ? partFailure.error : e;
    const id = uploadId ?? (await created.then((c) => c.UploadId).catch(() => undefined));
    const aborted =
      id === undefined
        ? "No multipart upload was started."
        : await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: id })).then(
            () => "The multipart upload was aborted; nothing partial is left under that key.",
            (abortError: unknown) =>
              `Aborting multipart upload ${id} failed too (${(abortError as Error).message}): remove it with ` +
              `\`aws s3api abort-multipart-upload --bucket ${bucket} --key ${key} --upload-id ${id}\`, or let ` +
              `the bucket's abort-incomplete-uploads rule expire it.`,
          );
    throw new S3StoreError(
      `upload to ${where} aborted after ${bytes} bytes read and ${uploaded} bytes uploaded: ` +
        `${(cause as Error).message}. ${aborted}`,
      s3ErrorCode(cause),
      { cause },
    );
  }
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  if (head.ContentLength !== bytes) {
    throw new S3StoreError(
      `upload to ${where} completed but the store reports ${head.ContentLength} bytes where ${bytes} were sent`,
      "SizeMismatch",
    );
  }
  return {
    bytes,
    etag: head.ETag ?? "",
    ...(head.VersionId !== undefined ? { versionId: head.VersionId } : {}),
  };
}

function isCancellation(e: unknown): boolean {
  return (e as { name?: string } | undefined)?.name === "AbortError";
}
