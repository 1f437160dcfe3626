import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { DEFAULT_PORT, optionsFromEnv } from "./config";
import { DevpoolConfigError } from "./errors";
import { FaultState, parseFaults } from "./faults";
import { type DevpoolUser, validateUsers } from "./index";
import { makeTempDir, removeDir } from "./testing/tmp";

describe("devpool config and faults", () => {
  it("reads options from DEVPOOL_* variables, with defaults", () => {
    const o = optionsFromEnv({ DEVPOOL_PASSWORD: "p" });
    expect(o).to.deep.include({
      port: DEFAULT_PORT,
      tls: true,
      username: "root",
      password: "p",
      host: "127.0.0.1",
    });
    expect(path.isAbsolute(o.dataDir)).to.equal(true);
    const o2 = optionsFromEnv({
      DEVPOOL_PASSWORD: "p",
      DEVPOOL_PORT: "9999",
      DEVPOOL_TLS: "false",
      DEVPOOL_USERNAME: "u",
    });
    expect(o2).to.deep.include({ port: 9999, tls: false, username: "u" });
  });

  it("names the variable to fix", () => {
    expect(() => optionsFromEnv({})).to.throw(DevpoolConfigError, /DEVPOOL_PASSWORD is not set/);
    expect(() => optionsFromEnv({ DEVPOOL_PASSWORD: "p", DEVPOOL_PORT: "http" })).to.throw(/DEVPOOL_PORT/);
    expect(() => optionsFromEnv({ DEVPOOL_PASSWORD: "p", DEVPOOL_TLS: "yes" })).to.throw(
      /DEVPOOL_TLS must be true or false/,
    );
  });

  it("reads faults as inline JSON or from a file", () => {
    const dir = makeTempDir();
    try {
      const file = path.join(dir, "faults.json");
      fs.writeFileSync(file, JSON.stringify({ cutExportAfterBytes: 10 }));
      expect(optionsFromEnv({ DEVPOOL_PASSWORD: "p", DEVPOOL_FAULTS: file }).faults).to.deep.equal({
        cutExportAfterBytes: 10,
      });
      expect(
        optionsFromEnv({ DEVPOOL_PASSWORD: "p", DEVPOOL_FAULTS: '{"latencyMs":5}' }).faults,
      ).to.deep.equal({ latencyMs: 5 });
      expect(() =>
        optionsFromEnv({ DEVPOOL_PASSWORD: "p", DEVPOOL_FAULTS: path.join(dir, "missing.json") }),
      ).to.throw(/readable JSON file/);
      expect(() => optionsFromEnv({ DEVPOOL_PASSWORD: "p", DEVPOOL_FAULTS: "{nope" })).to.throw(
        /not valid JSON/,
      );
    } finally {
      removeDir(dir);
    }
  });

  it("reads users with XAPI roles from DEVPOOL_USERS; startDevpool's check refuses bad ones, naming the fix", () => {
    const users = [{ username: "ci", password: "q", role: "read-only" }];
    expect(
      optionsFromEnv({ DEVPOOL_PASSWORD: "p", DEVPOOL_USERS: JSON.stringify(users) }).users,
    ).to.deep.equal(users);
    expect(() => optionsFromEnv({ DEVPOOL_PASSWORD: "p", DEVPOOL_USERS: '[{"username":' })).to.throw(
      DevpoolConfigError,
      /DEVPOOL_USERS from DEVPOOL_USERS is not valid JSON/,
    );
    expect(() => optionsFromEnv({ DEVPOOL_PASSWORD: "p", DEVPOOL_USERS: "[1]" })).to.throw(
      /must be a JSON array of \{"username", "password", "role"\} objects/,
    );
    const cases: [string, unknown[], RegExp][] = [
      [
        "an unknown role",
        [{ username: "a", password: "b", role: "admin" }],
        /users\[0\]\.role must be one of pool-admin, pool-operator, vm-power-admin, vm-admin, vm-operator, read-only, but "admin"/,
      ],
      [
        "the superuser's name",
        [{ username: "root", password: "b", role: "read-only" }],
        /users\[0\]\.username must differ/,
      ],
      [
        "a name twice",
        [
          { username: "a", password: "b", role: "read-only" },
          { username: "a", password: "c", role: "vm-admin" },
        ],
        /users\[1\]\.username must differ/,
      ],
      [
        "no password",
        [{ username: "a", password: "", role: "read-only" }],
        /users\[0\]\.password must be a non-empty string \(user "a"\)/,
      ],
    ];
    for (const [what, list, message] of cases) {
      expect(() => validateUsers("root", list as DevpoolUser[]), what).to.throw(DevpoolConfigError, message);
    }
  });

  it("refuses unknown fault keys and malformed entries, so a typo does not silently disable a fault", () => {
    expect(() => parseFaults({ cutExportAfter: 1 }, "test")).to.throw(
      DevpoolConfigError,
      /expected only keys/,
    );
    expect(() => parseFaults({ failMethods: [{ method: "VM.clone" }] }, "test")).to.throw(/method and times/);
    expect(() => parseFaults({ latencyMs: -1 }, "test")).to.throw(/latencyMs/);
    expect(() => parseFaults({ failImports: { times: 1.5 } }, "test")).to.throw(/failImports.times/);
    expect(() => parseFaults({ cutImportAfterBytes: -1 }, "test")).to.throw(/cutImportAfterBytes/);
    expect(parseFaults({ cutImportAfterBytes: 4096 }, "test")).to.deep.equal({ cutImportAfterBytes: 4096 });
  });

  it("counts method failures down, for the method and its Async twin, then lets calls through", () => {
    const f = new FaultState({ failMethods: [{ method: "VM.clone", times: 2 }], failImports: {} });
    expect(f.takeMethodFailure("VM.clone")?.code).to.equal("INTERNAL_ERROR");
    expect(f.takeMethodFailure("Async.VM.clone")?.code).to.equal("INTERNAL_ERROR");
    expect(f.takeMethodFailure("VM.clone")).to.equal(undefined);
    expect(f.takeMethodFailure("VM.copy")).to.equal(undefined);
    expect(f.takeImportFailure()?.code).to.equal("IMPORT_ERROR");
    expect(f.takeImportFailure()).to.equal(undefined);
    f.set({ latencyMs: { "VM.clone": 7, "*": 2 } });
    expect([f.latencyFor("VM.clone"), f.latencyFor("VM.copy")]).to.deep.equal([7, 2]);
  });
});
