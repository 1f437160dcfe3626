// The xen-api npm package (ESM, no types): the subset this project uses. Shapes from its index.mjs (4.7.6).
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
    /** pRetry options of read-only calls (`*.get_*`); `when` is fixed to ECONNRESET. */
    roCallRetryOptions?: { tries?: number; delay?: number };
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
    readonly status: "disconnected" | "connecting" | "connected";
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
