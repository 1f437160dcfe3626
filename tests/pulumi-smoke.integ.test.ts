import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startRecordingProxy, type RecordingProxy } from "./support/recording-proxy";
import { runOk } from "./support/tools";

const ROOT = path.resolve(__dirname, "..");

describe("pulumi smoke (integ): up, preview, destroy on a local file backend, offline", function () {
  this.timeout(600000);
  let work: string;
  let env: NodeJS.ProcessEnv;
  let proxy: RecordingProxy;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-smoke-"));
    const program = path.join(work, "program");
    fs.cpSync(path.join(ROOT, "tests/fixtures/smoke"), program, { recursive: true });
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(program, "node_modules"));
    fs.mkdirSync(path.join(work, "state"));
    proxy = await startRecordingProxy();
    env = {
      ...process.env,
      PULUMI_HOME: path.join(work, "home"),
      PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`,
      PULUMI_CONFIG_PASSPHRASE: "smoke-test-passphrase",
      // Any download attempt (plugin, update check, registry) goes to the recording proxy and is refused.
      HTTP_PROXY: proxy.url,
      HTTPS_PROXY: proxy.url,
      NO_PROXY: "127.0.0.1,localhost",
    };
  });

  after(async () => {
    await proxy?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const pulumi = (...args: string[]) =>
    runOk("pulumi", [...args, "--non-interactive"], { cwd: path.join(work, "program"), env });

  it("creates the stack and brings it up", async () => {
    await pulumi("stack", "init", "organization/toolchain-smoke/smoke");
    const up = await pulumi("up", "--yes", "--skip-preview");
    expect(up.stdout).to.match(/\+ 2 created/);
    expect(up.stderr + up.stdout).to.not.match(/warning:/);
    const { stdout } = await pulumi("stack", "output", "--json");
    const outputs = JSON.parse(stdout) as { length: number; providerNode: string };
    expect(outputs.length).to.equal("hello from the smoke test".length);
    expect(outputs.providerNode, "the dynamic provider runs on the pinned Node").to.equal(process.version);
  });

  it("previews no changes afterwards", async () => {
    const preview = await pulumi("preview", "--expect-no-changes");
    expect(preview.stdout).to.match(/unchanged/);
  });

  it("destroys everything", async () => {
    await pulumi("destroy", "--yes", "--skip-preview");
    const { stdout } = await pulumi("stack", "export");
    const deployment = JSON.parse(stdout) as { deployment: { resources?: unknown[] } };
    expect(deployment.deployment.resources ?? []).to.have.length(0);
  });

  it("never tried to reach the network", () => {
    expect(proxy.attempts).to.deep.equal([]);
  });
});
