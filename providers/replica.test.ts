import { expect } from "chai";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { PoolTarget, XapiSession } from "../lib/xapi/client";
import { XapiError } from "../lib/xapi/errors";
import { UNKNOWN } from "./dynamic/provider-code";
import {
  ReplicaProvider,
  importedProblems,
  replicaInputProblems,
  type ReplicaInputs,
  type ReplicaOutputs,
} from "./replica";
import type { ReplicaRecord } from "./replica-plan";
import { FakeXapiSession, type ScriptedCall } from "./testing/fake-xapi";

const pool: PoolTarget = { url: "https://paris.test", username: "root", insecureSkipVerify: false };
const build = (id: string) => ({
  buildId: id,
  key: `st/debian/12/${id}/debian-12.xva`,
  manifestKey: `st/debian/12/${id}/debian-12.manifest.json`,
  sha256: "a".repeat(64),
  sizeBytes: 1000,
});
const inputs: ReplicaInputs = {
  pool,
  poolName: "paris",
  passwordKey: "fleetPoolPasswords.paris",
  templateName: "debian-12",
  channel: "stable",
  build: build("b2"),
  store: {
    region: "r",
    endpoint: "http://s3.test",
    forcePathStyle: true,
    bucket: "b",
    prefix: "st",
    stack: "st",
  },
  poolRetention: 2,
};
const record = (id: string, over: Partial<ReplicaRecord> = {}): ReplicaRecord => ({
  buildId: id,
  uuid: `u-${id}`,
  key: build(id).key,
  sha256: "a".repeat(64),
  importedAt: "2026-01-01T00:00:00.000Z",
  lastTargetedAt: "2026-01-01T00:00:00.000Z",
  diskCount: 1,
  virtualSizeBytes: 8,
  ...over,
});
const outputs: ReplicaOutputs = {
  ...inputs,
  uuid: "u-b2",
  nameLabel: "debian-12 b2",
  osName: "Debian GNU/Linux 12 (bookworm)",
  diskCount: 1,
  virtualSizeBytes: 8,
  replicas: [record("b2"), record("b1")],
};

describe("replica: input checks (one failure per property, unknown values not judged)", () => {
  const cases: ReadonlyArray<{ when: string; news: Partial<ReplicaInputs>; failures: [string, RegExp][] }> = [
    { when: "valid inputs", news: {}, failures: [] },
    {
      when: "everything unknown (preview)",
      news: { build: UNKNOWN as never, channel: UNKNOWN },
      failures: [],
    },
    {
      when: "a pool without a url",
      news: { pool: { username: "root" } as never },
      failures: [["pool", /url/]],
    },
    {
      when: "a pool name with a space",
      news: { poolName: "a b" },
      failures: [["poolName", /"a b" was provided/]],
    },
    {
      when: "a password key that is a value, not a key",
      news: { passwordKey: "hunter2!" },
      failures: [["passwordKey", /fleetPoolPasswords\.paris/]],
    },
    {
      when: "an upper-case channel",
      news: { channel: "Stable" },
      failures: [["channel", /"Stable" was provided/]],
    },
    {
      when: "a pointer without its digest",
      news: { build: { ...build("b2"), sha256: "xyz" } },
      failures: [["build", /sha256 as 64 lowercase hex/]],
    },
    {
      when: "a pointer without the object's size",
      news: { build: { ...build("b2"), sizeBytes: 0 } },
      failures: [["build", /sizeBytes > 0/]],
    },
    {
      when: "a bad build id",
      news: { build: { ...build("b2"), buildId: "a/b" } },
      failures: [["build", /buildId/]],
    },
    { when: "poolRetention 0", news: { poolRetention: 0 }, failures: [["poolRetention", /integer >= 1/]] },
    {
      when: "maxConcurrentImports 0",
      news: { maxConcurrentImports: 0 },
      failures: [["maxConcurrentImports", /1\.\.16/]],
    },
  ];
  for (const c of cases) {
    it(c.when, () => {
      const got = replicaInputProblems({ ...inputs, ...c.news });
      expect(got.map((f) => f.property)).to.deep.equal(c.failures.map(([p]) => p));
      c.failures.forEach(([, re], i) => expect(got[i]?.reason).to.match(re));
    });
  }
});

describe("replica: diff", () => {
  const p = new ReplicaProvider();
  const cases: ReadonlyArray<{
    when: string;
    olds?: ReplicaOutputs;
    news: ReplicaInputs;
    changes: boolean;
    replaces: string[];
  }> = [
    { when: "nothing changed", news: inputs, changes: false, replaces: [] },
    {
      when: "a new channel build: update, not replace",
      news: { ...inputs, build: build("b3") },
      changes: true,
      replaces: [],
    },
    {
      when: "a rollback pointer: update",
      news: { ...inputs, build: build("b1") },
      changes: true,
      replaces: [],
    },
    {
      when: "the pointer unknown in preview: update",
      news: { ...inputs, build: UNKNOWN as never },
      changes: true,
      replaces: [],
    },
    { when: "another channel", news: { ...inputs, channel: "candidate" }, changes: true, replaces: [] },
    { when: "another retention", news: { ...inputs, poolRetention: 1 }, changes: true, replaces: [] },
    {
      when: "the pool's trust settings",
      news: { ...inputs, pool: { ...pool, certificateFingerprint: "ab".repeat(32) } },
      changes: true,
      replaces: [],
    },
    {
      when: "another password key",
      news: { ...inputs, passwordKey: "fleetPoolPasswords.paris2" },
      changes: true,
      replaces: [],
    },
    {
      when: "another pool (host): replace, the replicas stay on the old one until delete",
      news: { ...inputs, pool: { ...pool, url: "https://lyon.test" } },
      changes: true,
      replaces: ["pool"],
    },
    {
      when: "another template name: replace",
      news: { ...inputs, templateName: "debian-13" },
      changes: true,
      replaces: ["templateName"],
    },
    {
      when: "refresh found the channel's replica gone",
      olds: { ...outputs, replicas: [record("b2", { missing: true }), record("b1")] },
      news: inputs,
      changes: true,
      replaces: [],
    },
    {
      when: "refresh found a kept replica altered",
      olds: {
        ...outputs,
        replicas: [record("b2"), record("b1", { drift: ["tag template:debian-12 is missing"] })],
      },
      news: inputs,
      changes: true,
      replaces: [],
    },
    {
      when: "only the provider code changed",
      olds: { ...outputs, __provider: "old" } as ReplicaOutputs,
      news: { ...inputs, __provider: "new" } as ReplicaInputs,
      changes: true,
      replaces: [],
    },
  ];
  for (const c of cases) {
    it(c.when, async () => {
      const d = await p.diff("paris/debian-12", c.olds ?? outputs, c.news);
      expect(d.changes).to.equal(c.changes);
      expect(d.replaces).to.deep.equal(c.replaces);
    });
  }
});

describe("replica: verification of an imported template", () => {
  const facts = {
    ref: "OpaqueRef:vm",
    uuid: "u",
    nameLabel: "debian-12 b2",
    isTemplate: true,
    powerState: "Halted",
    tags: ["build-id:b2"],
    disks: [{ vdiRef: "OpaqueRef:vdi", vdiUuid: "d", virtualSize: 8 }],
    osVersion: { distro: "debian", major: "12", minor: "5", name: "Debian GNU/Linux 12 (bookworm)" },
  };
  const want = { buildId: "b2", os: "debian", version: "12", diskSizes: [8] };
  const cases: ReadonlyArray<{ when: string; over: object; problems: RegExp[] }> = [
    { when: "as built", over: {}, problems: [] },
    { when: "a VM", over: { isTemplate: false }, problems: [/is_a_template is false/] },
    {
      when: "another build's tag",
      over: { tags: ["build-id:b1"] },
      problems: [/does not carry build-id:b2/],
    },
    { when: "no disk", over: { disks: [] }, problems: [/no disk/, /disks are none bytes, the XVA holds 8/] },
    {
      when: "another disk size",
      over: { disks: [{ ...facts.disks[0], virtualSize: 9 }] },
      problems: [/disks are 9/],
    },
    {
      when: "another OS",
      over: { osVersion: { distro: "ubuntu", major: "24", minor: "04" } },
      problems: [/declared debian 12, but the template reports ubuntu 24\.04/],
    },
    { when: "no guest metrics", over: { osVersion: undefined }, problems: [/reports no OS/] },
  ];
  for (const c of cases) {
    it(c.when, () => {
      const got = importedProblems({ ...facts, ...c.over }, want);
      expect(got).to.have.length(c.problems.length);
      c.problems.forEach((re, i) => expect(got[i]).to.match(re));
    });
  }
});

/** A stack configuration as the provider host hands it to `configure`. */
const stackConfig = (values: Record<string, string>) => ({
  config: {
    get: (k: string) => values[k],
    require: (k: string) => values[k] ?? "",
  },
});

/** The provider with its pool session replaced by a scripted fake (which throws on any unexpected call). */
class ScriptedReplicaProvider extends ReplicaProvider {
  constructor(private readonly session: FakeXapiSession) {
    super();
  }
  protected override withPool<T>(_pool: PoolTarget, fn: (x: XapiSession) => Promise<T>): Promise<T> {
    return fn(this.session);
  }
  /** A store that holds only manifests (of build(id) pointers); any other request fails the test. */
  protected override s3Client(): S3Client {
    return {
      send: (cmd: unknown) => {
        if (!(cmd instanceof GetObjectCommand) || !String(cmd.input.Key).endsWith(".manifest.json"))
          throw new Error(`fake store: unexpected ${JSON.stringify((cmd as { input?: unknown }).input)}`);
        const id = /st\/debian\/12\/([^/]+)\//.exec(String(cmd.input.Key))?.[1] ?? "";
        const b = build(id);
        const text = JSON.stringify({ ...b, os: "debian", version: "12", build: { buildId: id } });
        return Promise.resolve({ Body: { transformToString: () => Promise.resolve(text) } });
      },
      destroy: () => undefined,
    } as unknown as S3Client;
  }
}

async function scripted(
  script: readonly ScriptedCall[],
): Promise<{ p: ReplicaProvider; session: FakeXapiSession }> {
  const session = new FakeXapiSession(script);
  const p = new ScriptedReplicaProvider(session);
  await p.configure(stackConfig({ "xcpng-templates:fleetPoolPasswords": JSON.stringify({ paris: "pw" }) }));
  return { p, session };
}

const DEBIAN = { distro: "debian", major: "12", minor: "5", name: "Debian GNU/Linux 12 (bookworm)" };

/** The calls of findByUuid for a template with one disk. */
function lookup(uuid: string, tags: string[], over: { isTemplate?: boolean } = {}): ScriptedCall[] {
  const ref = `OpaqueRef:${uuid}`;
  return [
    { method: "VM.get_by_uuid", args: [uuid], result: ref },
    {
      method: "VM.get_record",
      args: [ref],
      result: {
        uuid,
        name_label: `debian-12 ${uuid}`,
        is_a_template: over.isTemplate ?? true,
        is_control_domain: false,
        power_state: "Halted",
        tags,
        VBDs: [`${ref}-vbd`],
        guest_metrics: `${ref}-gm`,
      },
    },
    { method: "VBD.get_record", args: [`${ref}-vbd`], result: { type: "Disk", VDI: `${ref}-vdi` } },
    { method: "VDI.get_record", args: [`${ref}-vdi`], result: { uuid: `${uuid}-vdi`, virtual_size: 8 } },
    { method: "VM_guest_metrics.get_record", args: [`${ref}-gm`], result: { os_version: DEBIAN } },
  ];
}
const gone = (uuid: string): ScriptedCall => ({
  method: "VM.get_by_uuid",
  args: [uuid],
  error: new XapiError("pool: UUID_INVALID", "UUID_INVALID", ["VM", uuid]),
});
const allRecords = (vms: Record<string, { uuid: string; tags: string[] }>): ScriptedCall => ({
  method: "VM.get_all_records",
  result: Object.fromEntries(
    Object.entries(vms).map(([ref, v]) => [
      ref,
      { ...v, is_a_template: true, is_control_domain: false, current_operations: {} },
    ]),
  ),
});
const T = "template:debian-12";
const STABLE = "channel:stable";

describe("replica: tag moves and retention on the pool (scripted session: any other call fails the test)", () => {
  it("rollback: the channel tag goes back to the kept replica and leaves the current one; nothing imported", async () => {
    const { p, session } = await scripted([
      ...lookup("u-b2", ["build-id:b2", T, STABLE]),
      ...lookup("u-b1", ["build-id:b1", T]),
      allRecords({
        "OpaqueRef:u-b2": { uuid: "u-b2", tags: [] },
        "OpaqueRef:u-b1": { uuid: "u-b1", tags: [] },
      }),
      { method: "VM.add_tags", args: ["OpaqueRef:u-b1", STABLE] },
      { method: "VM.remove_tags", args: ["OpaqueRef:u-b2", STABLE] },
    ]);
    const r = await p.update("paris/debian-12", outputs, { ...inputs, build: build("b1") });
    session.done();
    const o = r.outs as ReplicaOutputs;
    expect(o.uuid).to.equal("u-b1");
    expect(o.replicas.map((x) => x.buildId)).to.deep.equal(["b1", "b2"]);
    expect(
      o.replicas[1]!.lastTargetedAt > "2026-01-01",
      "the demoted replica ranks first for retention",
    ).to.equal(true);
  });

  it("rollback with poolRetention 1: the previous replica is destroyed with its disk, after the tag moved", async () => {
    const { p, session } = await scripted([
      ...lookup("u-b2", ["build-id:b2", T, STABLE]),
      ...lookup("u-b1", ["build-id:b1", T]),
      allRecords({}),
      { method: "VM.add_tags", args: ["OpaqueRef:u-b1", STABLE] },
      { method: "VM.destroy", args: ["OpaqueRef:u-b2"] },
      { method: "VDI.destroy", args: ["OpaqueRef:u-b2-vdi"] },
    ]);
    const r = await p.update("paris/debian-12", outputs, { ...inputs, build: build("b1"), poolRetention: 1 });
    session.done();
    expect((r.outs as ReplicaOutputs).replicas.map((x) => x.uuid)).to.deep.equal(["u-b1"]);
  });

  it("heal after refresh: a kept replica gone is dropped, the channel tag put back, a stray copy's tag removed", async () => {
    const olds: ReplicaOutputs = {
      ...outputs,
      replicas: [record("b2", { drift: ["tag channel:stable is missing"] }), record("b1", { missing: true })],
    };
    const { p, session } = await scripted([
      ...lookup("u-b2", ["build-id:b2", T]),
      gone("u-b1"),
      allRecords({
        "OpaqueRef:u-b2": { uuid: "u-b2", tags: ["build-id:b2", T] },
        "OpaqueRef:other": { uuid: "u-other", tags: ["build-id:b0", T, STABLE] },
      }),
      { method: "VM.add_tags", args: ["OpaqueRef:u-b2", STABLE] },
      { method: "VM.remove_tags", args: ["OpaqueRef:other", STABLE] },
    ]);
    const r = await p.update("paris/debian-12", olds, inputs);
    session.done();
    const o = r.outs as ReplicaOutputs;
    expect(o.replicas).to.have.length(1);
    expect(o.replicas[0]).to.not.have.property("drift");
    expect(o.replicas[0]).to.not.have.property("missing");
  });

  it("a channel change moves the tags: the new channel's on, the old channel's off", async () => {
    const { p, session } = await scripted([
      ...lookup("u-b2", ["build-id:b2", T, STABLE]),
      ...lookup("u-b1", ["build-id:b1", T]),
      allRecords({}),
      { method: "VM.add_tags", args: ["OpaqueRef:u-b2", "channel:candidate"] },
      { method: "VM.remove_tags", args: ["OpaqueRef:u-b2", STABLE] },
    ]);
    await p.update("paris/debian-12", outputs, { ...inputs, channel: "candidate" });
    session.done();
  });

  it("a new build already on the pool without the fleet's tag is refused (the build pool?), naming the pool", async () => {
    const { p, session } = await scripted([
      ...lookup("u-b2", ["build-id:b2", T, STABLE]),
      ...lookup("u-b1", ["build-id:b1", T]),
      allRecords({ "OpaqueRef:orig": { uuid: "u-orig", tags: ["build-id:b3"] } }),
    ]);
    const r = await p.update("paris/debian-12", outputs, { ...inputs, build: build("b3") });
    session.done();
    // Recorded, not thrown: the fleet's report fails the update once every pool has run.
    const failure = (r.outs as ReplicaOutputs).failure;
    expect(failure?.code).to.equal("REPLICA_FOREIGN_COPY");
    expect(failure?.buildId).to.equal("b3");
    expect(failure?.message).to.match(
      /^replica: debian-12 on pool paris \(https:\/\/paris\.test\): .*u-orig.*build pool/,
    );
    expect((r.outs as ReplicaOutputs).uuid, "what is on the pool is unchanged").to.equal(outputs.uuid);
  });

  it("a replica placed by a run that stopped before recording it is adopted, not imported again", async () => {
    const { p, session } = await scripted([
      ...lookup("u-b2", ["build-id:b2", T, STABLE]),
      ...lookup("u-b1", ["build-id:b1", T]),
      allRecords({ "OpaqueRef:u-b3": { uuid: "u-b3", tags: ["build-id:b3", T] } }),
      ...lookup("u-b3", ["build-id:b3", T]),
      { method: "VM.add_tags", args: ["OpaqueRef:u-b3", STABLE] },
      { method: "VM.remove_tags", args: ["OpaqueRef:u-b2", STABLE] },
      { method: "VM.destroy", args: ["OpaqueRef:u-b1"] },
      { method: "VDI.destroy", args: ["OpaqueRef:u-b1-vdi"] },
    ]);
    const r = await p.update("paris/debian-12", outputs, { ...inputs, build: build("b3") });
    session.done();
    expect((r.outs as ReplicaOutputs).replicas.map((x) => x.uuid)).to.deep.equal(["u-b3", "u-b2"]);
  });

  it("a new replica whose tagging fails is recorded anyway (partial failure), so the next up finishes it", async () => {
    const { p, session } = await scripted([
      ...lookup("u-b2", ["build-id:b2", T, STABLE]),
      ...lookup("u-b1", ["build-id:b1", T]),
      allRecords({ "OpaqueRef:u-b3": { uuid: "u-b3", tags: ["build-id:b3", T] } }),
      ...lookup("u-b3", ["build-id:b3", T]),
      {
        method: "VM.add_tags",
        args: ["OpaqueRef:u-b3", STABLE],
        error: new XapiError("pool: HOST_OFFLINE", "HOST_OFFLINE", ["h"]),
      },
    ]);
    const news = { ...inputs, build: build("b3"), __provider: "code" } as ReplicaInputs;
    const r = await p.update("paris/debian-12", outputs, news);
    session.done();
    const props = r.outs as ReplicaOutputs & { __provider: string };
    expect(props.failure?.code).to.equal("REPLICA_INCOMPLETE");
    expect(props.failure?.message).to.match(
      /^replica: debian-12 on pool paris .*build b3 was placed \(u-b3\).*HOST_OFFLINE/,
    );
    expect(props.uuid).to.equal("u-b3");
    expect(props.__provider, "the engine needs the provider code in the recorded state").to.equal("code");
    expect(
      props.replicas.map((x) => x.uuid),
      "every replica still on the pool is recorded",
    ).to.deep.equal(["u-b3", "u-b2", "u-b1"]);
  });

  it("read: marks the gone and the altered, and nothing else", async () => {
    const { p, session } = await scripted([...lookup("u-b2", ["build-id:b2", T]), gone("u-b1")]);
    const r = await p.read("paris/debian-12", outputs);
    session.done();
    const o = r.props as ReplicaOutputs;
    expect(o.replicas[0]!.drift).to.deep.equal(["tag channel:stable is missing"]);
    expect(o.replicas[1]!.missing).to.equal(true);
  });

  it("delete: destroys each replica with its disk, leaves one turned into a VM, skips the gone", async () => {
    const olds = { ...outputs, replicas: [record("b2"), record("b1"), record("b0")] };
    const { p, session } = await scripted([
      ...lookup("u-b2", ["build-id:b2", T, STABLE]),
      { method: "VM.destroy", args: ["OpaqueRef:u-b2"] },
      { method: "VDI.destroy", args: ["OpaqueRef:u-b2-vdi"] },
      ...lookup("u-b1", ["build-id:b1", T], { isTemplate: false }),
      gone("u-b0"),
    ]);
    await p.delete("paris/debian-12", olds);
    session.done();
  });

  it("no password secret: fails before touching the pool, with the command that sets it", async () => {
    const { p } = await scripted([]);
    const r = await p.update("paris/debian-12", outputs, {
      ...inputs,
      passwordKey: "fleetPoolPasswords.lyon",
    });
    const failure = (r.outs as ReplicaOutputs).failure;
    expect(failure?.code).to.equal("MISSING_SECRET");
    expect(failure?.message).to.match(
      /^replica: fleet pool paris: the stack has no fleetPoolPasswords\.lyon: set it with 'pulumi config set --secret --path fleetPoolPasswords\.lyon'/,
    );
  });
});

describe("replica: a channel without a build yet", () => {
  it("places nothing and touches no pool (no call is scripted), keeping what was placed", async () => {
    const { p, session } = await scripted([]);
    const created = await p.create({ ...inputs, build: null });
    session.done();
    expect(created.outs).to.include({ uuid: "", diskCount: 0 });
    expect(created.outs?.replicas).to.deep.equal([]);
    const kept = await p.update(
      "paris/t",
      { ...(created.outs as ReplicaOutputs), uuid: "u1", replicas: [] },
      { ...inputs, build: null },
    );
    expect(kept.outs?.uuid, "an earlier replica stays until the channel points somewhere again").to.equal(
      "u1",
    );
  });
});
