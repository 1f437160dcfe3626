import { expect } from "chai";
import { load } from "js-yaml";
import { AcceptanceInputError } from "./errors";
import { runNames } from "./identity";
import { nocloudSeed } from "./seed";

const KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIh4fU6OFW8tiSZRLsYX9W42VY9STvsanTGbItgGElCH xcpng-templates acceptance 1a2b3c4d";

describe("acceptance NoCloud seed", () => {
  const names = runNames("1a2b3c4d");
  const input = {
    instanceId: names.instanceId("a"),
    hostname: names.hostname("a"),
    user: names.user,
    publicKey: KEY,
  };

  it("user-data: #cloud-config with one locked user, its key and passwordless sudo; the key also top-level (root's stub)", () => {
    const { userData } = nocloudSeed(input);
    expect(userData.split("\n")[0]).to.equal("#cloud-config");
    expect(load(userData)).to.deep.equal({
      ssh_authorized_keys: [KEY],
      users: [
        {
          name: "xcpng-accept-1a2b3c4d",
          gecos: "xcpng-templates acceptance (one run)",
          shell: "/bin/bash",
          lock_passwd: true,
          sudo: "ALL=(ALL) NOPASSWD:ALL",
          ssh_authorized_keys: [KEY],
        },
      ],
    });
  });

  it("sets nothing the image is judged on (password login, root, /etc/hosts, locale, host keys)", () => {
    const { userData } = nocloudSeed(input);
    for (const key of [
      "ssh_pwauth",
      "disable_root",
      "manage_etc_hosts",
      "locale",
      "ssh_genkeytypes",
      "password",
      "chpasswd",
    ]) {
      expect(userData).to.not.include(key);
    }
  });

  it("meta-data: the clone's instance id and hostname", () => {
    expect(load(nocloudSeed(input).metaData)).to.deep.equal({
      "instance-id": "xcpng-accept-1a2b3c4d-a",
      "local-hostname": "xcpng-accept-1a2b3c4d-a",
    });
  });

  it("holds only the public half of the key", () => {
    const seed = nocloudSeed(input);
    expect(seed.userData + seed.metaData).to.not.match(/PRIVATE KEY/);
  });

  const bad: [string, Partial<typeof input>, RegExp][] = [
    ["a user name with a space", { user: "a b" }, /seed user must be a POSIX user name, but "a b" was given/],
    ["an upper-case hostname", { hostname: "Host" }, /seed hostname must be one DNS label/],
    ["a hostname with a dot", { hostname: "a.example" }, /seed hostname must be one DNS label/],
    [
      "a private key",
      { publicKey: "-----BEGIN OPENSSH PRIVATE KEY-----" },
      /not one OpenSSH public key line/,
    ],
    ["two keys", { publicKey: `${KEY}\n${KEY}` }, /not one OpenSSH public key line/],
    ["an instance id with a slash", { instanceId: "a/b" }, /seed instance id must be/],
  ];
  for (const [what, change, error] of bad) {
    it(`refuses ${what}`, () => {
      expect(() => nocloudSeed({ ...input, ...change })).to.throw(AcceptanceInputError, error);
    });
  }

  it("names: one user per run, one hostname per clone, all valid", () => {
    expect(names.user).to.equal("xcpng-accept-1a2b3c4d");
    expect([names.hostname("a"), names.hostname("b")]).to.deep.equal([
      "xcpng-accept-1a2b3c4d-a",
      "xcpng-accept-1a2b3c4d-b",
    ]);
  });
});
