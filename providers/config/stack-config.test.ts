import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseStackConfig, parseJsonValue } from "./stack-config";
import { ValidationError } from "./errors";

const ROOT = path.resolve(__dirname, "../..");

const good = () => ({
  pool: { url: "https://pool.example.org", username: "root" },
  s3: { endpoint: "https://s3.example.org", region: "eu-west-1", bucket: "golden-templates" },
  templates: [
    { name: "debian-12", packerTemplate: "package.json", os: "debian", version: "12", tags: ["golden"] },
  ],
});

function failuresOf(raw: Parameters<typeof parseStackConfig>[0]): Record<string, string> {
  try {
    parseStackConfig(raw, ROOT);
  } catch (e) {
    expect(e).to.be.instanceOf(ValidationError);
    return Object.fromEntries((e as ValidationError).failures.map((f) => [f.property, f.reason]));
  }
  throw new Error("expected a ValidationError");
}

describe("stack config", () => {
  it("accepts a complete configuration and fills defaults", () => {
    const c = parseStackConfig(good(), ROOT);
    expect(c.pool).to.deep.equal({
      url: "https://pool.example.org",
      username: "root",
      insecureSkipVerify: false,
    });
    expect(c.s3.forcePathStyle, "path-style by default with an endpoint").to.equal(true);
    expect(c.s3.forceDestroy).to.equal(false);
    expect(c.templates[0]).to.include({ name: "debian-12", os: "debian", version: "12", retention: 5 });
    expect(c.compression, "zstd unless the stack says otherwise").to.equal("zstd");
  });

  const compressions: ReadonlyArray<[unknown, string | RegExp]> = [
    ["none", "none"],
    ["gzip", "gzip"],
    ["zstd", "zstd"],
    ["xz", /^expected one of none, gzip, zstd .*but "xz" was provided$/],
    ["ZSTD", /but "ZSTD" was provided/],
    [true, /but true was provided/],
  ];
  for (const [given, want] of compressions)
    it(`compression ${JSON.stringify(given)}: ${String(want)}`, () => {
      if (typeof want === "string")
        expect(parseStackConfig({ ...good(), compression: given }, ROOT).compression).to.equal(want);
      else expect(failuresOf({ ...good(), compression: given }).compression).to.match(want);
    });

  it("names every wrong property at once, with what was expected and what was given", () => {
    const raw = good();
    const f = failuresOf({
      ...raw,
      pool: { url: "ftp://x", username: "" },
      s3: { ...raw.s3, bucket: "Bad_Bucket" },
      templates: [{ name: "debian-12", packerTemplate: "nope.pkr.hcl", os: "windows", version: "twelve" }],
    });
    expect(f["pool.url"]).to.match(/expected a https or http URL, but "ftp:\/\/x" was provided/);
    expect(f["pool.username"]).to.match(/is required/);
    expect(f["s3.bucket"]).to.match(/"Bad_Bucket" was provided/);
    expect(f["templates[0].packerTemplate"]).to.match(/"nope.pkr.hcl" does not exist/);
    expect(f["templates[0].os"]).to.match(/expected one of debian, ubuntu, but "windows"/);
    expect(f["templates[0].version"]).to.match(/"twelve"/);
  });

  it("refuses what the build would refuse (one rule table): an underscore in a template name", () => {
    const f = failuresOf({ ...good(), templates: [{ ...good().templates[0], name: "debian_12" }] });
    expect(f["templates[0].name"]).to.match(
      /expected 1-63 lowercase letters, digits, '.' or '-'.*"debian_12" was provided/,
    );
  });

  it("refuses an unquoted numeric version, with the fix", () => {
    // YAML reads `version: 24.10` as the number 24.1.
    const f = failuresOf({
      ...good(),
      templates: [{ ...good().templates[0], version: 24.1 as unknown as string }],
    });
    expect(f["templates[0].version"]).to.match(/the number 24.1 was provided.*Quote it.*version: "24.1"/);
  });

  it("refuses credentials embedded in URLs", () => {
    const f = failuresOf({ ...good(), pool: { url: "https://root:hunter2@pool", username: "root" } });
    expect(f["pool.url"]).to.match(/must not embed credentials/);
    expect(f["pool.url"]).to.not.include("hunter2");
  });

  it("refuses duplicate template names and paths leaving the project", () => {
    const t = good().templates[0];
    const f = failuresOf({ ...good(), templates: [t, { ...t, packerTemplate: "../etc/passwd" }] });
    expect(f["templates[1].name"]).to.match(/used by another template/);
    expect(f["templates[1].packerTemplate"]).to.match(/expected a path inside the project/);
  });

  it("refuses a pin without a CA: Packer cannot check a fingerprint, the build would run unpinned", () => {
    const fp = "ab".repeat(32);
    const f = failuresOf({ ...good(), pool: { ...good().pool, certificateFingerprint: fp } });
    expect(f["pool.certificateFingerprint"]).to.match(
      /Packer cannot check a fingerprint.*pool\.caCertificate/,
    );
  });

  it("normalizes a certificate fingerprint and rejects a malformed one", () => {
    const fp = "AB:".repeat(31) + "AB";
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    const ok = parseStackConfig(
      { ...good(), pool: { ...good().pool, certificateFingerprint: fp, caCertificate: pem } },
      ROOT,
    );
    expect(ok.pool.certificateFingerprint).to.equal("ab".repeat(32));
    const f = failuresOf({ ...good(), pool: { ...good().pool, certificateFingerprint: "abc" } });
    expect(f["pool.certificateFingerprint"]).to.match(/64 hex digits/);
  });

  it("requires an endpoint unless the store is AWS", () => {
    const f = failuresOf({ ...good(), s3: { region: "eu-west-1", bucket: "b-1" } });
    expect(f["s3.endpoint"]).to.match(/required unless s3.aws/);
    const c = parseStackConfig({ ...good(), s3: { region: "eu-west-1", bucket: "b-1", aws: true } }, ROOT);
    expect(c.s3.aws).to.equal(true);
    expect(c.s3.forcePathStyle).to.equal(false);
  });

  it("parses JSON config text and reports unparsable text by property", () => {
    expect(parseJsonValue('{"a":1}', "pool")).to.deep.equal({ a: 1 });
    expect(() => parseJsonValue("{", "pool")).to.throw(ValidationError, /pool: expected a structured/);
  });
});

describe("stack config: CA certificates", () => {
  it("reads a CA certificate from a file and refuses a file that is not PEM", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ca-"));
    try {
      fs.writeFileSync(
        path.join(dir, "ca.pem"),
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
      );
      fs.writeFileSync(path.join(dir, "junk.pem"), "hello");
      fs.writeFileSync(path.join(dir, "t.pkr.hcl"), "");
      const raw = {
        ...good(),
        pool: { url: "https://p", username: "root", caCertificateFile: "ca.pem" },
        templates: [{ name: "t", packerTemplate: "t.pkr.hcl", os: "debian", version: "12" }],
      };
      expect(parseStackConfig(raw, dir).pool.caCertificate).to.match(/BEGIN CERTIFICATE/);
      expect(() =>
        parseStackConfig({ ...raw, pool: { ...raw.pool, caCertificateFile: "junk.pem" } }, dir),
      ).to.throw(ValidationError, /pool.caCertificateFile: expected a PEM certificate/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
