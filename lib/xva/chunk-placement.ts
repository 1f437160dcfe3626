/**
 * Where a chunk of an archive lands in its disk, decided as xapi's importer does (`ocaml/xapi/stream_vdi.ml`,
 * `recv_all_vdi`), and which checksum file may follow it.
 *
 * - A chunk's name is `<disk id>/<number>`, and the numbers increase under **string** comparison;
 * - positions are cumulative: `skipped = number - last - 1` chunks of **the first chunk file's length** (the
 *   stream's first, over all disks) are zeros, then the chunk's bytes;
 * - a chunk may not run past `virtual_size` (stricter than xapi, which would write past it);
 * - xapi sizes gaps by the first chunk file, so a gap after a first chunk file shorter than 1 MiB would be rebuilt
 *   with the wrong size: refused rather than guessed (our writer never produces it).
 */
import { type XvaChecksumAlgorithm, CHECKSUM_EXTENSION } from "./checksum";
import { XVA_CHUNK_SIZE_BYTES } from "./constants";
import { XvaFormatError } from "./errors";

/** What the reader keeps between two chunks of one disk. */
export interface DiskCursor {
  /** Bytes of the disk rebuilt so far. */
  readonly offset: number;
  /** The last chunk's number as written (xapi compares them as strings); "-1" before the first. */
  readonly lastSuffix: string;
  readonly lastNumber: number;
}

export const DISK_START: DiskCursor = { offset: 0, lastSuffix: "-1", lastNumber: -1 };

/** Where a chunk file lands. */
export interface PlacedChunk {
  /** The number in its name. */
  readonly number: number;
  readonly suffix: string;
  /** Byte offset of its data in the disk. */
  readonly offset: number;
  /** The length of the stream's first chunk file: this one's, when it is the first. */
  readonly firstChunkLength: number;
}

/**
 * Places chunk file `name` of `size` bytes after `cursor` in `disk`, or throws the {@link XvaFormatError} xapi's
 * rules call for. `firstChunkLength` is the length of the stream's first chunk file, or -1 before it.
 */
export function placeChunk(
  disk: { readonly id: string; readonly virtualSize: number },
  cursor: DiskCursor,
  firstChunkLength: number,
  name: string,
  size: number,
): PlacedChunk {
  const prefix = `${disk.id}/`;
  const where = `disk ${disk.id} at offset ${cursor.offset} of ${disk.virtualSize}`;
  const suffix = name.startsWith(prefix) ? name.slice(prefix.length) : undefined;
  if (suffix === undefined || !/^\d+$/.test(suffix)) {
    throw new XvaFormatError(
      "UNEXPECTED_ENTRY",
      `expected a chunk of ${where} (named ${prefix}NNNNNNNN), but found ${name}`,
      { entry: name },
    );
  }
  if (suffix <= cursor.lastSuffix) {
    throw new XvaFormatError(
      "UNEXPECTED_ENTRY",
      `chunk ${name} comes after ${prefix}${cursor.lastSuffix}; chunk numbers must increase (xapi: Invalid XVA file)`,
      { entry: name },
    );
  }
  const number = Number(suffix);
  const first = firstChunkLength < 0 ? size : firstChunkLength;
  const skipped = number - cursor.lastNumber - 1;
  if (skipped > 0 && first !== XVA_CHUNK_SIZE_BYTES) {
    throw new XvaFormatError(
      "UNSUPPORTED_LAYOUT",
      `chunk ${name} leaves a gap of ${skipped} chunk(s), but the stream's first chunk file is ${first} bytes, ` +
        `not 1 MiB, so xapi would rebuild the gap with the wrong size; re-export so that the smallest disk is not ` +
        `first, or with every chunk present`,
      { entry: name },
    );
  }
  const offset = cursor.offset + skipped * first;
  if (offset + size > disk.virtualSize) {
    throw new XvaFormatError(
      "OVERSIZED",
      `chunk ${name} covers bytes ${offset}..${offset + size}, past the end of disk ${disk.id} ` +
        `(virtual_size ${disk.virtualSize}); the archive is inconsistent with its ova.xml`,
      { entry: name },
    );
  }
  return { number, suffix, offset, firstChunkLength: first };
}

/** The cursor after a placed chunk of `size` bytes. */
export function advance(chunk: PlacedChunk, size: number): DiskCursor {
  return { offset: chunk.offset + size, lastSuffix: chunk.suffix, lastNumber: chunk.number };
}

/**
 * The checksum algorithm of the file that follows chunk `chunkName`: `<chunk>.xxhash` or `<chunk>.checksum`
 * (SHA-1); undefined for any other name.
 */
export function checksumFileAlgorithm(chunkName: string, fileName: string): XvaChecksumAlgorithm | undefined {
  if (fileName === chunkName + CHECKSUM_EXTENSION.xxhash) return "xxhash";
  if (fileName === chunkName + CHECKSUM_EXTENSION.sha1) return "sha1";
  return undefined;
}
