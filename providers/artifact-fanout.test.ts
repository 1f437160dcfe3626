import { expect } from "chai";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { S3StoreError } from "../lib/s3/errors";
import { XvaChecksumError } from "../lib/xva";
import { SharedReadError, joinArtifactRead, type FanoutTuning } from "./artifact-fanout";
import type { ArtifactStore } from "./store";
import { smallDisk, xvaBytes } from "./testing/xva-artifact";

const tuning: FanoutTuning = {
  gatherMs: 30,
  gatherMaxMs: 150,
  stallMs: 200,
  branchBufferBytes: 64 * 1024,
  coalesceBytes: 48 * 1024,
};
const store: ArtifactStore = {
  region: "r",
  endpoint: "http://s3.test",
  forcePathStyle: true,
  bucket: "b",
  prefix: "",
  stack: "s",
};

/** One GetObject as the fake store saw it. */
interface Get {
  readonly key: string;
  readonly range?: string;
  readonly ifMatch?: string;
  readonly body: Readable;
}

/** A store holding one object; anything but GetObject of it fails the test. */
class FakeStore {
  readonly gets: Get[] = [];
  /** Clients made for the store and clients destroyed (the group owns its own). */
  made = 0;
  destroyed = 0;
  constructor(
    private readonly data: Buffer,
    private readonly opts: { etag?: string; body?: (data: Buffer) => Readable; refuse?: Error } = {},
  ) {}
  readonly client = {
    send: (cmd: unknown) => {
      if (!(cmd instanceof GetObjectCommand)) throw new Error(`FakeStore: unexpected ${String(cmd)}`);
      const { Key, Range, IfMatch } = cmd.input;
      if (this.opts.refuse !== undefined) return Promise.reject(this.opts.refuse);
      const from = Range === undefined ? 0 : Number(/^bytes=(\d+)-$/.exec(Range)?.[1]);
      const slice = this.data.subarray(from);
      const body = this.opts.body?.(slice) ?? Readable.from(pieces(slice, 16 * 1024));
      this.gets.push({
        key: Key ?? "",
        body,
        ...(Range ? { range: Range } : {}),
        ...(IfMatch ? { ifMatch: IfMatch } : {}),
      });
      return Promise.resolve({
        ContentLength: slice.length,
        ...(this.opts.etag !== undefined ? { ETag: this.opts.etag } : {}),
        Body: body,
      });
    },
    destroy: () => {
      this.destroyed += 1;
    },
  } as unknown as S3Client;
  /** What a provider passes: a new client per call. */
  readonly newClient = (): S3Client => {
    this.made += 1;
    return this.client;
  };
}

function pieces(b: Buffer, n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += n) out.push(b.subarray(i, i + n));
  return out;
}

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Three imports of one source joining at once. */
const joinThree = (s: Parameters<typeof joinArtifactRead>[0]) =>
  Promise.all([joinArtifactRead(s, tuning), joinArtifactRead(s, tuning), joinArtifactRead(s, tuning)]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let xva: Buffer;
let sha: string;
let n = 0;
/** A fresh key per test: groups are process-wide. */
const src = (fake: FakeStore) => ({ client: fake.newClient, store, key: `k${n++}.xva`, sha256: sha });

describe("artifact fan-out: one read and one verification for the imports of a build that start together", function () {
  this.timeout(20_000);
  let disk: Buffer;
  before(async () => {
    disk = smallDisk(4 * 1024 * 1024, 1024 * 1024);
    xva = await xvaBytes({ templateName: "t", buildId: "b1", disk });
    sha = createHash("sha256").update(xva).digest("hex");
  });

  it("imports joining while it gathers share one GetObject; each gets every byte; one verification", async () => {
    const fake = new FakeStore(xva, { etag: '"e1"' });
    const s = src(fake);
    const [a, b, c] = await joinThree(s);
    const got = await Promise.all([a, b, c].map((x) => collect(x.stream)));
    expect(fake.gets).to.have.length(1);
    for (const g of got) expect(g.equals(xva)).to.equal(true);
    expect((await a.verification).sha256).to.equal(sha);
    expect(a.shared()).to.equal(3);
  });

  it("hands every branch the store's 16 KiB pieces gathered into pieces of coalesceBytes (the last may be shorter)", async () => {
    const fake = new FakeStore(xva, { etag: '"e1"' });
    const s = src(fake);
    const [a, b] = await Promise.all([joinArtifactRead(s, tuning), joinArtifactRead(s, tuning)]);
    const pieces = await Promise.all(
      [a, b].map(
        (x) =>
          new Promise<Buffer[]>((resolve, reject) => {
            const seen: Buffer[] = [];
            x.stream.on("data", (c: Buffer) => seen.push(c));
            x.stream.on("end", () => resolve(seen));
            x.stream.on("error", reject);
          }),
      ),
    );
    for (const seen of pieces) {
      const sizes = seen.map((c) => c.length);
      expect(Buffer.concat(seen).equals(xva)).to.equal(true, "every byte, in order");
      expect(sizes.slice(0, -1).every((n) => n >= tuning.coalesceBytes)).to.equal(true, sizes.join(","));
      expect(sizes.length).to.be.at.most(Math.ceil(xva.length / tuning.coalesceBytes));
    }
  });

  it("reads with a client of its own, destroyed once the last branch is gone: an import failing first ends no other's read", async () => {
    // In the e2e, the first pool to join failed its import and its operation destroyed its own S3 client, which
    // carried the shared read: the other pools' reads broke off (ECONNRESET). The group now owns its client.
    const fake = new FakeStore(xva, { etag: '"e1"' });
    const s = src(fake);
    const [a, b, c] = await joinThree(s);
    expect(fake.made, "one client for the group").to.equal(1);
    const first = await new Promise<Buffer>((resolve) => a.stream.once("data", resolve));
    expect(first.length).to.be.greaterThan(0);
    a.stream.destroy(new Error("its pool refused the import"));
    const got = await Promise.all([b, c].map((x) => collect(x.stream)));
    for (const g of got) expect(g.equals(xva)).to.equal(true);
    await sleep(10);
    expect(fake.destroyed, "destroyed once, after the last branch").to.equal(1);
  });

  it("an import that comes once the read has started opens its own", async () => {
    const fake = new FakeStore(xva, { etag: '"e1"' });
    const s = src(fake);
    const a = await joinArtifactRead(s, tuning);
    const first = collect(a.stream);
    await sleep(tuning.gatherMaxMs + 50);
    const b = await joinArtifactRead(s, tuning);
    expect((await collect(b.stream)).equals(xva)).to.equal(true);
    await first;
    expect(fake.gets).to.have.length(2);
    expect([a.shared(), b.shared()]).to.deep.equal([1, 1]);
  });

  it("a branch that takes nothing is detached after stallMs: the others finish; it goes on alone (Range, If-Match)", async () => {
    const fake = new FakeStore(xva, { etag: '"e1"' });
    const s = src(fake);
    const [a, b] = await Promise.all([joinArtifactRead(s, tuning), joinArtifactRead(s, tuning)]);
    const fast = await collect(a.stream); // b is not read meanwhile: its pool stalled
    expect(fast.equals(xva)).to.equal(true);
    const slow = await collect(b.stream);
    expect(slow.equals(xva), "the detached branch gets every byte, in order").to.equal(true);
    expect(fake.gets).to.have.length(2);
    expect(fake.gets[1]).to.deep.include({ ifMatch: '"e1"' });
    expect(fake.gets[1]!.range).to.match(/^bytes=\d+-$/);
    expect((await b.verification).sha256, "the group's verification covers it").to.equal(sha);
  });

  it("without an ETag, the stalled branch fails alone, saying why; the others finish", async () => {
    const fake = new FakeStore(xva);
    const s = src(fake);
    const [a, b] = await Promise.all([joinArtifactRead(s, tuning), joinArtifactRead(s, tuning)]);
    const failed = new Promise<unknown>((resolve) => b.stream.once("error", resolve));
    expect((await collect(a.stream)).equals(xva)).to.equal(true);
    const err = await failed;
    expect(err).to.be.instanceOf(SharedReadError);
    expect((err as Error).message).to.match(/took no data for 0\.2 s .*no ETag/);
  });

  it("a branch whose import failed leaves; the others go on; when none is left the read stops", async () => {
    const fake = new FakeStore(xva, { etag: '"e1"' });
    const s = src(fake);
    const [a, b] = await Promise.all([joinArtifactRead(s, tuning), joinArtifactRead(s, tuning)]);
    a.stream.destroy();
    expect((await collect(b.stream)).equals(xva)).to.equal(true);
    const c = await joinArtifactRead(src(fake), tuning);
    c.stream.destroy();
    await sleep(tuning.gatherMs + 50);
    expect(fake.gets[1]!.body.destroyed, "the lone branch's body is closed").to.equal(true);
  });

  it("the store's read breaking off fails every branch with the store's error", async () => {
    const fake = new FakeStore(xva, {
      etag: '"e1"',
      body: (d) =>
        Readable.from(
          (async function* () {
            yield d.subarray(0, 100_000);
            await sleep(5);
            throw Object.assign(new Error("aborted"), { code: "ECONNRESET" });
          })(),
        ),
    });
    const s = src(fake);
    const branches = await Promise.all([joinArtifactRead(s, tuning), joinArtifactRead(s, tuning)]);
    const errors = await Promise.all(
      branches.map((b) =>
        collect(b.stream).then(
          () => undefined,
          (e: unknown) => e,
        ),
      ),
    );
    for (const err of errors) {
      expect(err).to.be.instanceOf(S3StoreError);
      expect((err as S3StoreError).code).to.equal("ECONNRESET");
      expect((err as Error).message).to.match(/broke off after 100000 of \d+ bytes \(ECONNRESET\)/);
    }
  });

  it("a corrupted chunk fails every branch with the verifier's error", async () => {
    const bad = Buffer.from(xva);
    bad[bad.indexOf(disk.subarray(0, 64)) + 100]! ^= 0xff; // inside the first chunk's data

    const fake = new FakeStore(bad, { etag: '"e1"' });
    const s = src(fake);
    const branches = await Promise.all([joinArtifactRead(s, tuning), joinArtifactRead(s, tuning)]);
    const errors = await Promise.all(
      branches.map((b) =>
        collect(b.stream).then(
          () => undefined,
          (e: unknown) => e,
        ),
      ),
    );
    for (const err of errors) {
      expect(err).to.be.instanceOf(XvaChecksumError);
    }
  });

  it("an object the store refuses rejects every join with the store's error", async () => {
    const refusal = Object.assign(new Error("The specified key does not exist."), { name: "NoSuchKey" });
    const fake = new FakeStore(xva, { refuse: refusal });
    const s = src(fake);
    const joins = await Promise.allSettled([joinArtifactRead(s, tuning), joinArtifactRead(s, tuning)]);
    for (const j of joins) {
      expect(j.status).to.equal("rejected");
      const e = (j as PromiseRejectedResult).reason as S3StoreError;
      expect(e.code).to.equal("NoSuchKey");
    }
  });
});
