/**
 * The tar layer of the XVA reader: decompresses the input when needed, feeds tar-stream's extractor with
 * backpressure, hands out whole entries, keeps the tar offset, and turns every failure of the compression and tar
 * layers into an {@link XvaFormatError}.
 *
 * Failures are told apart by where they come from, never by their text: the input's own failures are already
 * `TRUNCATED` ({@link inputFailure}); zlib's carry a code (`Z_BUF_ERROR`: the data stops mid-frame; any other:
 * corrupt); tar-stream's carry none, but the only one it raises when the input ends is "the data ran out" (its
 * `Extract._final`, tar-stream 3 `extract.js`), so the extractor's `_final` is observed to tell that one apart
 * from a corrupt header.
 */
import { Readable, pipeline } from "node:stream";
import * as tar from "tar-stream";
import type { ArchiveInput } from "./archive-input";
import { type XvaCompression, createDecompressor } from "./compression";
import { TAR_BLOCK_BYTES } from "./constants";
import { XvaChecksumError, XvaFormatError, XvaInputError, toError } from "./errors";
import { chunksOf } from "./stream-chunks";

/** One entry of tar-stream's extractor (its type is not exported). */
export type TarEntry = tar.Extract extends AsyncIterable<infer S> ? S : never;

/** A whole tar entry, read. */
export interface TarFile {
  name: string;
  size: number;
  /** The entry's bytes as they arrived (views of the input buffers, not copies). */
  parts: Buffer[];
  /** Offset in the tar stream just past this entry's padded data. */
  end: number;
}

/** The entry's bytes in one Buffer (the single part itself when there is one). */
export function joined(file: TarFile): Buffer {
  return file.parts.length === 1 ? (file.parts[0] as Buffer) : Buffer.concat(file.parts, file.size);
}

function roundUpBlock(n: number): number {
  return Math.ceil(n / TAR_BLOCK_BYTES) * TAR_BLOCK_BYTES;
}

/** A failure of the decompressor, by zlib's code: input that stops mid-frame is `TRUNCATED`, the rest `CORRUPT`. */
export function decompressionFailure(
  err: unknown,
  compression: XvaCompression,
): XvaFormatError | XvaChecksumError {
  // The input's own failure (already mapped) travels through the decompression pipeline unchanged.
  if (err instanceof XvaFormatError || err instanceof XvaChecksumError) return err;
  const e = toError(err);
  const code = (e as { code?: unknown }).code;
  if (code === "Z_BUF_ERROR" || code === "ERR_STREAM_PREMATURE_CLOSE") {
    return new XvaFormatError(
      "TRUNCATED",
      `the ${compression} stream ends in the middle (${e.message}); the transfer was cut short: export again`,
      { cause: e },
    );
  }
  return new XvaFormatError("CORRUPT", `the ${compression} layer is corrupt (${e.message}); export again`, {
    cause: e,
  });
}

/**
 * A failure of tar-stream's extractor: `TRUNCATED` when it was the extractor's end-of-input check (`ranOut`),
 * otherwise a corrupt header (`CORRUPT`). Failures of the layers below, and the library's own, pass through.
 */
export function tarFailure(
  err: unknown,
  ranOut: boolean,
  entry: string | undefined,
): XvaFormatError | XvaChecksumError {
  if (err instanceof XvaFormatError || err instanceof XvaChecksumError) return err;
  const e = toError(err);
  const opts = entry === undefined ? { cause: e } : { cause: e, entry };
  if (ranOut) {
    return new XvaFormatError(
      "TRUNCATED",
      `the tar stream ends in the middle of ${entry === undefined ? "a header" : `entry ${entry} or the header after it`} ` +
        `(${e.message}); the transfer was cut short: export again`,
      opts,
    );
  }
  return new XvaFormatError("CORRUPT", `a tar header is corrupt (${e.message}); export again`, opts);
}

/** tar-stream's extractor, with a flag set when its end-of-input check fails (see the module comment). */
function tarExtractor(): { extract: tar.Extract; ranOut: () => boolean } {
  // xapi writes V7 headers (no "ustar" magic, ocaml-tar's default level), which tar-stream reads only with this flag;
  // its type declarations do not list the option.
  const extract = tar.extract({ allowUnknownFormat: true } as Parameters<typeof tar.extract>[0]);
  const internals = extract as unknown as { _final?: (cb: (err?: Error | null) => void) => void };
  const final = internals._final;
  if (typeof final !== "function") {
    throw new XvaInputError(
      "tar-stream's extractor has no _final any more: lib/xva/tar-entries.ts must learn to tell a truncated tar apart",
    );
  }
  let ranOut = false;
  internals._final = (cb) =>
    final.call(extract, (err) => {
      if (err) ranOut = true;
      cb(err);
    });
  return { extract, ranOut: () => ranOut };
}

/** Reads an archive's tar entries in order. Create it once per archive, and always {@link close} it. */
export class TarEntries {
  /** Offset in the tar stream just past the last entry read. */
  position = 0;
  /** Bytes of the (decompressed) tar stream fed to the extractor so far. */
  tarBytes = 0;

  private readonly extract: tar.Extract;
  private readonly ranOut: () => boolean;
  private readonly decompressor: ReturnType<typeof createDecompressor>;
  private readonly raw: Readable | undefined;
  private readonly entries: AsyncIterator<TarEntry>;
  private readonly pump: Promise<void>;
  private pumpError: XvaFormatError | XvaChecksumError | undefined;
  private extractError: unknown;
  private stopped = false;
  private currentEntry: string | undefined;

  private readonly compression: XvaCompression;

  constructor(input: ArchiveInput) {
    const compression = input.compression;
    this.compression = compression;
    // Plain tar: the input's own buffers go straight to the extractor. Compressed: through zlib, whose output
    // buffers are taken as they come (chunksOf) rather than re-concatenated.
    this.decompressor = createDecompressor(compression);
    this.raw = this.decompressor === undefined ? undefined : Readable.from(input.bytes, { objectMode: true });
    const tarChunks: AsyncIterable<Buffer> =
      this.decompressor === undefined
        ? input.bytes
        : chunksOf(pipeline(this.raw as Readable, this.decompressor, () => {}));
    ({ extract: this.extract, ranOut: this.ranOut } = tarExtractor());
    // When the extractor fails, its entry streams and iterator may report a generic "Stream was destroyed"; the
    // first error it emitted (or the input's) is the one that says what happened.
    this.extract.on("error", (err: unknown) => {
      this.extractError ??= err;
    });
    this.entries = this.extract[Symbol.asyncIterator]();
    this.pump = this.feed(tarChunks);
  }

  /**
   * Feeds the extractor by hand: tar-stream is a streamx stream, so Node's pipeline stops at the Node side. Never
   * rejects: a failure is kept (a gzip/zstd trailer can break after the last tar byte was already parsed) and
   * destroys the extractor, so that a pending read sees it.
   */
  private async feed(tarChunks: AsyncIterable<Buffer>): Promise<void> {
    try {
      for await (const chunk of tarChunks) {
        if (this.stopped) break;
        this.tarBytes += chunk.byteLength;
        if (!this.extract.write(chunk)) await this.drained();
      }
      if (!this.stopped) this.extract.end(null);
    } catch (err) {
      this.pumpError = decompressionFailure(err, this.compression);
      this.extract.destroy(this.pumpError);
    }
  }

  private drained(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        this.extract.off("close", onClose);
        resolve();
      };
      const onClose = () => {
        this.extract.off("drain", onDrain);
        reject(new XvaFormatError("CORRUPT", "the tar extractor closed before taking all input"));
      };
      this.extract.once("drain", onDrain);
      this.extract.once("close", onClose);
    });
  }

  private failure(err: unknown, entry: string | undefined): XvaFormatError | XvaChecksumError {
    return tarFailure(this.pumpError ?? this.extractError ?? err, this.ranOut(), entry);
  }

  /** The next entry's header and stream, or undefined at the end of the archive. */
  async next(): Promise<TarEntry | undefined> {
    let r: IteratorResult<TarEntry>;
    try {
      r = await this.entries.next();
    } catch (err) {
      const mapped = this.failure(err, this.currentEntry);
      if (this.currentEntry === undefined && mapped instanceof XvaFormatError && mapped.code === "CORRUPT") {
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
    this.currentEntry = r.value.header.name;
    return r.value;
  }

  /**
   * The next entry, read whole: it must be a regular file of at most `maxBytes` (`what` names what was expected,
   * for messages); `checkName` may refuse it by name before its data is read. Undefined at the end of the archive.
   */
  async nextFile(
    maxBytes: number,
    what: string,
    checkName?: (name: string) => void,
  ): Promise<TarFile | undefined> {
    const entry = await this.next();
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
        `entry ${name} is ${size} bytes, more than the ${maxBytes} allowed for ${what}; this is not an XVA xapi would import`,
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
      throw this.failure(err, name);
    }
    if (got !== size) {
      throw new XvaFormatError("TRUNCATED", `entry ${name} holds ${got} of its ${size} bytes; export again`, {
        entry: name,
      });
    }
    // tar-stream records where the entry's data starts; pax or GNU long-name headers would make our own count drift.
    const byteOffset = (header as { byteOffset?: number }).byteOffset;
    this.position =
      (typeof byteOffset === "number" ? byteOffset : this.position + TAR_BLOCK_BYTES) + roundUpBlock(size);
    return { name, size, parts, end: this.position };
  }

  /** After the last entry: waits for the input to end and checks the two end-of-archive blocks are there. */
  async finish(): Promise<void> {
    await this.pump;
    if (this.pumpError !== undefined) throw this.pumpError;
    if (this.tarBytes < this.position + 2 * TAR_BLOCK_BYTES) {
      throw new XvaFormatError(
        "TRUNCATED",
        `the tar stream stops after ${this.tarBytes} bytes without its two end-of-archive blocks; the transfer was cut short`,
      );
    }
  }

  /**
   * Stops reading without waiting: a stalled input must not hang the caller. The pump catches everything, so
   * nothing is left unhandled; the input itself is released by its owner.
   */
  close(): void {
    this.stopped = true;
    this.extract.destroy();
    this.decompressor?.destroy();
    this.raw?.destroy();
  }
}
