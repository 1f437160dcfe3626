/**
 * Pass-through verification: forward an XVA's bytes unchanged (e.g. into an S3 multipart upload) while checking
 * every chunk against its checksum file and hashing the whole stream with SHA-256.
 *
 * The verifier runs {@link parseXva} on a tee of the bytes. It accepts the next block only once the parser has
 * taken the previous one, so the parser paces the stream and memory stays bounded (the parser's one chunk, plus
 * one `highWaterMark` of buffering on each side). Any format or checksum failure destroys the stream with that
 * typed error, which makes a consumer such as an upload abort; `verification` rejects with the same error.
 */
import { createHash } from "node:crypto";
import { PassThrough, Transform, type TransformCallback } from "node:stream";
import type { XvaCompression } from "./compression";
import { XvaFormatError } from "./errors";
import { type OvaXml, objectsOfClass } from "./ova-xml";
import { type ParseXvaOptions, type XvaDiskSummary, parseXva } from "./reader";

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

/** A Transform that forwards bytes unchanged and verifies them as an XVA. Emits `header` with the parsed `ova.xml`. */
export class XvaVerifier extends Transform {
  /** Settles when the stream has ended and been fully verified, or rejects with the failure. */
  readonly verification: Promise<XvaVerification>;

  private readonly feed: PassThrough;
  private readonly sha = createHash("sha256");
  private bytes = 0;
  private failure: Error | undefined;
  private readonly parsed: Promise<{ summary: Omit<XvaVerification, "sha256" | "bytes"> } | undefined>;
  private settle!: { resolve: (v: XvaVerification) => void; reject: (e: Error) => void };
  private settled = false;

  constructor(options: ParseXvaOptions = {}) {
    super();
    this.feed = new PassThrough();
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
        if (ev.type === "header") this.emit("header", ev.header);
        else if (ev.type === "chunk") chunks += 1;
        else if (ev.type === "end") {
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
      const e = err instanceof Error ? err : new Error(String(err));
      this.fail(e);
      return undefined;
    }
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
    if (this.feed.write(chunk)) {
      callback(null, chunk);
      return;
    }
    // Wait for the parser to take the block: it sets the pace, which bounds memory.
    const onDrain = (): void => {
      this.feed.off("close", onClose);
      callback(null, chunk);
    };
    const onClose = (): void => {
      this.feed.off("drain", onDrain);
      callback(
        this.failure ?? new XvaFormatError("TRUNCATED", "verification stopped before the end of the stream"),
      );
    };
    this.feed.once("drain", onDrain);
    this.feed.once("close", onClose);
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
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
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
    this.feed.destroy();
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
