import { expect } from "chai";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createIdentity } from "./identity";
import { orphanSafe } from "./process";
import { nocloudSeed, writeSeedImage } from "./seed";

// The run's key (ssh-keygen), its seed image (cloud-localds) and the orphan guard (setpriv), with the real tools.

describe("acceptance tools", function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "xcpng-accept-tools-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("a one-time Ed25519 key: private half 0600 without passphrase, fingerprint of the public half", async () => {
    const id = await createIdentity(dir, "1a2b3c4d");
    expect(id.user).to.equal("xcpng-accept-1a2b3c4d");
    expect(fs.statSync(id.privateKeyPath).mode & 0o777).to.equal(0o600);
    expect(fs.readFileSync(id.privateKeyPath, "utf8")).to.match(/^-----BEGIN OPENSSH PRIVATE KEY-----/);
    expect(id.publicKey).to.match(/^ssh-ed25519 AAAA\S+ xcpng-templates acceptance 1a2b3c4d$/);
    expect(id.fingerprint).to.match(/^SHA256:[A-Za-z0-9+/]{43}$/);
    const other = await createIdentity(fs.mkdtempSync(path.join(dir, "b-")));
    expect(other.fingerprint).to.not.equal(id.fingerprint);
    expect(other.runId).to.match(/^[0-9a-f]{8}$/);
  });

  it("the seed image: ISO 9660 labelled cidata, with the two files, and the sources removed", async () => {
    const id = await createIdentity(dir, "1a2b3c4d");
    const seed = nocloudSeed({
      instanceId: "xcpng-accept-1a2b3c4d-a",
      hostname: "xcpng-accept-1a2b3c4d-a",
      user: id.user,
      publicKey: id.publicKey,
    });
    const iso = await writeSeedImage(seed, dir, "a");
    const bytes = fs.readFileSync(iso);
    // Primary volume descriptor at sector 16: type 1, "CD001", volume identifier at bytes 40..71.
    const pvd = bytes.subarray(16 * 2048, 17 * 2048);
    expect(pvd.subarray(1, 6).toString("latin1")).to.equal("CD001");
    expect(pvd.subarray(40, 72).toString("latin1").trim()).to.equal("cidata");
    expect(bytes.includes(Buffer.from(seed.userData))).to.equal(true);
    expect(bytes.includes(Buffer.from(seed.metaData))).to.equal(true);
    expect(bytes.includes(Buffer.from("PRIVATE KEY"))).to.equal(false);
    expect(fs.readdirSync(dir).sort()).to.deep.equal(["a-seed.iso", "id_ed25519", "id_ed25519.pub"]);
  });

  it("a program started through orphanSafe dies with the process that started it", async () => {
    // A child Node process starts `sleep` the way QEMU is started, prints its pid, and is then killed hard.
    const script = `
      const { spawn } = require("node:child_process");
      const { orphanSafe } = require(${JSON.stringify(path.join(__dirname, "process.ts"))});
      const c = spawn(...orphanSafe("/bin/sleep", ["600"]), { stdio: "ignore" });
      console.log(c.pid);
      setInterval(() => undefined, 1000);
    `;
    void orphanSafe;
    const node = spawn(process.execPath, ["--require", "tsx/cjs", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const pid = await new Promise<number>((resolve) =>
      node.stdout.once("data", (d: Buffer) => resolve(Number(String(d).trim()))),
    );
    expect(fs.existsSync(`/proc/${pid}`)).to.equal(true);
    node.kill("SIGKILL");
    const gone = async (): Promise<boolean> => {
      for (let i = 0; i < 50; i++) {
        const stat = fs.existsSync(`/proc/${pid}/stat`) ? fs.readFileSync(`/proc/${pid}/stat`, "utf8") : "";
        // Gone, or a zombie waiting for a parent that no longer reaps.
        if (stat === "" || / Z /.test(stat)) return true;
        await new Promise((r) => setTimeout(r, 100));
      }
      return false;
    };
    expect(await gone(), `sleep (pid ${pid}) outlived its parent`).to.equal(true);
  });
});
