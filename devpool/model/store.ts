/**
 * devpool's database: one table per class, every row a complete record, and a generation counter that every
 * write advances, as xapi's `Db_cache`. Rows remember the generation they were created and last modified at, and
 * deletions are kept (bounded), which is all `event.from` needs to answer from a token (xapi_event.ml `from_inner`:
 * an object created after the token is an `add`, otherwise a `mod`; a delete is reported only if the client could
 * have seen the object).
 */
import { randomUUID } from "node:crypto";
import { Errors } from "../errors";
import { RELATIONS_BY_CHILD, RELATIONS_BY_PARENT } from "./relations";
import type { Schema } from "./schema";
import { NULL_REF } from "./types";

export type Rec = Record<string, unknown>;

export interface Row {
  readonly cls: string;
  readonly ref: string;
  readonly rec: Rec;
  readonly created: number;
  readonly modified: number;
}

interface MutableRow {
  readonly cls: string;
  readonly ref: string;
  rec: Rec;
  created: number;
  modified: number;
}

export interface Deletion {
  readonly cls: string;
  readonly ref: string;
  readonly created: number;
  readonly deleted: number;
}

/** Tables kept out of `state.json`: tasks and sessions do not survive an xapi restart either. */
export const VOLATILE_CLASSES: ReadonlySet<string> = new Set(["task", "session"]);
/** Tables that produce no events (xapi never reports sessions to event.from subscribers of the product's types). */
export const SILENT_CLASSES: ReadonlySet<string> = new Set(["session"]);

const MAX_DELETIONS = 50_000;

export function newRef(): string {
  return `OpaqueRef:${randomUUID()}`;
}

export class Store {
  private readonly tables = new Map<string, Map<string, MutableRow>>();
  private readonly uuids = new Map<string, Map<string, string>>();
  private deletions: Deletion[] = [];
  private waiters = new Set<() => void>();
  private gen = 0;

  /** `onWrite(persistent)` is called after every write; `persistent` says whether state.json must be rewritten. */
  constructor(
    readonly schema: Schema,
    private readonly onWrite: (persistent: boolean) => void = () => undefined,
  ) {}

  get generation(): number {
    return this.gen;
  }

  private table(cls: string): Map<string, MutableRow> {
    let t = this.tables.get(cls);
    if (t === undefined) {
      this.schema.cls(cls); // throws on an unknown class: a devpool bug, not a client error
      t = new Map();
      this.tables.set(cls, t);
    }
    return t;
  }

  private uuidIndex(cls: string): Map<string, string> {
    let m = this.uuids.get(cls);
    if (m === undefined) {
      m = new Map();
      this.uuids.set(cls, m);
    }
    return m;
  }

  private bump(cls: string): number {
    if (SILENT_CLASSES.has(cls)) return this.gen;
    this.gen += 1;
    return this.gen;
  }

  private written(cls: string): void {
    this.onWrite(!VOLATILE_CLASSES.has(cls));
    if (!SILENT_CLASSES.has(cls)) {
      const ws = this.waiters;
      this.waiters = new Set();
      for (const w of ws) w();
    }
  }

  has(cls: string, ref: string): boolean {
    return this.tables.get(cls)?.has(ref) ?? false;
  }

  /** The live record (do not mutate it: use update), or undefined. */
  get(cls: string, ref: string): Rec | undefined {
    return this.tables.get(cls)?.get(ref)?.rec;
  }

  /** The record, or HANDLE_INVALID [cls, ref] as xapi answers for a ref not in its database. */
  require(cls: string, ref: string): Rec {
    const r = this.get(cls, ref);
    if (r === undefined) throw Errors.handleInvalid(cls, ref);
    return r;
  }

  rows(cls: string): Row[] {
    return [...(this.tables.get(cls)?.values() ?? [])];
  }

  refs(cls: string): string[] {
    return [...(this.tables.get(cls)?.keys() ?? [])];
  }

  count(cls: string): number {
    return this.tables.get(cls)?.size ?? 0;
  }

  refByUuid(cls: string, uuid: string): string | undefined {
    return this.uuids.get(cls)?.get(uuid);
  }

  /** Inserts a complete record built from `values` over the class defaults; a missing uuid is generated. */
  add(cls: string, values: Rec, ref: string = newRef()): string {
    const t = this.table(cls);
    const rec = this.schema.record(cls, values);
    if (this.schema.cls(cls).field.has("uuid") && (rec.uuid === "" || rec.uuid === undefined))
      rec.uuid = randomUUID();
    // Parent-side sets are derived: fill them from existing children (rows loaded or imported out of order).
    for (const rel of RELATIONS_BY_PARENT.get(cls) ?? []) {
      rec[rel.set] = this.rows(rel.child)
        .filter((r) => r.rec[rel.field] === ref)
        .map((r) => r.ref);
    }
    const g = this.bump(cls);
    t.set(ref, { cls, ref, rec, created: g, modified: g });
    if (typeof rec.uuid === "string") this.uuidIndex(cls).set(rec.uuid, ref);
    for (const rel of RELATIONS_BY_CHILD.get(cls) ?? [])
      this.link(rel.parent, rel.set, rec[rel.field], ref, true);
    this.written(cls);
    return ref;
  }

  private link(parentCls: string, set: string, parentRef: unknown, childRef: string, on: boolean): void {
    if (typeof parentRef !== "string" || parentRef === NULL_REF) return;
    const row = this.tables.get(parentCls)?.get(parentRef);
    if (row === undefined) return;
    const current = (row.rec[set] as string[] | undefined) ?? [];
    const next = on
      ? current.includes(childRef)
        ? current
        : [...current, childRef]
      : current.filter((r) => r !== childRef);
    if (next === current) return;
    row.rec = { ...row.rec, [set]: next };
    row.modified = this.bump(parentCls);
    this.written(parentCls);
  }

  /** Applies `patch` to a record (HANDLE_INVALID if absent), keeping relations and events in step. */
  update(cls: string, ref: string, patch: Rec): Rec {
    const row = this.tables.get(cls)?.get(ref);
    if (row === undefined) throw Errors.handleInvalid(cls, ref);
    const before = row.rec;
    row.rec = { ...before, ...patch };
    row.modified = this.bump(cls);
    if ("uuid" in patch && patch.uuid !== before.uuid) {
      const idx = this.uuidIndex(cls);
      if (typeof before.uuid === "string") idx.delete(before.uuid);
      if (typeof patch.uuid === "string") idx.set(patch.uuid, ref);
    }
    for (const rel of RELATIONS_BY_CHILD.get(cls) ?? []) {
      if (rel.field in patch && patch[rel.field] !== before[rel.field]) {
        this.link(rel.parent, rel.set, before[rel.field], ref, false);
        this.link(rel.parent, rel.set, patch[rel.field], ref, true);
      }
    }
    this.written(cls);
    return row.rec;
  }

  /** A write with no change: a `mod` event (event.inject, heartbeats). */
  touch(cls: string, ref: string): void {
    const row = this.tables.get(cls)?.get(ref);
    if (row === undefined) throw Errors.handleInvalid(cls, ref);
    row.modified = this.bump(cls);
    this.written(cls);
  }

  remove(cls: string, ref: string): void {
    const t = this.tables.get(cls);
    const row = t?.get(ref);
    if (t === undefined || row === undefined) throw Errors.handleInvalid(cls, ref);
    t.delete(ref);
    if (typeof row.rec.uuid === "string") this.uuids.get(cls)?.delete(row.rec.uuid);
    const g = this.bump(cls);
    if (!SILENT_CLASSES.has(cls)) {
      this.deletions.push({ cls, ref, created: row.created, deleted: g });
      if (this.deletions.length > MAX_DELETIONS) this.deletions = this.deletions.slice(-MAX_DELETIONS / 2);
    }
    for (const rel of RELATIONS_BY_CHILD.get(cls) ?? [])
      this.link(rel.parent, rel.set, row.rec[rel.field], ref, false);
    this.written(cls);
  }

  deletionsSince(since: number): Deletion[] {
    return this.deletions.filter((d) => d.deleted > since);
  }

  /** Resolves at the next write to an evented table, or after `timeoutMs`. */
  changed(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      this.waiters.add(done);
    });
  }

  /** Wakes every waiter (used on shutdown so long polls return at once). */
  wakeAll(): void {
    const ws = this.waiters;
    this.waiters = new Set();
    for (const w of ws) w();
  }

  /** Persistent tables as plain data, for state.json. */
  dump(): { generation: number; tables: Record<string, Record<string, Rec>> } {
    const tables: Record<string, Record<string, Rec>> = {};
    for (const [cls, t] of this.tables) {
      if (VOLATILE_CLASSES.has(cls) || t.size === 0) continue;
      tables[cls] = Object.fromEntries([...t].map(([ref, row]) => [ref, row.rec]));
    }
    return { generation: this.gen, tables };
  }

  /**
   * Loads tables written by dump(). Records are completed against the current schema (fields added by a newer
   * devpool get their defaults; fields it no longer knows are dropped), so records stay uniform.
   */
  load(state: { generation: number; tables: Record<string, Record<string, Rec>> }): void {
    this.gen = Math.max(this.gen, state.generation);
    for (const [cls, rows] of Object.entries(state.tables)) {
      if (!this.schema.classes.has(cls)) continue;
      const t = this.table(cls);
      for (const [ref, rec] of Object.entries(rows)) {
        const full = this.schema.record(cls, rec);
        t.set(ref, { cls, ref, rec: full, created: this.gen, modified: this.gen });
        if (typeof full.uuid === "string") this.uuidIndex(cls).set(full.uuid, ref);
      }
    }
  }
}
