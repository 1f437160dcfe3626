import type * as pulumi from "@pulumi/pulumi";
import { isDeepStrictEqual } from "node:util";
import { isUnknown, providerCodeChanged } from "./provider-code";

/** How a diff treats a key whose new value is still unknown (preview, an upstream resource updating). */
export type UnknownPolicy =
  /** Not a change by itself: `up` diffs again with the real value (the default). */
  | "defer"
  /** A change: the value will come from an upstream resource that is itself changing. */
  | "change";

/**
 * The keys among `keys` whose values differ between the old outputs and the new inputs, compared structurally
 * (object key order and `undefined` members do not count, unlike a JSON.stringify comparison).
 */
export function changedKeys<I extends object, K extends keyof I & string>(
  olds: NoInfer<I>,
  news: I,
  keys: readonly K[],
  unknown: UnknownPolicy = "defer",
): K[] {
  return keys.filter((k) => {
    const n = news[k];
    if (isUnknown(n)) return unknown === "change";
    return !isDeepStrictEqual(normalize(olds[k]), normalize(n));
  });
}

/** Drops `undefined` members recursively: the engine does not store them, so they must not read as changes. */
function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize);
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .map(([k, x]) => [k, normalize(x)]),
    );
  }
  return v;
}

/**
 * A diff result from the keys that replace the resource and the keys that update it in place; the serialized
 * provider code changing is an in-place update too (see provider-code.ts).
 */
export function diffResult(
  olds: object,
  news: object,
  change: {
    replaces: readonly string[];
    updates: readonly string[] | boolean;
    deleteBeforeReplace?: boolean;
  },
): pulumi.dynamic.DiffResult {
  const updates = typeof change.updates === "boolean" ? change.updates : change.updates.length > 0;
  return {
    changes: change.replaces.length > 0 || updates || providerCodeChanged(olds, news),
    replaces: [...change.replaces],
    ...(change.deleteBeforeReplace !== undefined ? { deleteBeforeReplace: change.deleteBeforeReplace } : {}),
  };
}
