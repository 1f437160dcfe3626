import { expect } from "chai";
import { isXcpngError } from "../errors";
import type { XapiSession } from "./client";
import { XapiError } from "./errors";
import { AmbiguousBuildIdError, destroyTemplate, findByBuildId, findByUuid } from "./templates";

/** A session answering only the calls scripted for it; anything else (and any transfer) throws. */
function fakeSession(
  answers: Record<string, (...args: unknown[]) => unknown>,
  log: string[] = [],
): XapiSession {
  const call = <T>(method: string, ...args: unknown[]): Promise<T> => {
    log.push(`${method}(${args.join(",")})`);
    const a = answers[method];
    if (a === undefined) return Promise.reject(new Error(`unexpected call ${method}`));
    try {
      return Promise.resolve(a(...args) as T);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  };
  return {
    read: call,
    write: call,
    getResource: () => Promise.reject(new Error("unexpected getResource")),
    putResource: () => Promise.reject(new Error("unexpected putResource")),
  };
}

const vm = (uuid: string, tags: string[], extra: Record<string, unknown> = {}) => ({
  uuid,
  name_label: `vm ${uuid}`,
  is_a_template: true,
  is_control_domain: false,
  power_state: "Halted",
  tags,
  VBDs: [],
  guest_metrics: "OpaqueRef:NULL",
  ...extra,
});

const wire = (code: string, ...params: string[]) => new XapiError(`pool: ${code}`, code, params);

describe("lib/xapi templates", () => {
  describe("findByBuildId", () => {
    const cases: {
      name: string;
      vms: Record<string, ReturnType<typeof vm>>;
      want: { uuid: string | undefined } | "ambiguous";
    }[] = [
      {
        name: "no VM carries the tag",
        vms: { "OpaqueRef:a": vm("a", ["other"]) },
        want: { uuid: undefined },
      },
      {
        name: "one VM carries it",
        vms: { "OpaqueRef:a": vm("a", ["build-id:b1"]), "OpaqueRef:b": vm("b", []) },
        want: { uuid: "a" },
      },
      {
        name: "the control domain is never a build",
        vms: { "OpaqueRef:d": vm("dom0", ["build-id:b1"], { is_control_domain: true }) },
        want: { uuid: undefined },
      },
      {
        name: "two VMs carry it",
        vms: { "OpaqueRef:a": vm("a", ["build-id:b1"]), "OpaqueRef:b": vm("b", ["build-id:b1"]) },
        want: "ambiguous",
      },
    ];
    for (const c of cases) {
      it(`${c.name} → ${c.want === "ambiguous" ? c.want : (c.want.uuid ?? "none")}`, async () => {
        const x = fakeSession({ "VM.get_all_records": () => c.vms });
        if (c.want === "ambiguous") {
          const err = await findByBuildId(x, "b1").then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err).to.be.instanceOf(AmbiguousBuildIdError);
          expect(isXcpngError(err)).to.equal(true);
          expect((err as AmbiguousBuildIdError).code).to.equal("AMBIGUOUS_BUILD_ID");
          expect((err as AmbiguousBuildIdError).vmUuids).to.deep.equal(["a", "b"]);
          return;
        }
        const facts = await findByBuildId(x, "b1");
        expect(facts?.uuid).to.equal(c.want.uuid);
      });
    }
  });

  describe("findByUuid and destroyTemplate: a VM or disk already gone is not an error", () => {
    for (const code of ["UUID_INVALID", "HANDLE_INVALID"]) {
      it(`findByUuid: ${code} → undefined`, async () => {
        const x = fakeSession({
          "VM.get_by_uuid": () => {
            throw wire(code, "VM", "u");
          },
        });
        expect(await findByUuid(x, "u")).to.equal(undefined);
      });
    }

    it("findByUuid: any other failure propagates", async () => {
      const x = fakeSession({
        "VM.get_by_uuid": () => {
          throw wire("RBAC_PERMISSION_DENIED", "VM.get_by_uuid");
        },
      });
      const err = await findByUuid(x, "u").then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as XapiError).code).to.equal("RBAC_PERMISSION_DENIED");
    });

    it("destroyTemplate destroys the VM, then each disk, past the ones already gone", async () => {
      const log: string[] = [];
      const x = fakeSession(
        {
          "VM.destroy": () => {
            throw wire("HANDLE_INVALID", "VM", "OpaqueRef:vm");
          },
          "VDI.destroy": (ref) => {
            if (ref === "OpaqueRef:d1") throw wire("HANDLE_INVALID", "VDI", String(ref));
            return "";
          },
        },
        log,
      );
      await destroyTemplate(x, {
        ref: "OpaqueRef:vm",
        uuid: "u",
        nameLabel: "t",
        isTemplate: true,
        powerState: "Halted",
        tags: [],
        disks: [
          { vdiRef: "OpaqueRef:d1", vdiUuid: "d1", virtualSize: 1 },
          { vdiRef: "OpaqueRef:d2", vdiUuid: "d2", virtualSize: 1 },
        ],
      });
      expect(log).to.deep.equal([
        "VM.destroy(OpaqueRef:vm)",
        "VDI.destroy(OpaqueRef:d1)",
        "VDI.destroy(OpaqueRef:d2)",
      ]);
    });
  });
});
