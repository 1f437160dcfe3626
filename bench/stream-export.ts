/**
 * Path (a) of the bench, run as its own process so its peak RSS is its own: the Artifact provider's export, step
 * for step as `ArtifactProvider.create` does it (providers/artifact.ts): log in with `withXapi`, `GET /export`
 * (plain tar, or compressed as the job says), `createXvaVerifier()` on every chunk, `streamToS3` with `partSizeFor(virtual size + 64 MiB)`, and
 * the HeadObject size check inside streamToS3. The manifest write (one small PUT) is left out.
 *
 *   node --import tsx bench/stream-export.ts     (the job, secrets included, in XCPNG_BENCH_JOB)
 *
 * Writes its result as JSON to the job's `resultFile`; logs go to stderr.
 */
import * as fs from "node:fs";
import { createS3Client, type S3Credentials, type S3Location } from "../lib/s3/client";
import { partSizeFor, streamToS3 } from "../lib/s3/stream-upload";
import { withXapi, type PoolTarget } from "../lib/xapi/client";
import { createXvaVerifier } from "../lib/xva";
import { ToolError } from "../tools/errors";
import { artifactContentType, exportCompressionParam } from "../providers/artifact-compression";
import type { ArtifactCompression } from "../providers/catalogue-document";

export interface StreamJob {
  readonly pool: PoolTarget;
  readonly poolPassword: string;
  readonly store: S3Location & { readonly bucket: string };
  readonly credentials: S3Credentials;
  readonly vmUuid: string;
  readonly virtualSizeBytes: number;
  readonly key: string;
  readonly resultFile: string;
  /** How the export is asked for. @default "none" */
  readonly compression?: ArtifactCompression;
}

export interface StreamResult {
  readonly bytes: number;
  /** Bytes of the tar inside (equal to `bytes` when not compressed). */
  readonly tarBytes: number;
  readonly compression: ArtifactCompression;
  readonly sha256: string;
  readonly chunksVerified: number;
  readonly partSizeBytes: number;
  /** From the first XAPI call to the verified, size-checked object: what the provider spends on one export. */
  readonly exportSeconds: number;
  /** Peak RSS (KiB) before the export started: the process with its modules loaded. */
  readonly baselineMaxRssKiB: number;
  /** Peak RSS (KiB) at the end (process.resourceUsage().maxRSS). */
  readonly maxRssKiB: number;
}

const MIB = 1024 * 1024;

function readJob(): StreamJob {
  const text = process.env.XCPNG_BENCH_JOB;
  if (text === undefined || text === "") {
    throw new ToolError(
      "USAGE",
      "stream-export: no job: XCPNG_BENCH_JOB must hold the job as JSON (bench/export-to-s3.ts sets it)",
    );
  }
  return JSON.parse(text) as StreamJob;
}

export async function runStreamJob(job: StreamJob): Promise<StreamResult> {
  const baselineMaxRssKiB = process.resourceUsage().maxRSS;
  const partSizeBytes = partSizeFor(job.virtualSizeBytes + 64 * MIB);
  const s3 = createS3Client(job.store, job.credentials);
  const t0 = process.hrtime.bigint();
  try {
    const { upload, verification } = await withXapi(job.pool, job.poolPassword, async (x) => {
      const res = await x.getResource("/export", {
        uuid: job.vmUuid,
        use_compression: exportCompressionParam(job.compression ?? "none"),
      });
      if (res.statusCode !== 200) {
        res.body.resume();
        throw new ToolError(
          "REMOTE_FAILED",
          `stream-export: GET /export of ${job.vmUuid} answered HTTP ${res.statusCode}`,
        );
      }
      const verifier = createXvaVerifier();
      const upload = await streamToS3(res.body, [verifier], {
        client: s3,
        bucket: job.store.bucket,
        key: job.key,
        partSizeBytes,
        contentType: artifactContentType(job.compression ?? "none"),
        metadata: { "xcpng-template": "bench", "xcpng-build-id": "bench" },
      });
      return { upload, verification: await verifier.verification };
    });
    const exportSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return {
      bytes: upload.bytes,
      tarBytes: verification.tarBytes,
      compression: verification.compression,
      sha256: verification.sha256,
      chunksVerified: verification.chunks,
      partSizeBytes,
      exportSeconds,
      baselineMaxRssKiB,
      maxRssKiB: process.resourceUsage().maxRSS,
    };
  } finally {
    s3.destroy();
  }
}

if (require.main === module) {
  const job = readJob();
  runStreamJob(job)
    .then((r) => fs.writeFileSync(job.resultFile, JSON.stringify(r)))
    .catch((e: unknown) => {
      process.stderr.write(`stream-export: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    });
}
