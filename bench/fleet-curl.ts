/**
 * The two-step way and the single-leg references, with curl (a C client with little overhead, so the baseline is
 * a strong one): S3 GET with SigV4 (to a file, or to /dev/null for "S3 read alone"), and `PUT /import` of a file
 * with the session as a cookie (xapi reads the session from the cookie first), as a script around `xe vm-import`
 * would do it. Credentials and the session reach curl through its config on stdin, never argv.
 */
import * as fs from "node:fs";
import { type RunResult, runMeasuredOk } from "./measure";
import { jsonRpc } from "./two-step";

const CURL = "/usr/bin/curl";

/** A curl config line value: double-quoted, with `\` and `"` escaped (curl's --config syntax). */
function quote(v: string): string {
  return `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

function curl(config: string[], scratchDir: string, timeoutMs: number, what: string): Promise<RunResult> {
  return runMeasuredOk(
    CURL,
    ["--config", "-"],
    {
      cwd: scratchDir,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      input: [...config, "fail", "silent", "show-error", ""].join("\n"),
      timeoutMs,
    },
    scratchDir,
    what,
  );
}

export interface S3GetJob {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly bucket: string;
  readonly key: string;
  /** A file, or /dev/null. */
  readonly output: string;
  readonly scratchDir: string;
  readonly timeoutMs: number;
}

/** GET s3://bucket/key (path-style, SigV4, unsigned payload) into `output`. */
export function curlS3Get(job: S3GetJob): Promise<RunResult> {
  return curl(
    [
      `url = ${quote(`${job.endpoint}/${job.bucket}/${job.key}`)}`,
      `user = ${quote(`${job.accessKeyId}:${job.secretAccessKey}`)}`,
      `aws-sigv4 = ${quote(`aws:amz:${job.region}:s3`)}`,
      `header = "x-amz-content-sha256: UNSIGNED-PAYLOAD"`,
      `output = ${quote(job.output)}`,
    ],
    job.scratchDir,
    job.timeoutMs,
    `curl GET s3://${job.bucket}/${job.key}`,
  );
}

export interface ImportJob {
  readonly poolUrl: string;
  readonly caFile: string;
  readonly username: string;
  readonly password: string;
  readonly file: string;
  readonly scratchDir: string;
  readonly timeoutMs: number;
}

/**
 * PUT the file to /import (Content-Length from the file; no `Expect: 100-continue`, which xapi does not answer),
 * between a login and a logout. The pool answers 200 first and closes the connection once the import is done, so
 * curl returns when the VM exists.
 */
export async function curlImport(job: ImportJob): Promise<RunResult & { readonly loginSeconds: number }> {
  const ca = fs.readFileSync(job.caFile, "utf8");
  const t0 = process.hrtime.bigint();
  const session = (await jsonRpc(job.poolUrl, ca, "session.login_with_password", [
    job.username,
    job.password,
    "1.0",
    "xcpng-templates-bench",
  ])) as string;
  const loginSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  try {
    const r = await curl(
      [
        `url = ${quote(`${job.poolUrl}/import`)}`,
        `upload-file = ${quote(job.file)}`,
        `cookie = ${quote(`session_id=${session}`)}`,
        `cacert = ${quote(job.caFile)}`,
        `header = "Expect:"`,
        `output = "/dev/null"`,
      ],
      job.scratchDir,
      job.timeoutMs,
      "curl PUT /import",
    );
    return { ...r, loginSeconds };
  } finally {
    await jsonRpc(job.poolUrl, ca, "session.logout", [session]).catch(() => undefined);
  }
}
