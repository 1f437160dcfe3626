/**
 * How a disk is cut into XVA chunks, and which chunks an archive carries.
 *
 * Facts (`stream_vdi.ml`): chunks are 1 MiB, only the last may be shorter; a chunk is named
 * `<disk id>/%08d`; all-zero chunks are left out **except the first and the last**, which are always written (the
 * importer stops reading a disk once it has rebuilt `virtual_size` bytes, so the last chunk marks the end).
 */
import { XVA_CHUNK_SIZE_BYTES, XVA_MAX_CHUNKS } from "./constants";
import { type DiskSource, isAllZero } from "./disk-source";
import { XvaInputError } from "./errors";

/** Tar entry name of chunk `index` of disk `diskId`: `Ref:3/00000007`. */
export function chunkName(diskId: string, index: number): string {
  return `${diskId}/${String(index).padStart(8, "0")}`;
}

/** Number of chunks of a disk of `virtualSize` bytes (the last may be short). */
export function chunkCount(virtualSize: number): number {
  return Math.ceil(virtualSize / XVA_CHUNK_SIZE_BYTES);
}

/** Byte length of chunk `index` of a disk of `virtualSize` bytes. */
export function chunkLength(virtualSize: number, index: number): number {
  return Math.min(XVA_CHUNK_SIZE_BYTES, virtualSize - index * XVA_CHUNK_SIZE_BYTES);
}

/**
 * The chunk numbers an archive carries for a disk, given which chunks hold non-zero data: those, plus the first
 * and the last, ascending. Pure: use it to predict or check an archive's layout.
 * @param virtualSize bytes of the disk.
 * @param nonZeroChunks indices of chunks that contain a non-zero byte (any order, duplicates allowed).
 */
export function expectedChunkIndices(virtualSize: number, nonZeroChunks: Iterable<number>): number[] {
  const n = chunkCount(virtualSize);
  if (n === 0) return [];
  const set = new Set<number>([0, n - 1]);
  for (const i of nonZeroChunks) {
    if (!Number.isSafeInteger(i) || i < 0 || i >= n) {
      throw new XvaInputError(`chunk index ${i} is outside the disk (0..${n - 1} for ${virtualSize} bytes)`);
    }
    set.add(i);
  }
  return [...set].sort((a, b) => a - b);
}

/** One chunk the writer puts in the archive. */
export interface EmittedChunk {
  index: number;
  offset: number;
  /** Exactly `chunkLength(virtualSize, index)` bytes. May be a shared zero buffer: never modify it. */
  data: Uint8Array;
}

const ZERO_CHUNK = Buffer.alloc(XVA_CHUNK_SIZE_BYTES);

/**
 * Cuts a source's extents into the chunks an archive carries, in order. Holds at most one chunk buffer (1 MiB) of
 * its own; an extent covering a whole chunk is passed on without copying. Throws {@link XvaInputError} when the
 * source yields extents out of order, overlapping, or past `virtualSize`.
 * @param options.keepZeroChunks emit all-zero chunks too (see the writer: needed after a short first chunk).
 *
 * A little over 80 lines on purpose: the chunk being filled (`cur`, `buf`, `owned`) is shared by the extent loop
 * and `flushThrough`, and keeping both in one closure keeps that state in one place.
 */
export async function* emittedChunks(
  source: DiskSource,
  options: { label?: string; keepZeroChunks?: boolean } = {},
): AsyncGenerator<EmittedChunk> {
  const label = options.label ?? "disk";
  const keepAll = options.keepZeroChunks ?? false;
  const size = source.virtualSize;
  const n = chunkCount(size);
  if (n > XVA_MAX_CHUNKS) {
    throw new XvaInputError(
      `${label}: ${size} bytes needs ${n} chunks, but XVA chunk names have 8 digits (at most ${XVA_MAX_CHUNKS}); ` +
        `split the disk`,
    );
  }
  if (n === 0) {
    await expectNoData(source, label);
    return;
  }
  const last = n - 1;
  // The chunk being filled: its index, and its buffer once any data landed in it (null: all zero so far).
  let cur = 0;
  let buf: Uint8Array | null = null;
  let owned = false; // whether `buf` is our own copy (can be written into) or a source buffer passed through
  let next = 0; // first offset the next extent may start at

  function* flushThrough(index: number): Generator<EmittedChunk> {
    // Emits chunk `cur` (if it is kept) and the always-kept chunks strictly between `cur` and `index`.
    const always = (i: number): boolean => keepAll || i === 0 || i === last;
    if (buf !== null ? always(cur) || !isAllZero(buf) : always(cur)) {
      yield {
        index: cur,
        offset: cur * XVA_CHUNK_SIZE_BYTES,
        data: buf ?? ZERO_CHUNK.subarray(0, chunkLength(size, cur)),
      };
    }
    for (let i = cur + 1; i < index; i++) {
      if (always(i)) {
        yield {
          index: i,
          offset: i * XVA_CHUNK_SIZE_BYTES,
          data: ZERO_CHUNK.subarray(0, chunkLength(size, i)),
        };
      }
      if (!keepAll && i < last - 1) i = last - 1; // jump over the hole: only the last chunk can be kept in it
    }
    cur = index;
    buf = null;
    owned = false;
  }

  for await (const extent of source.extents()) {
    const { offset, data } = extent;
    if (!Number.isSafeInteger(offset) || offset < next || offset + data.byteLength > size) {
      throw new XvaInputError(
        `${label}: extents must be increasing, non-overlapping and inside the disk (${size} bytes), but one ` +
          `covers ${offset}..${offset + data.byteLength} after data up to ${next}; fix the disk source`,
      );
    }
    next = offset + data.byteLength;
    let pos = 0;
    while (pos < data.byteLength) {
      const abs = offset + pos;
      const index = Math.floor(abs / XVA_CHUNK_SIZE_BYTES);
      if (index !== cur) yield* flushThrough(index);
      const within = abs - index * XVA_CHUNK_SIZE_BYTES;
      const len = chunkLength(size, index);
      const take = Math.min(len - within, data.byteLength - pos);
      if (buf === null && within === 0 && take === len) {
        buf = data.subarray(pos, pos + take); // whole chunk in one piece: no copy
      } else {
        if (!owned) {
          const copy = new Uint8Array(len);
          if (buf !== null) copy.set(buf);
          buf = copy;
          owned = true;
        }
        (buf as Uint8Array).set(data.subarray(pos, pos + take), within);
      }
      pos += take;
    }
  }
  yield* flushThrough(n);
}

/** A 0-byte disk carries no chunk: its source must yield no data either. */
async function expectNoData(source: DiskSource, label: string): Promise<void> {
  for await (const e of source.extents()) {
    if (e.data.byteLength > 0) throw new XvaInputError(`${label}: a 0-byte disk yielded data at ${e.offset}`);
  }
}

/** What {@link planDiskChunks} found. */
export interface XvaChunkPlan {
  virtualSize: number;
  /** All chunks of the disk, kept or not. */
  chunkCount: number;
  /** Indices of the chunks the archive will carry, ascending. */
  emitted: number[];
}

/**
 * Reads a source once and returns which chunks an archive of it will carry (memory: one chunk).
 * @param keepZeroChunks as in {@link emittedChunks}; the writer sets it for every disk after a short first chunk.
 */
export async function planDiskChunks(source: DiskSource, keepZeroChunks = false): Promise<XvaChunkPlan> {
  const emitted: number[] = [];
  for await (const c of emittedChunks(source, { keepZeroChunks })) emitted.push(c.index);
  return { virtualSize: source.virtualSize, chunkCount: chunkCount(source.virtualSize), emitted };
}
