import { Transform, Writable, type Readable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { messageOf } from "../errors";
import { S3StoreError, s3ErrorCode } from "./errors";
import { MAX_PARTS, MultipartUpload } from "./multipart-upload";

export { MAX_PARTS };
/** S3's minimum size of every part but the last. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
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
 * Written on the S3 client's multipart calls ({@link MultipartUpload}) rather than lib-storage's `Upload`:
 * lib-storage (3.1169) cuts a part only once it holds more than the part size, so a stream's parts are
 * Buffer.concat'ed in pairs; profiled, that copy was 31 % of the upload's time and doubled the memory of every part
 * in flight (bench/README.md).
 */
export async function streamToS3(
  source: Readable,
  stages: readonly Transform[],
  opts: StreamUploadOptions,
): Promise<StreamUploadResult> {
  const rechunker = new Rechunker(opts.partSizeBytes);
  const upload = new MultipartUpload({
    client: opts.client,
    bucket: opts.bucket,
    key: opts.key,
    queueSize: Math.max(1, opts.queueSize ?? queueSizeFor(opts.partSizeBytes)),
    ...(opts.contentType !== undefined ? { contentType: opts.contentType } : {}),
    ...(opts.metadata !== undefined ? { metadata: opts.metadata } : {}),
    onPartStored: (body, uploaded) => {
      rechunker.recycle(body);
      opts.onProgress?.(uploaded);
    },
  });
  const counter = new ByteCounter();
  try {
    await pipeline([source, ...stages, counter, rechunker, partSink(upload)]);
    await upload.complete();
  } catch (e) {
    const cause = upload.rootCause(e);
    const aborted = await upload.abort();
    throw new S3StoreError(
      `upload to ${upload.where} aborted after ${counter.bytes} bytes read and ${upload.uploadedBytes} bytes ` +
        `uploaded: ${messageOf(cause)}. ${aborted}`,
      s3ErrorCode(cause),
      { cause },
    );
  }
  return checkStored(opts.client, opts.bucket, opts.key, counter.bytes);
}

/** Counts the bytes that pass (those read from the source, after the stages). */
class ByteCounter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/** The end of the pipeline: each part-sized buffer becomes a part of `upload` (waiting while the queue is full). */
function partSink(upload: MultipartUpload): Writable {
  return new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _enc, cb) {
      upload.add(chunk).then(() => cb(), cb);
    },
    final(cb) {
      upload.finish().then(() => cb(), cb);
    },
  });
}

/** After completion: the store must hold exactly the bytes sent (HeadObject), else `SizeMismatch`. */
export async function checkStored(
  client: S3Client,
  bucket: string,
  key: string,
  bytes: number,
): Promise<StreamUploadResult> {
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  if (head.ContentLength !== bytes) {
    throw new S3StoreError(
      `upload to s3://${bucket}/${key} completed but the store reports ${head.ContentLength} bytes where ${bytes} ` +
        `were sent; delete the object and upload again`,
      "SizeMismatch",
    );
  }
  return {
    bytes,
    etag: head.ETag ?? "",
    ...(head.VersionId !== undefined ? { versionId: head.VersionId } : {}),
  };
}
