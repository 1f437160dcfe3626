/**
 * A pass-through that withholds the last bytes of a stream until a check on the whole stream has passed.
 *
 * Why: a verdict that needs every byte (the SHA-256 of the object against the channel's pointer) comes only at the
 * end, when a plain pass-through would already have handed the pool everything it needs to complete the import.
 * Held back, the tail never reaches the pool when the check fails: the pool sees a truncated body and the import
 * fails there (xapi's import.ml removes what it created on a failed import), instead of completing a VM built from
 * bytes we would reject. Memory: at most `holdBytes` plus one incoming piece.
 */
import { Transform, type TransformCallback } from "node:stream";

export class TailGate extends Transform {
  private readonly held: Buffer[] = [];
  private heldBytes = 0;

  /**
   * @param holdBytes bytes kept back until the end (fewer when the stream is shorter)
   * @param release resolves to let the tail through, or rejects to fail the stream with its error
   */
  constructor(
    private readonly holdBytes: number,
    private readonly release: () => Promise<void>,
  ) {
    super();
    if (!Number.isSafeInteger(holdBytes) || holdBytes < 0) {
      throw new RangeError(`holdBytes must be a whole number of bytes, but ${holdBytes} was given`);
    }
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    // Forward everything beyond the last `holdBytes`, oldest first, splitting a piece if need be.
    let excess = this.heldBytes - this.holdBytes;
    while (excess > 0) {
      const first = this.held[0];
      if (first === undefined) break;
      if (first.length <= excess) {
        this.held.shift();
        this.push(first);
        this.heldBytes -= first.length;
        excess -= first.length;
      } else {
        this.push(first.subarray(0, excess));
        this.held[0] = first.subarray(excess);
        this.heldBytes -= excess;
        excess = 0;
      }
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.release().then(
      () => {
        for (const b of this.held.splice(0)) this.push(b);
        this.heldBytes = 0;
        callback();
      },
      (e: unknown) => callback(e instanceof Error ? e : new Error(String(e))),
    );
  }
}
