import { expect } from "chai";
import {
  artifactContentType,
  compressionOfContentType,
  exportCompressionParam,
} from "./artifact-compression";
import type { ArtifactCompression } from "./catalogue-document";

describe("artifact compression: what is asked of the pool, and how the object is typed", () => {
  const cases: ReadonlyArray<[ArtifactCompression, string, string]> = [
    ["none", "false", "application/x-tar"],
    ["gzip", "gzip", "application/gzip"],
    ["zstd", "zstd", "application/zstd"],
  ];
  for (const [c, param, type] of cases)
    it(`${c}: use_compression=${param}, Content-Type ${type}`, () => {
      expect(exportCompressionParam(c)).to.equal(param);
      expect(artifactContentType(c)).to.equal(type);
      expect(compressionOfContentType(type)).to.equal(c);
    });

  const others: ReadonlyArray<[string | undefined, ArtifactCompression | undefined]> = [
    ["application/zstd; charset=binary", "zstd"],
    ["Application/GZIP", "gzip"],
    ["application/octet-stream", undefined],
    ["", undefined],
    [undefined, undefined],
  ];
  for (const [type, want] of others)
    it(`Content-Type ${JSON.stringify(type)} reads as ${String(want)}`, () =>
      expect(compressionOfContentType(type)).to.equal(want));
});
