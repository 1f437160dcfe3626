/**
 * JSON-RPC as xapi speaks it on `POST /jsonrpc` (ocaml-rpc `jsonrpc.ml`, api_server.ml `jsoncallback`):
 * v2 when the request has `"jsonrpc": "2.0"`, v1 otherwise. The id is mandatory. A v2 success has no `error`
 * key and a v2 failure has no `result` key: the `xen-api` client's parser treats any `error` key, even null, as
 * an error (its index.mjs `parseResult`).
 */
import { MalformedRequestError } from "../errors";
import { setOwn } from "../../lib/own-property";
import type { Input, Wire } from "./wire";

export interface JsonRpcCall {
  readonly version: 1 | 2;
  readonly id: string | number;
  readonly method: string;
  readonly params: Input[];
}

/** Parses a JSON-RPC request body. Throws MalformedRequestError (HTTP 500, as xapi's Malformed_method_request). */
export function parseCall(body: string): JsonRpcCall {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (e) {
    throw new MalformedRequestError(`JSON-RPC body is not JSON: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new MalformedRequestError("JSON-RPC body must be an object with method, params and id");
  }
  const o = parsed as Record<string, unknown>;
  const version = o.jsonrpc === "2.0" ? 2 : 1;
  const id = o.id;
  if (typeof id !== "string" && typeof id !== "number") {
    throw new MalformedRequestError(
      "JSON-RPC request has no id: xapi rejects notifications (Malformed_method_request)",
    );
  }
  if (typeof o.method !== "string") throw new MalformedRequestError("JSON-RPC request has no method string");
  const params = o.params ?? [];
  if (!Array.isArray(params)) throw new MalformedRequestError("JSON-RPC params must be an array");
  return { version, id, method: o.method, params: params as Input[] };
}

/** Converts a typed value to JSON: ints and floats are numbers, dates are xapi-format strings. */
export function toJson(w: Wire): unknown {
  switch (w.t) {
    case "string":
    case "datetime":
      return w.v;
    case "int":
    case "i4":
    case "double":
      return w.v;
    case "bool":
      return w.v;
    case "array":
      return w.v.map(toJson);
    case "struct": {
      const out: Record<string, unknown> = {};
      for (const [k, v] of w.v) setOwn(out, k, toJson(v));
      return out;
    }
  }
}

export function successResponse(call: Pick<JsonRpcCall, "version" | "id">, value: Wire): string {
  const result = toJson(value);
  if (call.version === 2) return JSON.stringify({ jsonrpc: "2.0", result, id: call.id });
  return JSON.stringify({ result, error: null, id: call.id });
}

export function failureResponse(
  call: Pick<JsonRpcCall, "version" | "id">,
  code: string,
  params: readonly string[],
): string {
  if (call.version === 2) {
    // api_server_common.ml: error_code_lit = 1; message is the XAPI code, data its parameters.
    return JSON.stringify({ jsonrpc: "2.0", error: { code: 1, message: code, data: params }, id: call.id });
  }
  return JSON.stringify({ result: null, error: [code, ...params], id: call.id });
}
