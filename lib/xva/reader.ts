/**
 * The XVA reader: checks a stream the way xapi's importer does (`import.ml`, `stream_vdi.ml recv_all_vdi`) and
 * yields verified disk chunks.
 *
 * Rules enforced, each from xapi's importer (`ocaml/xapi/import.ml`, `ocaml/xapi/stream_vdi.ml`):
 * - the first entry is `ova.xml` (else `IMPORT_ERROR_UNEXPECTED_FILE`);
 * - disks come in `streamedDisks` order; each chunk name starts with the disk's id and its number increases under
 *   string comparison (else "Invalid XVA file");
 * - each chunk is followed immediately by its `.xxhash` or `.checksum` file, whose text must equal the checksum of
 *   the data exactly;
 * - positions are cumulative: `skipped = n - last - 1` chunks of **the first chunk file's length** are zeros, then
 *   the chunk's bytes. A zero-length chunk file is xapi's keep-alive and does not advance the position;
 * - a disk ends when `virtual_size` bytes are rebuilt.
 * Stricter than xapi, because we also check archives in transit: nothing may follow the last disk, a chunk may not
 * run past `virtual_size`, and the tar end blocks must be present.
 *
 * Memory: one chunk (1 MiB) is held until its checksum file has been read, plus the stream buffers; `ova.xml` is
 * read whole, capped by `maxOvaXmlBytes`.
 *
 * Layers: archive-input.ts (the bytes, compression sniffed), tar-entries.ts (decompression, tar entries, layer
 * failures), chunk-placement.ts (where each chunk lands); this file holds the order of the archive.
 */
import { openArchiveInput } from "./archive-input";
import { type XvaChecksumAlgorithm, checksumOfParts, loadChecksums } from "./checksum";
import { type DiskCursor, DISK_START, advance, checksumFileAlgorithm, placeChunk } from "./chunk-placement";
import type { XvaCompression } from "./compression";
import { OVA_XML_NAME, XVA_CHUNK_SIZE_BYTES } from "./constants";
import { XvaChecksumError, XvaFormatError } from "./errors";
import { type OvaXml, type XvaDiskInfo, parseOvaXml, streamedDisks } from "./ova-xml";
import { type TarFile, TarEntries, joined } from "./tar-entries";

/** Options of {@link parseXva}. */
export interface ParseXvaOptions {
  /**
   * Largest `ova.xml` accepted, in bytes; it is held in memory whole. Real ones are a few hundred KiB.
   * @default 64 MiB
   */
  maxOvaXmlBytes?: number;
}

/** Per-disk totals, in the `disk-end` event and the final summary. */
export interface XvaDiskSummary {
  id: string;
  virtualSize: number;
  /** Chunk files with data (keep-alives not counted). */
  chunks: number;
  /** Zero-length keep-alive chunk files (xapi writes one after 5 s without output). */
  keepAlives: number;
  /** Bytes of chunk data carried in the archive (the rest of the disk is zeros). */
  dataBytes: number;
  /** Checksum kinds seen for this disk's chunks. */
  checksums: XvaChecksumAlgorithm[];
}

/** What a whole archive held, in the `end` event. */
export interface XvaSummary {
  header: OvaXml;
  compression: XvaCompression;
  disks: XvaDiskSummary[];
  /** Bytes of the (decompressed) tar stream. */
  tarBytes: number;
}

/** One step of reading an archive. Chunks arrive only after their checksum has been verified. */
export type XvaEvent =
  | { type: "header"; header: OvaXml; disks: XvaDiskInfo[]; compression: XvaCompression }
  | { type: "disk-start"; disk: XvaDiskInfo }
  | {
      type: "chunk";
      disk: XvaDiskInfo;
      /** Tar entry name, e.g. `Ref:3/00000007`. */
      name: string;
      /** The number in the entry name (not always offset / 1 MiB: keep-alives shift it). */
      index: number;
      /** Byte offset of `data` in the disk. */
      offset: number;
      /**
       * The chunk's bytes. Built on first access by joining `parts` (one copy); consumers that can take a list of
       * buffers (hashing, `writev`) should use `parts` and skip that copy.
       */
      data: Buffer;
      /** The chunk's bytes as received, in order: views of the input buffers, never copied. */
      parts: readonly Buffer[];
      checksum: { algorithm: XvaChecksumAlgorithm; value: string };
    }
  | { type: "disk-end"; disk: XvaDiskInfo; summary: XvaDiskSummary }
  | { type: "end"; summary: XvaSummary };

type ChunkEvent = Extract<XvaEvent, { type: "chunk" }>;

/** A chunk event whose `data` is joined from `parts` only when someone reads it. */
function chunkEvent(
  disk: XvaDiskInfo,
  file: TarFile,
  index: number,
  offset: number,
  checksum: { algorithm: XvaChecksumAlgorithm; value: string },
): ChunkEvent {
  let data: Buffer | undefined;
  return {
    type: "chunk",
    disk,
    name: file.name,
    index,
    offset,
    parts: file.parts,
    get data(): Buffer {
      data ??= joined(file);
      return data;
    },
    checksum,
  };
}

/**
 * Reads an XVA (plain, gzip or zstd, detected from the first bytes) and yields its header, then every disk's
 * verified chunks, then a summary. Pull-based: the archive is read only as fast as the consumer iterates, so a
 * consumer that awaits its writes gets backpressure for free.
 *
 * Throws {@link XvaFormatError} (bad layout, truncation, corrupt layers) or {@link XvaChecksumError} (a chunk that
 * does not match its checksum file). Leaving the loop early stops reading and releases the input.
 *
 * @param input the archive bytes, e.g. an HTTP response body, a file read stream, or an array of buffers.
 */
export async function* parseXva(
  input: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: ParseXvaOptions = {},
): AsyncGenerator<XvaEvent, void, undefined> {
  await loadChecksums();
  const archive = await openArchiveInput(input);
  const { compression } = archive;
  const tar = new TarEntries(archive);
  try {
    const header = await readHeader(tar, options.maxOvaXmlBytes ?? 64 * 1024 * 1024);
    const disks = streamedDisks(header);
    yield { type: "header", header, disks, compression };

    const summaries: XvaDiskSummary[] = [];
    const stream = { firstChunkLength: -1 }; // xapi: the first chunk file's length sizes every gap, on every disk
    for (const disk of disks) {
      yield { type: "disk-start", disk };
      const summary = yield* readDisk(tar, disk, stream);
      summaries.push(summary);
      yield { type: "disk-end", disk, summary };
    }

    await expectArchiveEnd(tar);
    yield { type: "end", summary: { header, compression, disks: summaries, tarBytes: tar.tarBytes } };
  } finally {
    // On success the input has ended. Otherwise stop reading and release the input (e.g. destroy an HTTP body)
    // without waiting: a stalled input must not hang the caller.
    tar.close();
    archive.release();
  }
}

/** The first entry, which must be `ova.xml` (xapi: IMPORT_ERROR_UNEXPECTED_FILE otherwise), parsed. */
async function readHeader(tar: TarEntries, maxOvaXmlBytes: number): Promise<OvaXml> {
  const ova = await tar.nextFile(maxOvaXmlBytes, OVA_XML_NAME);
  if (ova === undefined) {
    throw new XvaFormatError("NOT_XVA", "the stream holds no tar entry at all; it is empty or not an XVA");
  }
  if (ova.name !== OVA_XML_NAME) {
    throw new XvaFormatError(
      "NOT_XVA",
      `the first entry is ${ova.name}, but an XVA starts with ${OVA_XML_NAME} (xapi: IMPORT_ERROR_UNEXPECTED_FILE)`,
      { entry: ova.name },
    );
  }
  return parseOvaXml(joined(ova).toString("utf8"));
}

/**
 * One disk's chunk files, each with its checksum file, until `virtual_size` bytes are rebuilt: yields the
 * verified chunks that carry data (keep-alives are counted, not yielded) and returns the disk's summary.
 */
async function* readDisk(
  tar: TarEntries,
  disk: XvaDiskInfo,
  stream: { firstChunkLength: number },
): AsyncGenerator<ChunkEvent, XvaDiskSummary, undefined> {
  const summary: XvaDiskSummary = {
    id: disk.id,
    virtualSize: disk.virtualSize,
    chunks: 0,
    keepAlives: 0,
    dataBytes: 0,
    checksums: [],
  };
  let cursor: DiskCursor = DISK_START;
  while (cursor.offset < disk.virtualSize) {
    const chunk = await tar.nextFile(XVA_CHUNK_SIZE_BYTES, `a chunk of ${disk.id}`);
    if (chunk === undefined) {
      throw new XvaFormatError(
        "TRUNCATED",
        `the archive ends inside disk ${disk.id} at offset ${cursor.offset} of ${disk.virtualSize}; the transfer was cut short`,
      );
    }
    const placed = placeChunk(disk, cursor, stream.firstChunkLength, chunk.name, chunk.size);
    stream.firstChunkLength = placed.firstChunkLength;
    const checksum = await readChecksum(tar, disk, chunk, placed.offset);
    if (!summary.checksums.includes(checksum.algorithm)) summary.checksums.push(checksum.algorithm);
    if (chunk.size === 0) {
      summary.keepAlives += 1;
    } else {
      summary.chunks += 1;
      summary.dataBytes += chunk.size;
      yield chunkEvent(disk, chunk, placed.number, placed.offset, checksum);
    }
    cursor = advance(placed, chunk.size);
  }
  return summary;
}

/**
 * The checksum file that must follow `chunk` (`.xxhash` or `.checksum`), checked against the chunk's data: its
 * text must equal the checksum exactly (xapi compares the strings), else {@link XvaChecksumError}.
 */
async function readChecksum(
  tar: TarEntries,
  disk: XvaDiskInfo,
  chunk: TarFile,
  offset: number,
): Promise<{ algorithm: XvaChecksumAlgorithm; value: string }> {
  const sumFile = await tar.nextFile(64, `the checksum of ${chunk.name}`, (name) => {
    if (checksumFileAlgorithm(chunk.name, name) === undefined) {
      throw new XvaFormatError(
        "UNEXPECTED_ENTRY",
        `chunk ${chunk.name} must be followed by ${chunk.name}.xxhash or ${chunk.name}.checksum, but ${name} follows`,
        { entry: name },
      );
    }
  });
  if (sumFile === undefined) {
    throw new XvaFormatError("TRUNCATED", `the archive ends after ${chunk.name}, before its checksum file`, {
      entry: chunk.name,
    });
  }
  const algorithm = checksumFileAlgorithm(chunk.name, sumFile.name) as XvaChecksumAlgorithm;
  const expected = joined(sumFile).toString("latin1");
  const actual = checksumOfParts(algorithm, chunk.parts);
  if (expected !== actual) {
    throw new XvaChecksumError({ disk: disk.id, chunk: chunk.name, offset, algorithm, expected, actual });
  }
  return { algorithm, value: expected };
}

/** Nothing may follow the last disk (xapi ignores it; we check archives in transit), and the tar end blocks must be there. */
async function expectArchiveEnd(tar: TarEntries): Promise<void> {
  const extra = await tar.next();
  if (extra !== undefined) {
    throw new XvaFormatError(
      "UNEXPECTED_ENTRY",
      `entry ${extra.header.name} follows the last disk, but an XVA (export_vsn 2) ends there`,
      { entry: extra.header.name },
    );
  }
  await tar.finish();
}
