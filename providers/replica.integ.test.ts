import { expect } from "chai";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as m from "@aws-sdk/client-s3";
import { startDevpool, type Devpool } from "../devpool";
import { startVersityGw, type VersityGw } from "../devpool/versitygw";
import { startS3FaultProxy, type S3FaultProxy } from "../tests/support/s3-fault-proxy";
import { createS3Client } from "../lib/s3/client";
import { withXapi, type PoolTarget } from "../lib/xapi/client";
import { destroyTemplate, findByUuid } from "../lib/xapi/templates";
import { ReplicaProvider, type ReplicaBuild, type ReplicaInputs, type ReplicaOutputs } from "./replica";
import type { ArtifactStore } from "./store";
import { publishArtifact, smallDisk, xvaBytes, type XvaFixture } from "./testing/xva-artifact";

const MIB = 1024 * 1024;
const USER = "root";
const BUCKET = "fleet";
const STACK = "fleet-st";
const TEMPLATE = "tmpl";
const NAMES = ["a", "b", "c"] as const;
type PoolName = (typeof NAMES)[number];
const PASSWORDS: Record<PoolName, string> = { a: "pw-a-integ", b: "pw-b-integ", c: "pw-c-integ" };

/** A stack configuration as the provider host hands it to `configure`. */
function stackConfig(values: Record<string, string>) {
  return {
    get: (k: string) => values[k],
    require: (k: string) => {
      const v = values[k];
      if (v === undefined) throw new Error(`missing ${k}`);
      return v;
    },
  };
}

/** Tags of the VMs of a pool that carry `tag`, by uuid. */
function tagged(pool: Devpool, tag: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const { rec } of pool.engine.store.rows("VM")) {
    const tags = rec.tags as string[];
    if (tags.includes(tag)) out.set(rec.uuid as string, tags);
  }
  return out;
}

/** What a pool holds: objects and disk files. */
function footprint(pool: Devpool): Record<string, number> {
  const out: Record<string, number> = {};
  for (const cls of ["VM", "VBD", "VDI", "VM_guest_metrics"]) out[cls] = pool.engine.store.count(cls);
  out.files = fs.readdirSync(path.join(pool.dataDir, "vdis")).length;
  return out;
}

/** The failure an update recorded (a pool's failure is recorded, not thrown: providers/fleet-report.ts). */
async function recordedFailure(p: Promise<ReplicaOutputs>): Promise<NonNullable<ReplicaOutputs["failure"]>> {
  const outs = await p;
  if (outs.failure === undefined) throw new Error("expected a recorded failure");
  return outs.failure;
}

describe("ReplicaProvider (integ: versitygw + three devpools, one with injected faults)", function () {
  this.timeout(300_000);
  let dir: string;
  let gw: VersityGw;
  let proxy: S3FaultProxy;
  let s3: m.S3Client;
  const pools = {} as Record<PoolName, Devpool>;
  const empty = {} as Record<PoolName, Record<string, number>>;
  let provider: ReplicaProvider;
  const outs = {} as Record<PoolName, ReplicaOutputs>;
  const builds: Record<string, ReplicaBuild> = {};
  let second = 0;

  const store = (endpoint = gw.endpoint): ArtifactStore => ({
    region: gw.region,
    endpoint,
    forcePathStyle: true,
    bucket: BUCKET,
    prefix: STACK,
    stack: STACK,
  });
  const target = (n: PoolName): PoolTarget => ({
    url: pools[n].url,
    username: USER,
    caCertificate: pools[n].certificate ?? "",
    insecureSkipVerify: false,
  });
  const inputs = (n: PoolName, build: ReplicaBuild, over: Partial<ReplicaInputs> = {}): ReplicaInputs => ({
    pool: target(n),
    poolName: n,
    passwordKey: `fleetPoolPasswords.${n}`,
    templateName: TEMPLATE,
    channel: "stable",
    build,
    store: store(),
    poolRetention: 2,
    ...over,
  });
  /** Stores a fixture's XVA and manifest (each under its own timestamp: keys have one-second resolution). */
  const publish = async (f: XvaFixture, alter?: (xva: Buffer) => Buffer, claimOriginal = false) => {
    const bytes = await xvaBytes(f);
    const stored = alter ? alter(Buffer.from(bytes)) : bytes;
    const claimed = claimOriginal ? { sha256: createHash("sha256").update(bytes).digest("hex") } : {};
    const b = await publishArtifact(
      s3,
      store(),
      f,
      stored,
      new Date(Date.UTC(2026, 0, 1, 0, 0, second++)),
      claimed,
    );
    builds[f.buildId] = b;
    return b;
  };
  /** An 8 MiB disk whose first 3 MiB are random: its XVA is over 3 MiB, compressed or not. */
  const fixture = (buildId: string, compression: XvaFixture["compression"] = "none"): XvaFixture => ({
    templateName: TEMPLATE,
    buildId,
    compression,
    disk: smallDisk(8 * MIB, 3 * MIB),
  });
  const update = (n: PoolName, news: ReplicaInputs) =>
    provider.update(`${n}/${TEMPLATE}`, outs[n], news).then((r) => {
      outs[n] = r.outs as ReplicaOutputs;
      return outs[n];
    });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "replica-integ-"));
    gw = await startVersityGw({ dataDir: path.join(dir, "s3") });
    proxy = await startS3FaultProxy(gw.endpoint);
    s3 = createS3Client(
      { region: gw.region, endpoint: gw.endpoint, forcePathStyle: true },
      { accessKeyId: gw.accessKey, secretAccessKey: gw.secretKey },
    );
    await s3.send(new m.CreateBucketCommand({ Bucket: BUCKET }));
    for (const n of NAMES) {
      pools[n] = await startDevpool({
        dataDir: path.join(dir, `pool-${n}`),
        username: USER,
        password: PASSWORDS[n],
        tls: true,
        hostname: `pool-${n}`,
      });
      empty[n] = footprint(pools[n]);
    }
    provider = new ReplicaProvider();
    await provider.configure({
      config: stackConfig({
        "xcpng-templates:fleetPoolPasswords": JSON.stringify(PASSWORDS),
        "xcpng-templates:s3AccessKeyId": gw.accessKey,
        "xcpng-templates:s3SecretAccessKey": gw.secretKey,
      }),
    });
  });
  after(async () => {
    s3?.destroy();
    await proxy?.stop();
    for (const n of NAMES) await pools[n]?.stop();
    await gw?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("check: refuses a pool whose password secret is not in the stack, naming the key and the command", async () => {
    const b = await publish(fixture("b1"));
    const r = await provider.check(inputs("a", b), {
      ...inputs("a", b),
      passwordKey: "fleetPoolPasswords.zz",
    });
    expect(r.failures).to.have.length(1);
    expect(r.failures?.[0]?.property).to.equal("passwordKey");
    expect(r.failures?.[0]?.reason).to.match(/pulumi config set --secret --path fleetPoolPasswords\.zz/);
    expect((await provider.check(inputs("a", b), inputs("a", b))).failures).to.deep.equal([]);
  });

  it("create: each pool gets the build from S3, verified and tagged template, build-id and channel", async () => {
    const b1 = builds.b1!;
    const created = await Promise.all(NAMES.map((n) => provider.create(inputs(n, b1))));
    NAMES.forEach((n, i) => {
      const c = created[i]!;
      expect(c.id).to.equal(`${n}/${TEMPLATE}`);
      outs[n] = c.outs as ReplicaOutputs;
      const onPool = tagged(pools[n], `template:${TEMPLATE}`);
      expect([...onPool.keys()]).to.deep.equal([outs[n].uuid]);
      expect(onPool.get(outs[n].uuid)).to.include.members(["build-id:b1", "channel:stable"]);
      expect(outs[n]).to.include({ osName: "Debian GNU/Linux 12 (bookworm)", diskCount: 1 });
      expect(outs[n].virtualSizeBytes).to.equal(8 * MIB);
      expect(outs[n].replicas.map((r) => r.buildId)).to.deep.equal(["b1"]);
    });
  });

  it("diff: nothing changed, nothing to do", async () => {
    for (const n of NAMES) {
      const d = await provider.diff(`${n}/${TEMPLATE}`, outs[n], inputs(n, builds.b1!));
      expect(d.changes, n).to.equal(false);
    }
  });

  it("a replica deleted on one pool: read finds it, only that pool's update imports it again", async () => {
    const gone = outs.b.uuid;
    await withXapi(target("b"), PASSWORDS.b, async (x) => destroyTemplate(x, (await findByUuid(x, gone))!));
    const before = { a: outs.a.uuid, c: outs.c.uuid };
    for (const n of NAMES) {
      const r = await provider.read(`${n}/${TEMPLATE}`, outs[n]);
      outs[n] = r.props as ReplicaOutputs;
    }
    expect(outs.b.replicas[0]?.missing).to.equal(true);
    expect(outs.a.replicas[0]?.missing).to.equal(undefined);
    const diffs = await Promise.all(NAMES.map((n) => provider.diff("", outs[n], inputs(n, builds.b1!))));
    expect(diffs.map((d) => d.changes)).to.deep.equal([false, true, false]);
    await update("b", inputs("b", builds.b1!));
    expect(outs.b.uuid).to.not.equal(gone);
    expect([...tagged(pools.b, `template:${TEMPLATE}`).keys()]).to.deep.equal([outs.b.uuid]);
    expect({ a: outs.a.uuid, c: outs.c.uuid }).to.deep.equal(before);
  });

  it("a tag removed by hand: read sees it, the update puts it back without importing", async () => {
    const uuid = outs.a.uuid;
    await withXapi(target("a"), PASSWORDS.a, async (x) =>
      x.write("VM.remove_tags", await x.read<string>("VM.get_by_uuid", uuid), "channel:stable"),
    );
    outs.a = (await provider.read("", outs.a)).props as ReplicaOutputs;
    expect(outs.a.replicas[0]?.drift).to.deep.equal(["tag channel:stable is missing"]);
    const vms = footprint(pools.a).VM;
    await update("a", inputs("a", builds.b1!));
    expect(outs.a.uuid).to.equal(uuid);
    expect(footprint(pools.a).VM).to.equal(vms);
    expect(tagged(pools.a, "channel:stable").has(uuid)).to.equal(true);
  });

  it("a new stable (zstd-compressed): an update on every pool, the channel tag moves, the old one is kept", async () => {
    const b2 = await publish(fixture("b2", "zstd"));
    const previous = Object.fromEntries(NAMES.map((n) => [n, outs[n].uuid]));
    for (const n of NAMES) {
      const d = await provider.diff("", outs[n], inputs(n, b2));
      expect(d, n).to.include({ changes: true });
      expect(d.replaces).to.deep.equal([]);
    }
    await Promise.all(NAMES.map((n) => update(n, inputs(n, b2))));
    for (const n of NAMES) {
      expect(outs[n].replicas.map((r) => r.buildId)).to.deep.equal(["b2", "b1"]);
      expect([...tagged(pools[n], "channel:stable").keys()]).to.deep.equal([outs[n].uuid]);
      const old = tagged(pools[n], "build-id:b1").get(previous[n]!);
      expect(old, "the previous replica stays (poolRetention 2)").to.include(`template:${TEMPLATE}`);
      expect(old).to.not.include("channel:stable");
    }
  });

  it("rollback: the pointer goes back to b1, whose replica is still there: the tag moves back, no import", async () => {
    const b1uuids = Object.fromEntries(NAMES.map((n) => [n, outs[n].replicas[1]!.uuid]));
    const vms = Object.fromEntries(NAMES.map((n) => [n, footprint(pools[n]).VM]));
    await Promise.all(NAMES.map((n) => update(n, inputs(n, builds.b1!))));
    for (const n of NAMES) {
      expect(outs[n].uuid).to.equal(b1uuids[n]);
      expect(footprint(pools[n]).VM, "nothing imported").to.equal(vms[n]);
      expect([...tagged(pools[n], "channel:stable").keys()]).to.deep.equal([b1uuids[n]]);
      expect(outs[n].replicas.map((r) => r.buildId)).to.deep.equal(["b1", "b2"]);
    }
  });

  it("an import cut midway on one pool fails only that pool, leaves nothing there, and the next update succeeds", async () => {
    const b3 = await publish(fixture("b3", "gzip"));
    pools.c.setFaults({ cutImportAfterBytes: 1024 * 1024 });
    const before = footprint(pools.c);
    const uuidBefore = outs.c.uuid;
    await Promise.all(NAMES.map((n) => update(n, inputs(n, b3))));
    expect(NAMES.map((n) => outs[n].failure?.code)).to.deep.equal([
      undefined,
      undefined,
      "REPLICA_IMPORT_FAILED",
    ]);
    const err = outs.c.failure!;
    expect(outs.c.uuid, "what is on c is unchanged").to.equal(uuidBefore);
    expect(err.message).to.match(
      /^replica: tmpl on pool c \(https:\/\/127\.0\.0\.1:\d+\): .*Nothing was left on the pool/,
    );
    expect(footprint(pools.c)).to.deep.equal(before);
    expect(outs.c.uuid, "the failed update changed nothing in state").to.equal(outs.c.replicas[0]!.uuid);
    // Retention 2 on the others: b3 (the channel's), b1 (the last stable before it); b2 went with its disk.
    for (const n of ["a", "b"] as const) {
      expect(outs[n].replicas.map((r) => r.buildId)).to.deep.equal(["b3", "b1"]);
      expect(tagged(pools[n], "build-id:b2").size).to.equal(0);
    }
    pools.c.setFaults({});
    await update("c", inputs("c", b3));
    expect(outs.c.replicas.map((r) => r.buildId)).to.deep.equal(["b3", "b1"]);
    expect([...tagged(pools.c, "channel:stable").keys()]).to.deep.equal([outs.c.uuid]);
  });

  it("an S3 read cut midway fails the import with the store's error, leaves nothing, and the next update succeeds", async () => {
    const b4 = await publish(fixture("b4"));
    proxy.cutDownloadsAfter(1024 * 1024);
    const before = footprint(pools.b);
    const err = await recordedFailure(update("b", inputs("b", b4, { store: store(proxy.endpoint) })));
    expect(proxy.cutDownloads).to.be.greaterThan(0);
    expect(err.code).to.equal("REPLICA_IMPORT_FAILED");
    expect(err.message).to.match(/on pool b .*reading s3:\/\/fleet\/.*Nothing was left on the pool/s);
    expect(footprint(pools.b)).to.deep.equal(before);
    proxy.cutDownloadsAfter(undefined);
    await update("b", inputs("b", b4, { store: store(proxy.endpoint) }));
    expect(outs.b.replicas.map((r) => r.buildId)).to.deep.equal(["b4", "b3"]);
  });

  it("a corrupted chunk in the store cancels the import: nothing on the pool", async () => {
    const f = fixture("b5");
    const marker = (f.disk as Buffer).subarray(0, 32);
    const b5 = await publish(f, (xva) => {
      xva[xva.indexOf(marker) + 10]! ^= 0xff;
      return xva;
    });
    const before = footprint(pools.a);
    const err = await recordedFailure(update("a", inputs("a", b5)));
    expect(err.code).to.equal("REPLICA_INTEGRITY");
    expect(err.message).to.match(/on pool a .*checksum/is);
    expect(footprint(pools.a)).to.deep.equal(before);
  });

  it("an object whose SHA-256 is not the pointer's (chunks intact) never completes on the pool", async () => {
    // A byte of the tar padding after ova.xml: every chunk still verifies; only the digest tells.
    const b6 = await publish(
      fixture("b6"),
      (xva) => {
        const ovaBytes = parseInt(xva.subarray(124, 136).toString("latin1").replace(/\0.*$/, "").trim(), 8);
        expect(ovaBytes % 512, "ova.xml is padded").to.not.equal(0);
        xva[512 + ovaBytes] = 1;
        return xva;
      },
      true,
    );
    const before = footprint(pools.a);
    const err = await recordedFailure(update("a", inputs("a", b6)));
    expect(err.code).to.equal("REPLICA_INTEGRITY");
    expect(err.message).to.match(/SHA-256 is [0-9a-f]{64}, the pointer's/);
    expect(footprint(pools.a)).to.deep.equal(before);
    expect(tagged(pools.a, "build-id:b6").size).to.equal(0);
  });

  it("delete removes every replica it placed: no VM, VDI or disk file left on any pool", async () => {
    for (const n of NAMES) await provider.delete(`${n}/${TEMPLATE}`, outs[n]);
    for (const n of NAMES) {
      expect(tagged(pools[n], `template:${TEMPLATE}`).size, n).to.equal(0);
      expect(footprint(pools[n]), n).to.deep.equal(empty[n]);
    }
  });
});
