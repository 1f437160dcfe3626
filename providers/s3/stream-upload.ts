import { Transform, type Readable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { S3StoreError, s3ErrorCode } from "./errors";

/** S3's limits on multipart uploads. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
export const MAX_PARTS = 10_000;
const MIB = 1024 * 1024;

/**
 * Part size for a stream whose length is unknown (xapi sends no Content-Length on /export) but bounded by
 * `maxBytes`: the smallest whole MiB that fits `maxBytes` in 9,000 parts (10% headroom under S3's 10,000), never
 * below `floorBytes`. Without an explicit part size lib-storage uses 5 MiB and caps the object at ~48.8 GiB.
 */
export function partSizeFor(maxBytes: number, floorBytes = 16 * MIB): number {
  const needed = Math.ceil(maxBytes / 9000 / MIB) * MIB;
  return Math.max(floorBytes, MIN_PART_BYTES, needed);
}

/**
 * Re-chunks a byte stream into part-sized buffers allocated with allocUnsafeSlow: lib-storage otherwise keeps
 * small pooled slices whose backing stores pin far more memory than partSize × queueSize (aws-sdk-js-v3#8286).
 */
export class Rechunker extends Transform {
  private buf: Buffer;
  private used = 0;
  // Not named `size`: lib-storage takes a body's `size` property for its total length.
  constructor(private readonly partBytes: number) {
    super({ readableHighWaterMark: 1 });
    this.buf = Buffer.allocUnsafeSlow(partBytes);
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
        this.buf = Buffer.allocUnsafeSlow(this.partBytes);
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
  /** Parts uploaded at once; memory ≈ partSizeBytes × (queueSize + 2). @default 4 */
  readonly queueSize?: number;
  readonly contentType?: string;
  readonly metadata?: Record<string, string>;
  /** Called after each uploaded part with the bytes sent so far. */
  readonly onProgress?: (uploadedBytes: number) => void;
}

/** Result of a completed upload, checked against the store. */
export interface StreamUploadResult {
  readonly bytes: number;
  readonly etag: string;
  readonly versionId?: string;
}

/**
 * Streams `source` (through `stages`, e.g. a verifier) into one multipart upload. On any failure (source,
 * stage or S3) every part upload is awaited, then the multipart upload is aborted (lib-storage's default with
 * leavePartsOnError false), so no part is stranded; the error says how many bytes had been uploaded. After
 * completion, HeadObject must report exactly the bytes that went through.
 */
export async function streamToS3(
  source: Readable,
  stages: readonly Transform[],
  opts: StreamUploadOptions,
): Promise<StreamUploadResult> {
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _e, cb) {
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  const rechunk = new Rechunker(opts.partSizeBytes);
  const upload = new Upload({
    client: opts.client,
    params: {
      Bucket: opts.bucket,
      Key: opts.key,
      Body: rechunk,
      ...(opts.contentType !== undefined ? { ContentType: opts.contentType } : {}),
      ...(opts.metadata !== undefined ? { Metadata: opts.metadata } : {}),
    },
    partSize: opts.partSizeBytes,
    queueSize: opts.queueSize ?? 4,
    leavePartsOnError: false,
  });
  let uploaded = 0;
  upload.on("httpUploadProgress", (p) => {
    uploaded = p.loaded ?? uploaded;
    opts.onProgress?.(uploaded);
  });
  const where = `s3://${opts.bucket}/${opts.key}`;
  const feeding = pipeline([source, ...stages, counter, rechunk]);
  const done = upload.done();
  try {
    // If feeding fails, the rechunker is destroyed, Upload sees the error, awaits its parts and aborts.
    await Promise.all([feeding, done]);
  } catch (e) {
    await done.catch(() => undefined);
    await upload.abort().catch(() => undefined);
    const cause = e as Error;
    throw new S3StoreError(
      `upload to ${where} aborted after ${bytes} bytes read and ${uploaded} bytes uploaded: ${cause.message}. ` +
        `The multipart upload was aborted; nothing partial is left under that key.`,
      s3ErrorCode(e),
      { cause: e },
    );
  }
  const head = await opts.client.send(new HeadObjectCommand({ Bucket: opts.bucket, Key: opts.key }));
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
