import { expect } from "chai";
import { configValueAt, stackSecretsFrom } from "./stack-secrets";

const config = (values: Record<string, string>) => ({
  get: (k: string) => values[k],
  require: (k: string) => values[k] ?? "",
});
const stack = {
  "xcpng-templates:poolPassword": "deploy-pw",
  "xcpng-templates:s3AccessKeyId": "DEPLOYKEY",
  "xcpng-templates:s3SecretAccessKey": "deploy-secret",
};

describe("stack secrets: the stack's config, or the environment's credentials (a read-only preview)", () => {
  const cases: ReadonlyArray<{
    when: string;
    cfg: Record<string, string>;
    env: NodeJS.ProcessEnv;
    pool: [string | undefined, string | undefined];
    s3: { accessKeyId: string; secretAccessKey: string } | undefined;
  }> = [
    {
      when: "the stack's config alone",
      cfg: stack,
      env: {},
      pool: ["deploy-pw", undefined],
      s3: { accessKeyId: "DEPLOYKEY", secretAccessKey: "deploy-secret" },
    },
    {
      when: "the environment's pool account overrides the stack's",
      cfg: stack,
      env: { XCPNG_POOL_USERNAME: "viewer", XCPNG_POOL_PASSWORD: "ro-pw" },
      pool: ["ro-pw", "viewer"],
      s3: { accessKeyId: "DEPLOYKEY", secretAccessKey: "deploy-secret" },
    },
    {
      when: "the environment's S3 keys replace both of the stack's (never one of each)",
      cfg: stack,
      env: { XCPNG_S3_ACCESS_KEY_ID: "ROKEY", XCPNG_S3_SECRET_ACCESS_KEY: "ro-secret" },
      pool: ["deploy-pw", undefined],
      s3: { accessKeyId: "ROKEY", secretAccessKey: "ro-secret" },
    },
    {
      when: "nothing anywhere: the AWS default chain for S3",
      cfg: {},
      env: {},
      pool: [undefined, undefined],
      s3: undefined,
    },
    {
      when: "an empty variable counts as unset",
      cfg: stack,
      env: { XCPNG_POOL_PASSWORD: "" },
      pool: ["deploy-pw", undefined],
      s3: { accessKeyId: "DEPLOYKEY", secretAccessKey: "deploy-secret" },
    },
  ];
  for (const c of cases) {
    it(c.when, () => {
      const s = stackSecretsFrom(config(c.cfg), c.env);
      expect([s.poolPassword, s.poolUsername]).to.deep.equal(c.pool);
      expect(s.s3).to.deep.equal(c.s3);
      for (const v of [s.poolPassword, s.s3?.accessKeyId, s.s3?.secretAccessKey])
        if (v) expect(s.values).to.include(v);
    });
  }
});

describe("stack secrets: a config value by key or path", () => {
  const c = config({
    "xcpng-templates:fleetPoolPasswords": JSON.stringify({
      paris: "p-paris",
      lyon: { a: "deep" },
      n: 3,
      e: "",
    }),
    "xcpng-templates:flatPassword": "flat",
    "xcpng-templates:dotted.key": "literal",
    "other:key": "foreign",
    "xcpng-templates:notJson": "plain",
  });
  const cases: ReadonlyArray<[string, string | undefined]> = [
    ["flatPassword", "flat"],
    ["fleetPoolPasswords.paris", "p-paris"],
    ["fleetPoolPasswords.lyon.a", "deep"],
    ["dotted.key", "literal"],
    ["other:key", "foreign"],
    ["fleetPoolPasswords.nice", undefined],
    ["fleetPoolPasswords.n", undefined],
    ["fleetPoolPasswords.e", undefined],
    ["fleetPoolPasswords.lyon", undefined],
    ["notJson.x", undefined],
    ["missing", undefined],
  ];
  for (const [key, want] of cases)
    it(`${key} → ${String(want)}`, () => expect(configValueAt(c, key)).to.equal(want));
});
