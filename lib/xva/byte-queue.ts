import { toError } from "./errors";

/**
 * A bounded hand-over of byte chunks from a push side (a Transform's `_transform`) to a pull side (an async
 * iterator), without copying. `push` resolves once the queued bytes are under the budget, which is the
 * backpressure; `end` and `fail` finish the iteration; `return()` from the pull side (consumer gone) makes every
 * later `push` resolve at once so the push side never hangs.
 */
export class ByteQueue implements AsyncIterableIterator<Buffer> {
  private readonly chunks: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private closed = false;
  private failure: Error | undefined;
  private pullWaiter: (() => void) | undefined;
  private pushWaiters: (() => void)[] = [];

  /** @param budgetBytes bytes queued before `push` starts waiting. */
  constructor(private readonly budgetBytes: number) {}

  /** Queues a chunk; resolves when the queue has room again (or the consumer is gone). */
  push(chunk: Buffer): Promise<void> {
    if (this.closed || this.ended) return Promise.resolve();
    this.chunks.push(chunk);
    this.queued += chunk.byteLength;
    this.wakePull();
    if (this.queued <= this.budgetBytes) return Promise.resolve();
    return new Promise((resolve) => this.pushWaiters.push(resolve));
  }

  /** No more chunks: the iteration ends after the queued ones. */
  end(): void {
    this.ended = true;
    this.wakePull();
  }

  /** The iteration throws `err` once the queued chunks are consumed. */
  fail(err: unknown): void {
    this.failure ??= toError(err);
    this.ended = true;
    this.wakePull();
  }

  async next(): Promise<IteratorResult<Buffer>> {
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk !== undefined) {
        this.queued -= chunk.byteLength;
        if (this.queued <= this.budgetBytes) this.wakePushes();
        return { done: false, value: chunk };
      }
      if (this.failure !== undefined) throw this.failure;
      if (this.ended || this.closed) return { done: true, value: undefined };
      await new Promise<void>((resolve) => (this.pullWaiter = resolve));
    }
  }

  return(): Promise<IteratorResult<Buffer>> {
    this.closed = true;
    this.chunks.length = 0;
    this.queued = 0;
    this.wakePull();
    this.wakePushes();
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Buffer> {
    return this;
  }

  private wakePull(): void {
    const w = this.pullWaiter;
    this.pullWaiter = undefined;
    w?.();
  }

  private wakePushes(): void {
    const ws = this.pushWaiters;
    this.pushWaiters = [];
    for (const w of ws) w();
  }
}
