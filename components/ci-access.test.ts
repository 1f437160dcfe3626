import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import * as mod from "./ci-access";

interface Registered {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
}

describe("AWS CI access (Pulumi mocks: the aws plugin cannot run here)", () => {
  const registered: Registered[] = [];

  before(async () => {
    await pulumi.runtime.setMocks(
      {
        newResource: (a) => {
          // Fail loudly on anything this component must not create (the default aws provider is expected).
          if (a.type === "pulumi:providers:aws" || a.type === "xcpng:aws:CiAccess")
            return { id: a.name, state: a.inputs as Record<string, unknown> };
          if (
            ![
              "aws:iam/user:User",
              "aws:iam/policy:Policy",
              "aws:iam/userPolicyAttachment:UserPolicyAttachment",
            ].includes(a.type)
          ) {
            throw new Error(`unexpected resource ${a.type}`);
          }
          registered.push({ type: a.type, name: a.name, inputs: a.inputs as Record<string, unknown> });
          return {
            id: `${a.name}-id`,
            state: {
              ...(a.inputs as Record<string, unknown>),
              arn: `arn:aws:iam::123456789012:${a.name}`,
              name: a.name,
            },
          };
        },
        call: (a) => {
          throw new Error(`unexpected call ${a.token}`);
        },
      },
      "xcpng-templates",
      "test",
    );
  });

  it("grants exactly the bucket and object actions, on that bucket only", async () => {
    const c = new mod.CiAccess("ci", { bucket: "golden-templates" });
    await new Promise<void>((resolve) =>
      pulumi.all([c.user.name, c.policy.arn, c.attachment.urn]).apply(() => resolve()),
    );
    const policy = registered.find((r) => r.type === "aws:iam/policy:Policy");
    const doc = JSON.parse(String(policy?.inputs.policy)) as {
      Statement: { Action: string[]; Resource: string[]; Effect: string }[];
    };
    expect(doc.Statement).to.have.length(2);
    const [bucketSt, objectSt] = doc.Statement;
    expect(bucketSt?.Resource).to.deep.equal(["arn:aws:s3:::golden-templates"]);
    expect(objectSt?.Resource).to.deep.equal(["arn:aws:s3:::golden-templates/*"]);
    expect(bucketSt?.Action).to.deep.equal([...mod.BUCKET_ACTIONS]);
    expect(objectSt?.Action).to.deep.equal([...mod.OBJECT_ACTIONS]);
    const all = doc.Statement.flatMap((s) => s.Action);
    expect(
      all.some((a) => a.includes("*")),
      "no wildcard action",
    ).to.equal(false);
    expect(all).to.not.include("s3:DeleteBucket");
    expect(doc.Statement.every((s) => s.Effect === "Allow")).to.equal(true);
  });

  it("attaches the policy to the runner user and creates no access key", () => {
    const types = registered.map((r) => r.type);
    expect(types).to.include("aws:iam/userPolicyAttachment:UserPolicyAttachment");
    expect(types.filter((t) => t.includes("accessKey"))).to.deep.equal([]);
  });
});
