/**
 * Refresh and delete run the provider code stored in state (`__provider`), not the current code
 * (pulumi/pulumi#9085, #18976). Every diff therefore reports a change when the serialized code differs, so `up`
 * rewrites it through `update`, which our providers implement as "keep the outputs" for such a change:
 * upgrading the project never rebuilds or replaces anything.
 */
export function providerCodeChanged(olds: object, news: object): boolean {
  const o = (olds as { __provider?: unknown }).__provider;
  const n = (news as { __provider?: unknown }).__provider;
  return typeof o === "string" && typeof n === "string" && o !== n;
}

/** The value the engine substitutes for not-yet-known inputs during preview (sdk/nodejs/runtime/rpc.ts). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** True when a value (or any value nested in it) is still unknown at preview time. */
export function isUnknown(v: unknown): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(isUnknown);
  if (typeof v === "object" && v !== null) return Object.values(v).some(isUnknown);
  return false;
}

/** Drops undefined members: protobuf serialization of provider results throws on them (pulumi/pulumi#2205). */
export function defined<T extends object>(o: { [K in keyof T]?: T[K] | undefined }): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
