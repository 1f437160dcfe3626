import type { ArtifactCompression } from "./catalogue-document";

/**
 * How an artifact's compression is asked for and stored.
 *
 * xapi compresses the whole export stream when `GET /export` says `use_compression=true|gzip` (gzip) or `=zstd`
 * (zstd, XCP-ng 8.3), anything else giving a plain tar (ocaml/xapi/export.ml); its importer recognises all three
 * from the first bytes, as lib/xva's reader does. The object keeps its `.xva` name and is stored as it came, with
 * the media type of what it is (`application/zstd`, RFC 8878; `application/gzip`, RFC 6713; a plain XVA is a tar),
 * and no Content-Encoding: a Content-Encoding would let HTTP clients (a browser, `curl --compressed`) decompress
 * it on the way, so the file saved would no longer have the SHA-256 the manifest and the index publish.
 */

/** The `use_compression` value of `GET /export` for a compression. */
export function exportCompressionParam(c: ArtifactCompression): string {
  return c === "none" ? "false" : c;
}

/** The Content-Type of a stored artifact ({@link compressionOfContentType} reads it back). */
export function artifactContentType(c: ArtifactCompression): string {
  switch (c) {
    case "zstd":
      return "application/zstd";
    case "gzip":
      return "application/gzip";
    case "none":
      return "application/x-tar";
  }
}

/** The compression a stored artifact's Content-Type says; undefined for any other type (an older object). */
export function compressionOfContentType(contentType: string | undefined): ArtifactCompression | undefined {
  const t = (contentType ?? "").split(";")[0]?.trim().toLowerCase();
  const all: readonly ArtifactCompression[] = ["none", "gzip", "zstd"];
  return all.find((c) => artifactContentType(c) === t);
}
