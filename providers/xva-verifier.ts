import { PassThrough, Transform, type TransformCallback } from "node:stream";
import { osFromGuestMetrics } from "./os-detect";
import { parseXva } from "./xva/reader";
import { objectsOfClass, type OvaXml } from "./xva/ova-xml";

/** What verifying an XVA in transit established. */
export interface XvaVerification {
  /** Chunks whose checksum file matched. */
  readonly chunks: number;
  readonly disks: number;
  /** OS as the archive's own VM_guest_metrics reports it, e.g. "debian 12". */
  readonly osName?: string;
}

/** The OS recorded in ova.xml's VM_guest_metrics (os_version map), formatted "distro version". */
export function osOfOva(ova: OvaXml): string | undefined {
  for (const gm of objectsOfClass(ova, "VM_guest_metrics")) {
    const os = osFromGuestMetrics((gm.snapshot as { os_version?: Record<string, string> }).os_version);
    if (os) return `${os.distro} ${os.version}`;
  }
  return undefined;
}

/** A pass-through stream that also checks the XVA it carries, and its result once the stream has ended. */
export type XvaVerifierStream = Transform & { readonly verification: Promise<XvaVerification> };

/**
 * Forwards the bytes unchanged while a copy goes through the XVA reader, which checks every chunk against its
 * checksum file; a bad chunk, a truncated archive or a layout error fails this stream (and so the upload it
 * feeds) with the reader's typed error. Backpressure: a byte is forwarded only once the reader has taken it, so
 * memory stays at one chunk plus stream buffers.
 */
export function createXvaVerifier(): XvaVerifierStream {
  const feed = new PassThrough({ highWaterMark: 4 * 1024 * 1024 });
  let chunks = 0;
  let disks = 0;
  let osName: string | undefined;
  let failure: Error | undefined;
  const parsing = (async () => {
    for await (const ev of parseXva(feed)) {
      if (ev.type === "header") {
        osName = osOfOva(ev.header);
        disks = ev.disks.length;
      } else if (ev.type === "chunk") chunks++;
    }
  })().catch((e: unknown) => {
    failure = e as Error;
    feed.resume();
  });
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      if (failure) return cb(failure);
      if (feed.write(chunk)) cb(null, chunk);
      else feed.once("drain", () => cb(failure ?? null, chunk));
    },
    flush(cb: TransformCallback) {
      feed.end();
      parsing.then(
        () => cb(failure ?? null),
        (e: unknown) => cb(e as Error),
      );
    },
  });
  // A failure mid-stream fails the pipeline at once (not only at the next write).
  void parsing.then(() => {
    if (failure) t.destroy(failure);
  });
  const verification = parsing.then(() => {
    if (failure) throw failure;
    return { chunks, disks, ...(osName !== undefined ? { osName } : {}) };
  });
  verification.catch(() => undefined);
  return Object.assign(t, { verification });
}
