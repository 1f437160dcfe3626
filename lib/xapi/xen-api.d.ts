// The xen-api npm package (ESM, no types): the subset this project uses. Shapes from its index.mjs (4.7.6)
// and shared/reference/xapi-protocol.md §E.
declare module "xen-api" {
  import type { Readable } from "node:stream";

  export interface XapiOptions {
    url: string;
    auth: { user: string; password: string } | { sessionId: string };
    allowUnauthorized?: boolean;
    readOnly?: boolean;
    watchEvents?: boolean | string[];
    callTimeout?: number;
    httpInactivityTimeout?: number;
    transport?: "auto" | "json-rpc" | "xml-rpc";
  }

  export interface ResourceResponse {
    statusCode: number;
    headers: Record<string, string | string[] | undefined>;
    body: Readable;
  }

  export class Xapi {
    constructor(opts: XapiOptions);
    connect(): Promise<void>;
    disconnect(): Promise<void>;
    readonly sessionId: string;
    call<T = unknown>(method: string, ...args: unknown[]): Promise<T>;
    getResource(
      pathname: string,
      opts?: { query?: Record<string, string>; task?: boolean | string },
    ): Promise<ResourceResponse>;
    putResource(
      body: Readable,
      pathname: string,
      opts?: { query?: Record<string, string>; task?: boolean | string },
    ): Promise<unknown>;
  }

  export function createClient(opts: XapiOptions): Xapi;
}
