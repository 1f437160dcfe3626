/**
 * The optional compression around the tar stream (`export.ml` via `Gzip.Default.compress` / `Zstd.Default.compress`).
 *
 * `GET /export?use_compression=true|gzip` gives gzip, `=zstd` gives zstd, anything else a plain tar. There is no
 * Content-Encoding header: the importer sniffs the first bytes (plain tar whose first entry is `ova.xml`, else the
 * zstd magic `28 B5 2F FD`, else gzip), and so do we. Node 24's zlib has zstd built in.
 */
import { type Transform } from "node:stream";
import * as zlib from "node:zlib";
import { XvaInputError } from "./errors";

/** How the tar stream is wrapped. */
export type XvaCompression = "none" | "gzip" | "zstd";

/** Bytes needed to tell the three apart. */
export const COMPRESSION_SNIFF_BYTES = 4;

/**
 * Tells the compression from the first bytes of a stream: gzip magic `1F 8B`, zstd magic `28 B5 2F FD`, otherwise
 * taken as a plain tar (the tar layer then checks that the first entry is `ova.xml`).
 */
export function detectCompression(head: Uint8Array): XvaCompression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd)
    return "zstd";
  return "none";
}

/** A compressor for the given kind, or `undefined` for `none`. `level` is the codec's own level scale. */
export function createCompressor(compression: XvaCompression, level?: number): Transform | undefined {
  switch (compression) {
    case "none":
      return undefined;
    case "gzip":
      return zlib.createGzip(level === undefined ? {} : { level });
    case "zstd":
      return zlib.createZstdCompress(
        level === undefined ? {} : { params: { [zlib.constants.ZSTD_c_compressionLevel]: level } },
      );
    default:
      throw new XvaInputError(`unknown compression ${String(compression)}; expected none, gzip or zstd`);
  }
}

/** A decompressor for the given kind, or `undefined` for `none`. */
export function createDecompressor(compression: XvaCompression): Transform | undefined {
  switch (compression) {
    case "none":
      return undefined;
    case "gzip":
      return zlib.createGunzip();
    case "zstd":
      return zlib.createZstdDecompress();
    default:
      throw new XvaInputError(`unknown compression ${String(compression)}; expected none, gzip or zstd`);
  }
}
