/**
 * One read of an artifact for every import of it that starts at about the same time: a fleet placing a new build
 * on N pools reads the object from the store once and verifies it once (every chunk's checksum, the SHA-256), and
 * hands the same bytes to each pool's `PUT /import`.
 *
 * Why: verification is most of the importing process's CPU (SHA-256, XXH64, the tar walk, ~3 CPU s per 400 MB
 * here), so N separate reads cost N times that; and the store sees one GetObject per build instead of one per
 * pool. The Replica resources of one build run in parallel (Pulumi), in one provider process, so they meet here.
 *
 * - Gathering: the first import of a key opens the object (GetObject: its length and ETag) and waits for others:
 *   `gatherMs` after the last one joined, at most `gatherMaxMs` after the first. Later imports open their own.
 * - Flowing: S3 body → verifier → every branch (a Readable per import, buffering up to `branchBufferBytes`). The
 *   read goes at the pace of the slowest branch that keeps up.
 * - A branch that takes nothing for `stallMs` while the others wait (a pool that stopped reading) is detached:
 *   it continues alone with a ranged GetObject from where it is, `If-Match` the ETag (the same object, so the
 *   group's verification covers its bytes), and the others go on. Without an ETag it fails instead, alone.
 * - A branch whose import fails leaves the group; when no branch is left, the read stops.
 * - The store's failure or the artifact's (verifier) fails every branch with that error.
 * - The group reads with an S3 client of its own, destroyed once every branch is gone: a joiner's client ends with
 *   its own operation, which may finish or fail (its pool refusing the import) while the others still read.
 *
 * Memory: the verifier's budget plus `branchBufferBytes` per branch.
 */
import { Readable } from "node:stream";
import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from "@aws-sdk/client-s3";
import { XcpngError, messageOf } from "../lib/errors";
import { S3StoreError } from "../lib/s3/errors";
import { chunksOf, createXvaVerifier, type XvaVerification, type XvaVerifier } from "../lib/xva";
import { s3Failure } from "./dynamic/s3-failure";
import type { ArtifactStore } from "./store";

/** A detached branch could not continue alone (the store gave no ETag to pin the object with). */
export class SharedReadError extends XcpngError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("SHARED_READ_STALLED", message, options);
  }
}

export interface FanoutTuning {
  /** Wait this long after the last import joined before the read starts. */
  readonly gatherMs: number;
  /** ...but at most this long after the first. */
  readonly gatherMaxMs: number;
  /** A branch that takes nothing for this long while the others wait is detached. */
  readonly stallMs: number;
  /** Bytes a branch may hold ahead of its import. */
  readonly branchBufferBytes: number;
  /** The store's pieces are handed to the branches gathered into pieces of at least this many bytes. */
  readonly coalesceBytes: number;
}

/**
 * A lone import waits `gatherMs` before its read starts (about 3 % of a 1 GiB import here); siblings started by the
 * same `pulumi up` reach the import within that of each other (they do the same login, survey and manifest read).
 */
export const DEFAULT_FANOUT_TUNING: FanoutTuning = {
  gatherMs: 200,
  gatherMaxMs: 2000,
  stallMs: 30_000,
  branchBufferBytes: 4 * 1024 * 1024,
  coalesceBytes: 1024 * 1024,
};

/** What the object's GetObject answered: each import checks it against its own pointer. */
export interface OpenedObject {
  readonly contentLength?: number;
  readonly contentType?: string;
  readonly etag?: string;
}

/** One import's share of a read. */
export interface ArtifactBranch {
  readonly object: OpenedObject;
  /** The artifact's bytes, from the first (destroy it to leave the group). */
  readonly stream: Readable;
  /** The group's verification of the bytes it read (all branches get the same bytes). */
  readonly verification: Promise<XvaVerification>;
  /** How many imports share this read (1: alone); final once the read has started. */
  readonly shared: () => number;
}

/** A branch: bytes the group pushes, or, once detached, its own ranged read. */
class Branch extends Readable {
  /** Bytes handed to this branch so far (its position in the object). */
  received = 0;
  /** Its buffer was full at the last push: the group waits for `_read`. */
  full = false;
  detached = false;
  private own: Readable | undefined;

  constructor(
    highWaterMark: number,
    private readonly onRoom: () => void,
    private readonly onGone: (b: Branch) => void,
  ) {
    super({ highWaterMark });
    // Its import listens (or iterates) from the moment it has it; a failure before that must not crash the process.
    this.on("error", () => undefined);
  }

  /** From the group; false when its buffer is over the mark (it then waits for `_read`). */
  feed(chunk: Buffer): void {
    this.received += chunk.length;
    this.full = !this.push(chunk);
  }

  override _read(): void {
    if (this.own !== undefined) {
      this.own.resume();
      return;
    }
    if (this.full) {
      this.full = false;
      this.onRoom();
    }
  }

  /** Continues alone from `received` with `body` (a ranged read of the same object); `explain` words its failure. */
  continueWith(body: Readable, explain: (e: Error, received: number) => Error): void {
    this.own = body;
    body.on("data", (c: Buffer) => {
      this.received += c.length;
      if (!this.push(c)) body.pause();
    });
    body.on("end", () => this.push(null));
    body.on("error", (e) => this.destroy(explain(e, this.received)));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.own?.destroy();
    this.onGone(this);
    callback(error);
  }
}

/** The store the artifact lives in and the object, as one group's identity. */
export interface FanoutSource {
  /** Makes the group's own client (called once per group; the group destroys it). */
  readonly client: () => S3Client;
  readonly store: ArtifactStore;
  readonly key: string;
  /** The digest the pointer gives: reads of the same key for another digest are other artifacts. */
  readonly sha256: string;
}

class ReadGroup {
  readonly branches = new Set<Branch>();
  /** Branches that went on alone: the group's verification still decides for them. */
  private readonly detached = new Set<Branch>();
  /** Branches alive: in the group, or detached and reading alone (they still wait for the verification). */
  private live = 0;
  private verifier: XvaVerifier | undefined;
  private readonly verified: Promise<XvaVerification>;
  private settleVerified!: { resolve: (v: XvaVerification) => void; reject: (e: Error) => void };
  private flowing = false;
  /** Branches when the read started. */
  private startedWith: number | undefined;
  private body: Readable | undefined;
  private roomWaiter: (() => void) | undefined;
  private stalledTimer: NodeJS.Timeout | undefined;
  private gatherTimer: NodeJS.Timeout | undefined;
  private readonly firstJoinedAt = Date.now();
  private opened: Promise<GetObjectCommandOutput>;
  /** The group's own client: the joiners' clients end with their operations. */
  private readonly s3: S3Client;

  constructor(
    private readonly src: FanoutSource,
    private readonly tuning: FanoutTuning,
    private readonly onStart: () => void,
  ) {
    this.verified = new Promise((resolve, reject) => (this.settleVerified = { resolve, reject }));
    this.verified.catch(() => undefined);
    this.s3 = src.client();
    this.opened = this.s3.send(new GetObjectCommand({ Bucket: src.store.bucket, Key: src.key }));
    this.opened.catch(() => undefined);
  }

  private where(): string {
    return `s3://${this.src.store.bucket}/${this.src.key}`;
  }

  /** A new branch; the read starts `gatherMs` after the last join (at most `gatherMaxMs` after the first). */
  async join(): Promise<ArtifactBranch> {
    const branch = new Branch(
      this.tuning.branchBufferBytes,
      () => this.maybeRoom(),
      (b) => this.leave(b),
    );
    this.branches.add(branch);
    this.live += 1;
    this.scheduleStart();
    let got: GetObjectCommandOutput;
    try {
      got = await this.opened;
    } catch (e) {
      branch.destroy();
      throw s3Failure(e, `reading ${this.where()}`);
    }
    return {
      object: {
        ...(got.ContentLength !== undefined ? { contentLength: got.ContentLength } : {}),
        ...(got.ContentType !== undefined ? { contentType: got.ContentType } : {}),
        ...(got.ETag !== undefined ? { etag: got.ETag } : {}),
      },
      stream: branch,
      verification: this.verified,
      shared: () => this.startedWith ?? this.branches.size,
    };
  }

  private scheduleStart(): void {
    clearTimeout(this.gatherTimer);
    const left = this.firstJoinedAt + this.tuning.gatherMaxMs - Date.now();
    this.gatherTimer = setTimeout(() => void this.start(), Math.max(0, Math.min(this.tuning.gatherMs, left)));
  }

  private async start(): Promise<void> {
    this.onStart(); // no more joins
    this.flowing = true;
    this.startedWith = this.branches.size;
    let got: GetObjectCommandOutput;
    try {
      got = await this.opened;
    } catch {
      return; // each joiner got the error from join()
    }
    const body = got.Body;
    if (!(body instanceof Readable)) {
      this.fail(
        new S3StoreError(`reading ${this.where()}: the S3 client gave no stream; expected a Node Readable`),
      );
      return;
    }
    this.body = body;
    if (this.live === 0) {
      body.destroy();
      return;
    }
    await this.pump(body, got.ContentLength ?? 0, got.ETag);
  }

  /** S3 body → verifier → every branch, at the pace of the slowest branch that keeps up. */
  private async pump(body: Readable, length: number, etag: string | undefined): Promise<void> {
    const verifier = createXvaVerifier();
    this.verifier = verifier;
    let read = 0;
    body.on("data", (c: Buffer) => (read += c.length));
    body.on("error", (e) => verifier.destroy(this.brokeOff(e, read, length)));
    // A failure of the read or of the artifact ends every branch at once, even while the group waits for room.
    verifier.on("error", (e) => this.fail(e));
    verifier.verification.then(
      (v) => this.settleVerified.resolve(v),
      (e: unknown) => this.settleVerified.reject(e instanceof Error ? e : new Error(String(e))),
    );
    body.pipe(verifier);
    // The store's pieces (≤ 64 KiB) gathered into pieces of `coalesceBytes`: every branch's pipeline (tail gate,
    // byte count, TLS to its pool) then handles 16 times fewer pieces, for one copy of the bytes shared by all.
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const hand = async (): Promise<void> => {
      if (pendingBytes === 0) return;
      const piece = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      for (const b of this.branches) b.feed(piece);
      await this.room(etag);
    };
    try {
      // chunksOf, not the stream's own iterator: that one concatenates whatever is buffered into a new Buffer.
      for await (const chunk of chunksOf(verifier)) {
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= this.tuning.coalesceBytes) await hand();
        if (this.live === 0) break;
      }
      if (this.live > 0) await hand();
      await this.verified;
      for (const b of this.branches) b.push(null);
    } catch (e) {
      this.fail(e instanceof Error ? e : new Error(String(e)));
    } finally {
      body.unpipe(verifier);
      if (this.live === 0 || this.body?.readableEnded !== true) body.destroy();
    }
  }

  /** The store's read ended early: how far it got, and the store's or the socket's code. */
  private brokeOff(e: Error, read: number, length: number): S3StoreError {
    const code = (e as { code?: unknown }).code;
    return new S3StoreError(
      `reading ${this.where()} from the store broke off after ${read} of ${length} bytes ` +
        `(${typeof code === "string" ? code : messageOf(e)})`,
      typeof code === "string" ? code : undefined,
      { cause: e },
    );
  }

  /** Resolves when every branch in the group has room; detaches a branch that stays full for `stallMs`. */
  private room(etag: string | undefined): Promise<void> {
    if (![...this.branches].some((b) => b.full)) return Promise.resolve();
    return new Promise((resolve) => {
      this.roomWaiter = resolve;
      this.stalledTimer = setTimeout(() => {
        for (const b of [...this.branches]) if (b.full) this.detach(b, etag);
        this.maybeRoom();
      }, this.tuning.stallMs);
    });
  }

  private maybeRoom(): void {
    if (this.roomWaiter === undefined || [...this.branches].some((b) => b.full)) return;
    clearTimeout(this.stalledTimer);
    const w = this.roomWaiter;
    this.roomWaiter = undefined;
    w();
  }

  /** A branch that kept the others waiting goes on alone, from where it is, on the same object version. */
  private detach(b: Branch, etag: string | undefined): void {
    this.branches.delete(b);
    this.detached.add(b);
    b.detached = true;
    b.full = false;
    if (etag === undefined) {
      b.destroy(
        new SharedReadError(
          `its pool took no data for ${this.tuning.stallMs / 1000} s while the other pools importing ${this.where()} ` +
            `waited, and the store gave no ETag to continue alone on the same object. Retry ('pulumi up').`,
        ),
      );
      return;
    }
    const from = b.received;
    this.s3
      .send(
        new GetObjectCommand({
          Bucket: this.src.store.bucket,
          Key: this.src.key,
          Range: `bytes=${from}-`,
          IfMatch: etag,
        }),
      )
      .then(
        (got) => {
          if (!(got.Body instanceof Readable)) throw new Error("no stream");
          b.continueWith(got.Body, (e, at) => this.brokeOff(e, at, from + (got.ContentLength ?? 0)));
        },
        (e: unknown) =>
          b.destroy(s3Failure(e, `reading ${this.where()} from byte ${from} (If-Match ${etag})`)),
      );
  }

  private leave(b: Branch): void {
    const left = this.branches.delete(b) || this.detached.delete(b);
    if (left) this.live -= 1;
    if (left && this.live <= 0) {
      clearTimeout(this.gatherTimer);
      clearTimeout(this.stalledTimer);
      this.verifier?.destroy();
      this.body?.destroy();
      if (!this.flowing) {
        this.flowing = true;
        this.onStart();
      }
      // Whatever the read's state: an unread body (nobody left before it started) goes with the client.
      this.opened.then(
        (g) => g.Body instanceof Readable && g.Body.destroy(),
        () => undefined,
      );
      this.s3.destroy();
    }
    this.maybeRoom();
  }

  private fail(e: Error): void {
    this.settleVerified.reject(e);
    // Detached branches too: their bytes are the same object's, so the verdict is theirs as well.
    for (const b of [...this.branches, ...this.detached]) b.destroy(e);
    clearTimeout(this.stalledTimer);
    const w = this.roomWaiter;
    this.roomWaiter = undefined;
    w?.();
  }
}

/** Groups still gathering, by source: a new import of the same artifact joins one. */
const GATHERING = new Map<string, ReadGroup>();

function keyOf(src: FanoutSource): string {
  return [src.store.endpoint ?? "aws", src.store.region, src.store.bucket, src.key, src.sha256].join("\n");
}

/**
 * This import's branch of a shared read of the artifact: a group still gathering if one exists for the same
 * object and digest, else a new one. Rejects with the store's error when the object cannot be opened.
 */
export function joinArtifactRead(
  src: FanoutSource,
  tuning: FanoutTuning = DEFAULT_FANOUT_TUNING,
): Promise<ArtifactBranch> {
  const key = keyOf(src);
  let group = GATHERING.get(key);
  if (group === undefined) {
    const g = new ReadGroup(src, tuning, () => {
      if (GATHERING.get(key) === g) GATHERING.delete(key);
    });
    GATHERING.set(key, g);
    group = g;
  }
  return group.join();
}
