import type * as pulumi from "@pulumi/pulumi";
import { version as PACKAGE_VERSION } from "../../package.json";

/**
 * A dynamic provider whose serialized code (`__provider`, stored in state) is this small shim only: each
 * method loads the project's current provider class with tsx and delegates to it.
 *
 * Why: the engine serializes a provider's whole closure, and ours reach streams, tar parsing and the AWS SDK,
 * which the serializer cannot capture (classes extending node:stream, modules wrapped by __importStar;
 * pulumi/pulumi#13960, #18977). And refresh/delete run the code stored in state, not the current one
 * (pulumi/pulumi#9085): with a shim, they always run the project's current code, and a release changes
 * nothing in state but this shim (SST moved its providers to a similar thin shim for the same reasons).
 *
 * `modulePath` is relative to the program directory, which is the provider process's working directory.
 */
export function shimProvider<I, O>(
  modulePath: string,
  exportName: string,
): pulumi.dynamic.ResourceProvider<I, O> {
  // Part of the serialized code: a release bumps it (the package version), and the upgrade test sets
  // XCPNG_PROVIDER_RELEASE to play a release whose serialized provider differs from the one in state.
  const release = process.env.XCPNG_PROVIDER_RELEASE ?? PACKAGE_VERSION;
  type Slot = {
    instance?: pulumi.dynamic.ResourceProvider<I, O>;
    configured?: pulumi.dynamic.ConfigureRequest;
  };
  // State lives in the provider process, not in closure variables: the serializer gives each method its own
  // copy of what it captures, so a variable written by `configure` would not be seen by `create`.
  const slot = (): Slot => {
    const g = globalThis as { __xcpngShims?: Record<string, Slot> };
    g.__xcpngShims ??= {};
    return (g.__xcpngShims[`${modulePath}#${exportName}@${release}`] ??= {});
  };

  const load = async (): Promise<pulumi.dynamic.ResourceProvider<I, O>> => {
    const s = slot();
    if (s.instance === undefined) {
      const g = globalThis as { __xcpngTsx?: boolean };
      if (g.__xcpngTsx !== true) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        (require("tsx/cjs/api") as { register: () => unknown }).register();
        g.__xcpngTsx = true;
      }
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const file = (require("path") as typeof import("path")).resolve(process.cwd(), modulePath);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(file) as Record<string, new () => pulumi.dynamic.ResourceProvider<I, O>>;
      const Provider = mod[exportName];
      if (Provider === undefined) throw new TypeError(`${modulePath} exports no ${exportName}`);
      const instance = new Provider();
      if (s.configured !== undefined && instance.configure) await instance.configure(s.configured);
      s.instance = instance;
    }
    return s.instance;
  };

  return {
    configure: (req) => {
      const s = slot();
      s.configured = req;
      return s.instance?.configure ? s.instance.configure(req) : Promise.resolve();
    },
    check: async (olds, news) => {
      const p = await load();
      return p.check ? p.check(olds, news) : { inputs: news };
    },
    diff: async (id, olds, news) => {
      const p = await load();
      return p.diff ? p.diff(id, olds, news) : {};
    },
    create: async (inputs) => (await load()).create(inputs),
    read: async (id, props) => {
      const p = await load();
      return p.read ? p.read(id, props) : { id, ...(props !== undefined ? { props } : {}) };
    },
    update: async (id, olds, news) => {
      const p = await load();
      return p.update ? p.update(id, olds, news) : {};
    },
    delete: async (id, props) => {
      const p = await load();
      if (p.delete) await p.delete(id, props);
    },
  };
}
