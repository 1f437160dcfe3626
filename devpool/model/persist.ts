/**
 * state.json: the persistent tables of the store, rewritten atomically (temporary file, fsync, rename, fsync of the
 * directory) so a crash leaves either the old or the new state, never half of one. Writes are coalesced: a burst of
 * calls costs one write.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DevpoolStateError } from "../errors";
import type { Rec, Store } from "./store";

const FORMAT = "devpool-state";
const VERSION = 1;

interface StateFile {
  format: typeof FORMAT;
  version: number;
  generation: number;
  tables: Record<string, Record<string, Rec>>;
}

/** Reads state.json; undefined when it does not exist (first start). */
export function readState(file: string): StateFile | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new DevpoolStateError(
      `devpool: ${file} is not valid JSON (${(e as Error).message}); move it away to start from a fresh pool`,
    );
  }
  const s = parsed as Partial<StateFile>;
  if (
    s.format !== FORMAT ||
    typeof s.generation !== "number" ||
    typeof s.tables !== "object" ||
    s.tables === null
  ) {
    throw new DevpoolStateError(
      `devpool: ${file} is not a devpool state file (expected format "${FORMAT}"); move it away to start from a fresh pool`,
    );
  }
  if (s.version !== VERSION) {
    throw new DevpoolStateError(
      `devpool: ${file} has state version ${String(s.version)}, this devpool reads version ${VERSION}`,
    );
  }
  return s as StateFile;
}

export function writeStateSync(file: string, store: Store): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const body = JSON.stringify({ format: FORMAT, version: VERSION, ...store.dump() } satisfies StateFile);
  const fd = fs.openSync(tmp, "w", 0o600);
  try {
    fs.writeFileSync(fd, body);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  const dir = fs.openSync(path.dirname(file), "r");
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
}

/** Schedules coalesced rewrites of state.json after writes to persistent tables. */
export class Persister {
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;

  constructor(
    private readonly file: string,
    private readonly store: () => Store,
    private readonly delayMs = 25,
  ) {}

  /** Called on every store write. */
  schedule(persistent: boolean): void {
    if (!persistent) return;
    this.dirty = true;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.delayMs);
  }

  /** Writes now if anything changed since the last write. */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.dirty) return;
    this.dirty = false;
    writeStateSync(this.file, this.store());
  }
}
