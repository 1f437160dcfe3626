/**
 * Triggers a Pulumi Deployments run through the Pulumi Cloud REST API and waits until it finishes.
 *
 *   PULUMI_ACCESS_TOKEN=… tsx tools/ci/deployments.ts --stack org/project/stack [--operation update]
 *     [--commit <sha>] [--api-url https://api.pulumi.com] [--timeout-minutes 360] [--poll-seconds 10]
 *
 * Exit status 0 when the deployment succeeded (or was skipped by Pulumi Cloud), 1 otherwise, with a message
 * that names the HTTP status and Pulumi's own message. The token is read from the environment only, never
 * from argv, and is never printed.
 *
 * Protocol facts this relies on (Pulumi Cloud REST API docs, and the CLI's own client in
 * pkg/backend/httpstate/client of pulumi/pulumi 3.259):
 * - `POST /api/stacks/{org}/{project}/{stack}/deployments` with a CreateDeploymentRequest
 *   (`operation`, `inheritSettings`, optional `sourceContext`) answers `{id, consoleUrl, version}`;
 * - `GET /api/stacks/{org}/{project}/{stack}/deployments/{id}` answers a deployment whose `status` is one of
 *   `not-started`, `accepted`, `running`, `failed`, `succeeded`, `skipped`;
 * - every request carries `Authorization: token <token>`, `Accept: application/vnd.pulumi+8` and
 *   `Content-Type: application/json` (the documented required headers);
 * - errors are `{code, message}` (apitype.ErrorResponse) with the HTTP status.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { XcpngError } from "../../lib/errors";

/** Operations the endpoint accepts (apitype.PulumiOperation). */
export const OPERATIONS = [
  "update",
  "preview",
  "refresh",
  "destroy",
  "detect-drift",
  "remediate-drift",
] as const;
export type DeploymentOperation = (typeof OPERATIONS)[number];

/** Statuses after which a deployment never changes again; `skipped` means Pulumi Cloud had nothing to run. */
const SUCCEEDED = new Set(["succeeded", "skipped"]);
const FAILED = new Set(["failed"]);

export const DEFAULT_API_URL = "https://api.pulumi.com";
export const ACCEPT = "application/vnd.pulumi+8";

/** Where the deployment runs: a Pulumi Cloud stack, fully qualified. */
export interface StackRef {
  readonly organization: string;
  readonly project: string;
  readonly stack: string;
}

export interface DeploymentsClientOptions {
  /** Pulumi Cloud API base URL, e.g. `https://api.pulumi.com` (a self-hosted Pulumi Cloud's API otherwise). */
  readonly apiUrl: string;
  /** Pulumi access token (organization, team or personal; an OIDC-exchanged one works too). */
  readonly token: string;
  /** Per-request timeout. @default 30000 */
  readonly requestTimeoutMs?: number;
}

export interface CreateDeploymentRequest {
  readonly operation: DeploymentOperation;
  /** Use the stack's deployment settings (source, environment, OIDC, executor) as configured in Pulumi Cloud. */
  readonly inheritSettings: boolean;
  readonly sourceContext?: {
    readonly git: { readonly repoUrl: string; readonly branch: string; readonly commit: string };
  };
}

export interface CreatedDeployment {
  readonly id: string;
  readonly consoleUrl: string;
  readonly version?: number;
}

export interface DeploymentState {
  readonly id: string;
  readonly status: string;
}

export type DeploymentsErrorCode =
  /** Wrong invocation: missing token, malformed stack name, bad option. */
  | "USAGE"
  /** The request never got an HTTP answer (connection refused, DNS, TLS, per-request timeout). */
  | "NETWORK"
  /** Pulumi Cloud answered with an HTTP error status, or with a body this script cannot use. */
  | "API"
  /** The deployment ran and failed. */
  | "DEPLOYMENT_FAILED"
  /** The deployment did not finish within the wait limit (it keeps running in Pulumi Cloud). */
  | "DEPLOYMENT_TIMEOUT";

/** A deployment could not be started, followed or completed; `code` says which, the fields say the details. */
export class DeploymentsError extends XcpngError {
  declare readonly code: DeploymentsErrorCode;
  /** `API`: the HTTP status Pulumi Cloud answered (200 when the body was unusable). */
  readonly httpStatus: number | undefined;
  /** `API`: Pulumi's own message (`message` of its error body), or the body shortened. */
  readonly pulumiMessage: string | undefined;
  /** `DEPLOYMENT_FAILED`, `DEPLOYMENT_TIMEOUT`: the deployment's id. */
  readonly deploymentId: string | undefined;
  /** `DEPLOYMENT_FAILED`, `DEPLOYMENT_TIMEOUT`: the last status seen. */
  readonly deploymentStatus: string | undefined;

  constructor(
    code: DeploymentsErrorCode,
    message: string,
    details: {
      readonly httpStatus?: number;
      readonly pulumiMessage?: string;
      readonly deploymentId?: string;
      readonly deploymentStatus?: string;
      readonly cause?: unknown;
    } = {},
  ) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.httpStatus = details.httpStatus;
    this.pulumiMessage = details.pulumiMessage;
    this.deploymentId = details.deploymentId;
    this.deploymentStatus = details.deploymentStatus;
  }
}

/** Worth asking again: no answer at all, or Pulumi Cloud busy (429) or failing (5xx). 4xx others are final. */
export function isTransient(err: unknown): err is DeploymentsError {
  if (!(err instanceof DeploymentsError)) return false;
  if (err.code === "NETWORK") return true;
  return (
    err.code === "API" && err.httpStatus !== undefined && (err.httpStatus === 429 || err.httpStatus >= 500)
  );
}

// Pulumi's names: organizations, projects and stacks use letters, digits, `-`, `_` and `.`.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Parses `org/project/stack`, or `org/stack` with the project taken from `defaultProject` (Pulumi.yaml).
 */
export function parseStackRef(value: string, defaultProject?: string): StackRef {
  const parts = value.split("/");
  const [organization, project, stack] =
    parts.length === 3 ? parts : parts.length === 2 ? [parts[0], defaultProject, parts[1]] : [];
  if (organization === undefined || project === undefined || stack === undefined) {
    throw new DeploymentsError(
      "USAGE",
      `deployments: the stack must be "org/project/stack" (or "org/stack" beside a Pulumi.yaml), but "${value}" was provided`,
    );
  }
  for (const [what, v] of [
    ["organization", organization],
    ["project", project],
    ["stack", stack],
  ] as const) {
    if (!NAME.test(v)) {
      throw new DeploymentsError(
        "USAGE",
        `deployments: the ${what} name must use letters, digits, "-", "_" or ".", but "${v}" was provided (in "${value}")`,
      );
    }
  }
  return { organization, project, stack };
}

function stackPath(ref: StackRef): string {
  return `/api/stacks/${[ref.organization, ref.project, ref.stack].map(encodeURIComponent).join("/")}/deployments`;
}

/** Pulumi's `message` from an error body, or the raw body (shortened) when it is not Pulumi's JSON. */
function pulumiMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === "string" && parsed.message !== "") return parsed.message;
  } catch {
    // not JSON: a proxy's or load balancer's page
  }
  const text = body.replace(/\s+/g, " ").trim();
  return text === "" ? "(empty body)" : text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** What to do about an HTTP error status, for the message. */
function wayOut(status: number): string {
  if (status === 401) {
    return "The token was refused: set a valid PULUMI_ACCESS_TOKEN secret, or check the OIDC exchange (its tokens expire; request a longer token-expiration).";
  }
  if (status === 403) {
    return "The token may not run deployments on this stack: use a token of the stack's organization with deploy rights (Pulumi Deployments needs a paid edition).";
  }
  if (status === 404) {
    return "Check the organization, project and stack names; the stack must exist in Pulumi Cloud before a deployment can run.";
  }
  if (status === 400 || status === 422) {
    return "Check the stack's deployment settings in Pulumi Cloud (source repository, branch, Pulumi.yaml folder).";
  }
  if (status === 409) {
    return "Another deployment or update holds the stack: wait for it, then run again.";
  }
  if (status === 429 || status >= 500) return "Pulumi Cloud is busy or failing: run again later.";
  return "See Pulumi's message above.";
}

export class DeploymentsClient {
  private readonly base: string;
  private readonly requestTimeoutMs: number;

  constructor(private readonly opts: DeploymentsClientOptions) {
    if (opts.token === "") {
      throw new DeploymentsError(
        "USAGE",
        "deployments: no Pulumi access token. Set PULUMI_ACCESS_TOKEN in the environment (from secrets.PULUMI_ACCESS_TOKEN or pulumi/auth-actions).",
      );
    }
    let url: URL;
    try {
      url = new URL(opts.apiUrl);
    } catch {
      throw new DeploymentsError(
        "USAGE",
        `deployments: the API URL must be an absolute http(s) URL such as ${DEFAULT_API_URL}, but "${opts.apiUrl}" was provided`,
      );
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new DeploymentsError(
        "USAGE",
        `deployments: the API URL must use https (or http for a local test server), but "${opts.apiUrl}" was provided`,
      );
    }
    this.base = url.toString().replace(/\/+$/, "");
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30000;
  }

  private async call<T>(method: "GET" | "POST", urlPath: string, body?: unknown): Promise<T> {
    const url = `${this.base}${urlPath}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          Authorization: `token ${this.opts.token}`,
          Accept: ACCEPT,
          "Content-Type": "application/json",
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
    } catch (err) {
      const cause =
        err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : "";
      throw new DeploymentsError(
        "NETWORK",
        `deployments: ${method} ${url} got no answer (${cause || String(err)}). Check the API URL and the runner's network access to it.`,
        { cause: err },
      );
    }
    const text = await res.text();
    if (!res.ok) {
      const message = pulumiMessage(text);
      throw new DeploymentsError(
        "API",
        `deployments: ${method} ${url} answered ${res.status} ${res.statusText}: Pulumi says "${message}". ${wayOut(res.status)}`,
        { httpStatus: res.status, pulumiMessage: message },
      );
    }
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new DeploymentsError(
        "API",
        `deployments: ${method} ${url} answered ${res.status} with a body that is not JSON: "${pulumiMessage(text)}". Check that the API URL points at the Pulumi Cloud API, not the console.`,
        { httpStatus: res.status, pulumiMessage: pulumiMessage(text), cause: err },
      );
    }
  }

  /** `POST …/deployments`: queues the deployment and returns its id and console URL. */
  async create(ref: StackRef, request: CreateDeploymentRequest): Promise<CreatedDeployment> {
    const r = await this.call<Partial<CreatedDeployment>>("POST", stackPath(ref), request);
    if (typeof r.id !== "string" || r.id === "") {
      throw new DeploymentsError(
        "API",
        `deployments: POST ${this.base}${stackPath(ref)} answered without a deployment id (got ${JSON.stringify(r)}). Check the API URL.`,
        { httpStatus: 200, pulumiMessage: "" },
      );
    }
    return {
      id: r.id,
      consoleUrl: typeof r.consoleUrl === "string" ? r.consoleUrl : "",
      ...(typeof r.version === "number" ? { version: r.version } : {}),
    };
  }

  /** `GET …/deployments/{id}`. */
  async get(ref: StackRef, id: string): Promise<DeploymentState> {
    const r = await this.call<{ id?: unknown; status?: unknown }>(
      "GET",
      `${stackPath(ref)}/${encodeURIComponent(id)}`,
    );
    if (typeof r.status !== "string") {
      throw new DeploymentsError(
        "API",
        `deployments: the deployment ${id} was answered without a status (got ${JSON.stringify(r)})`,
        { httpStatus: 200, pulumiMessage: "" },
      );
    }
    return { id, status: r.status };
  }
}

export interface WaitOptions {
  /** Give up waiting after this long (the deployment itself keeps running). */
  readonly timeoutMs: number;
  /** Time between two status requests. */
  readonly pollIntervalMs: number;
  /**
   * Consecutive failed status requests (network errors, 429, 5xx) tolerated before giving up: a long
   * deployment must not fail the job because of one bad gateway. 4xx other than 429 fail at once.
   * @default 5
   */
  readonly maxConsecutiveErrors?: number;
  /** Called when the status changes (and for each tolerated error). */
  readonly log?: (line: string) => void;
}

/** A duration for messages: milliseconds below a second, seconds below two minutes, minutes above. */
function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until the deployment reaches a final status; throws a DeploymentsError (DEPLOYMENT_FAILED, DEPLOYMENT_TIMEOUT). */
export async function waitForDeployment(
  client: DeploymentsClient,
  ref: StackRef,
  created: CreatedDeployment,
  opts: WaitOptions,
): Promise<DeploymentState> {
  const log = opts.log ?? (() => undefined);
  const maxErrors = opts.maxConsecutiveErrors ?? 5;
  const deadline = Date.now() + opts.timeoutMs;
  const where = created.consoleUrl !== "" ? created.consoleUrl : `deployment ${created.id}`;
  let last = "unknown";
  let errors = 0;
  for (;;) {
    try {
      const state = await client.get(ref, created.id);
      errors = 0;
      if (state.status !== last) log(`deployments: ${created.id} is ${state.status}`);
      last = state.status;
      if (SUCCEEDED.has(state.status)) return state;
      if (FAILED.has(state.status)) {
        throw new DeploymentsError(
          "DEPLOYMENT_FAILED",
          `deployments: the ${ref.organization}/${ref.project}/${ref.stack} deployment ${created.id} ${state.status}. Its log is at ${where}.`,
          { deploymentId: created.id, deploymentStatus: state.status },
        );
      }
      // Any other status (not-started, accepted, running, or one this script does not know yet) is not final.
    } catch (err) {
      if (!isTransient(err)) throw err;
      errors += 1;
      log(`${err.message} (attempt ${errors} of ${maxErrors})`);
      if (errors >= maxErrors) throw err;
    }
    if (Date.now() + opts.pollIntervalMs > deadline) {
      throw new DeploymentsError(
        "DEPLOYMENT_TIMEOUT",
        `deployments: the deployment ${created.id} was still ${last} after ${duration(opts.timeoutMs)} of waiting. ` +
          `It was not cancelled (cancelling a running update can leave the stack with pending operations) and keeps running: follow it at ${where}, or raise --timeout-minutes.`,
        { deploymentId: created.id, deploymentStatus: last },
      );
    }
    await sleep(opts.pollIntervalMs);
  }
}

export interface RunOptions extends WaitOptions {
  readonly operation: DeploymentOperation;
  /** Deploy this commit instead of the head of the branch in the stack's settings. */
  readonly commit?: string;
}

/** Creates the deployment (inheriting the stack's settings) and waits for it. */
export async function runDeployment(
  client: DeploymentsClient,
  ref: StackRef,
  opts: RunOptions,
): Promise<DeploymentState> {
  const request: CreateDeploymentRequest = {
    operation: opts.operation,
    inheritSettings: true,
    // The shape `pulumi deployment run --inherit-settings --git-commit` sends (apitype.SourceContextGit has no
    // omitempty on repoUrl and branch), so Pulumi Cloud merges it with the inherited settings as it does for
    // the CLI: the settings' repository, this commit (a commit and a branch are mutually exclusive).
    ...(opts.commit !== undefined
      ? { sourceContext: { git: { repoUrl: "", branch: "", commit: opts.commit } } }
      : {}),
  };
  const created = await client.create(ref, request);
  (opts.log ?? (() => undefined))(
    `deployments: ${opts.operation} of ${ref.organization}/${ref.project}/${ref.stack} queued as ${created.id}` +
      (created.consoleUrl !== "" ? ` (${created.consoleUrl})` : ""),
  );
  return waitForDeployment(client, ref, created, opts);
}

// ---- command line ----

interface CliArgs {
  stack?: string;
  operation: DeploymentOperation;
  commit?: string;
  apiUrl: string;
  timeoutMinutes: number;
  pollSeconds: number;
}

const USAGE =
  "usage: deployments.ts --stack org/project/stack [--operation update] [--commit <sha>] [--api-url URL] [--timeout-minutes N] [--poll-seconds N]";

export function parseArgs(argv: readonly string[]): CliArgs {
  const out: CliArgs = { operation: "update", apiUrl: DEFAULT_API_URL, timeoutMinutes: 360, pollSeconds: 10 };
  const number = (flag: string, v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) {
      throw new DeploymentsError(
        "USAGE",
        `deployments: ${flag} must be a positive number, but "${v}" was provided`,
      );
    }
    return n;
  };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i] ?? "";
    const value = argv[i + 1];
    if (value === undefined)
      throw new DeploymentsError("USAGE", `deployments: ${flag} needs a value. ${USAGE}`);
    i += 1;
    switch (flag) {
      case "--stack":
        out.stack = value;
        break;
      case "--operation":
        if (!(OPERATIONS as readonly string[]).includes(value)) {
          throw new DeploymentsError(
            "USAGE",
            `deployments: --operation must be one of ${OPERATIONS.join(", ")}, but "${value}" was provided`,
          );
        }
        out.operation = value as DeploymentOperation;
        break;
      case "--commit":
        if (!/^[0-9a-f]{7,64}$/.test(value)) {
          throw new DeploymentsError(
            "USAGE",
            `deployments: --commit must be a hexadecimal commit hash, but "${value}" was provided`,
          );
        }
        out.commit = value;
        break;
      case "--api-url":
        // An empty value (an unset repository variable) means the default.
        if (value !== "") out.apiUrl = value;
        break;
      case "--timeout-minutes":
        out.timeoutMinutes = number(flag, value);
        break;
      case "--poll-seconds":
        out.pollSeconds = number(flag, value);
        break;
      default:
        throw new DeploymentsError("USAGE", `deployments: unknown option "${flag}". ${USAGE}`);
    }
  }
  return out;
}

/** The `name` of Pulumi.yaml in the working directory, if there is one. */
function projectName(dir: string): string | undefined {
  const file = path.join(dir, "Pulumi.yaml");
  if (!fs.existsSync(file)) return undefined;
  const doc = yaml.load(fs.readFileSync(file, "utf8")) as { name?: unknown } | null;
  return typeof doc?.name === "string" ? doc.name : undefined;
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  try {
    const args = parseArgs(argv);
    const stack = args.stack ?? env.PULUMI_STACK;
    if (stack === undefined || stack === "")
      throw new DeploymentsError("USAGE", `deployments: --stack is required. ${USAGE}`);
    const ref = parseStackRef(stack, projectName(process.cwd()));
    const client = new DeploymentsClient({ apiUrl: args.apiUrl, token: env.PULUMI_ACCESS_TOKEN ?? "" });
    const state = await runDeployment(client, ref, {
      operation: args.operation,
      ...(args.commit !== undefined ? { commit: args.commit } : {}),
      timeoutMs: args.timeoutMinutes * 60_000,
      pollIntervalMs: args.pollSeconds * 1000,
      log: (line) => process.stdout.write(`${line}\n`),
    });
    process.stdout.write(`deployments: ${state.id} ${state.status}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2), process.env).then((code) => {
    process.exitCode = code;
  });
}
