/**
 * Path (b) of the bench, the seed's approach: log in, download the XVA to a file with a plain HTTP GET (curl,
 * session as a cookie), log out, then upload the file with `aws s3 cp` from Debian's awscli (run by Debian's
 * /usr/bin/python3, with its default multipart settings: 8 MiB parts, 10 threads). Both tools run under GNU time
 * for their peak RSS. Credentials reach curl and aws through stdin and the environment, never argv.
 */
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { ToolError } from "../tools/errors";
import { type RunResult, runMeasuredOk } from "./measure";

export const AWS_CLI = "/usr/bin/aws";
const CURL = "/usr/bin/curl";

export interface TwoStepJob {
  readonly poolUrl: string;
  readonly poolUsername: string;
  readonly poolPassword: string;
  /** PEM of the pool's certificate (devpool's self-signed one). */
  readonly poolCaFile: string;
  readonly vmUuid: string;
  readonly s3Endpoint: string;
  readonly s3Region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly bucket: string;
  readonly key: string;
  /** Where the XVA is downloaded to (removed afterwards by the caller). */
  readonly file: string;
  /** Scratch directory for GNU time's reports and the aws config file. */
  readonly scratchDir: string;
  readonly timeoutMs: number;
}

export interface TwoStepResult {
  readonly bytes: number;
  readonly loginSeconds: number;
  readonly downloadSeconds: number;
  readonly uploadSeconds: number;
  /** Login + download + logout + upload. */
  readonly totalSeconds: number;
  readonly curlMaxRssKiB: number | undefined;
  readonly awsMaxRssKiB: number | undefined;
}

export function assertAwsCli(): void {
  if (!fs.existsSync(AWS_CLI) || !fs.existsSync(CURL)) {
    throw new ToolError(
      "MISSING_TOOL",
      `bench: the two-step baseline needs Debian's awscli (${AWS_CLI}) and curl (${CURL}); install them with ` +
        `'apt-get install -y awscli curl'.`,
    );
  }
}

/** One JSON-RPC call to the pool (xapi's /jsonrpc), trusting its CA. */
export function jsonRpc(url: string, ca: string, method: string, params: unknown[]): Promise<unknown> {
  const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method, params });
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${url}/jsonrpc`,
      {
        method: "POST",
        ca,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => {
          const out = JSON.parse(text) as { result?: unknown; error?: { message?: string; data?: unknown } };
          if (out.error !== undefined) {
            reject(
              new ToolError(
                "REMOTE_FAILED",
                `bench: ${method} failed on ${url}: ${out.error.message ?? ""} ${JSON.stringify(out.error.data ?? [])}`,
              ),
            );
          } else resolve(out.result);
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** A curl config line value: double-quoted, with `\` and `"` escaped (curl's --config syntax). */
function curlQuote(v: string): string {
  return `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** Step 1: curl GET /export into `job.file`, with the session as a cookie. */
function downloadExport(job: TwoStepJob, session: string): Promise<RunResult> {
  const query = new URLSearchParams({ uuid: job.vmUuid, use_compression: "false" });
  // The session is a cookie in curl's config on stdin: not in argv, where `ps` would show it.
  const config = [
    `url = ${curlQuote(`${job.poolUrl}/export?${query.toString()}`)}`,
    `cookie = ${curlQuote(`session_id=${session}`)}`,
    `cacert = ${curlQuote(job.poolCaFile)}`,
    `output = ${curlQuote(job.file)}`,
    "fail",
    "silent",
    "show-error",
    "",
  ].join("\n");
  return runMeasuredOk(
    CURL,
    ["--config", "-"],
    {
      cwd: job.scratchDir,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      input: config,
      timeoutMs: job.timeoutMs,
    },
    job.scratchDir,
    "curl (GET /export to a file)",
  );
}

/** Step 2: Debian's `aws s3 cp` of the downloaded file, in a clean environment with only these credentials. */
function uploadFile(job: TwoStepJob): Promise<RunResult> {
  const awsConfig = path.join(job.scratchDir, "aws-config");
  // Path-style addressing, as S3-compatible stores on an IP address need; no credentials in the file.
  fs.writeFileSync(awsConfig, "[default]\ns3 =\n    addressing_style = path\n");
  return runMeasuredOk(
    AWS_CLI,
    [
      "s3",
      "cp",
      job.file,
      `s3://${job.bucket}/${job.key}`,
      "--endpoint-url",
      job.s3Endpoint,
      "--only-show-errors",
    ],
    {
      cwd: job.scratchDir,
      // A clean environment: only these credentials, no profile or instance metadata lookups.
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: job.scratchDir,
        LANG: "C.UTF-8",
        AWS_ACCESS_KEY_ID: job.accessKeyId,
        AWS_SECRET_ACCESS_KEY: job.secretAccessKey,
        AWS_DEFAULT_REGION: job.s3Region,
        AWS_CONFIG_FILE: awsConfig,
        AWS_SHARED_CREDENTIALS_FILE: path.join(job.scratchDir, "no-credentials-file"),
        AWS_EC2_METADATA_DISABLED: "true",
        AWS_PAGER: "",
      },
      timeoutMs: job.timeoutMs,
    },
    job.scratchDir,
    "aws s3 cp (upload of the downloaded XVA)",
  );
}

export async function runTwoStep(job: TwoStepJob): Promise<TwoStepResult> {
  const ca = fs.readFileSync(job.poolCaFile, "utf8");
  const t0 = process.hrtime.bigint();
  const session = (await jsonRpc(job.poolUrl, ca, "session.login_with_password", [
    job.poolUsername,
    job.poolPassword,
    "1.0",
    "xcpng-templates-bench",
  ])) as string;
  const loginSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  let download: RunResult;
  try {
    download = await downloadExport(job, session);
  } finally {
    await jsonRpc(job.poolUrl, ca, "session.logout", [session]).catch(() => undefined);
  }
  const bytes = fs.statSync(job.file).size;
  const upload = await uploadFile(job);
  const totalSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    bytes,
    loginSeconds,
    downloadSeconds: download.wallSeconds,
    uploadSeconds: upload.wallSeconds,
    totalSeconds,
    curlMaxRssKiB: download.maxRssKiB,
    awsMaxRssKiB: upload.maxRssKiB,
  };
}
