import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { freePort } from "./net";
import { makeTempDir, removeDir } from "./testing/tmp";

const run = promisify(execFile);
const CLI = path.join(__dirname, "cli.ts");
const TSX = path.join(__dirname, "..", "node_modules", "tsx", "dist", "cli.mjs");

/** Alive and not a zombie (a detached child whose parent exited may wait for a reaper that never comes). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

interface Outcome {
  code: number;
  out: string;
}

describe("devpool CLI (start | status | stop)", function () {
  this.timeout(120_000);
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const password = `cli-${process.pid}-${Date.now().toString(36)}`;

  async function cli(cmd: string): Promise<Outcome> {
    try {
      const { stdout, stderr } = await run(process.execPath, [TSX, CLI, cmd], { env });
      return { code: 0, out: stdout + stderr };
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string };
      return { code: err.code ?? -1, out: `${err.stdout ?? ""}${err.stderr ?? ""}` };
    }
  }

  function runState(): { pid: number; url: string } | undefined {
    const f = path.join(dir, "devpool.json");
    return fs.existsSync(f)
      ? (JSON.parse(fs.readFileSync(f, "utf8")) as { pid: number; url: string })
      : undefined;
  }

  before(async () => {
    dir = makeTempDir("devpool-cli-");
    env = {
      ...process.env,
      DEVPOOL_DATA_DIR: dir,
      DEVPOOL_PORT: String(await freePort()),
      DEVPOOL_PASSWORD: password,
      DEVPOOL_TLS: "false",
    };
  });
  after(() => {
    // Leave no process behind, even if a test failed half-way.
    const s = runState();
    if (s !== undefined) {
      try {
        process.kill(s.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    removeDir(dir);
  });

  it("reports a stopped devpool with exit status 3", async () => {
    const r = await cli("status");
    expect(r.code).to.equal(3);
    expect(r.out).to.match(/not running/);
  });

  it("starts devpool detached, keeps the password out of argv and logs, and answers XAPI calls", async () => {
    const r = await cli("start");
    expect(r.code, r.out).to.equal(0);
    const s = runState();
    expect(s?.url).to.equal(`http://127.0.0.1:${env.DEVPOOL_PORT}`);
    expect(fs.readFileSync(`/proc/${s!.pid}/cmdline`, "utf8")).not.to.include(password);
    expect(fs.readFileSync(path.join(dir, "devpool.log"), "utf8")).not.to.include(password);
    const login = await fetch(`${s!.url}/jsonrpc`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "session.login_with_password",
        params: ["root", password],
      }),
    });
    expect(((await login.json()) as { result: string }).result).to.match(/^OpaqueRef:/);
    const again = await cli("start");
    expect(again.out).to.match(/already running/);
    expect(runState()?.pid).to.equal(s!.pid);
  });

  it("reports a running devpool with exit status 0", async () => {
    const r = await cli("status");
    expect(r.code, r.out).to.equal(0);
    expect(r.out).to.match(/running, pid \d+, http:\/\/127\.0\.0\.1:\d+/);
  });

  it("stops it, and the state survives into the next start", async () => {
    const pid = runState()!.pid;
    const r = await cli("stop");
    expect(r.code, r.out).to.equal(0);
    expect(alive(pid)).to.equal(false);
    expect((await cli("status")).code).to.equal(3);
    expect(fs.existsSync(path.join(dir, "state.json"))).to.equal(true);
    expect((await cli("start")).code).to.equal(0);
    expect((await cli("stop")).code).to.equal(0);
  });

  it("refuses to start without DEVPOOL_PASSWORD, naming the variable", async () => {
    const saved = env;
    env = { ...env, DEVPOOL_PASSWORD: "" };
    try {
      const r = await cli("start");
      expect(r.code).to.equal(2);
      expect(r.out).to.match(/DEVPOOL_PASSWORD is not set/);
    } finally {
      env = saved;
    }
  });
});
