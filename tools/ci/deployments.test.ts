import { expect } from "chai";
import { spawn } from "node:child_process";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import * as fc from "fast-check";
import {
  ACCEPT,
  DeploymentsClient,
  DeploymentsError,
  parseArgs,
  isTransient,
  parseStackRef,
  runDeployment,
  type StackRef,
} from "./deployments";

const ROOT = path.resolve(__dirname, "../..");
const TOKEN = "pul-0123456789abcdef0123456789abcdef01234567";
const REF: StackRef = { organization: "acme", project: "xcpng-templates", stack: "prod" };
const BASE = "/api/stacks/acme/xcpng-templates/prod/deployments";
const SHA = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567";

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}
type Reply = { status: number; body: unknown; contentType?: string };
type Script = (req: Seen) => Reply;

/**
 * A stand-in for the Pulumi Cloud API on 127.0.0.1: every request is recorded and checked against what the
 * real API requires (token auth, Accept version, JSON content type); the test's script answers it. Anything the
 * script does not expect fails the test (the script throws, the fake answers 599 and records the error).
 */
class FakePulumiCloud {
  readonly seen: Seen[] = [];
  readonly unexpected: string[] = [];
  private server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const seen: Seen = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      this.seen.push(seen);
      let reply: Reply;
      try {
        if (seen.headers.authorization !== `token ${TOKEN}`)
          throw new Error("Authorization is not 'token <token>'");
        if (seen.headers.accept !== ACCEPT) throw new Error(`Accept is ${String(seen.headers.accept)}`);
        if (seen.headers["content-type"] !== "application/json") {
          throw new Error(`Content-Type is ${String(seen.headers["content-type"])}`);
        }
        reply = this.script(seen);
      } catch (err) {
        this.unexpected.push(`${seen.method} ${seen.path}: ${(err as Error).message}`);
        reply = { status: 599, body: { code: 599, message: "unexpected request" } };
      }
      const body = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
      res.writeHead(reply.status, { "Content-Type": reply.contentType ?? "application/json" });
      res.end(body);
    });
  });
  url = "";

  constructor(private readonly script: Script) {}

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A script that expects one POST then answers each GET with the next status. */
function scripted(created: Reply, statuses: Reply[]): Script {
  let polls = 0;
  return (req) => {
    if (req.method === "POST" && req.path === BASE) return created;
    if (req.method === "GET" && req.path === `${BASE}/dep-1`) {
      const r = statuses[Math.min(polls, statuses.length - 1)];
      polls += 1;
      if (r === undefined) throw new Error("no status scripted");
      return r;
    }
    throw new Error("not part of the protocol under test");
  };
}

const CREATED: Reply = {
  status: 202,
  body: {
    id: "dep-1",
    consoleUrl: "https://app.example.test/acme/xcpng-templates/prod/deployments/7",
    version: 7,
  },
};
const status = (s: string): Reply => ({ status: 200, body: { id: "dep-1", status: s, version: 7 } });

describe("tools/ci/deployments: trigger a Pulumi Deployments update and wait for it", () => {
  let fake: FakePulumiCloud | undefined;
  afterEach(async () => {
    await fake?.stop();
    fake = undefined;
  });
  const client = (url: string) =>
    new DeploymentsClient({ apiUrl: url, token: TOKEN, requestTimeoutMs: 5000 });
  const fast = { timeoutMs: 5000, pollIntervalMs: 10 };

  it("POSTs an update that inherits the stack's settings and pins the commit, then polls until it succeeds", async () => {
    fake = await new FakePulumiCloud(
      scripted(CREATED, [status("not-started"), status("accepted"), status("running"), status("succeeded")]),
    ).start();
    const log: string[] = [];
    const state = await runDeployment(client(fake.url), REF, {
      ...fast,
      operation: "update",
      commit: SHA,
      log: (l) => log.push(l),
    });
    expect(fake.unexpected).to.deep.equal([]);
    expect(state.status).to.equal("succeeded");
    const [post, ...gets] = fake.seen;
    expect(post?.method).to.equal("POST");
    expect(post?.path).to.equal(BASE);
    expect(JSON.parse(post?.body ?? "")).to.deep.equal({
      operation: "update",
      inheritSettings: true,
      sourceContext: { git: { repoUrl: "", branch: "", commit: SHA } },
    });
    expect(gets.map((g) => `${g.method} ${g.path} ${g.body}`)).to.deep.equal(
      Array(4).fill(`GET ${BASE}/dep-1 `),
    );
    expect(log.join("\n")).to.match(/queued as dep-1 \(https:\/\/app\.example\.test\/.*\/7\)/);
    expect(log.join("\n")).to.match(/dep-1 is running[\s\S]*dep-1 is succeeded/);
  });

  it("without a commit, sends no sourceContext (the settings' branch head is deployed)", async () => {
    fake = await new FakePulumiCloud(scripted(CREATED, [status("skipped")])).start();
    const state = await runDeployment(client(fake.url), REF, { ...fast, operation: "update" });
    expect(state.status, "skipped: nothing to run is not a failure").to.equal("skipped");
    expect(JSON.parse(fake.seen[0]?.body ?? "")).to.deep.equal({
      operation: "update",
      inheritSettings: true,
    });
  });

  it("a failed deployment throws with the deployment id and where its log is", async () => {
    fake = await new FakePulumiCloud(scripted(CREATED, [status("running"), status("failed")])).start();
    const err = await runDeployment(client(fake.url), REF, { ...fast, operation: "update" }).catch(
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(DeploymentsError).with.property("code", "DEPLOYMENT_FAILED");
    expect((err as DeploymentsError).deploymentId).to.equal("dep-1");
    expect((err as Error).message).to.match(
      /acme\/xcpng-templates\/prod deployment dep-1 failed\. Its log is at https:\/\/app\.example\.test\//,
    );
    expect(fake.unexpected).to.deep.equal([]);
  });

  for (const [code, message, hint] of [
    [404, "Stack 'acme/xcpng-templates/prod' not found", /must exist in Pulumi Cloud/],
    [401, "Unauthorized: No credentials provided or are invalid.", /token was refused/],
    [403, "deployments are not enabled for this organization", /deploy rights/],
    [400, "no deployment settings configured for stack", /deployment settings/],
  ] as const) {
    it(`an HTTP ${code} on the trigger names the status, Pulumi's message and the way out, never the token`, async () => {
      fake = await new FakePulumiCloud(scripted({ status: code, body: { code, message } }, [])).start();
      const err = await runDeployment(client(fake.url), REF, { ...fast, operation: "update" }).catch(
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(DeploymentsError).with.property("code", "API");
      const e = err as DeploymentsError;
      expect(e.httpStatus).to.equal(code);
      expect(e.pulumiMessage).to.equal(message);
      expect(e.message).to.include(`POST ${fake.url}${BASE} answered ${code} `);
      expect(e.message).to.include(`Pulumi says "${message}"`);
      expect(e.message).to.match(hint);
      expect(e.message).to.not.include(TOKEN);
      expect(fake.seen, "no status request after a refused trigger").to.have.length(1);
    });
  }

  it("an error page that is not Pulumi's JSON is quoted, shortened", async () => {
    fake = await new FakePulumiCloud(
      scripted(
        {
          status: 502,
          body: `<html><body>${"Bad Gateway ".repeat(60)}</body></html>`,
          contentType: "text/html",
        },
        [],
      ),
    ).start();
    const err = (await runDeployment(client(fake.url), REF, { ...fast, operation: "update" }).catch(
      (e: unknown) => e,
    )) as DeploymentsError;
    expect(err).to.be.instanceOf(DeploymentsError).with.property("code", "API");
    expect(err.message).to.match(/answered 502 Bad Gateway: Pulumi says "<html><body>Bad Gateway .*…"/);
    expect(err.pulumiMessage?.length).to.be.at.most(301);
  });

  it("stops waiting at the timeout without cancelling the deployment, and says where to follow it", async () => {
    fake = await new FakePulumiCloud(scripted(CREATED, [status("running")])).start();
    const err = await runDeployment(client(fake.url), REF, {
      operation: "update",
      timeoutMs: 300,
      pollIntervalMs: 25,
    }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(DeploymentsError).with.property("code", "DEPLOYMENT_TIMEOUT");
    expect((err as DeploymentsError).deploymentStatus).to.equal("running");
    expect((err as Error).message).to.match(/still running after 300 ms of waiting\. It was not cancelled/);
    expect((err as Error).message).to.match(/follow it at https:\/\/app\.example\.test\//);
    const gets = fake.seen.filter((s) => s.method === "GET");
    expect(gets.length, "polled more than once").to.be.greaterThan(2);
    expect(
      fake.seen.every((s) => !s.path.endsWith("/cancel")),
      "no cancel request",
    ).to.be.true;
    expect(fake.unexpected).to.deep.equal([]);
  });

  it("tolerates a few transient status errors (502, 429) while waiting", async () => {
    fake = await new FakePulumiCloud(
      scripted(CREATED, [
        status("running"),
        { status: 502, body: "bad gateway", contentType: "text/plain" },
        { status: 429, body: { code: 429, message: "rate limited" } },
        status("succeeded"),
      ]),
    ).start();
    const log: string[] = [];
    const state = await runDeployment(client(fake.url), REF, {
      ...fast,
      operation: "update",
      log: (l) => log.push(l),
    });
    expect(state.status).to.equal("succeeded");
    expect(log.join("\n")).to.match(/answered 502 .*attempt 1 of 5[\s\S]*answered 429 .*attempt 2 of 5/);
  });

  it("gives up after too many consecutive status errors, and at once on a 4xx", async () => {
    fake = await new FakePulumiCloud(
      scripted(CREATED, [status("running"), { status: 503, body: { code: 503, message: "maintenance" } }]),
    ).start();
    const err = await runDeployment(client(fake.url), REF, {
      ...fast,
      operation: "update",
      maxConsecutiveErrors: 3,
    }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(DeploymentsError).with.property("httpStatus", 503);
    expect(fake.seen.filter((s) => s.method === "GET")).to.have.length(4);
    await fake.stop();

    fake = await new FakePulumiCloud(
      scripted(CREATED, [{ status: 404, body: { code: 404, message: "deployment not found" } }]),
    ).start();
    const err404 = await runDeployment(client(fake.url), REF, { ...fast, operation: "update" }).catch(
      (e: unknown) => e,
    );
    expect((err404 as DeploymentsError).httpStatus).to.equal(404);
    expect(fake.seen.filter((s) => s.method === "GET")).to.have.length(1);
  });

  it("a server that does not answer is a network error naming the URL", async () => {
    fake = await new FakePulumiCloud(() => ({ status: 200, body: {} })).start();
    const url = fake.url;
    await fake.stop();
    fake = undefined;
    const err = await runDeployment(client(url), REF, { ...fast, operation: "update" }).catch(
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(DeploymentsError).with.property("code", "NETWORK");
    expect((err as Error).message).to.include(`POST ${url}${BASE} got no answer`);
    expect((err as Error).cause, "the fetch failure is kept").to.be.instanceOf(Error);
  });

  it("refuses to start without a token or with a URL that is not http(s)", () => {
    expect(() => new DeploymentsClient({ apiUrl: "https://api.example.test", token: "" }))
      .to.throw(DeploymentsError, /Set PULUMI_ACCESS_TOKEN/)
      .with.property("code", "USAGE");
    expect(() => new DeploymentsClient({ apiUrl: "ftp://x", token: TOKEN })).to.throw(/must use https/);
    expect(() => new DeploymentsClient({ apiUrl: "api.pulumi", token: TOKEN })).to.throw(
      /absolute http\(s\) URL/,
    );
  });
});

describe("tools/ci/deployments: which failures are worth polling again", () => {
  for (const [what, err, transient] of [
    ["no answer at all", new DeploymentsError("NETWORK", "x"), true],
    ["429 rate limited", new DeploymentsError("API", "x", { httpStatus: 429 }), true],
    ["500 internal error", new DeploymentsError("API", "x", { httpStatus: 500 }), true],
    ["503 maintenance", new DeploymentsError("API", "x", { httpStatus: 503 }), true],
    ["404 not found", new DeploymentsError("API", "x", { httpStatus: 404 }), false],
    ["401 refused token", new DeploymentsError("API", "x", { httpStatus: 401 }), false],
    ["a 200 without a status", new DeploymentsError("API", "x", { httpStatus: 200 }), false],
    ["a failed deployment", new DeploymentsError("DEPLOYMENT_FAILED", "x"), false],
    ["a usage error", new DeploymentsError("USAGE", "x"), false],
    ["an error of another kind", new Error("ECONNRESET"), false],
  ] as const) {
    it(`${what}: ${transient ? "transient" : "final"}`, () => {
      expect(isTransient(err)).to.equal(transient);
    });
  }
});

describe("tools/ci/deployments: names and arguments", () => {
  it("parses org/project/stack, and org/stack with the project of Pulumi.yaml", () => {
    expect(parseStackRef("acme/xcpng-templates/prod")).to.deep.equal(REF);
    expect(parseStackRef("acme/prod", "xcpng-templates")).to.deep.equal(REF);
    expect(() => parseStackRef("prod", "xcpng-templates"))
      .to.throw(DeploymentsError, /"org\/project\/stack"/)
      .with.property("code", "USAGE");
    expect(() => parseStackRef("acme/prod")).to.throw(/"org\/stack" beside a Pulumi\.yaml/);
    expect(() => parseStackRef("acme/x y/prod")).to.throw(/project name must use letters.*"x y"/);
    expect(() => parseStackRef("acme/p/../etc")).to.throw(DeploymentsError);
  });

  it("any valid organization, project and stack names round-trip through parseStackRef", () => {
    const name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/);
    fc.assert(
      fc.property(name, name, name, (o, p, s) => {
        expect(parseStackRef(`${o}/${p}/${s}`)).to.deep.equal({ organization: o, project: p, stack: s });
      }),
    );
  });

  it("parses the options and rejects wrong ones with the accepted values", () => {
    expect(
      parseArgs(["--stack", "a/b/c", "--commit", SHA, "--timeout-minutes", "90", "--api-url", ""]),
    ).to.deep.equal({
      stack: "a/b/c",
      operation: "update",
      commit: SHA,
      apiUrl: "https://api.pulumi.com",
      timeoutMinutes: 90,
      pollSeconds: 10,
    });
    expect(() => parseArgs(["--operation", "deploy"])).to.throw(/one of update, preview, refresh/);
    expect(() => parseArgs(["--commit", "main"])).to.throw(/hexadecimal commit hash/);
    expect(() => parseArgs(["--poll-seconds", "0"])).to.throw(/positive number/);
    expect(() => parseArgs(["--token", "x"])).to.throw(/unknown option "--token"/);
    expect(() => parseArgs(["--stack"])).to.throw(/needs a value/);
  });
});

describe("tools/ci/deployments: command line", function () {
  this.timeout(60000);
  let fake: FakePulumiCloud | undefined;
  afterEach(async () => {
    await fake?.stop();
    fake = undefined;
  });

  const cli = (args: string[], env: NodeJS.ProcessEnv) =>
    new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ["--require", "tsx/cjs", "tools/ci/deployments.ts", ...args], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (b: Buffer) => (out += b.toString()));
      child.stderr.on("data", (b: Buffer) => (out += b.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, out }));
    });

  it("reads the token from the environment, takes the project from Pulumi.yaml and exits 0 on success", async () => {
    fake = await new FakePulumiCloud((req) => {
      if (req.method === "POST" && req.path === "/api/stacks/acme/xcpng-templates/prod/deployments")
        return CREATED;
      if (req.method === "GET") return status("succeeded");
      throw new Error("unexpected");
    }).start();
    const r = await cli(["--stack", "acme/prod", "--api-url", fake.url, "--poll-seconds", "0.01"], {
      PULUMI_ACCESS_TOKEN: TOKEN,
    });
    expect(r.out).to.match(/deployments: dep-1 succeeded/);
    expect(r.code).to.equal(0);
    expect(r.out).to.not.include(TOKEN);
    expect(fake.unexpected).to.deep.equal([]);
  });

  it("exits 1 with the HTTP status and Pulumi's message when the trigger is refused, never printing the token", async () => {
    fake = await new FakePulumiCloud(() => ({
      status: 403,
      body: { code: 403, message: "Forbidden" },
    })).start();
    const r = await cli(["--stack", "acme/xcpng-templates/prod", "--api-url", fake.url], {
      PULUMI_ACCESS_TOKEN: TOKEN,
    });
    expect(r.code).to.equal(1);
    expect(r.out).to.match(/answered 403 Forbidden: Pulumi says "Forbidden"/);
    expect(r.out).to.not.include(TOKEN);
  });

  it("exits 1 without a token in the environment, before any request", async () => {
    fake = await new FakePulumiCloud(() => {
      throw new Error("no request expected");
    }).start();
    const r = await cli(["--stack", "acme/xcpng-templates/prod", "--api-url", fake.url], {});
    expect(r.code).to.equal(1);
    expect(r.out).to.match(/no Pulumi access token/);
    expect(fake.seen).to.have.length(0);
  });
});
