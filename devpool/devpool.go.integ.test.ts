/**
 * devpool against the XCP-ng Packer plugin's own XAPI client: `github.com/terra-farm/go-xen-api-client` v0.0.2 over
 * `github.com/amfranz/go-xmlrpc-client`, driven by the Go test in `testing/go/` through the plugin's steps (see
 * that file's header). This wrapper starts devpool over HTTPS, builds the Go test once (`go test -c`, modules from
 * the Go module proxy on a cold machine), runs its phases, and plays the guest agent between the build and the
 * finish phase, since devpool has no guest.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { makeTempDir, removeDir, startTestPool, TEST_PASSWORD, TEST_USER } from "./testing/tmp";

const run = promisify(execFile);
const MODULE_DIR = path.join(__dirname, "testing", "go");
const GO_CANDIDATES = ["go", "/usr/local/go/bin/go"];

type TestPool = Awaited<ReturnType<typeof startTestPool>>;

/** The Go toolchain: `go` on PATH, else the machine's /usr/local/go. Missing, it fails with the way to install it. */
async function findGo(): Promise<string> {
  for (const candidate of GO_CANDIDATES) {
    try {
      await run(candidate, ["version"]);
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error(
    "Go is needed for the Packer plugin's client test and was not found (tried `go` on PATH and " +
      "/usr/local/go/bin/go): install Go ≥ 1.25 from https://go.dev/dl/ into /usr/local/go, or put it on PATH",
  );
}

/** Output of a failed child, so a failing Go assertion is readable in mocha's report. */
function failure(e: unknown): Error {
  const { stdout, stderr, message } = e as { stdout?: string; stderr?: string; message: string };
  return new Error(`${message}\n--- stdout ---\n${stdout ?? ""}\n--- stderr ---\n${stderr ?? ""}`, {
    cause: e,
  });
}

describe("devpool with the Packer plugin's Go client (terra-farm/go-xen-api-client v0.0.2)", function () {
  this.timeout(300_000);
  let pool: TestPool;
  let work: string;
  let binary: string;
  let state: string;

  before(async () => {
    const go = await findGo();
    pool = await startTestPool({ tls: true });
    work = makeTempDir("devpool-go-");
    binary = path.join(work, "devpool-clients.test");
    state = path.join(work, "state.json");
    const started = Date.now();
    try {
      // No credential reaches the compiler; -mod=readonly holds the build to go.mod and go.sum as committed.
      await run(go, ["test", "-c", "-mod=readonly", "-o", binary, "."], {
        cwd: MODULE_DIR,
        env: { ...process.env, GOFLAGS: "-mod=readonly" },
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (e) {
      throw failure(e);
    }
    console.log(`      (go test -c: ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  });
  after(async () => {
    await pool.cleanup();
    removeDir(work);
  });

  async function goTest(pattern: string): Promise<string> {
    try {
      const { stdout } = await run(binary, ["-test.run", pattern, "-test.v", "-test.count=1"], {
        cwd: MODULE_DIR,
        // The password goes through the environment, never argv.
        env: {
          PATH: process.env.PATH ?? "",
          DEVPOOL_HOST: `${pool.host}:${pool.port}`,
          DEVPOOL_USERNAME: TEST_USER,
          DEVPOOL_PASSWORD: TEST_PASSWORD,
          DEVPOOL_STATE: state,
          DEVPOOL_WORKDIR: work,
        },
        maxBuffer: 16 * 1024 * 1024,
      });
      return stdout;
    } catch (e) {
      throw failure(e);
    }
  }

  it("replays the iso builder from the ISO uploads to the console, then from the guest IP to the cleanup", async () => {
    expect(await goTest("^TestPackerIsoBuild$")).to.match(/^--- PASS: TestPackerIsoBuild/m);
    // Packer would now type the boot command over VNC and wait for the guest agent; play the agent.
    const { instance_uuid: vm } = JSON.parse(fs.readFileSync(state, "utf8")) as { instance_uuid: string };
    pool.setGuestMetrics(vm, { networks: { "0/ip": "192.0.2.10", "0/ipv4/0": "192.0.2.10" } });
    expect(await goTest("^TestPackerIsoFinish$")).to.match(/^--- PASS: TestPackerIsoFinish/m);
  });

  it("answers the plugin's error paths with xapi's codes and parameters", async () => {
    expect(await goTest("^TestPackerErrorPaths$")).to.match(/^--- PASS: TestPackerErrorPaths/m);
  });

  it("serves records the client's strict decoders read, and pool/host operations as XCP-ng 8.3 computes them", async () => {
    expect(await goTest("^TestStrictRecords$")).to.match(/^--- PASS: TestStrictRecords/m);
  });
});
