/**
 * The XVA reader: checks a stream the way xapi's importer does (`import.ml`, `stream_vdi.ml recv_all_vdi`) and
 * yields verified disk chunks.
 *
 * Rules enforced, each from xapi's importer:
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
 */
import { Readable, pipeline } from "node:stream";
import * as tar from "tar-stream";
import { type XvaChecksumAlgorithm, CHECKSUM_EXTENSION, checksumOfParts, loadChecksums } from "./checksum";
import {
  COMPRESSION_SNIFF_BYTES,
  type XvaCompression,
  createDecompressor,
  detectCompression,
} from "./compression";
import { OVA_XML_NAME, TAR_BLOCK_BYTES, XVA_CHUNK_SIZE_BYTES } from "./constants";
import { XvaChecksumError, XvaFormatError, toError } from "./errors";
import { type OvaXml, type XvaDiskInfo, parseOvaXml, streamedDisks } from "./ova-xml";
import { chunksOf } from "./stream-chunks";

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

/** One entry of tar-stream's extractor (its type is not exported). */
type TarEntry = tar.Extract extends AsyncIterable<infer S> ? S : never;

interface TarFile {
  name: string;
  size: number;
  /** The entry's bytes as they arrived (views of the input buffers, not copies). */
  parts: Buffer[];
  /** Offset in the tar stream just past this entry's padded data. */
  end: number;
}

function joined(file: TarFile): Buffer {
  return file.parts.length === 1 ? (file.parts[0] as Buffer) : Buffer.concat(file.parts, file.size);
}

/** A chunk event whose `data` is joined from `parts` only when someone reads it. */
function chunkEvent(
  disk: XvaDiskInfo,
  file: TarFile,
  index: number,
  offset: number,
  checksum: { algorithm: XvaChecksumAlgorithm; value: string },
): Extract<XvaEvent, { type: "chunk" }> {
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

function roundUpBlock(n: number): number {
  return Math.ceil(n / TAR_BLOCK_BYTES) * TAR_BLOCK_BYTES;
}

/** Error codes of an input that stopped mid-way (connection reset or closed, timeouts): the archive is cut short. */
const INPUT_CUT_CODES = new Set([
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "ERR_STREAM_PREMATURE_CLOSE",
  "UND_ERR_SOCKET",
  "UND_ERR_ABORTED",
]);

/** Maps errors of the input, tar and compression layers to {@link XvaFormatError}; ours pass through. */
function mapLayerError(err: unknown, compression: XvaCompression, entry?: string): Error {
  if (err instanceof XvaFormatError || err instanceof XvaChecksumError) return err;
  const e = toError(err);
  const code = (e as { code?: unknown }).code;
  const opts = entry === undefined ? { cause: e } : { cause: e, entry };
  if (
    (typeof code === "string" && INPUT_CUT_CODES.has(code)) ||
    /aborted|premature close|socket hang up/i.test(e.message)
  ) {
    return new XvaFormatError(
      "TRUNCATED",
      `the input failed before the end of the archive (${e.message}); the transfer was cut short: export again`,
      opts,
    );
  }
  if (/unexpected end/i.test(e.message) || code === "Z_BUF_ERROR") {
    return new XvaFormatError(
      "TRUNCATED",
      `the ${compression === "none" ? "tar" : compression} stream ends in the middle (${e.message}); ` +
        `the transfer was cut short: export again`,
      opts,
    );
  }
  if (typeof code === "string" && /^(Z_|ERR_ZLIB|ERR_ZSTD|ZSTD)/.test(code)) {
    return new XvaFormatError(
      "CORRUPT",
      `the ${compression} layer is corrupt (${e.message}); export again`,
      opts,
    );
  }
  if (/tar header|Invalid header|Header exceeds/i.test(e.message)) {
    return new XvaFormatError("CORRUPT", `a tar header is corrupt (${e.message}); export again`, opts);
  }
  // Anything else from these layers is still a failure to read the archive: keep callers on typed errors.
  return new XvaFormatError("CORRUPT", `reading the archive failed (${e.message}); export again`, opts);
}

/** Reads the input's first bytes to pick the decompressor, then hands back an iterable of the whole input. */
async function sniff(
  input: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Promise<{ compression: XvaCompression; bytes: AsyncGenerator<Buffer>; release: () => void }> {
  // A Node stream is read through chunksOf: its own async iterator would re-concatenate buffered chunks.
  const readable = input instanceof Readable ? input : undefined;
  const source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = readable ? chunksOf(readable) : input;
  const it: AsyncIterator<Uint8Array> | Iterator<Uint8Array> =
    Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  const head: Buffer[] = [];
  let headLength = 0;
  let done = false;
  while (headLength < COMPRESSION_SNIFF_BYTES) {
    const r = await it.next();
    if (r.done === true) {
      done = true;
      break;
    }
    const b = Buffer.isBuffer(r.value)
      ? r.value
      : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    head.push(b);
    headLength += b.byteLength;
  }
  const first = Buffer.concat(head);
  const bytes = async function* (): AsyncGenerator<Buffer> {
    try {
      if (first.byteLength > 0) yield first;
      while (!done) {
        const r = await it.next();
        if (r.done === true) return;
        yield Buffer.isBuffer(r.value)
          ? r.value
          : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
      }
    } finally {
      if (!done) await it.return?.();
    }
  };
  // Ends the input directly (a Node stream's iterator destroys it), even while a read is pending on it.
  const release = (): void => {
    if (done) return;
    done = true;
    if (readable !== undefined) readable.destroy();
    else Promise.resolve(it.return?.()).catch(() => undefined);
  };
  return { compression: detectCompression(first), bytes: bytes(), release };
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
  const maxOvaXml = options.maxOvaXmlBytes ?? 64 * 1024 * 1024;
  await loadChecksums();
  const { compression, bytes, release } = await sniff(input);

  // Plain tar: the input's own buffers go straight to the extractor. Compressed: through zlib, whose output buffers
  // are taken as they come (chunksOf) rather than re-concatenated.
  const decompressor = createDecompressor(compression);
  const raw = decompressor === undefined ? undefined : Readable.from(bytes, { objectMode: true });
  const tarChunks: AsyncIterable<Buffer> =
    decompressor === undefined ? bytes : chunksOf(pipeline(raw as Readable, decompressor, () => {}));
  let tarBytes = 0;
  // xapi writes V7 headers (no "ustar" magic, ocaml-tar's default level), which tar-stream reads only with this flag;
  // its type declarations do not list the option.
  const extract = tar.extract({ allowUnknownFormat: true } as Parameters<typeof tar.extract>[0]);

  // Feed the extractor by hand: tar-stream is a streamx stream, so Node's pipeline stops at the Node side.
  let pumpError: Error | undefined;
  let stopped = false;
  const pump = (async () => {
    try {
      for await (const chunk of tarChunks) {
        if (stopped) break;
        tarBytes += chunk.byteLength;
        if (!extract.write(chunk)) {
          await new Promise<void>((resolve, reject) => {
            const onDrain = () => {
              extract.off("close", onClose);
              resolve();
            };
            const onClose = () => {
              extract.off("drain", onDrain);
              reject(new XvaFormatError("CORRUPT", "the tar extractor closed before taking all input"));
            };
            extract.once("drain", onDrain);
            extract.once("close", onClose);
          });
        }
      }
      if (!stopped) extract.end(null);
    } catch (err) {
      // Remembered as well: a gzip/zstd trailer can break after the last tar byte was already parsed.
      pumpError = mapLayerError(err, compression);
      extract.destroy(pumpError);
    }
  })();

  // When the extractor fails, its entry streams and iterator may report a generic "Stream was destroyed"; the
  // first error it emitted (or the input's) is the one that says what happened.
  let extractError: unknown;
  extract.on("error", (err: unknown) => {
    extractError ??= err;
  });
  const rootCause = (err: unknown): unknown => pumpError ?? extractError ?? err;

  const entries = extract[Symbol.asyncIterator]();
  let position = 0; // tar offset just past the last entry read
  let currentEntry: string | undefined;

  const nextEntry = async (): Promise<TarEntry | undefined> => {
    let r: IteratorResult<TarEntry>;
    try {
      r = await entries.next();
    } catch (err) {
      const mapped = mapLayerError(rootCause(err), compression, currentEntry);
      if (currentEntry === undefined && mapped instanceof XvaFormatError && mapped.code === "CORRUPT") {
        throw new XvaFormatError(
          "NOT_XVA",
          `the stream does not start with a tar header (${mapped.message})`,
          {
            cause: err,
          },
        );
      }
      throw mapped;
    }
    if (r.done === true) return undefined;
    currentEntry = r.value.header.name;
    return r.value;
  };

  const nextFile = async (
    maxBytes: number,
    what: string,
    checkName?: (name: string) => void,
  ): Promise<TarFile | undefined> => {
    const entry = await nextEntry();
    if (entry === undefined) return undefined;
    const header = entry.header;
    const name = header.name;
    const size = header.size ?? 0;
    checkName?.(name);
    if (header.type !== "file" && header.type !== "contiguous-file") {
      throw new XvaFormatError(
        "UNEXPECTED_ENTRY",
        `entry ${name} is a ${header.type ?? "special file"}, but an XVA holds only regular files (${what} expected)`,
        { entry: name },
      );
    }
    if (size > maxBytes) {
      throw new XvaFormatError(
        "OVERSIZED",
        `entry ${name} is ${size} bytes, more than the ${maxBytes} allowed for ${what}; this is not an XVA xapi would ` +
          `import`,
        { entry: name },
      );
    }
    const parts: Buffer[] = [];
    let got = 0;
    try {
      for await (const part of entry as AsyncIterable<Buffer>) {
        parts.push(part);
        got += part.byteLength;
      }
    } catch (err) {
      throw mapLayerError(rootCause(err), compression, name);
    }
    if (got !== size) {
      throw new XvaFormatError("TRUNCATED", `entry ${name} holds ${got} of its ${size} bytes; export again`, {
        entry: name,
      });
    }

    // tar-stream records where the entry's data starts; pax or GNU long-name headers would make our own count drift.
    const byteOffset = (header as { byteOffset?: number }).byteOffset;
    position =
      (typeof byteOffset === "number" ? byteOffset : position + TAR_BLOCK_BYTES) + roundUpBlock(size);
    return { name, size, parts, end: position };
  };

  try {
    const ova = await nextFile(maxOvaXml, OVA_XML_NAME);
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
    const header = parseOvaXml(joined(ova).toString("utf8"));
    const disks = streamedDisks(header);
    yield { type: "header", header, disks, compression };

    const summaries: XvaDiskSummary[] = [];
    let firstChunkLength = -1; // xapi: the length of the first chunk file of the first disk, used for every gap
    for (const disk of disks) {
      yield { type: "disk-start", disk };
      const prefix = `${disk.id}/`;
      const summary: XvaDiskSummary = {
        id: disk.id,
        virtualSize: disk.virtualSize,
        chunks: 0,
        keepAlives: 0,
        dataBytes: 0,
        checksums: [],
      };
      let offset = 0;
      let lastSuffix = "-1";
      let lastNumber = -1;
      while (offset < disk.virtualSize) {
        const where = `disk ${disk.id} at offset ${offset} of ${disk.virtualSize}`;
        const chunk = await nextFile(XVA_CHUNK_SIZE_BYTES, `a chunk of ${disk.id}`);
        if (chunk === undefined) {
          throw new XvaFormatError(
            "TRUNCATED",
            `the archive ends inside ${where}; the transfer was cut short`,
          );
        }
        const suffix = chunk.name.startsWith(prefix) ? chunk.name.slice(prefix.length) : undefined;
        if (suffix === undefined || !/^\d+$/.test(suffix)) {
          throw new XvaFormatError(
            "UNEXPECTED_ENTRY",
            `expected a chunk of ${where} (named ${prefix}NNNNNNNN), but found ${chunk.name}`,
            { entry: chunk.name },
          );
        }
        if (suffix <= lastSuffix) {
          throw new XvaFormatError(
            "UNEXPECTED_ENTRY",
            `chunk ${chunk.name} comes after ${prefix}${lastSuffix}; chunk numbers must increase (xapi: Invalid XVA file)`,
            { entry: chunk.name },
          );
        }
        const number = Number(suffix);
        if (firstChunkLength < 0) firstChunkLength = chunk.size;
        const skipped = number - lastNumber - 1;
        if (skipped > 0 && firstChunkLength !== XVA_CHUNK_SIZE_BYTES) {
          // xapi would size this gap by the short first chunk and rebuild the disk wrongly; a 1 MiB reading would
          // disagree with xapi. Neither is safe, so refuse (our writer never produces this).
          throw new XvaFormatError(
            "UNSUPPORTED_LAYOUT",
            `chunk ${chunk.name} leaves a gap of ${skipped} chunk(s), but the stream's first chunk file is ` +
              `${firstChunkLength} bytes, not 1 MiB, so xapi would rebuild the gap with the wrong size; ` +
              `re-export so that the smallest disk is not first, or with every chunk present`,
            { entry: chunk.name },
          );
        }
        offset += skipped * firstChunkLength;
        if (offset + chunk.size > disk.virtualSize) {
          throw new XvaFormatError(
            "OVERSIZED",
            `chunk ${chunk.name} covers bytes ${offset}..${offset + chunk.size}, past the end of disk ${disk.id} ` +
              `(virtual_size ${disk.virtualSize}); the archive is inconsistent with its ova.xml`,
            { entry: chunk.name },
          );
        }

        const checksumOf = (name: string): XvaChecksumAlgorithm | undefined =>
          name === chunk.name + CHECKSUM_EXTENSION.xxhash
            ? "xxhash"
            : name === chunk.name + CHECKSUM_EXTENSION.sha1
              ? "sha1"
              : undefined;
        const sumFile = await nextFile(64, `the checksum of ${chunk.name}`, (name) => {
          if (checksumOf(name) === undefined) {
            throw new XvaFormatError(
              "UNEXPECTED_ENTRY",
              `chunk ${chunk.name} must be followed by ${chunk.name}.xxhash or ${chunk.name}.checksum, ` +
                `but ${name} follows`,
              { entry: name },
            );
          }
        });
        if (sumFile === undefined) {
          throw new XvaFormatError(
            "TRUNCATED",
            `the archive ends after ${chunk.name}, before its checksum file`,
            {
              entry: chunk.name,
            },
          );
        }
        const algorithm = checksumOf(sumFile.name) as XvaChecksumAlgorithm;
        const expected = joined(sumFile).toString("latin1");
        const actual = checksumOfParts(algorithm, chunk.parts);
        if (expected !== actual) {
          throw new XvaChecksumError({
            disk: disk.id,
            chunk: chunk.name,
            offset,
            algorithm,
            expected,
            actual,
          });
        }
        if (!summary.checksums.includes(algorithm)) summary.checksums.push(algorithm);
        if (chunk.size === 0) {
          summary.keepAlives += 1;
        } else {
          summary.chunks += 1;
          summary.dataBytes += chunk.size;
          yield chunkEvent(disk, chunk, number, offset, { algorithm, value: expected });
        }
        offset += chunk.size;
        lastSuffix = suffix;
        lastNumber = number;
      }
      summaries.push(summary);
      yield { type: "disk-end", disk, summary };
    }

    const extra = await nextEntry();
    if (extra !== undefined) {
      throw new XvaFormatError(
        "UNEXPECTED_ENTRY",
        `entry ${extra.header.name} follows the last disk, but an XVA (export_vsn 2) ends there`,
        { entry: extra.header.name },
      );
    }
    await pump;
    if (pumpError !== undefined) throw pumpError;
    if (tarBytes < position + 2 * TAR_BLOCK_BYTES) {
      throw new XvaFormatError(
        "TRUNCATED",
        `the tar stream stops after ${tarBytes} bytes without its two end-of-archive blocks; the transfer was cut short`,
      );
    }
    yield { type: "end", summary: { header, compression, disks: summaries, tarBytes } };
  } finally {
    // On success the pump has finished. Otherwise stop it and release the input (e.g. destroy an HTTP body) without
    // waiting: a stalled input must not hang the caller. The pump catches everything, so nothing is left unhandled.
    stopped = true;
    extract.destroy();
    decompressor?.destroy();
    raw?.destroy();
    release();
  }
}
