/**
 * Where the writer reads disk contents from.
 *
 * A source yields the disk as **extents**: `{ offset, data }` pieces in increasing, non-overlapping order; every
 * byte not covered by an extent reads as zero. A sparse disk therefore costs nothing for its holes when the source
 * knows where they are (an in-memory map, a VHD block table, `allocatedRanges` of a file). Extent sizes and
 * alignment are free; the writer cuts them into 1 MiB chunks with at most one chunk buffer of its own.
 *
 * Contract: the writer may keep a reference to a yielded `data` until that chunk is written out, so a source must
 * not reuse or modify a buffer after yielding it.
 */
import { open } from "node:fs/promises";
import { XVA_CHUNK_SIZE_BYTES } from "./constants";
import { XvaInputError } from "./errors";

/** A piece of disk data at a byte offset. */
export interface DiskExtent {
  offset: number;
  data: Uint8Array;
}

/** The contents of one virtual disk, readable as often as needed (planning and writing each read it once). */
export interface DiskSource {
  /** Size of the virtual disk in bytes; must equal the VDI's `virtual_size`. */
  readonly virtualSize: number;
  /** Yields the data extents in increasing offset order; gaps read as zeros. Each call starts a fresh pass. */
  extents(): AsyncIterable<DiskExtent>;
}

function checkSize(virtualSize: number, what: string): void {
  if (!Number.isSafeInteger(virtualSize) || virtualSize < 0) {
    throw new XvaInputError(
      `${what}: virtualSize must be a non-negative safe integer, but ${virtualSize} was given`,
    );
  }
}

/**
 * A source from a factory of extents, e.g. an async generator function. The factory is called once per pass.
 * @param virtualSize bytes of the virtual disk.
 * @param extents returns the data extents in increasing offset order.
 */
export function extentsDiskSource(
  virtualSize: number,
  extents: () => AsyncIterable<DiskExtent> | Iterable<DiskExtent>,
): DiskSource {
  checkSize(virtualSize, "extentsDiskSource");
  return {
    virtualSize,
    async *extents() {
      yield* extents();
    },
  };
}

/** A source over an in-memory disk image (tests, small disks). All of `data` is the disk; nothing is copied. */
export function bufferDiskSource(data: Uint8Array): DiskSource {
  return extentsDiskSource(data.byteLength, () => (data.byteLength === 0 ? [] : [{ offset: 0, data }]));
}

/** A byte range of a file known to hold data. */
export interface ByteRange {
  offset: number;
  length: number;
}

/** Options of {@link fileDiskSource}. */
export interface FileDiskSourceOptions {
  /**
   * Size of the virtual disk in bytes. Bytes past the end of the file read as zeros; file bytes past this size are
   * ignored.
   * @default the file's size
   */
  virtualSize?: number;
  /**
   * Ranges that may hold data, in increasing order. Everything else is taken to be zero and never read: use this when
   * the allocation map is known (Node has no `lseek(SEEK_DATA)`).
   * @default the whole file is read
   */
  allocatedRanges?: readonly ByteRange[];
  /**
   * Size of each read, in bytes. Memory held by the source is one buffer of this size at a time.
   * @default 1 MiB
   */
  readSizeBytes?: number;
}

/**
 * A source over a (possibly sparse) raw disk image file. Reads go through one bounded buffer at a time; holes of a
 * sparse file read as zeros at memory speed and all-zero reads are not yielded, so they never reach the archive
 * (except the first and last chunk, which the format always carries).
 */
export async function fileDiskSource(path: string, options: FileDiskSourceOptions = {}): Promise<DiskSource> {
  const fh = await open(path, "r");
  let fileSize: number;
  try {
    fileSize = (await fh.stat()).size;
  } finally {
    await fh.close();
  }
  const virtualSize = options.virtualSize ?? fileSize;
  checkSize(virtualSize, `fileDiskSource(${path})`);
  const readSize = options.readSizeBytes ?? XVA_CHUNK_SIZE_BYTES;
  if (!Number.isSafeInteger(readSize) || readSize <= 0) {
    throw new XvaInputError(
      `fileDiskSource: readSizeBytes must be a positive integer, but ${readSize} was given`,
    );
  }
  const end = Math.min(virtualSize, fileSize);
  const ranges: readonly ByteRange[] = options.allocatedRanges ?? [{ offset: 0, length: end }];
  let last = 0;
  for (const r of ranges) {
    if (
      !Number.isSafeInteger(r.offset) ||
      !Number.isSafeInteger(r.length) ||
      r.offset < last ||
      r.length < 0
    ) {
      throw new XvaInputError(
        `fileDiskSource(${path}): allocatedRanges must be non-negative, increasing and non-overlapping, ` +
          `but ${JSON.stringify(r)} follows offset ${last}`,
      );
    }
    last = r.offset + r.length;
  }

  return {
    virtualSize,
    async *extents() {
      const file = await open(path, "r");
      try {
        for (const r of ranges) {
          let pos = r.offset;
          const stop = Math.min(r.offset + r.length, end);
          while (pos < stop) {
            const want = Math.min(readSize, stop - pos);
            // A fresh buffer per read: the writer may still hold the previous one (see the module contract).
            const buf = Buffer.allocUnsafe(want);
            let got = 0;
            while (got < want) {
              const { bytesRead } = await file.read(buf, got, want - got, pos + got);
              if (bytesRead === 0) break;
              got += bytesRead;
            }
            if (got === 0) return; // the file shrank under us: the rest reads as zeros
            const data = buf.subarray(0, got);
            if (!isAllZero(data)) yield { offset: pos, data };
            pos += got;
          }
        }
      } finally {
        await file.close();
      }
    },
  };
}

const ZEROS = Buffer.alloc(XVA_CHUNK_SIZE_BYTES);

/** True when every byte is zero (memcmp against a shared zero page, not a JS loop). */
export function isAllZero(data: Uint8Array): boolean {
  let pos = 0;
  while (pos < data.byteLength) {
    const n = Math.min(ZEROS.byteLength, data.byteLength - pos);
    if (Buffer.compare(Buffer.from(data.buffer, data.byteOffset + pos, n), ZEROS.subarray(0, n)) !== 0)
      return false;
    pos += n;
  }
  return true;
}
