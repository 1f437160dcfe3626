/**
 * Iterating a byte stream chunk by chunk, without the copies of Node's own async iterator.
 *
 * `for await (const b of readable)` calls `read()`, which concatenates everything buffered into one new Buffer
 * whenever the consumer is slower than the producer — one extra copy of every byte per stream layer. On a
 * multi-GB export those copies were the largest cost of reading an XVA. Listening to `data` events hands over the
 * producer's own buffers; pausing when a small queue is full keeps the backpressure.
 */
import type { Readable } from "node:stream";
import { XvaFormatError, toError } from "./errors";

/** Yields the chunks `stream` emits, unchanged, pausing it while more than `maxQueued` wait. */
export async function* chunksOf(stream: Readable, maxQueued = 4): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const signal = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onData = (chunk: Buffer): void => {
    queue.push(chunk);
    if (queue.length >= maxQueued) stream.pause();
    signal();
  };
  const onEnd = (): void => {
    ended = true;
    signal();
  };
  const onError = (err: unknown): void => {
    failure ??= toError(err);
    signal();
  };
  const onClose = (): void => {
    // A stream destroyed without an error and without 'end' was cut short.
    if (!ended)
      failure ??= new XvaFormatError(
        "TRUNCATED",
        "the input stream was closed before its end; the transfer was cut short",
      );
    signal();
  };
  stream.on("data", onData);
  stream.on("end", onEnd);
  stream.on("error", onError);
  stream.on("close", onClose);
  try {
    for (;;) {
      const next = queue.shift();
      if (next !== undefined) {
        if (queue.length < maxQueued && stream.isPaused()) stream.resume();
        yield next;
        continue;
      }
      if (failure !== undefined) throw failure;
      if (ended) return;
      if (stream.isPaused()) stream.resume();
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stream.off("data", onData);
    stream.off("end", onEnd);
    stream.off("error", onError);
    stream.off("close", onClose);
  }
}
