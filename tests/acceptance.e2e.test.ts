import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { ROOT, startE2eStack, type E2eStack } from "./support/e2e-stack";

interface BuiltRow {
  name: string;
  poolUuid: string;
  s3Key: string;
  channels: { candidate?: string; stable?: string };
}

/**
 * Boot acceptance and channels end to end, with the real Pulumi CLI, Packer (local build path), QEMU, devpool and
 * versitygw: every build is booted from the stored artifact before it can be `stable`; a broken image is refused
 * and promotes nothing; a rollback and a revocation move channels and pool tags without rebuilding.
 */
describe("acceptance (e2e): boot before publishing, channels, rollback, revocation", function () {
  this.timeout(60 * 60 * 1000);
  const varFile = path.join(ROOT, "tests/fixtures/e2e/acc.pkrvars.hcl");
  const original = fs.readFileSync(varFile, "utf8");
  let st: E2eStack;
  const template = (extra: Record<string, unknown> = {}) => ({
    name: "acc",
    packerTemplate: "packer/local/debian12-local.pkr.hcl",
    varFile: "tests/fixtures/e2e/acc.pkrvars.hcl",
    os: "debian",
    version: "12",
    retention: 3,
    acceptance: { guestAgent: false },
    ...extra,
  });
  const built = async () => (await st.stackOutput<BuiltRow[]>("built"))[0] as BuiltRow;
  const tagsOf = (buildId: string) =>
    st.templatesOnPool().find((t) => t.tags.includes(`build-id:${buildId}`))?.tags ?? [];
  const up = () => st.pulumi(["up", "--yes", "--skip-preview"]);
  const builds: string[] = [];

  before(async () => {
    st = await startE2eStack({ name: "acce2e", templates: [template()] });
  });
  after(async () => {
    fs.writeFileSync(varFile, original);
    await st?.stop();
  });

  it("up boots the stored artifact and passes its checks; the build is candidate and stable, in the index and on the pool", async () => {
    const r = await up();
    expect(r.stdout).to.match(
      /acceptance: acc: build \S+ accepted in \d+ s \(boot to SSH \d+ s, qemu-(tcg|kvm)\)/,
    );
    const row = await built();
    builds.push(row.channels.stable ?? "");
    expect(row.channels).to.deep.equal({ candidate: builds[0], stable: builds[0] });
    const index = await st.catalogue();
    expect(index.channels.acc?.stable?.buildId).to.equal(builds[0]);
    const entry = index.artifacts.find((a) => a.buildId === builds[0]);
    expect(entry?.acceptance?.passed).to.equal(true);
    expect(entry?.acceptance?.checks.length).to.be.greaterThan(10);
    for (const c of entry?.acceptance?.checks ?? [])
      expect(c.passed, `${c.name}: ${c.evidence}`).to.equal(true);
    const manifest = JSON.parse(
      await (
        await st.s3.send(new GetObjectCommand({ Bucket: st.bucket, Key: entry?.manifestKey }))
      ).Body!.transformToString(),
    ) as { acceptance?: { passed: boolean } };
    expect(manifest.acceptance?.passed, "the result is in the manifest").to.equal(true);
    expect(await st.keys(), "the consoles are kept beside the XVA").to.include.members(
      entry?.acceptance?.consoleLogKeys ?? ["?"],
    );
    expect(tagsOf(builds[0] ?? "")).to.include.members([
      "channel:stable",
      "channel:candidate",
      "template:acc",
    ]);
  });

  it("a new accepted build is promoted: the channel tag moves on the pool; the earlier template stays as a rollback target", async () => {
    fs.writeFileSync(varFile, `${original}# rebuilt by the acceptance e2e\n`);
    await up();
    const row = await built();
    builds.push(row.channels.stable ?? "");
    expect(builds[1]).to.not.equal(builds[0]);
    expect(row.channels).to.deep.equal({ candidate: builds[1], stable: builds[1] });
    expect(tagsOf(builds[1] ?? "")).to.include("channel:stable");
    expect(tagsOf(builds[0] ?? ""), "still on the pool, without the tag")
      .to.include("template:acc")
      .and.not.include("channel:stable");
  });

  it("rollback: pinning stable to the previous build moves the channel and the pool tag, and rebuilds nothing", async () => {
    const before = await built();
    st.setConfig((c) => {
      c["xcpng-templates:templates"] = [template({ channels: { stable: builds[0] } })];
    });
    const preview = await st.pulumi(["preview", "--diff"]);
    expect(preview.stdout).to.match(/acc-channels/);
    expect(preview.stdout).to.not.match(/acc-build.*(create|replace)/);
    const r = await up();
    expect(r.stdout).to.not.match(/packer-build: acc: building/);
    const after = await built();
    expect(after.poolUuid, "no rebuild").to.equal(before.poolUuid);
    expect(after.channels).to.deep.equal({ candidate: builds[1], stable: builds[0] });
    expect((await st.catalogue()).channels.acc?.stable?.buildId).to.equal(builds[0]);
    expect(tagsOf(builds[0] ?? "")).to.include("channel:stable");
    expect(tagsOf(builds[1] ?? "")).to.not.include("channel:stable");
  });

  it("revocation: the revoked build leaves every channel, is tagged on the pool, and the index says why", async () => {
    st.setConfig((c) => {
      c["xcpng-templates:templates"] = [
        template({ revoked: [{ buildId: builds[1], reason: "CVE-2026-0001 in openssl" }] }),
      ];
    });
    await up();
    const row = await built();
    expect(row.channels).to.deep.equal({ candidate: builds[0], stable: builds[0] });
    const entry = (await st.catalogue()).artifacts.find((a) => a.buildId === builds[1]);
    expect(entry?.revoked?.reason).to.equal("CVE-2026-0001 in openssl");
    expect(entry?.revoked?.at).to.match(/^\d{4}-\d{2}-\d{2}T/);
    expect(tagsOf(builds[1] ?? ""))
      .to.include("revoked")
      .and.not.include("channel:candidate");
  });

  it("a broken image fails acceptance with the failing checks named; nothing is promoted", async () => {
    const index0 = await st.indexText();
    fs.writeFileSync(varFile, `${original}extra_scripts = ["../tests/fixtures/acceptance/break-image.sh"]\n`);
    const r = await st.pulumi(["up", "--yes", "--skip-preview"], { ok: false });
    expect(r.code).to.not.equal(0);
    const text = r.stdout + r.stderr;
    expect(text).to.match(/acceptance: acc: build \S+ REFUSED/);
    expect(text).to.match(/acceptance: debian 12 failed \d+ of \d+ checks: "[^"]+" \(expected /);
    expect(text).to.match(/cloud-init|machine-id|root login/);
    expect(text).to.match(/console logs are kept at s3:\/\//);
    expect(await st.indexText(), "the index was not touched: nothing promoted").to.equal(index0);
    expect((await built()).channels.stable, "stable still the previous accepted build").to.equal(builds[0]);
  });

  it("destroy leaves no VM, object or upload behind, and no secret reached state or output", async () => {
    fs.writeFileSync(varFile, original);
    await st.pulumi(["destroy", "--yes", "--skip-preview"]);
    expect(st.templatesOnPool()).to.deep.equal([]);
    expect(await st.incompleteUploads().catch(() => 0)).to.equal(0);
    const stateDir = path.join(st.work, "state");
    const stateText = fs
      .readdirSync(stateDir, { recursive: true })
      .map((f) => path.join(stateDir, String(f)))
      .filter((f) => fs.statSync(f).isFile())
      .map((f) => fs.readFileSync(f, "utf8"))
      .join("\n");
    const all = `${stateText}\n${st.output.join("\n")}`;
    for (const [name, value] of Object.entries(st.secrets))
      expect(all.includes(value), `${name} leaked`).to.equal(false);
  });
});
