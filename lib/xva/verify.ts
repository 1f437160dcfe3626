/**
 * Pass-through verification: forward an XVA's bytes unchanged (e.g. into an S3 multipart upload) while checking
 * every chunk against its checksum file and hashing the whole stream with SHA-256.
 *
 * The verifier runs {@link parseXva} on a tee of the bytes (the same buffers, not copies). A block is forwarded
 * once the parser's queue is under 1 MiB, so the parser paces the stream and memory stays bounded (that queue,
 * the parser's one chunk, and one `highWaterMark` on each side of the Transform). Any format or checksum failure destroys the stream with that
 * typed error, which makes a consumer such as an upload abort; `verification` rejects with the same error.
 */
import { createHash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { ByteQueue } from "./byte-queue";
import type { XvaCompression } from "./compression";
import { XvaFormatError, toError } from "./errors";
import { type OvaXml, objectsOfClass } from "./ova-xml";
import { type ParseXvaOptions, type XvaDiskSummary, parseXva } from "./reader";

/** Bytes handed to the parser but not yet taken; beyond this the stream waits (backpressure). */
const FEED_BUDGET_BYTES = 1024 * 1024;

/** What the verifier found once the whole stream has passed. */
export interface XvaVerification {
  /** SHA-256 (lowercase hex) of the bytes passed through, i.e. of the stored object. */
  sha256: string;
  /** Bytes passed through (compressed size when the stream is compressed). */
  bytes: number;
  compression: XvaCompression;
  /** Bytes of the decompressed tar stream. */
  tarBytes: number;
  /** Data chunks verified, over all disks. */
  chunks: number;
  disks: XvaDiskSummary[];
  header: OvaXml;
  /** `name_label` of the exported VM, when there is exactly one VM. */
  vmName: string | undefined;
  /** The guest OS as the VM's guest metrics report it (`os_version.name`), when present. */
  osName: string | undefined;
}

/** How far a verification has come: through the disks' bytes (what a progress line counts), and the stream's. */
export interface XvaVerifyProgress {
  /** Disk bytes up to the end of the last verified chunk, over all streamed disks (holes count as passed). */
  readonly diskBytesDone: number;
  /** Sum of the streamed disks' virtual sizes; 0 until `ova.xml` has been read. */
  readonly diskBytesTotal: number;
  /** Bytes of the chunks verified so far: the disks' data the export carries (holes and zero chunks are not sent). */
  readonly dataBytes: number;
  /** Bytes of the stream passed through so far (compressed, when it is). */
  readonly streamBytes: number;
}

/** A Transform that forwards bytes unchanged and verifies them as an XVA. Emits `header` with the parsed `ova.xml`. */
export class XvaVerifier extends Transform {
  /** Settles when the stream has ended and been fully verified, or rejects with the failure. */
  readonly verification: Promise<XvaVerification>;

  private readonly feed: ByteQueue;
  private readonly sha = createHash("sha256");
  private bytes = 0;
  private failure: Error | undefined;
  private readonly parsed: Promise<{ summary: Omit<XvaVerification, "sha256" | "bytes"> } | undefined>;
  private settle!: { resolve: (v: XvaVerification) => void; reject: (e: Error) => void };
  private settled = false;
  private diskTotal = 0;
  private disksDone = 0;
  private diskPosition = 0;
  private dataBytes = 0;

  constructor(options: ParseXvaOptions = {}) {
    super();
    this.feed = new ByteQueue(FEED_BUDGET_BYTES);
    this.verification = new Promise<XvaVerification>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // The caller may only look at `verification` after the stream finished; a rejection is never "unhandled".
    this.verification.catch(() => undefined);
    this.parsed = this.consume(options);
  }

  private async consume(
    options: ParseXvaOptions,
  ): Promise<{ summary: Omit<XvaVerification, "sha256" | "bytes"> } | undefined> {
    let chunks = 0;
    try {
      for await (const ev of parseXva(this.feed, options)) {
        if (ev.type === "header") {
          this.diskTotal = ev.disks.reduce((n, d) => n + d.virtualSize, 0);
          this.emit("header", ev.header);
        } else if (ev.type === "chunk") {
          chunks += 1;
          const size = ev.parts.reduce((n, p) => n + p.length, 0);
          this.dataBytes += size;
          this.diskPosition = this.disksDone + ev.offset + size;
        } else if (ev.type === "disk-end") {
          this.disksDone += ev.disk.virtualSize;
          this.diskPosition = this.disksDone;
        } else if (ev.type === "end") {
          const { header, compression, disks, tarBytes } = ev.summary;
          const vms = objectsOfClass(header, "VM");
          const gm = objectsOfClass(header, "VM_guest_metrics").find(
            (g) => g.id === vms[0]?.snapshot.guest_metrics,
          );
          return {
            summary: {
              compression,
              tarBytes,
              chunks,
              disks,
              header,
              vmName: vms.length === 1 ? vms[0]?.snapshot.name_label : undefined,
              osName: gm?.snapshot.os_version.name,
            },
          };
        }
      }
      return undefined;
    } catch (err) {
      const e = toError(err);
      this.fail(e);
      return undefined;
    }
  }

  /** How far the verification has come (for progress lines: the disks' bytes are known from `ova.xml`). */
  progress(): XvaVerifyProgress {
    return {
      diskBytesDone: this.diskPosition,
      diskBytesTotal: this.diskTotal,
      dataBytes: this.dataBytes,
      streamBytes: this.bytes,
    };
  }

  private fail(err: Error): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    if (!this.settled) {
      this.settled = true;
      this.settle.reject(err);
    }
    this.destroy(err);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.sha.update(chunk);
    this.bytes += chunk.byteLength;
    // Forwarded once the parser has room for it: the parser sets the pace, which bounds memory.
    this.feed.push(chunk).then(
      () => callback(this.failure ?? null, chunk),
      (err: unknown) => callback(toError(err)),
    );
  }

  override _flush(callback: TransformCallback): void {
    this.feed.end();
    this.parsed.then(
      (result) => {
        if (result === undefined) {
          callback(
            this.failure ?? new XvaFormatError("TRUNCATED", "the stream ended before the XVA was complete"),
          );
          return;
        }
        const verification: XvaVerification = {
          sha256: this.sha.digest("hex"),
          bytes: this.bytes,
          ...result.summary,
        };
        this.settled = true;
        this.settle.resolve(verification);
        callback();
      },
      (err: unknown) => callback(toError(err)),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.settled) {
      this.settled = true;
      this.settle.reject(
        error ??
          new XvaFormatError("TRUNCATED", "the verifier was destroyed before the end of the XVA stream"),
      );
    }
    this.feed.fail(
      error ?? new XvaFormatError("TRUNCATED", "the verifier was destroyed before the end of the stream"),
    );
    callback(error);
  }
}

/**
 * Creates a pass-through verifier: pipe the XVA bytes through it; they come out unchanged. Await `verification`
 * after the stream ends for the SHA-256, sizes, per-disk chunk counts and the parsed `ova.xml`.
 */
export function createXvaVerifier(options: ParseXvaOptions = {}): XvaVerifier {
  return new XvaVerifier(options);
}
