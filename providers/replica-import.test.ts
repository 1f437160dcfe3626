import { expect } from "chai";
import { parseManifest, pointerProblems, type ReplicaBuild, type ReplicaManifest } from "./replica-import";

const build: ReplicaBuild = {
  buildId: "b1",
  key: "st/debian/12/20260101T000000Z/t.xva",
  manifestKey: "st/debian/12/20260101T000000Z/t.manifest.json",
  sha256: "a".repeat(64),
  sizeBytes: 1000,
};
const manifest: ReplicaManifest = {
  key: build.key,
  sha256: build.sha256,
  sizeBytes: 1000,
  os: "debian",
  version: "12",
  buildId: "b1",
};

describe("replica import: the manifest", () => {
  const full = {
    schema: "xcpng-templates/manifest@1",
    key: build.key,
    sha256: build.sha256,
    sizeBytes: 1000,
    os: "debian",
    version: "12",
    build: { buildId: "b1" },
  };
  const cases: ReadonlyArray<[string, string, ReplicaManifest | RegExp]> = [
    ["as the Artifact provider writes it", JSON.stringify(full), manifest],
    [
      "with a compression",
      JSON.stringify({ ...full, compression: "zstd" }),
      { ...manifest, compression: "zstd" },
    ],
    ["not JSON", "{", /^it is not JSON/],
    [
      "fields missing",
      JSON.stringify({ key: "k" }),
      /^it lacks sha256, sizeBytes, os, version, build\.buildId$/,
    ],
    [
      "an unknown compression",
      JSON.stringify({ ...full, compression: "xz" }),
      /compression is "xz", expected one of none, gzip, zstd/,
    ],
  ];
  for (const [when, text, want] of cases) {
    it(when, () => {
      const got = parseManifest(text);
      if (want instanceof RegExp) expect(got).to.be.a("string").and.match(want);
      else expect(got).to.deep.equal(want);
    });
  }
});

describe("replica import: pointer, manifest and object agree before any byte goes to the pool", () => {
  const cases: ReadonlyArray<{
    when: string;
    build?: Partial<ReplicaBuild>;
    manifest?: Partial<ReplicaManifest>;
    object?: { contentLength?: number; contentType?: string };
    problems: RegExp[];
    compression?: string;
  }> = [
    { when: "all agree", problems: [] },
    {
      when: "the manifest names another key",
      manifest: { key: "other" },
      problems: [/manifest's key is other/],
    },
    { when: "another build", manifest: { buildId: "b0" }, problems: [/build id is b0, the pointer's b1/] },
    { when: "another digest", manifest: { sha256: "b".repeat(64) }, problems: [/manifest's sha256/] },
    {
      when: "the object's size differs (replaced in the store)",
      object: { contentLength: 999 },
      problems: [/object holds 999 bytes, the pointer says 1000/],
    },
    { when: "no length from the store", object: {}, problems: [/object holds undefined bytes/] },
    {
      when: "compression from the pointer",
      build: { compression: "zstd" },
      problems: [],
      compression: "zstd",
    },
    {
      when: "compression from the manifest",
      manifest: { compression: "gzip" },
      problems: [],
      compression: "gzip",
    },
    {
      when: "compression from the object's Content-Type (as the Artifact provider stores it)",
      object: { contentLength: 1000, contentType: "application/gzip" },
      problems: [],
      compression: "gzip",
    },
    {
      when: "a Content-Type that says nothing of compression (an older object)",
      object: { contentLength: 1000, contentType: "application/octet-stream" },
      problems: [],
    },
    {
      when: "the object's Content-Type disagrees with the manifest",
      manifest: { compression: "zstd" },
      object: { contentLength: 1000, contentType: "application/x-tar" },
      problems: [/declared as zstd by the manifest, none by the object's Content-Type/],
      compression: "zstd",
    },
    {
      when: "declarations that disagree",
      build: { compression: "zstd" },
      manifest: { compression: "gzip" },
      problems: [/declared as zstd by the pointer, gzip by the manifest/],
      compression: "zstd",
    },
  ];
  for (const c of cases) {
    it(c.when, () => {
      const got = pointerProblems(
        { ...build, ...c.build },
        { ...manifest, ...c.manifest },
        c.object ?? { contentLength: 1000 },
      );
      expect(got.problems).to.have.length(c.problems.length);
      c.problems.forEach((re, i) => expect(got.problems[i]).to.match(re));
      expect(got.compression).to.equal(c.compression);
    });
  }
});
