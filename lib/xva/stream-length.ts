/**
 * Length of an uncompressed XVA tar stream, to size multipart uploads before the first byte arrives (xapi sends
 * no Content-Length on `/export`). Each entry is a 512-byte header plus its data padded to 512 bytes; the archive
 * ends with two zero blocks.
 */
import { chunkCount, chunkLength } from "./chunks";
import { TAR_BLOCK_BYTES } from "./constants";

function padded(n: number): number {
  return Math.ceil(n / TAR_BLOCK_BYTES) * TAR_BLOCK_BYTES;
}

/** Tar bytes of one chunk and its checksum file (the checksum text, 16 or 40 bytes, pads to one block). */
function chunkEntriesBytes(length: number): number {
  return TAR_BLOCK_BYTES + padded(length) + TAR_BLOCK_BYTES + TAR_BLOCK_BYTES;
}

/**
 * Exact tar length of an archive whose disks carry the given chunks (e.g. from `planDiskChunks`).
 * @param ovaXmlBytes UTF-8 length of `ova.xml`.
 */
export function xvaTarLength(
  ovaXmlBytes: number,
  disks: readonly { virtualSize: number; emitted: readonly number[] }[],
): number {
  let total = TAR_BLOCK_BYTES + padded(ovaXmlBytes) + 2 * TAR_BLOCK_BYTES;
  for (const d of disks) for (const i of d.emitted) total += chunkEntriesBytes(chunkLength(d.virtualSize, i));
  return total;
}

/**
 * Upper bound of the tar length when every chunk is carried (a fully allocated disk), with no keep-alive entries.
 * A compressed stream of incompressible data can exceed it by the codec's framing (well under 1 %).
 * @param ovaXmlBytes UTF-8 length of `ova.xml` (an estimate of a few hundred KiB is safe when unknown).
 * @param virtualSizes bytes of each streamed disk.
 */
export function xvaTarLengthBound(ovaXmlBytes: number, virtualSizes: readonly number[]): number {
  return xvaTarLength(
    ovaXmlBytes,
    virtualSizes.map((virtualSize) => ({
      virtualSize,
      emitted: Array.from({ length: chunkCount(virtualSize) }, (_, i) => i),
    })),
  );
}
