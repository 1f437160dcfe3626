/**
 * VDI contents: one sparse file per VDI, `<dataDir>/vdis/<vdi-uuid>.raw`, as long as the VDI's virtual_size,
 * plus an allocation map `<uuid>.map` with one bit per 1 MiB block ever written through devpool. The map plays the
 * part of a VHD's block allocation table: xapi exports only the chunks of allocated VHD blocks (stream_vdi.ml), and
 * reading it costs nothing, whereas finding data in a sparse file without lseek(SEEK_DATA) (which Node does not
 * offer) means reading every hole. Copies and exports therefore visit allocated blocks only.
 *
 * Files changed behind devpool's back lose nothing: a missing or stale-sized map is rebuilt by scanning the file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DevpoolDefectError } from "../errors";

/** Allocation granularity, and the XVA chunk size, so "allocated" means the same to copies and exports. */
export const BLOCK_BYTES = 1024 * 1024;

const ZEROS = Buffer.alloc(BLOCK_BYTES);

/** Whether the first `length` bytes are all zero: a memcmp against a zero block (fast; BigInt loops are not). */
export function isZero(buf: Buffer, length = buf.length): boolean {
  for (let off = 0; off < length; off += BLOCK_BYTES) {
    const n = Math.min(BLOCK_BYTES, length - off);
    if (!buf.subarray(off, off + n).equals(ZEROS.subarray(0, n))) return false;
  }
  return true;
}

/** Whether every byte of `parts` is zero (each part as {@link isZero}; nothing joined). */
export function isZeroParts(parts: readonly Buffer[]): boolean {
  for (const p of parts) if (!isZero(p)) return false;
  return true;
}

/**
 * Views of the bytes [from, to) of the concatenation of `parts`, starting the search at `cursor` (a part index and
 * the offset of that part in the concatenation), which is advanced: the caller walks the parts once, in order.
 */
function sliceParts(
  parts: readonly Buffer[],
  cursor: { index: number; start: number },
  from: number,
  to: number,
): Buffer[] {
  const out: Buffer[] = [];
  while (cursor.index < parts.length) {
    const p = parts[cursor.index] as Buffer;
    const pEnd = cursor.start + p.length;
    if (pEnd > from && cursor.start < to) {
      out.push(p.subarray(Math.max(0, from - cursor.start), Math.min(p.length, to - cursor.start)));
    }
    if (pEnd > to) break;
    cursor.start = pEnd;
    cursor.index += 1;
  }
  return out;
}

/** `writev` until every byte is written (a regular file may take fewer bytes than asked). */
async function writevAll(fh: fs.promises.FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let bufs = buffers;
  let pos = position;
  let left = bufs.reduce((n, b) => n + b.length, 0);
  while (left > 0) {
    const { bytesWritten } = await fh.writev(bufs, pos);
    left -= bytesWritten;
    pos += bytesWritten;
    if (left > 0) bufs = sliceParts(bufs, { index: 0, start: 0 }, bytesWritten, bytesWritten + left);
  }
}

export function blockCount(size: number): number {
  return Math.ceil(size / BLOCK_BYTES);
}

/** One bit per block. The file holds the bits after an 8-byte little-endian size header. */
export class AllocationMap {
  constructor(
    readonly size: number,
    readonly bits: Uint8Array = new Uint8Array(Math.ceil(blockCount(size) / 8)),
  ) {}

  has(block: number): boolean {
    return ((this.bits[block >> 3] ?? 0) & (1 << (block & 7))) !== 0;
  }

  set(block: number): void {
    const i = block >> 3;
    if (i < this.bits.length) this.bits[i] = (this.bits[i] ?? 0) | (1 << (block & 7));
  }

  /** Marks every block overlapping [offset, offset + length). */
  mark(offset: number, length: number): void {
    if (length <= 0) return;
    const last = Math.floor((offset + length - 1) / BLOCK_BYTES);
    for (let b = Math.floor(offset / BLOCK_BYTES); b <= last; b++) this.set(b);
  }

  /** Allocated block numbers, ascending. */
  blocks(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.bits.length; i++) {
      const byte = this.bits[i] ?? 0;
      if (byte === 0) continue;
      for (let j = 0; j < 8; j++) if ((byte & (1 << j)) !== 0) out.push(i * 8 + j);
    }
    return out;
  }

  resized(size: number): AllocationMap {
    const m = new AllocationMap(size);
    m.bits.set(this.bits.subarray(0, m.bits.length));
    return m;
  }

  encode(): Buffer {
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(this.size));
    return Buffer.concat([head, Buffer.from(this.bits)]);
  }

  static decode(buf: Buffer): AllocationMap | undefined {
    if (buf.length < 8) return undefined;
    const size = Number(buf.readBigUInt64LE(0));
    const m = new AllocationMap(size);
    if (buf.length - 8 !== m.bits.length) return undefined;
    m.bits.set(buf.subarray(8));
    return m;
  }
}

/** A VDI open for positional writes; the map is saved on close. */
export interface DiskWriter {
  write(offset: number, data: Buffer): Promise<void>;
  /**
   * Like {@link write} with the data given as consecutive pieces (e.g. an XVA chunk's `parts`): written with
   * `writev`, never joined, and the same file and allocation map as writing their concatenation.
   */
  writeParts(offset: number, parts: readonly Buffer[]): Promise<void>;
  close(): Promise<void>;
}

export class DiskStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, "vdis");
    fs.mkdirSync(this.dir, { recursive: true });
  }

  path(uuid: string): string {
    if (!/^[0-9a-f-]{36}$/i.test(uuid)) throw new DevpoolDefectError(`devpool: not a VDI uuid: ${uuid}`);
    return path.join(this.dir, `${uuid}.raw`);
  }

  private mapPath(uuid: string): string {
    return path.join(this.dir, `${uuid}.map`);
  }

  exists(uuid: string): boolean {
    return fs.existsSync(this.path(uuid));
  }

  private saveMap(uuid: string, map: AllocationMap): void {
    const tmp = `${this.mapPath(uuid)}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, map.encode(), { mode: 0o600 });
    fs.renameSync(tmp, this.mapPath(uuid));
  }

  /** The allocation map; rebuilt by scanning the file if missing or not matching the file's size. */
  map(uuid: string): AllocationMap {
    const size = this.size(uuid);
    let m: AllocationMap | undefined;
    try {
      m = AllocationMap.decode(fs.readFileSync(this.mapPath(uuid)));
    } catch {
      m = undefined;
    }
    if (m !== undefined && m.size === size) return m;
    const scanned = this.scan(uuid, size);
    this.saveMap(uuid, scanned);
    return scanned;
  }

  private scan(uuid: string, size: number): AllocationMap {
    const m = new AllocationMap(size);
    const fd = fs.openSync(this.path(uuid), "r");
    try {
      const buf = Buffer.alloc(BLOCK_BYTES);
      for (let b = 0; b < blockCount(size); b++) {
        const n = fs.readSync(fd, buf, 0, BLOCK_BYTES, b * BLOCK_BYTES);
        if (n > 0 && !isZero(buf, n)) m.set(b);
      }
    } finally {
      fs.closeSync(fd);
    }
    return m;
  }

  /** Creates (or truncates) an all-zero disk of `size` bytes: a hole, no space used, no block allocated. */
  create(uuid: string, size: number): void {
    const fd = fs.openSync(this.path(uuid), "w", 0o600);
    try {
      fs.ftruncateSync(fd, size);
    } finally {
      fs.closeSync(fd);
    }
    this.saveMap(uuid, new AllocationMap(size));
  }

  resize(uuid: string, size: number): void {
    const m = this.map(uuid);
    fs.truncateSync(this.path(uuid), size);
    this.saveMap(uuid, m.resized(size));
  }

  destroy(uuid: string): void {
    fs.rmSync(this.path(uuid), { force: true });
    fs.rmSync(this.mapPath(uuid), { force: true });
  }

  /** Bytes allocated on disk (what xapi reports as physical_utilisation). */
  allocated(uuid: string): number {
    try {
      return fs.statSync(this.path(uuid)).blocks * 512;
    } catch {
      return 0;
    }
  }

  size(uuid: string): number {
    return fs.statSync(this.path(uuid)).size;
  }

  async openWriter(uuid: string): Promise<DiskWriter> {
    const map = this.map(uuid);
    const fh = await fs.promises.open(this.path(uuid), "r+");
    let closed = false;
    // Zeros over a never-written block are already there (it reads as zeros): skipping them keeps a raw
    // upload of a sparse image sparse, as vhd-tool does when it writes into a fresh VHD. Blocks to write that
    // follow each other go out in one writev.
    const writeParts = async (offset: number, parts: readonly Buffer[]): Promise<void> => {
      const length = parts.reduce((n, p) => n + p.length, 0);
      const cursor = { index: 0, start: 0 };
      let run: Buffer[] = [];
      let runStart = 0;
      let runBlocks: number[] = [];
      const flush = async (): Promise<void> => {
        if (run.length > 0) await writevAll(fh, run, offset + runStart);
        for (const b of runBlocks) map.set(b);
        run = [];
        runBlocks = [];
      };
      for (let pos = 0; pos < length;) {
        const block = Math.floor((offset + pos) / BLOCK_BYTES);
        const end = Math.min(length, (block + 1) * BLOCK_BYTES - offset);
        const pieces = sliceParts(parts, cursor, pos, end);
        if (map.has(block) || !isZeroParts(pieces)) {
          if (runBlocks.length === 0) runStart = pos;
          run.push(...pieces);
          runBlocks.push(block);
        } else {
          await flush();
        }
        pos = end;
      }
      await flush();
    };
    return {
      write: (offset, data) => writeParts(offset, [data]),
      writeParts,
      close: async () => {
        if (closed) return;
        closed = true;
        await fh.close();
        this.saveMap(uuid, map);
      },
    };
  }

  /** Writes `data` at `offset` and records the blocks as allocated (zeros over unallocated blocks are skipped). */
  async write(uuid: string, offset: number, data: Buffer): Promise<void> {
    const w = await this.openWriter(uuid);
    try {
      await w.write(offset, data);
    } finally {
      await w.close();
    }
  }

  /** Copies `src` to a new disk `dst`, visiting allocated blocks only; memory is one block. */
  async copy(src: string, dst: string): Promise<void> {
    const size = this.size(src);
    const map = this.map(src);
    this.create(dst, size);
    const inFd = await fs.promises.open(this.path(src), "r");
    const out = await this.openWriter(dst);
    try {
      const buf = Buffer.alloc(BLOCK_BYTES);
      for (const b of map.blocks()) {
        const pos = b * BLOCK_BYTES;
        const { bytesRead } = await inFd.read(buf, 0, Math.min(BLOCK_BYTES, size - pos), pos);
        // An allocated block stays allocated in the copy, zero or not, as a VHD block copy would.
        if (bytesRead > 0) await out.write(pos, buf.subarray(0, bytesRead));
      }
    } finally {
      await inFd.close();
      await out.close();
    }
  }

  /** Removes files of VDIs that no longer exist (left by a crash between a destroy and its file removal). */
  prune(liveUuids: ReadonlySet<string>): void {
    for (const f of fs.readdirSync(this.dir)) {
      const m = /^([0-9a-f-]{36})\.(raw|map)$/.exec(f);
      if (m?.[1] !== undefined && !liveUuids.has(m[1])) fs.rmSync(path.join(this.dir, f), { force: true });
    }
  }
}
