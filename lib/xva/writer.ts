/**
 * The XVA writer: `ova.xml`, then every disk's chunks each followed by its checksum file, then the tar end — the
 * stream xapi's `GET /export` produces (`export.ml`, `stream_vdi.ml send_all`).
 */
import { Readable } from "node:stream";
import * as tar from "tar-stream";
import { type XvaChecksumAlgorithm, CHECKSUM_EXTENSION, checksumText, loadChecksums } from "./checksum";
import { chunkName, emittedChunks } from "./chunks";
import { type XvaCompression, createCompressor } from "./compression";
import { OVA_XML_NAME, XVA_CHUNK_SIZE_BYTES } from "./constants";
import type { DiskSource } from "./disk-source";
import { XvaInputError, toError } from "./errors";
import { type OvaXml, type XvaDiskInfo, serializeOvaXml, streamedDisks } from "./ova-xml";

/** Options of {@link createXvaWriter}. */
export interface XvaWriterOptions {
  /** The metadata; its streamed VDIs (see `streamedDisks`) decide which disks follow and in which order. */
  ova: OvaXml;
  /**
   * Contents of every streamed disk, keyed by the VDI's export id (`Ref:3`). Each source's `virtualSize` must equal
   * the VDI's `virtual_size`; a missing or extra source is an {@link XvaInputError}.
   */
  disks: ReadonlyMap<string, DiskSource> | Readonly<Record<string, DiskSource>>;
  /**
   * Checksum file after each chunk: `xxhash` (`.xxhash`, what xapi writes since CH 8.1 / XCP-ng 8.1) or `sha1`
   * (`.checksum`, older xapi). Only one kind per chunk: xapi's importer takes the entry after a checksum file to
   * be the next chunk, so writing both would make the archive unimportable.
   * @default "xxhash"
   */
  checksum?: XvaChecksumAlgorithm;
  /**
   * Compression of the whole tar stream, as `use_compression` on `/export`.
   * @default "none"
   */
  compression?: XvaCompression;
  /** Codec level (gzip 1–9, zstd 1–19). @default the codec's default */
  compressionLevel?: number;
  /**
   * Modification time of the `ova.xml` entry; chunk entries always carry 0, as in xapi (`ocaml-tar` defaults).
   * @default now
   */
  mtime?: Date;
}

/** File mode of every entry (`ocaml-tar` `Header.make` default used by xapi). */
const ENTRY_MODE = 0o400;
const EPOCH = new Date(0);

function sourcesByDisk(options: XvaWriterOptions): { disks: XvaDiskInfo[]; sources: DiskSource[] } {
  const given: ReadonlyMap<string, DiskSource> =
    options.disks instanceof Map
      ? (options.disks as ReadonlyMap<string, DiskSource>)
      : new Map(Object.entries(options.disks as Readonly<Record<string, DiskSource>>));
  const disks = streamedDisks(options.ova);
  const sources = disks.map((d) => {
    const s = given.get(d.id);
    if (s === undefined) {
      throw new XvaInputError(
        `ova.xml streams disk ${d.id} (VDI "${d.vdi.name_label}", ${d.virtualSize} bytes) but no disk source was ` +
          `given for it; add disks["${d.id}"]`,
      );
    }
    if (s.virtualSize !== d.virtualSize) {
      throw new XvaInputError(
        `disk ${d.id}: the VDI's virtual_size is ${d.virtualSize} bytes but its source has ${s.virtualSize}; ` +
          `make them equal (xapi rebuilds exactly virtual_size bytes)`,
      );
    }
    return s;
  });
  const ids = new Set(disks.map((d) => d.id));
  for (const id of given.keys()) {
    if (!ids.has(id)) {
      throw new XvaInputError(
        `a disk source was given for ${id}, but ova.xml streams no such disk (streamed: ${[...ids].join(", ") || "none"}); ` +
          `a VDI is streamed when a non-CD VBD in the export uses it and its SR is not an ISO SR`,
      );
    }
  }
  return { disks, sources };
}

function addEntry(pack: tar.Pack, name: string, data: Uint8Array, mtime: Date): Promise<void> {
  const body = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return new Promise((resolve, reject) => {
    // The callback fires once the entry's bytes have been taken by the reader side: this is the backpressure.
    pack.entry(
      { name, size: body.byteLength, mode: ENTRY_MODE, mtime, uid: 0, gid: 0, type: "file" },
      body,
      (err) => (err ? reject(err) : resolve()),
    );
  });
}

/**
 * Creates an XVA stream. Nothing is read until the stream is consumed; reading is paced by the consumer
 * (backpressure), and memory stays bounded (one 1 MiB chunk plus stream buffers) whatever the disk sizes.
 *
 * Input is validated before returning (throws {@link XvaInputError}); errors while streaming (a failing source)
 * destroy the returned stream with that error. Destroying the returned stream stops reading the sources.
 *
 * @returns a Node Readable of the archive bytes (plain tar, gzip or zstd).
 */
export function createXvaWriter(options: XvaWriterOptions): Readable {
  const { disks, sources } = sourcesByDisk(options);
  const algorithm = options.checksum ?? "xxhash";
  if (algorithm !== "xxhash" && algorithm !== "sha1") {
    throw new XvaInputError(`checksum must be "xxhash" or "sha1", but ${String(algorithm)} was given`);
  }
  const extension = CHECKSUM_EXTENSION[algorithm];
  const xml = Buffer.from(serializeOvaXml(options.ova), "utf8");
  const compressor = createCompressor(options.compression ?? "none", options.compressionLevel);
  const mtime = options.mtime ?? new Date();

  const pack = tar.pack();
  const produce = async (): Promise<void> => {
    await loadChecksums();
    await addEntry(pack, OVA_XML_NAME, xml, mtime);
    // xapi's importer sizes every skipped chunk by the length of the first chunk file in the stream
    // (`recv_all_vdi firstchunklength`). If that chunk is short (first disk under 1 MiB), gaps would be rebuilt
    // with the wrong size, so from then on we leave no gaps: every chunk is written.
    let firstChunkLength: number | undefined;
    for (const [i, disk] of disks.entries()) {
      const keepZeroChunks = firstChunkLength !== undefined && firstChunkLength < XVA_CHUNK_SIZE_BYTES;
      for await (const chunk of emittedChunks(sources[i] as DiskSource, {
        label: `disk ${disk.id}`,
        keepZeroChunks,
      })) {
        firstChunkLength ??= chunk.data.byteLength;
        const name = chunkName(disk.id, chunk.index);
        const sum = checksumText(algorithm, chunk.data);
        await addEntry(pack, name, chunk.data, EPOCH);
        await addEntry(pack, name + extension, Buffer.from(sum, "latin1"), EPOCH);
      }
    }
    pack.finalize();
  };
  produce().catch((err: unknown) => pack.destroy(toError(err)));

  // tar-stream's pack is a streamx stream; expose a plain Node byte stream that pulls from it.
  const tarStream = Readable.from(pack, { objectMode: false });
  if (compressor === undefined) return tarStream;
  // Not stream.pipeline: a consumer that destroys the output (a client hanging up on an export) would make it
  // fail the tar side with ERR_STREAM_PREMATURE_CLOSE, thrown at the process with no listener left to take it.
  // The producer's errors reach the consumer through the compressor; a destroyed compressor stops the producer.
  tarStream.on("error", (e) => compressor.destroy(e));
  compressor.on("close", () => tarStream.destroy());
  return tarStream.pipe(compressor);
}
