/**
 * The Replica's transfer: an artifact streamed from S3 (`GetObject`) straight into a pool's `PUT /import`, with no
 * temporary file and bounded memory, checked on the way.
 *
 *   GetObject body → XVA verifier (every chunk's checksum, SHA-256) → branch per import → tail gate → PUT /import
 *
 * - The read and its verification are shared by every import of the build that starts together (one per fleet
 *   pool): artifact-fanout.ts. Alone, it is one branch.
 * - The exact length is the object's ContentLength (xapi refuses chunked uploads), which must be the pointer's size.
 * - The tail gate holds back the last chunk's worth of bytes until the whole stream is verified and its SHA-256 is
 *   the pointer's: on a mismatch the pool never gets a complete archive, so its import fails and xapi removes what
 *   it created (import.ml's cleanup on a failed import). A bad chunk fails the verifier earlier, in the same way.
 * - A failure on our side (the store's read, the XVA, the digest) cuts the upload; putResource then reads the
 *   import's task (its failure, or cancels it if still pending) and we report our own cause, not the pool's echo.
 * - Compressed artifacts (gzip, zstd, as xapi's `/export?use_compression=` writes them) go through as stored: the
 *   verifier and xapi's importer both recognise them from their first bytes (import.ml `with_open_archive`).
 *
 * Memory: the verifier's budget (its 1 MiB feed queue and one chunk), each branch's buffer (4 MiB), the gate's
 * hold (1 MiB + 64 KiB) per import, and one stream buffer per stage, whatever the artifact's size.
 */
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { isXcpngError, messageOf } from "../lib/errors";
import type { XapiSession } from "../lib/xapi/client";
import { XVA_CHUNK_SIZE_BYTES, XvaChecksumError, XvaFormatError, type XvaVerification } from "../lib/xva";
import { compressionOfContentType } from "./artifact-compression";
import { joinArtifactRead, type FanoutTuning } from "./artifact-fanout";
import type { ArtifactCompression, ChannelPointer } from "./catalogue-document";
import { s3Failure } from "./dynamic/s3-failure";
import { ReplicaError } from "./errors";
import type { ArtifactStore } from "./store";
import { TailGate } from "./tail-gate";

/** The channel's build as the program passes it: the index's pointer, the object's size, its compression. */
export interface ReplicaBuild extends ChannelPointer {
  readonly sizeBytes: number;
  /** How the object is stored, when the index says; otherwise the manifest or the object's Content-Type. */
  readonly compression?: ArtifactCompression;
}

/** What the Replica reads of the manifest the Artifact provider writes beside each XVA. */
export interface ReplicaManifest {
  readonly key: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly os: string;
  readonly version: string;
  readonly buildId: string;
  readonly compression?: ArtifactCompression;
}

/** Bytes held back until the stream is verified: more than one XVA chunk with its headers and the tar's end. */
export const TAIL_HOLD_BYTES = XVA_CHUNK_SIZE_BYTES + 64 * 1024;

const COMPRESSIONS: readonly ArtifactCompression[] = ["none", "gzip", "zstd"];

/** The manifest's fields the Replica needs, or what is wrong with it. */
export function parseManifest(text: string): ReplicaManifest | string {
  let m: unknown;
  try {
    m = JSON.parse(text) as unknown;
  } catch (e) {
    return `it is not JSON (${messageOf(e)})`;
  }
  const o = (typeof m === "object" && m !== null ? m : {}) as Record<string, unknown>;
  const build = (typeof o.build === "object" && o.build !== null ? o.build : {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  const missing = [
    ["key", str(o.key)],
    ["sha256", str(o.sha256)],
    ["sizeBytes", Number.isSafeInteger(o.sizeBytes) ? "ok" : undefined],
    ["os", str(o.os)],
    ["version", str(o.version)],
    ["build.buildId", str(build.buildId)],
  ]
    .filter(([, v]) => v === undefined)
    .map(([k]) => k);
  if (missing.length > 0) return `it lacks ${missing.join(", ")}`;
  const compression = o.compression;
  if (compression !== undefined && !COMPRESSIONS.includes(compression as ArtifactCompression)) {
    return `its compression is ${JSON.stringify(compression)}, expected one of ${COMPRESSIONS.join(", ")}`;
  }
  return {
    key: o.key as string,
    sha256: o.sha256 as string,
    sizeBytes: o.sizeBytes as number,
    os: o.os as string,
    version: o.version as string,
    buildId: build.buildId as string,
    ...(compression !== undefined ? { compression: compression as ArtifactCompression } : {}),
  };
}

/**
 * Where the pointer, the manifest and the stored object disagree (one sentence each), and the compression they
 * declare (undefined: none declares one, the stream's first bytes decide).
 */
export function pointerProblems(
  build: ReplicaBuild,
  manifest: ReplicaManifest,
  object: { readonly contentLength?: number; readonly contentType?: string },
): { readonly problems: string[]; readonly compression?: ArtifactCompression } {
  const out: string[] = [];
  const differs = (what: string, got: unknown, want: unknown) =>
    out.push(`the manifest's ${what} is ${String(got)}, the pointer's ${String(want)}`);
  if (manifest.key !== build.key) differs("key", manifest.key, build.key);
  if (manifest.buildId !== build.buildId) differs("build id", manifest.buildId, build.buildId);
  if (manifest.sha256 !== build.sha256) differs("sha256", manifest.sha256, build.sha256);
  if (manifest.sizeBytes !== build.sizeBytes) differs("size", manifest.sizeBytes, build.sizeBytes);
  if (object.contentLength !== build.sizeBytes) {
    out.push(`the object holds ${String(object.contentLength)} bytes, the pointer says ${build.sizeBytes}`);
  }
  const declared = [
    ["the pointer", build.compression],
    ["the manifest", manifest.compression],
    ["the object's Content-Type", compressionOfContentType(object.contentType)],
  ].filter((d): d is [string, ArtifactCompression] => d[1] !== undefined);
  const kinds = new Set(declared.map(([, c]) => c));
  if (kinds.size > 1) {
    out.push(`the compression is declared as ${declared.map(([w, c]) => `${c} by ${w}`).join(", ")}`);
  }
  const compression = declared[0]?.[1];
  return { problems: out, ...(compression !== undefined ? { compression } : {}) };
}

/** The manifest beside the artifact. */
export async function readManifest(
  s3: S3Client,
  store: ArtifactStore,
  build: ReplicaBuild,
  poolName: string,
  what: string,
): Promise<ReplicaManifest> {
  const where = `s3://${store.bucket}/${build.manifestKey}`;
  let text: string;
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket: store.bucket, Key: build.manifestKey }));
    text = (await got.Body?.transformToString("utf8")) ?? "";
  } catch (e) {
    throw s3Failure(
      e,
      `reading the manifest ${where}`,
      "Check that the channel's build is still in the store (the catalogue's retention may have removed it).",
    );
  }
  const m = parseManifest(text);
  if (typeof m === "string") {
    throw new ReplicaError(
      "REPLICA_INTEGRITY",
      poolName,
      `${what}: the manifest ${where} cannot be used: ${m}. Export the template again ('pulumi up' on the build ` +
        `stack), or point the channel at another build.`,
    );
  }
  return m;
}

export interface StreamImportJob {
  /** A new client for the store: the shared read makes its own, which outlives this import's operation. */
  readonly newS3Client: () => S3Client;
  readonly store: ArtifactStore;
  readonly build: ReplicaBuild;
  readonly manifest: ReplicaManifest;
  readonly poolName: string;
  /** `replica: <template> on pool <name> (<url>)`: every message starts with it. */
  readonly what: string;
  /** The `/import` query besides the session and task (`sr_uuid`, or nothing for the pool's default SR). */
  readonly query: Readonly<Record<string, string>>;
  readonly taskLabel: string;
  readonly onProgress: (sentBytes: number, totalBytes: number) => void;
  /** How imports of one build share a read. @default DEFAULT_FANOUT_TUNING */
  readonly fanout?: FanoutTuning;
}

export interface StreamImportResult {
  /** The new VMs, as the import's task reports them. */
  readonly vmRefs: readonly string[];
  readonly verification: XvaVerification;
  readonly bytes: number;
  readonly seconds: number;
  /** Imports that shared this one's read of the store (1: it read alone). */
  readonly sharedBy: number;
}

/** The error for a stored artifact that is not what its pointer says. */
function integrity(job: StreamImportJob, detail: string, cause?: unknown): ReplicaError {
  return new ReplicaError(
    "REPLICA_INTEGRITY",
    job.poolName,
    `${job.what}: s3://${job.store.bucket}/${job.build.key} is not the build the channel points to ` +
      `(${job.build.buildId}): ${detail}. The import was cut before its end. Check the store (an object replaced ` +
      `or corrupted?) and the catalogue index.`,
    cause === undefined ? undefined : { cause },
  );
}

/** The VM refs of an `/import` task's result (an XML-RPC array of refs). */
function vmRefsOf(result: unknown, job: StreamImportJob): string[] {
  if (Array.isArray(result) && result.every((r) => typeof r === "string" && r.startsWith("OpaqueRef:"))) {
    return result as string[];
  }
  throw new ReplicaError(
    "REPLICA_IMPORT_FAILED",
    job.poolName,
    `${job.what}: the import's task succeeded with ${JSON.stringify(result)}, expected an array of VM refs.`,
  );
}

/**
 * Streams the artifact into `PUT /import` through the shared read (artifact-fanout.ts: one GetObject and one
 * verification for every import of this build starting together) and the tail gate; resolves with the new VM
 * refs once the pool completed the import and every check passed. On any failure the pool keeps nothing of this
 * import (its own cleanup), and the error says whose failure it was: the store's, the artifact's, or the pool's.
 */
export async function streamImport(x: XapiSession, job: StreamImportJob): Promise<StreamImportResult> {
  const started = Date.now();
  const { store, build } = job;
  const branch = await joinArtifactRead(
    { client: job.newS3Client, store, key: build.key, sha256: build.sha256 },
    job.fanout,
  );
  const checked = pointerProblems(build, job.manifest, branch.object);
  if (checked.problems.length > 0) {
    branch.stream.destroy();
    throw new ReplicaError(
      "REPLICA_INTEGRITY",
      job.poolName,
      `${job.what}: s3://${store.bucket}/${build.key} does not match the channel's pointer (build ` +
        `${build.buildId}): ${checked.problems.join("; ")}. Nothing was sent to the pool. Check the store and the ` +
        `catalogue index, then run 'pulumi up' again.`,
    );
  }
  const { compression } = checked;
  /** Our side's first failure (store, XVA, digest); after `settled`, errors are teardown and mean nothing. */
  let ours: Error | undefined;
  let settled = false;
  const gate = new TailGate(TAIL_HOLD_BYTES, async () => {
    try {
      const v = await branch.verification;
      if (v.sha256 !== build.sha256) {
        throw integrity(job, `its SHA-256 is ${v.sha256}, the pointer's ${build.sha256}`);
      }
      if (compression !== undefined && v.compression !== compression) {
        throw integrity(job, `it is ${v.compression}-compressed, declared ${compression}`);
      }
    } catch (e) {
      ours ??= asIntegrity(job, e);
      throw ours;
    }
  });
  // The gate may fail before putResource attaches to it (the pool's task is created first): the failure is
  // recorded in `ours` and reported from there, never as an unhandled stream error.
  gate.on("error", () => undefined);
  branch.stream.on("error", (e) => {
    if (settled) return;
    ours ??= asIntegrity(job, e);
    gate.destroy(ours);
  });
  branch.stream.pipe(gate);
  try {
    const result = await x.putResource("/import", job.query, gate, {
      lengthBytes: build.sizeBytes,
      taskLabel: job.taskLabel,
      onProgress: job.onProgress,
    });
    settled = true;
    return {
      vmRefs: vmRefsOf(result, job),
      verification: await branch.verification,
      bytes: build.sizeBytes,
      seconds: (Date.now() - started) / 1000,
      sharedBy: branch.shared(),
    };
  } catch (e) {
    settled = true;
    // Our side's failure is the cause; what the pool then reports (the import's task failing on a cut body, or
    // cancelled) is its consequence.
    if (ours === undefined) throw e;
    if (isXcpngError(ours)) throw ours;
    throw new ReplicaError("REPLICA_IMPORT_FAILED", job.poolName, `${job.what}: ${messageOf(ours)}`, {
      cause: ours,
    });
  } finally {
    settled = true;
    branch.stream.destroy();
  }
}

/** The artifact's own failures (a bad chunk, a truncated archive) as integrity errors; others as they are. */
function asIntegrity(job: StreamImportJob, e: unknown): Error {
  if (e instanceof XvaFormatError || e instanceof XvaChecksumError) return integrity(job, e.message, e);
  return e instanceof Error ? e : new Error(String(e));
}
