/**
 * xapi's generated accessors, for every class of the datamodel: get_all, get_all_records(_where), get_record,
 * get_by_uuid, get_by_name_label, get_<field>, set_<field>, add_to_/remove_from_<map>, add_/remove_<set>, and the
 * implicit create/destroy. Class modules replace the ones whose side effects matter (VM.destroy, VDI.create, ...).
 */
import { Errors } from "../errors";
import { matches, parseFilter } from "../model/filter";
import type { ClassSchema, FieldSchema } from "../model/schema";
import type { Rec } from "../model/store";
import type { CallContext } from "./context";
import type { Registry } from "./registry";

const str = (v: unknown): string => v as string;

function allRecords(ctx: CallContext, cls: string): Record<string, Rec> {
  const out: Record<string, Rec> = {};
  for (const row of ctx.engine.store.rows(cls)) out[row.ref] = row.rec;
  return out;
}

function where(ctx: CallContext, cls: ClassSchema, expr: string): [string, Rec][] {
  const e = parseFilter(expr);
  return ctx.engine.store
    .rows(cls.name)
    .filter((r) => matches(e, r.rec, cls))
    .map((r) => [r.ref, r.rec]);
}

/** Registers the class-wide accessor (get_all, get_record, create, ...) `msg` names, if any; returns whether it did. */
function registerClassAccessor(reg: Registry, cls: ClassSchema, msg: string): boolean {
  const name = `${cls.name}.${msg}`;
  const C = cls.name;
  switch (msg) {
    case "get_all":
      reg.implement(name, (ctx) => ctx.engine.store.refs(C));
      return true;
    case "get_all_records":
      reg.implement(name, (ctx) => allRecords(ctx, C));
      return true;
    case "get_all_records_where":
      reg.implement(name, (ctx, [expr]) => Object.fromEntries(where(ctx, cls, str(expr))));
      return true;
    case "get_all_where":
      reg.implement(name, (ctx, [expr]) => where(ctx, cls, str(expr)).map(([ref]) => ref));
      return true;
    case "get_record":
      reg.implement(name, (ctx, [self]) => ctx.engine.store.require(C, str(self)));
      return true;
    case "get_by_uuid":
      reg.implement(name, (ctx, [uuid]) => {
        const ref = ctx.engine.store.refByUuid(C, str(uuid));
        if (ref === undefined) throw Errors.uuidInvalid(C, str(uuid));
        return ref;
      });
      return true;
    case "get_by_name_label":
      reg.implement(name, (ctx, [label]) =>
        ctx.engine.store
          .rows(C)
          .filter((r) => r.rec.name_label === label)
          .map((r) => r.ref),
      );
      return true;
    case "create":
      reg.implement(name, (ctx, [rec]) => ctx.engine.store.add(C, { ...(rec as Rec) }));
      return true;
    case "destroy":
      reg.implement(name, (ctx, [self]) => {
        ctx.engine.store.remove(C, str(self));
      });
      return true;
  }
  return false;
}

/** Registers the field accessor (getter, setter, map and set updates) `msg` names, if any; returns whether it did. */
function registerFieldAccessor(reg: Registry, cls: ClassSchema, msg: string, nParams: number): boolean {
  const name = `${cls.name}.${msg}`;
  const C = cls.name;
  const fieldAfter = (prefix: string): FieldSchema | undefined =>
    msg.startsWith(prefix) ? cls.field.get(msg.slice(prefix.length)) : undefined;
  const getter = fieldAfter("get_");
  if (getter !== undefined && nParams === 1) {
    reg.implement(name, (ctx, [self]) => ctx.engine.store.require(C, str(self))[getter.name]);
    return true;
  }
  const setter = fieldAfter("set_");
  if (setter !== undefined && nParams === 2) {
    reg.implement(name, (ctx, [self, value]) => {
      ctx.engine.store.require(C, str(self));
      ctx.engine.store.update(C, str(self), { [setter.name]: value });
    });
    return true;
  }
  const mapAdd = fieldAfter("add_to_");
  if (mapAdd !== undefined && mapAdd.type.k === "map" && nParams === 3) {
    reg.implement(name, (ctx, [self, key, value]) => {
      const rec = ctx.engine.store.require(C, str(self));
      const m = (rec[mapAdd.name] as Record<string, unknown> | undefined) ?? {};
      // db_cache_impl.ml process_structured_field: adding an existing key is MAP_DUPLICATE_KEY.
      if (Object.hasOwn(m, str(key))) throw Errors.mapDuplicateKey(C, mapAdd.name, str(self), str(key));
      ctx.engine.store.update(C, str(self), { [mapAdd.name]: { ...m, [str(key)]: value } });
    });
    return true;
  }
  const mapRemove = fieldAfter("remove_from_");
  if (mapRemove !== undefined && mapRemove.type.k === "map" && nParams === 2) {
    reg.implement(name, (ctx, [self, key]) => {
      const rec = ctx.engine.store.require(C, str(self));
      const m = { ...((rec[mapRemove.name] as Record<string, unknown> | undefined) ?? {}) };
      if (!Object.hasOwn(m, str(key))) return; // removing an absent key is not an error
      delete m[str(key)];
      ctx.engine.store.update(C, str(self), { [mapRemove.name]: m });
    });
    return true;
  }
  const setAdd = fieldAfter("add_");
  if (setAdd !== undefined && setAdd.type.k === "set" && nParams === 2) {
    reg.implement(name, (ctx, [self, value]) => {
      const rec = ctx.engine.store.require(C, str(self));
      const s = (rec[setAdd.name] as unknown[] | undefined) ?? [];
      if (!s.includes(value)) ctx.engine.store.update(C, str(self), { [setAdd.name]: [...s, value] });
    });
    return true;
  }
  const setRemove = fieldAfter("remove_");
  if (setRemove !== undefined && setRemove.type.k === "set" && nParams === 2) {
    reg.implement(name, (ctx, [self, value]) => {
      const rec = ctx.engine.store.require(C, str(self));
      const s = (rec[setRemove.name] as unknown[] | undefined) ?? [];
      if (s.includes(value))
        ctx.engine.store.update(C, str(self), { [setRemove.name]: s.filter((x) => x !== value) });
    });
    return true;
  }
  return false;
}

/**
 * Registers accessors for every implicit message, and for explicit `set_<field>(self, value)` messages whose field
 * exists (xapi adds checks to some of those; class modules override the ones that matter).
 */
export function registerGeneric(reg: Registry): void {
  for (const cls of reg.schema.classes.values()) {
    for (const m of cls.messages.values()) {
      if (m.implicit || /^(set_|add_to_|remove_from_)/.test(m.name)) {
        if (!registerClassAccessor(reg, cls, m.name))
          registerFieldAccessor(reg, cls, m.name, m.params.length);
      }
    }
  }
}
