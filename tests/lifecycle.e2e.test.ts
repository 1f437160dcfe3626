import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
} from "@aws-sdk/client-s3";
import * as yaml from "js-yaml";
import { parseHTML } from "linkedom";
import type { ArtifactManifest } from "../providers/artifact";
import type { CatalogueDocument as Catalogue } from "../providers/catalogue-document";
import { sbomPackages } from "../lib/sbom/diff";
import { cycloneDx16Errors } from "../lib/sbom/testing";
import { ROOT, startE2eStack, type E2eStack } from "./support/e2e-stack";
import type { RunResult } from "./support/tools";

const STACK = "e2e";
const VIEWER_PASSWORD = "viewer-e2e-password";

interface BuiltRow {
  name: string;
  poolUuid: string;
  osDetected: string;
  s3Key: string;
  sha256: string;
  sizeBytes: number;
  buildTime: string;
}

/** The non-empty lines `pulumi up` printed (its own `@ updating....` lines included). */
const outputLines = (stdout: string): string[] => stdout.split("\n").filter((l) => l.trim() !== "");

/**
 * The main job end to end, with the real Pulumi CLI, the real Packer (local build path: debootstrap, chroot,
 * XVA, import), devpool and versitygw, on a local file backend. Each step builds on the state of the previous.
 * Boot acceptance is off here (tests/acceptance.e2e.test.ts boots): this file is about the build, the archive,
 * retention, refresh, healing and clean failures.
 */
describe("lifecycle (e2e): build, verify, archive, retain, refresh, heal, fail cleanly, upgrade, destroy", function () {
  this.timeout(30 * 60 * 1000);
  let st: E2eStack;
  const varFileA = path.join(ROOT, "tests/fixtures/e2e/a.pkrvars.hcl");
  const originalA = fs.readFileSync(varFileA, "utf8");
  const bucket = "e2e-templates";

  // The shapes the steps below were written with: thin names over the stack harness.
  const pulumi = (
    args: string[],
    opts: { input?: string; ok?: boolean; extraEnv?: NodeJS.ProcessEnv } = {},
  ) => st.pulumi(args, { config: false, ...opts });
  const withConfig = (args: string[]) => [...args, "--config-file", st.configFile];
  const built = async (): Promise<Record<string, BuiltRow>> => {
    const before = st.output.length;
    const rows = await st.stackOutput<BuiltRow[]>("built").catch((e: Error) => {
      // No `built` output after an up that exited 0: show that up's output, or the failure is a riddle.
      throw new Error(
        `${e.message}\nthe previous command's output:\n${st.output
          .slice(Math.max(0, before - 2), before)
          .join("\n")
          .slice(-8000)}`,
      );
    });
    return Object.fromEntries(rows.map((r) => [r.name, r]));
  };
  const templatesOnPool = () => st.templatesOnPool();
  const keys = () => st.keys();
  const indexText = () => st.indexText();
  const catalogue = (): Promise<Catalogue> => st.catalogue();
  const noIncompleteUploads = async () =>
    expect(await st.incompleteUploads(), "no incomplete multipart upload").to.equal(0);
  let s3: E2eStack["s3"];
  let pool: E2eStack["pool"];
  let s3Proxy: E2eStack["s3Proxy"];
  let configFile: string;
  let work: string;
  let output: string[];
  let secrets: E2eStack["secrets"];

  const savedEnv = { ...process.env };
  before(async () => {
    const noAcceptance = { enabled: false };
    // The default output (its line count is asserted): no verbose log, the default progress pace.
    delete process.env.XCPNG_VERBOSE;
    delete process.env.XCPNG_PROGRESS_EVERY_MS;
    st = await startE2eStack({
      name: STACK,
      // The pull-request preview's account: XAPI's read-only role.
      devpool: { users: [{ username: "viewer", password: VIEWER_PASSWORD, role: "read-only" }] },
      templates: [
        {
          name: "tmpl-a",
          packerTemplate: "packer/local/debian12-local.pkr.hcl",
          varFile: "tests/fixtures/e2e/a.pkrvars.hcl",
          os: "debian",
          version: "12",
          // Small enough that the rebuilds below prune: the current artifact and one earlier one.
          retention: 2,
          acceptance: noAcceptance,
        },
        {
          name: "tmpl-b",
          packerTemplate: "packer/local/debian12-local.pkr.hcl",
          varFile: "tests/fixtures/e2e/b.pkrvars.hcl",
          os: "debian",
          version: "12",
          acceptance: noAcceptance,
        },
      ],
    });
    ({ s3, pool, s3Proxy, configFile, work, output, secrets } = st);
  });

  after(async () => {
    fs.writeFileSync(varFileA, originalA);
    process.env = savedEnv;
    await st?.stop();
  });
  const getText = async (key: string) =>
    (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
  const manifestOf = async (xvaKey: string) =>
    JSON.parse(await getText(xvaKey.replace(/\.xva$/, ".manifest.json"))) as ArtifactManifest;

  it("up builds every template, verifies it on the pool and archives it with a manifest and the index", async () => {
    await pulumi(withConfig(["up", "--yes", "--skip-preview"]));
    const rows = await built();
    expect(Object.keys(rows).sort()).to.deep.equal(["tmpl-a", "tmpl-b"]);
    for (const r of Object.values(rows)) {
      expect(r.osDetected).to.match(/Debian GNU\/Linux 12/);
      // Every key under the stack's prefix (the stack name by default), so stacks can share a bucket.
      expect(r.s3Key).to.match(new RegExp(`^${STACK}/debian/12/\\d{8}T\\d{6}Z/${r.name}\\.xva$`));
      expect(r.sha256).to.match(/^[0-9a-f]{64}$/);
    }
    const stored = await keys();
    for (const r of Object.values(rows)) {
      expect(stored).to.include(r.s3Key);
      expect(stored).to.include(r.s3Key.replace(/\.xva$/, ".manifest.json"));
    }
    expect(stored).to.include(`${STACK}/index.json`);
    const manifest = JSON.parse(
      await (
        await s3.send(
          new GetObjectCommand({
            Bucket: bucket,
            Key: rows["tmpl-a"]?.s3Key.replace(/\.xva$/, ".manifest.json"),
          }),
        )
      ).Body!.transformToString(),
    ) as { sha256: string; osDetected: { xva: string; pool: string }; build: { buildId: string } };
    expect(manifest.sha256).to.equal(rows["tmpl-a"]?.sha256);
    expect(manifest.osDetected).to.deep.equal({ xva: "debian 12", pool: "debian 12" });
    expect(templatesOnPool()).to.have.length(2);
    await noIncompleteUploads();
  });

  it("each build's SBOM is stored beside its XVA, schema-valid, and listed in the manifest and the index; the XVA is zstd", async () => {
    const rows = await built();
    const index = await catalogue();
    for (const r of Object.values(rows)) {
      const manifest = await manifestOf(r.s3Key);
      expect(manifest).to.include({ compression: "zstd", contentType: "application/zstd" });
      const sbomKey = r.s3Key.replace(/\.xva$/, ".sbom.cdx.json");
      expect(manifest.sbom?.key).to.equal(sbomKey);
      const json = await getText(sbomKey);
      expect(await cycloneDx16Errors(json), "the Debian 12 template's SBOM is valid CycloneDX 1.6").to.equal(
        null,
      );
      const packages = sbomPackages(json, sbomKey);
      expect(packages.length).to.equal(manifest.sbom?.packages).and.be.greaterThan(150);
      expect(packages.map((p) => p.name)).to.include.members(["openssh-server", "systemd", "cloud-init"]);
      const entry = index.artifacts.find((a) => a.key === r.s3Key);
      expect(entry).to.deep.include({ compression: "zstd", sbom: manifest.sbom });
    }
  });

  it("the catalogue page is beside the index, and every link on it resolves to a stored object", async () => {
    const key = `${STACK}/index.html`;
    const page = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(page.ContentType).to.equal("text/html; charset=utf-8");
    // linkedom's types describe a browser window; the page needs only its links and its rows.
    const doc = (
      parseHTML(await page.Body!.transformToString()) as unknown as {
        document: {
          querySelectorAll(
            s: string,
          ): Iterable<{ getAttribute(n: string): string | null; textContent: string }>;
        };
      }
    ).document;
    const rows = [...doc.querySelectorAll("th[scope=row]")].map((th) => th.textContent);
    expect(rows.join(" ")).to.include("tmpl-a").and.include("tmpl-b");
    const hrefs = [...doc.querySelectorAll("a[href]")]
      .map((a) => a.getAttribute("href") ?? "")
      .filter((h) => !h.startsWith("#"));
    const linked = hrefs.map((h) => decodeURIComponent(new URL(h, `http://store/${key}`).pathname.slice(1)));
    const stored = await keys();
    expect(linked.length).to.be.greaterThan(6);
    for (const k of linked) expect(stored, `${k}, linked from the page`).to.include(k);
    for (const r of Object.values(await built()))
      expect(linked).to.include.members([r.s3Key, r.s3Key.replace(/\.xva$/, ".sbom.cdx.json")]);
  });

  it("preview and refresh then show no changes", async () => {
    await pulumi(withConfig(["preview", "--expect-no-changes"]));
    await pulumi(withConfig(["refresh", "--yes", "--expect-no-changes"]));
  });

  it("a changed input rebuilds only the template that uses it; one package added shows as exactly that; up stays short", async () => {
    const before = await built();
    // The rebuilt image carries one more package (tests/fixtures/e2e/add-package.sh, run after cleanup).
    fs.writeFileSync(varFileA, `${originalA}extra_scripts = ["../tests/fixtures/e2e/add-package.sh"]\n`);
    const preview = await pulumi(withConfig(["preview", "--diff"]));
    expect(preview.stdout).to.match(/tmpl-a-build/);
    expect(preview.stdout).to.not.match(/tmpl-b-build.*replace/);
    const up = await pulumi(withConfig(["up", "--yes", "--skip-preview"]));
    const after = await built();
    // What changed: since the newest published build of tmpl-a (no stable here: acceptance is off).
    const changes = (await manifestOf(after["tmpl-a"]!.s3Key)).sbomChanges;
    expect(changes?.against.channel).to.equal("candidate");
    expect(changes?.added).to.deep.equal([{ name: "xcpng-e2e-marker", version: "1.0-1", arch: "all" }]);
    expect(changes?.removed).to.deep.equal([]);
    expect(changes?.changed).to.deep.equal([]);
    expect(up.stdout).to.match(
      /artifact: tmpl-a: SBOM of \d+ packages at s3:\/\/\S+; since the candidate build \S+: packages: \d+ → \d+ \(1 added, 0 removed, 0 changed\)/,
    );
    expect(up.stdout).to.match(/artifact: tmpl-a: {3}\+ xcpng-e2e-marker 1\.0-1/);
    // A readable up: one line per step, progress of the long transfers, each line once, the log in a file.
    const lines = outputLines(up.stdout);
    // Kept for people to read (test-artifacts/ is ignored by git).
    const artifacts = path.join(ROOT, "test-artifacts", "lifecycle");
    fs.mkdirSync(artifacts, { recursive: true });
    fs.writeFileSync(path.join(artifacts, "up-one-template-build.txt"), up.stdout);
    const why = up.stdout.slice(-12000);
    expect(lines.length, why).to.be.below(100);
    for (const step of [
      "validate",
      "packer build",
      "requirements",
      "rootfs",
      "provision",
      "sbom",
      "disk",
      "pack-and-import",
    ])
      expect(up.stdout, step).to.match(new RegExp(`packer-build: tmpl-a: \\[\\+[^\\]]+\\] ${step}\\b`));
    expect(up.stdout, "the import's progress").to.match(
      /packer-build: tmpl-a: pack-and-import \d+ % \([\d,]+ of [\d,]+ MB\), [\d.]+ MB\/s, (about .+ left|time left unknown)/,
    );
    expect(up.stdout, "the export's progress").to.match(
      /artifact: tmpl-a: export \d+ % \([\d,]+ of [\d,]+ MB\), [\d.]+ MB\/s, .*; [\d,]+ MB stored/,
    );
    expect(up.stdout, "no apt line").to.not.match(/Get:\d+ http|Reading package lists/);
    // Our lines, without the display's prefix (the resource and its timer): each message once.
    const ours = lines
      .map(
        (l) =>
          /(?:packer-build|artifact|catalogue-index|pool-template|pool-channels|bucket): .*$/.exec(l)?.[0],
      )
      .filter((m): m is string => m !== undefined);
    expect(ours.length).to.be.greaterThan(15);
    expect(
      ours.filter((l, i) => ours.indexOf(l) !== i),
      "no line printed twice",
    ).to.deep.equal([]);
    expect(up.stdout).to.match(/packer-build: tmpl-a: built in .* \(\d+ steps\); SBOM of \d+ packages/);
    const log = /packer-build: tmpl-a: building .*; full log: (\S+)/.exec(up.stdout)?.[1] ?? "?";
    expect(fs.readFileSync(log, "utf8"), "the full log is in the file").to.match(
      /add-package\.sh: installed/,
    );
    console.log(
      `      up of one template build: ${lines.length} lines (full log: ${fs.readFileSync(log, "utf8").split("\n").length} lines)`,
    );
    expect(after["tmpl-a"]?.poolUuid).to.not.equal(before["tmpl-a"]?.poolUuid);
    expect(after["tmpl-b"]).to.deep.equal(before["tmpl-b"]);
    // Retention 2: the earlier template of tmpl-a stays on the pool as a rollback target.
    expect(templatesOnPool().map((t) => t.uuid)).to.have.members([
      before["tmpl-a"]!.poolUuid,
      after["tmpl-a"]!.poolUuid,
      after["tmpl-b"]!.poolUuid,
    ]);
    // Retention 2: the earlier artifact stays, listed in the index; `latest` is the new one.
    const stored = await keys();
    expect(stored).to.include.members([before["tmpl-a"]!.s3Key, after["tmpl-a"]!.s3Key]);
    const index = await catalogue();
    expect(index.artifacts.filter((a) => a.template === "tmpl-a").map((a) => a.key)).to.deep.equal([
      before["tmpl-a"]!.s3Key,
      after["tmpl-a"]!.s3Key,
    ]);
    expect(index.latest["tmpl-a"]?.key).to.equal(after["tmpl-a"]?.s3Key);
  });

  it("a template deleted on the pool is found by refresh and healed by up", async () => {
    const before = await built();
    const uuid = before["tmpl-b"]?.poolUuid ?? "";
    const ref = pool.engine.store.refByUuid("VM", uuid) ?? "";
    pool.engine.store.remove("VM", ref);
    const refresh = await pulumi(withConfig(["refresh", "--yes"]));
    expect(refresh.stdout).to.match(/deleted|gone/);
    await pulumi(withConfig(["up", "--yes", "--skip-preview"]));
    const after = await built();
    expect(after["tmpl-b"]?.poolUuid).to.not.equal(uuid);
    expect(templatesOnPool().map((t) => t.uuid)).to.include(after["tmpl-b"]?.poolUuid);
  });

  it("an object deleted in S3 is found by refresh and exported again by up, without a rebuild", async () => {
    const before = await built();
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: before["tmpl-a"]?.s3Key }));
    await pulumi(withConfig(["refresh", "--yes"]));
    await pulumi(withConfig(["up", "--yes", "--skip-preview"]));
    const after = await built();
    expect(after["tmpl-a"]?.poolUuid, "same template, no rebuild").to.equal(before["tmpl-a"]?.poolUuid);
    const stored = await keys();
    expect(stored).to.include(after["tmpl-a"]?.s3Key);
    expect(stored, "the old manifest went with the old artifact").to.not.include(
      before["tmpl-a"]?.s3Key.replace(/\.xva$/, ".manifest.json"),
    );
    // The earlier artifact retention keeps is still there; with retention 2 nothing older is.
    const index = await catalogue();
    const tmplA = index.artifacts.filter((a) => a.template === "tmpl-a");
    expect(tmplA).to.have.length(2);
    for (const a of tmplA) expect(stored).to.include.members([a.key, a.manifestKey]);
    expect(stored.filter((k) => k.endsWith("tmpl-a.xva"))).to.have.length(2);
    // The replaced artifact was pruned after the index was published: no version of it is left (versioned bucket).
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: `${STACK}/` }));
    const versioned = [...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])].map((v) => v.Key);
    expect(versioned).to.not.include.members([
      before["tmpl-a"]!.s3Key,
      before["tmpl-a"]!.s3Key.replace(/\.xva$/, ".manifest.json"),
    ]);
  });

  it("an export cut mid-stream fails the update cleanly, and the next up succeeds", async () => {
    const before = await built();
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: before["tmpl-a"]?.s3Key }));
    await pulumi(withConfig(["refresh", "--yes"]));
    const index0 = await indexText();
    const retainedKeys = (JSON.parse(index0) as Catalogue).artifacts.flatMap((a) => [
      a.key,
      a.manifestKey,
      ...(a.sbom ? [a.sbom.key] : []),
    ]);
    pool.setFaults({ cutExportAfterBytes: 3 * 1024 * 1024 });
    let failed: RunResult;
    try {
      failed = await pulumi(withConfig(["up", "--yes", "--skip-preview"]), { ok: false });
    } finally {
      pool.setFaults({});
    }
    expect(failed.code).to.not.equal(0);
    expect(failed.stdout + failed.stderr).to.match(
      /artifact: .*(aborted|failed).*tmpl-a|tmpl-a.*(aborted|failed)/s,
    );
    await noIncompleteUploads();
    const stored = await keys();
    // Only the manifest and SBOM of the artifact refresh marked missing may remain (its replacement failed).
    const recordedManifest = before["tmpl-a"]?.s3Key.replace(/\.xva$/, ".manifest.json");
    const recordedSbom = before["tmpl-a"]?.s3Key.replace(/\.xva$/, ".sbom.cdx.json");
    expect(
      stored.filter(
        (k) =>
          k.includes("tmpl-a") && k !== recordedManifest && k !== recordedSbom && !retainedKeys.includes(k),
      ),
      "no half-published artifact, manifest or SBOM",
    ).to.deep.equal([]);
    const index1 = await indexText();
    expect(index1, "the index was not touched").to.equal(index0);
    await pulumi(withConfig(["up", "--yes", "--skip-preview"]));
    const healed = await keys();
    expect(healed).to.include((await built())["tmpl-a"]?.s3Key);
    expect(healed).to.not.include(recordedManifest);
    expect(healed, "the SBOM went with its artifact").to.not.include(recordedSbom);
  });

  it("S3 failing an upload part fails the update cleanly, and the next up succeeds", async () => {
    const before = await built();
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: before["tmpl-b"]?.s3Key }));
    await pulumi(withConfig(["refresh", "--yes"]));
    const index0 = await indexText();
    const keys0 = await keys();
    s3Proxy.failPartsFrom(2);
    let failed: RunResult;
    try {
      failed = await pulumi(withConfig(["up", "--yes", "--skip-preview"]), { ok: false });
    } finally {
      s3Proxy.failPartsFrom(undefined);
    }
    expect(s3Proxy.refusedParts, "the store refused parts").to.be.greaterThan(0);
    expect(failed.code).to.not.equal(0);
    expect(failed.stdout + failed.stderr).to.match(
      /upload to s3:\/\/[^ ]+tmpl-b\.xva aborted after \d+ bytes read .*part \d+ refused.*multipart upload was aborted/s,
    );
    await noIncompleteUploads();
    expect(await keys(), "no half-published artifact or manifest").to.deep.equal(keys0);
    const index1 = await indexText();
    expect(index1, "the index was not touched").to.equal(index0);
    await pulumi(withConfig(["up", "--yes", "--skip-preview"]));
    const after = await built();
    expect(after["tmpl-b"]?.poolUuid, "same template, no rebuild").to.equal(before["tmpl-b"]?.poolUuid);
    expect(await keys()).to.include(after["tmpl-b"]?.s3Key);
  });

  it("a failed Packer build fails the update with its failing step, leaves nothing behind, and the next up succeeds", async () => {
    const before = await built();
    const poolBefore = templatesOnPool()
      .map((t) => t.uuid)
      .sort();
    fs.writeFileSync(varFileA, `${originalA}# rebuild that fails\n`);
    pool.setFaults({ failImports: { times: 1 } });
    let failed: RunResult;
    try {
      failed = await pulumi(withConfig(["up", "--yes", "--skip-preview"]), { ok: false });
    } finally {
      pool.setFaults({});
    }
    expect(failed.code).to.not.equal(0);
    expect(failed.stdout + failed.stderr).to.match(
      /packer-build: the build of tmpl-a failed: .*FAILED at step/,
    );
    expect(
      templatesOnPool()
        .map((t) => t.uuid)
        .sort(),
      "no half-built template left",
    ).to.deep.equal(poolBefore);
    await noIncompleteUploads();
    const healed = await pulumi(withConfig(["up", "--yes", "--skip-preview"]));
    const after = await built();
    // The failed up's and this up's output in the message: a rebuild missing here must be explainable.
    const why = `failed up:\n${failed.stdout.slice(-4000)}\nnext up:\n${healed.stdout.slice(-4000)}`;
    expect(after["tmpl-a"]?.poolUuid, why).to.not.equal(before["tmpl-a"]?.poolUuid);
    expect(after["tmpl-b"], why).to.deep.equal(before["tmpl-b"]);
  });

  it("bad configuration fails in preview with the property named", async () => {
    const bad = path.join(work, `Pulumi.bad.yaml`);
    const cfg = yaml.load(fs.readFileSync(configFile, "utf8")) as { config: Record<string, unknown> };
    const templates = cfg.config["xcpng-templates:templates"] as Record<string, unknown>[];
    cfg.config["xcpng-templates:templates"] = [
      { ...templates[0], os: "windows" },
      { ...templates[1], packerTemplate: "packer/nope.pkr.hcl" },
    ];
    cfg.config["xcpng-templates:pool"] = {
      ...(cfg.config["xcpng-templates:pool"] as object),
      url: "not a url",
    };
    fs.writeFileSync(bad, yaml.dump(cfg));
    const r = await pulumi(["preview", "--config-file", bad], { ok: false });
    expect(r.code).to.not.equal(0);
    const text = r.stdout + r.stderr;
    expect(text).to.match(/templates\[0\]\.os: expected one of debian, ubuntu, but "windows"/);
    expect(text).to.match(/templates\[1\]\.packerTemplate: "packer\/nope.pkr.hcl" does not exist/);
    expect(text).to.match(/pool\.url: expected a URL/);
  });

  it("preview works with less power: a read-only pool account and read-only S3 keys, from the environment", async () => {
    s3Proxy.readOnly(true);
    try {
      const r = await pulumi(withConfig(["preview", "--expect-no-changes"]), {
        extraEnv: {
          XCPNG_POOL_USERNAME: "viewer",
          XCPNG_POOL_PASSWORD: VIEWER_PASSWORD,
          XCPNG_S3_ACCESS_KEY_ID: secrets.s3AccessKeyId,
          XCPNG_S3_SECRET_ACCESS_KEY: secrets.s3SecretAccessKey,
        },
      });
      expect(r.code).to.equal(0);
      expect(s3Proxy.writesRefused, "preview wrote nothing to the store").to.deep.equal([]);
    } finally {
      s3Proxy.readOnly(false);
    }
  });

  it("wrong pool credentials fail in preview, naming the setting to fix", async () => {
    await pulumi(withConfig(["config", "set", "--secret", "poolPassword"]), { input: "definitely-wrong" });
    try {
      const r = await pulumi(withConfig(["preview"]), { ok: false });
      expect(r.code).to.not.equal(0);
      expect(r.stdout + r.stderr).to.match(/pool.*SESSION_AUTHENTICATION_FAILED.*poolPassword/s);
    } finally {
      await pulumi(withConfig(["config", "set", "--secret", "poolPassword"]), {
        input: secrets.poolPassword,
      });
    }
  });

  // Late in the sequence: it leaves the next release's shim in state, so a preview with this release's code
  // afterwards shows every resource to update (the shim's code differs), as a real downgrade would.
  it("a provider release (serialized code differs) rebuilds and replaces nothing", async () => {
    const before = await built();
    const up = await pulumi(withConfig(["up", "--yes", "--skip-preview"]), {
      extraEnv: { XCPNG_PROVIDER_RELEASE: "e2e-next-release" },
    });
    expect(up.stdout).to.not.match(/replaced|created|deleted/);
    expect(await built()).to.deep.equal(before);
    await pulumi(withConfig(["preview", "--expect-no-changes"]), {
      extraEnv: { XCPNG_PROVIDER_RELEASE: "e2e-next-release" },
    });
  });

  it("destroy leaves no VM, VDI, object or upload behind", async () => {
    const vdisBefore = pool.engine.store.count("VDI");
    await pulumi(withConfig(["destroy", "--yes", "--skip-preview"]));
    expect(templatesOnPool()).to.deep.equal([]);
    expect(pool.engine.store.count("VDI")).to.be.below(vdisBefore);
    const buckets = await s3
      .send(new ListObjectsV2Command({ Bucket: bucket }))
      .catch((e: { name?: string }) => e);
    expect((buckets as { name?: string }).name, "bucket deleted (forceDestroy)").to.equal("NoSuchBucket");
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await noIncompleteUploads();
  });

  it("no password or key ever reached the state or the output", () => {
    const stateText = fs
      .readdirSync(path.join(work, "state"), { recursive: true })
      .map((f) => path.join(work, "state", String(f)))
      .filter((f) => fs.statSync(f).isFile())
      .map((f) => fs.readFileSync(f, "utf8"))
      .join("\n");
    const all = `${stateText}\n${output.join("\n")}\n${fs.readFileSync(configFile, "utf8")}`;
    expect(stateText.length).to.be.greaterThan(1000);
    for (const [name, value] of Object.entries(secrets)) {
      expect(all.includes(value), `${name} leaked`).to.equal(false);
    }
  });
});
