/**
 * A typed view of the `xen-api` npm client (4.7.6, ESM only, no types) for devpool's tests: the members the tests
 * use, with their shapes from its index.mjs. Loaded with `import()`, which CommonJS TypeScript compiles to
 * `require()`; Node ≥ 22.12 loads ES modules through require().
 */
import type { Readable } from "node:stream";

export interface XenApiObject {
  readonly $type: string;
  readonly $ref: string;
  readonly $id: string;
  readonly [field: string]: unknown;
}

export interface XenApiCollection {
  readonly all: Readonly<Record<string, XenApiObject>>;
  on(
    event: "add" | "update" | "remove",
    listener: (objects: Record<string, XenApiObject | undefined>) => void,
  ): void;
  removeListener(event: string, listener: (...args: never[]) => void): void;
}

export interface XenApiError extends Error {
  readonly code: string;
  readonly params: readonly string[];
  readonly task?: unknown;
}

export interface XenApiClientOptions {
  url: string;
  auth: { user: string; password: string };
  allowUnauthorized?: boolean;
  transport?: "auto" | "json-rpc" | "xml-rpc";
  watchEvents?: boolean | string[];
  httpInactivityTimeout?: number;
}

export interface XenApiClient {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  readonly status: "disconnected" | "connecting" | "connected";
  readonly sessionId: string;
  readonly pool: XenApiObject;
  readonly objects: XenApiCollection;
  readonly objectsFetched: Promise<void>;
  call<T = unknown>(method: string, ...args: unknown[]): Promise<T>;
  callAsync<T = unknown>(method: string, ...args: unknown[]): Promise<T>;
  barrier(ref?: string): Promise<XenApiObject | undefined>;
  watchTask<T = unknown>(ref: string): Promise<T>;
  createTask(nameLabel: string, nameDescription?: string): Promise<string>;
  getObject(idOrUuidOrRef: string, defaultValue?: unknown): XenApiObject;
  getObjectByRef(ref: string, defaultValue?: unknown): XenApiObject;
  getResource(
    pathname: string,
    opts?: { query?: Record<string, string>; task?: boolean | string },
  ): Promise<{
    statusCode: number;
    headers: Record<string, string | string[] | undefined>;
    body: Readable;
    task?: Promise<unknown>;
  }>;
  putResource(
    body: Readable,
    pathname: string,
    opts?: { query?: Record<string, string>; task?: boolean | string },
  ): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): void;
}

interface XenApiModule {
  Xapi: new (opts: XenApiClientOptions) => XenApiClient;
}

export async function loadXenApi(): Promise<XenApiModule> {
  return (await import("xen-api")) as unknown as XenApiModule;
}
