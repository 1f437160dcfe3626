/**
 * `event.from` and `event.inject` over the store's generations (xapi_event.ml, event_types.ml).
 *
 * Tokens are `"%020d,%020d"` (database generation, message generation); `""` means "from the beginning", so every
 * current object comes back as an `add`. The call long-polls: it returns as soon as a matching event exists, or
 * after `timeout` seconds with no events and a fresh token; xapi never answers an empty batch early.
 */
import { ServerError } from "../errors";
import { W, type Wire } from "../rpc/wire";
import { encode } from "./codec";
import { SILENT_CLASSES, type Store } from "./store";

export function formatToken(generation: number): string {
  return `${String(Math.max(0, generation)).padStart(20, "0")},${"0".padStart(20, "0")}`;
}

/** Reads a token; -1 for `""`. Throws EVENT_FROM_TOKEN_PARSE_FAILURE [token]. */
export function parseToken(token: string): number {
  if (token === "") return -1;
  const m = /^(\d+)(?:,(\d+))?$/.exec(token);
  if (m === null) throw new ServerError("EVENT_FROM_TOKEN_PARSE_FAILURE", [token]);
  return Number(m[1]);
}

interface Subscription {
  readonly all: boolean;
  readonly classes: ReadonlySet<string>;
  readonly objects: ReadonlySet<string>;
}

/** `"*"`, a class name in any case, or `"class/ref"`; anything else is EVENT_SUBSCRIPTION_PARSE_FAILURE. */
function parseSubscriptions(store: Store, subs: readonly string[]): Subscription {
  let all = false;
  const classes = new Set<string>();
  const objects = new Set<string>();
  for (const s of subs) {
    if (s === "*") {
      all = true;
      continue;
    }
    const slash = s.indexOf("/");
    const name = slash < 0 ? s : s.slice(0, slash);
    if (name === "" || (slash >= 0 && slash === s.length - 1)) {
      throw new ServerError("EVENT_SUBSCRIPTION_PARSE_FAILURE", [s]);
    }
    // Subscriptions to classes this pool does not know match nothing, as in xapi.
    const cls = store.schema.byLower.get(name.toLowerCase()) ?? name;
    if (slash < 0) classes.add(cls);
    else objects.add(`${cls}/${s.slice(slash + 1)}`);
  }
  return { all, classes, objects };
}

function subscribed(sub: Subscription, cls: string, ref: string): boolean {
  if (SILENT_CLASSES.has(cls)) return false;
  return sub.all || sub.classes.has(cls) || sub.objects.has(`${cls}/${ref}`);
}

interface PendingEvent {
  readonly id: number;
  readonly wire: Wire;
}

function collect(store: Store, sub: Subscription, since: number): PendingEvent[] {
  const out: PendingEvent[] = [];
  for (const cls of store.schema.classes.keys()) {
    if (!sub.all && !sub.classes.has(cls) && ![...sub.objects].some((o) => o.startsWith(`${cls}/`))) continue;
    for (const row of store.rows(cls)) {
      if (row.modified <= since || !subscribed(sub, cls, row.ref)) continue;
      out.push({
        id: row.modified,
        wire: W.struct([
          ["id", W.str(String(row.modified))],
          ["timestamp", W.str("0.0")],
          ["class", W.str(cls.toLowerCase())],
          ["operation", W.str(row.created > since ? "add" : "mod")],
          ["ref", W.str(row.ref)],
          ["snapshot", encode(row.rec, { k: "record", cls }, store.schema)],
        ]),
      });
    }
  }
  for (const d of store.deletionsSince(since)) {
    // An object created after the token and already gone was never seen by this client: no event.
    if (d.created > since || !subscribed(sub, d.cls, d.ref)) continue;
    out.push({
      id: d.deleted,
      wire: W.struct([
        ["id", W.str(String(d.deleted))],
        ["timestamp", W.str("0.0")],
        ["class", W.str(d.cls.toLowerCase())],
        ["operation", W.str("del")],
        ["ref", W.str(d.ref)],
      ]),
    });
  }
  return out.sort((a, b) => a.id - b.id);
}

function batch(store: Store, events: readonly PendingEvent[]): Wire {
  // valid_ref_counts is an Int32 map (<i4> in XML-RPC): the xen-api client compares the task count with !==.
  const counts = [...store.schema.classes.keys()]
    .filter((c) => !SILENT_CLASSES.has(c))
    .map((c) => [c.toLowerCase(), W.i4(store.count(c))] as const);
  return W.struct([
    ["events", W.array(events.map((e) => e.wire))],
    ["valid_ref_counts", W.struct(counts)],
    ["token", W.str(formatToken(store.generation))],
  ]);
}

/**
 * Waits for events of the subscribed classes newer than `token`, at most `timeoutS` seconds.
 * `stopped()` ends the wait early (devpool shutting down).
 */
export async function eventFrom(
  store: Store,
  classes: readonly string[],
  token: string,
  timeoutS: number,
  stopped: () => boolean,
): Promise<Wire> {
  const sub = parseSubscriptions(store, classes);
  const since = parseToken(token);
  const deadline = Date.now() + Math.max(0, timeoutS) * 1000;
  for (;;) {
    const events = collect(store, sub, since);
    if (events.length > 0 || Date.now() >= deadline || stopped()) return batch(store, events);
    await store.changed(deadline - Date.now());
  }
}

/** Touches the object (a `mod` event) and returns the token just before it (xapi_event.ml `inject`). */
export function eventInject(store: Store, cls: string, ref: string): string {
  const real = store.schema.byLower.get(cls.toLowerCase());
  if (real === undefined || !store.has(real, ref)) throw new ServerError("HANDLE_INVALID", [cls, ref]);
  store.touch(real, ref);
  return formatToken(store.generation - 1);
}
