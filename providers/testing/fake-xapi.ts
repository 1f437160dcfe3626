import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import type { XapiSession } from "../../lib/xapi/client";

/** One expected call and its answer (a value, or an error to throw). */
export interface ScriptedCall {
  readonly method: string;
  readonly args?: readonly unknown[];
  readonly result?: unknown;
  readonly error?: Error;
}

/**
 * An XapiSession that answers a fixed script of calls, in order, and throws on anything else: a provider test
 * states exactly which calls a decision makes. `done()` asserts the whole script was used.
 */
export class FakeXapiSession implements XapiSession {
  private next = 0;
  constructor(private readonly script: readonly ScriptedCall[]) {}

  read<T>(method: string, ...args: unknown[]): Promise<T> {
    return this.answer<T>("read", method, args);
  }

  write<T>(method: string, ...args: unknown[]): Promise<T> {
    return this.answer<T>("write", method, args);
  }

  getResource(path: string): Promise<{ statusCode: number; headers: IncomingHttpHeaders; body: Readable }> {
    throw new Error(`FakeXapiSession: unexpected HTTP GET ${path}`);
  }

  putResource(path: string): Promise<undefined> {
    throw new Error(`FakeXapiSession: unexpected HTTP PUT ${path}`);
  }

  done(): void {
    if (this.next !== this.script.length) {
      const left = this.script.slice(this.next).map((c) => c.method);
      throw new Error(`FakeXapiSession: ${left.length} scripted call(s) never made: ${left.join(", ")}`);
    }
  }

  private answer<T>(kind: string, method: string, args: readonly unknown[]): Promise<T> {
    const c = this.script[this.next];
    if (c === undefined || c.method !== method) {
      throw new Error(
        `FakeXapiSession: unexpected ${kind} ${method}(${JSON.stringify(args)}); expected ${c?.method ?? "no more calls"}`,
      );
    }
    if (c.args !== undefined && JSON.stringify(c.args) !== JSON.stringify(args)) {
      throw new Error(
        `FakeXapiSession: ${method} called with ${JSON.stringify(args)}, expected ${JSON.stringify(c.args)}`,
      );
    }
    this.next++;
    return c.error !== undefined ? Promise.reject(c.error) : Promise.resolve(c.result as T);
  }
}
