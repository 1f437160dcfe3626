/**
 * The bytes of an archive as the reader takes them: the first bytes read ahead to pick the decompressor, then the
 * whole input again as one async iterable of Buffers; any failure of the input itself reported as a cut transfer.
 */
import { Readable } from "node:stream";
import { COMPRESSION_SNIFF_BYTES, type XvaCompression, detectCompression } from "./compression";
import { XvaChecksumError, XvaFormatError, toError } from "./errors";
import { chunksOf } from "./stream-chunks";

export interface ArchiveInput {
  readonly compression: XvaCompression;
  /** Every byte of the input, the sniffed head included, as the input's own buffers. */
  readonly bytes: AsyncGenerator<Buffer>;
  /** Ends the input at once (a Node stream is destroyed), even while a read is pending on it. */
  release(): void;
}

/**
 * A failure of the input (a reset connection, a closed file, a source that throws): whatever its kind, the
 * archive stops there, so it is `TRUNCATED`, with the input's error as the cause. The library's own verdicts
 * (a verifier feeding the input) pass through.
 */
export function inputFailure(err: unknown): XvaFormatError | XvaChecksumError {
  if (err instanceof XvaFormatError || err instanceof XvaChecksumError) return err;
  const e = toError(err);
  return new XvaFormatError(
    "TRUNCATED",
    `the input failed before the end of the archive (${e.message}); the transfer was cut short: export again`,
    { cause: e },
  );
}

function asBuffer(v: Uint8Array): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Reads the input's first bytes to pick the decompressor, then hands back an iterable of the whole input. */
export async function openArchiveInput(
  input: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Promise<ArchiveInput> {
  // A Node stream is read through chunksOf: its own async iterator would re-concatenate buffered chunks.
  const readable = input instanceof Readable ? input : undefined;
  const source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = readable ? chunksOf(readable) : input;
  const it: AsyncIterator<Uint8Array> | Iterator<Uint8Array> =
    Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  let done = false;
  const next = async (): Promise<Buffer | undefined> => {
    let r: IteratorResult<Uint8Array>;
    try {
      r = await it.next();
    } catch (err) {
      throw inputFailure(err);
    }
    if (r.done === true) {
      done = true;
      return undefined;
    }
    return asBuffer(r.value);
  };

  const head: Buffer[] = [];
  let headLength = 0;
  while (headLength < COMPRESSION_SNIFF_BYTES) {
    const b = await next();
    if (b === undefined) break;
    head.push(b);
    headLength += b.byteLength;
  }
  const first = Buffer.concat(head);
  const bytes = async function* (): AsyncGenerator<Buffer> {
    try {
      if (first.byteLength > 0) yield first;
      while (!done) {
        const b = await next();
        if (b === undefined) return;
        yield b;
      }
    } finally {
      if (!done) await it.return?.();
    }
  };
  const release = (): void => {
    if (done) return;
    done = true;
    if (readable !== undefined) readable.destroy();
    else Promise.resolve(it.return?.()).catch(() => undefined);
  };
  return { compression: detectCompression(first), bytes: bytes(), release };
}
