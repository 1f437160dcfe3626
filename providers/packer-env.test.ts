import { expect } from "chai";
import { environmentSecrets, packerEnvironment, passesToPacker } from "./packer-env";

describe("packer environment: an allowlist", () => {
  const cases: ReadonlyArray<[string, boolean]> = [
    ["PATH", true],
    ["HOME", true],
    ["LC_ALL", true],
    ["PACKER_PLUGIN_PATH", true],
    ["PKR_VAR_mirror_host", true],
    ["XCPNG_PACKER_ON_ERROR", true],
    ["SSL_CERT_FILE", true],
    ["https_proxy", true],
    ["PULUMI_CONFIG_PASSPHRASE", false],
    ["PULUMI_ACCESS_TOKEN", false],
    ["PULUMI_BACKEND_URL", false],
    ["AWS_ACCESS_KEY_ID", false],
    ["AWS_SECRET_ACCESS_KEY", false],
    ["AWS_SESSION_TOKEN", false],
    ["GITHUB_TOKEN", false],
    ["ACTIONS_ID_TOKEN_REQUEST_TOKEN", false],
    ["NODE_OPTIONS", false],
    ["PKR_VAR_some_password", false],
    ["XCPNG_API_TOKEN", false],
  ];
  for (const [name, passes] of cases) {
    it(`${name} ${passes ? "reaches" : "does not reach"} Packer`, () =>
      expect(passesToPacker(name)).to.equal(passes));
  }

  it("adds the build's own variables over the allowed ones, and nothing else", () => {
    const env = packerEnvironment(
      { PATH: "/bin", PULUMI_CONFIG_PASSPHRASE: "pp", PKR_VAR_build_id: "stale", UNRELATED: "x" },
      { PKR_VAR_build_id: "b1", PKR_VAR_pool_password: "pw" },
    );
    expect(env).to.deep.equal({ PATH: "/bin", PKR_VAR_build_id: "b1", PKR_VAR_pool_password: "pw" });
  });

  it("names the environment's credentials for masking", () => {
    expect(
      environmentSecrets({
        PULUMI_CONFIG_PASSPHRASE: "pp",
        AWS_SECRET_ACCESS_KEY: "sk",
        PATH: "/bin",
        EMPTY_TOKEN: "",
      }).sort(),
    ).to.deep.equal(["pp", "sk"]);
  });
});
