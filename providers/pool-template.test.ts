import { expect } from "chai";
import type { TemplateFacts } from "../lib/xapi/templates";
import type { PoolTarget, XapiSession } from "../lib/xapi/client";
import { UNKNOWN } from "./dynamic/provider-code";
import { TemplateVerificationError } from "./errors";
import {
  PoolTemplateProvider,
  problemsOf,
  type PoolTemplateInputs,
  type PoolTemplateOutputs,
} from "./pool-template";
import { FakeXapiSession } from "./testing/fake-xapi";

const debian12 = { distro: "debian", major: "12", minor: "5", name: "Debian GNU/Linux 12 (bookworm)" };
const facts = (over: Partial<TemplateFacts> = {}): TemplateFacts => ({
  ref: "OpaqueRef:vm",
  uuid: "u-1",
  nameLabel: "debian-12 b1",
  isTemplate: true,
  powerState: "Halted",
  tags: ["build-id:b1"],
  disks: [{ vdiRef: "OpaqueRef:vdi", vdiUuid: "d-1", virtualSize: 4 * 2 ** 30 }],
  osVersion: debian12,
  ...over,
});

describe("pool template: verification verdicts", () => {
  const declared = { os: "debian", version: "12" };
  const cases: ReadonlyArray<{ when: string; f: TemplateFacts; problems: RegExp[] }> = [
    { when: "a halted template with a disk and the declared OS", f: facts(), problems: [] },
    { when: "a VM, not a template", f: facts({ isTemplate: false }), problems: [/is_a_template is false/] },
    { when: "running", f: facts({ powerState: "Running" }), problems: [/it is Running, expected Halted/] },
    { when: "no disk", f: facts({ disks: [] }), problems: [/no disk/] },
    {
      when: "another OS",
      f: facts({ osVersion: { distro: "ubuntu", major: "24", minor: "04", name: "Ubuntu 24.04" } }),
      problems: [/ubuntu/],
    },
    {
      when: "every problem at once",
      f: facts({ isTemplate: false, powerState: "Paused", disks: [] }),
      problems: [/is_a_template/, /Paused/, /no disk/],
    },
  ];
  for (const c of cases) {
    it(`problemsOf: ${c.when}`, () => {
      const got = problemsOf(c.f, declared);
      expect(got).to.have.length(c.problems.length);
      c.problems.forEach((re, i) => expect(got[i]).to.match(re));
    });
  }
});

const pool: PoolTarget = { url: "https://pool.test", username: "root", insecureSkipVerify: false };
const inputs: PoolTemplateInputs = {
  pool,
  templateName: "debian-12",
  buildId: "b1",
  declaredOs: "debian",
  declaredVersion: "12",
};
const outputs: PoolTemplateOutputs = {
  ...inputs,
  uuid: "u-1",
  nameLabel: "debian-12 b1",
  osDistro: "debian",
  osVersion: "12",
  osName: "Debian GNU/Linux 12 (bookworm)",
  diskCount: 1,
  virtualSizeBytes: 4 * 2 ** 30,
  verifiedAt: "2026-01-01T00:00:00.000Z",
  history: [],
};

describe("pool template: diff", () => {
  const p = new PoolTemplateProvider();
  const cases: ReadonlyArray<{
    when: string;
    news: PoolTemplateInputs;
    changes: boolean;
    replaces: string[];
  }> = [
    { when: "nothing changed", news: inputs, changes: false, replaces: [] },
    {
      when: "a new build id: an update (the current template joins the history)",
      news: { ...inputs, buildId: "b2" },
      changes: true,
      replaces: [],
    },
    {
      when: "another pool: replace (templates cannot move)",
      news: { ...inputs, pool: { ...pool, url: "https://other.test" } },
      changes: true,
      replaces: ["pool"],
    },
    {
      when: "renamed entry: update (retag)",
      news: { ...inputs, templateName: "deb12" },
      changes: true,
      replaces: [],
    },
    {
      when: "the build id is unknown (preview of an updating build): update, up decides",
      news: { ...inputs, buildId: UNKNOWN },
      changes: true,
      replaces: [],
    },
    {
      when: "another declared version",
      news: { ...inputs, declaredVersion: "13" },
      changes: true,
      replaces: [],
    },
    {
      when: "other pool settings",
      news: { ...inputs, pool: { ...pool, insecureSkipVerify: true } },
      changes: true,
      replaces: [],
    },
  ];
  for (const c of cases) {
    it(c.when, async () => {
      const d = await p.diff("u-1", outputs, c.news);
      expect(d.changes).to.equal(c.changes);
      expect(d.replaces).to.deep.equal(c.replaces);
    });
  }
});

/** The provider with its pool session replaced by a scripted fake. */
class ScriptedPoolTemplateProvider extends PoolTemplateProvider {
  constructor(private readonly session: FakeXapiSession) {
    super();
    this.secrets = { poolPassword: "pw", poolUsername: undefined, s3: undefined, values: ["pw"] };
  }
  protected override withPool<T>(_pool: PoolTarget, fn: (x: XapiSession) => Promise<T>): Promise<T> {
    return fn(this.session);
  }
}

describe("pool template: a template that fails verification", () => {
  it("is recorded (id, inputs) and fails the update with every reason", async () => {
    const session = new FakeXapiSession([
      {
        method: "VM.get_all_records",
        result: {
          "OpaqueRef:vm": {
            uuid: "u-9",
            name_label: "debian-12 b1",
            is_a_template: false,
            is_control_domain: false,
            power_state: "Running",
            tags: ["build-id:b1"],
            VBDs: [],
            guest_metrics: "OpaqueRef:NULL",
          },
        },
      },
    ]);
    const err = await new ScriptedPoolTemplateProvider(session).create(inputs).then(
      () => undefined,
      (e: unknown) => e,
    );
    session.done();
    expect(err).to.be.instanceOf(TemplateVerificationError);
    const v = err as TemplateVerificationError;
    expect(v.code).to.equal("TEMPLATE_VERIFICATION_FAILED");
    expect(v.id, "the engine records the template so destroy can remove it").to.equal("u-9");
    expect(v.properties).to.deep.include({ buildId: "b1", declaredOs: "debian" });
    expect(v.reasons).to.have.length(4);
    expect(v.message).to.match(
      /^pool-template: debian-12 b1 \(u-9, build b1\) failed verification: .*pulumi up/,
    );
  });

  it("is refused with the way out when no template carries the build's tag", async () => {
    const session = new FakeXapiSession([{ method: "VM.get_all_records", result: {} }]);
    const err = await new ScriptedPoolTemplateProvider(session).create(inputs).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.match(
      /no VM on https:\/\/pool.test carries the tag build-id:b1.*run 'pulumi up' again/,
    );
  });
});
