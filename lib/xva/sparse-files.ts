/**
 * Rebuilding disks from an XVA into sparse raw image files (the import side).
 *
 * Each disk file is created (truncated) and sized to `virtual_size` with `ftruncate`, which leaves it a hole;
 * only chunks with a non-zero byte are written, at their cumulative offset, so the file is exactly as sparse as
 * the archive (all-zero stretches inside a carried chunk stay holes too). Memory: one chunk at a time.
 */
import { type FileHandle, open } from "node:fs/promises";
import { isAllZero } from "./disk-source";
import { XvaFormatError } from "./errors";
import type { OvaXml, XvaDiskInfo } from "./ova-xml";
import { type ParseXvaOptions, type XvaSummary, parseXva } from "./reader";

/** Options of {@link writeXvaDisksToFiles}. */
export interface WriteXvaDisksOptions extends ParseXvaOptions {
  /** Called once `ova.xml` is parsed, before any disk data; may create the objects the disks belong to. */
  onHeader?(header: OvaXml, disks: readonly XvaDiskInfo[]): void | Promise<void>;
  /** Path of the raw image to write for `disk`. The file is created or truncated. */
  pathFor(disk: XvaDiskInfo): string | Promise<string>;
}

/**
 * Reads an XVA (plain, gzip or zstd) and writes each streamed disk to a sparse raw file, verifying every chunk.
 * Resolves with the archive summary; rejects with the reader's typed errors. On failure, files already written are
 * left in place (closed) for the caller to remove.
 */
export async function writeXvaDisksToFiles(
  input: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: WriteXvaDisksOptions,
): Promise<XvaSummary> {
  let file: FileHandle | undefined;
  try {
    for await (const ev of parseXva(input, options)) {
      switch (ev.type) {
        case "header":
          await options.onHeader?.(ev.header, ev.disks);
          break;
        case "disk-start":
          file = await open(await options.pathFor(ev.disk), "w");
          await file.truncate(ev.disk.virtualSize);
          break;
        case "chunk": {
          // Parts are written where they belong, without joining them; all-zero parts stay holes.
          let at = ev.offset;
          for (const part of ev.parts) {
            if (!isAllZero(part)) await writeAll(file as FileHandle, part, at);
            at += part.byteLength;
          }
          break;
        }
        case "disk-end":
          await (file as FileHandle).close();
          file = undefined;
          break;
        case "end":
          return ev.summary;
      }
    }
  } finally {
    await file?.close();
  }
  // parseXva always ends with an "end" event or throws.
  throw new XvaFormatError("TRUNCATED", "the reader stopped before the end of the archive; export again");
}

async function writeAll(file: FileHandle, data: Buffer, offset: number): Promise<void> {
  let done = 0;
  while (done < data.byteLength) {
    const { bytesWritten } = await file.write(data, done, data.byteLength - done, offset + done);
    done += bytesWritten;
  }
}
