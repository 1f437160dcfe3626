/**
 * Errors of devpool. `XapiError` is the XAPI failure a call answers with (`ErrorDescription` in XML-RPC,
 * `error.message`/`error.data` in JSON-RPC); the others are devpool's own failures (bad options, bad state files,
 * malformed requests) and never reach a client as an XAPI error.
 */

/** An XAPI failure: `code` plus its parameters, all strings on the wire (xapi's `Api_errors.Server_error`). */
export class XapiError extends Error {
  readonly code: string;
  readonly params: readonly string[];
  constructor(code: string, params: readonly string[] = []) {
    super(params.length > 0 ? `${code}(${params.join(", ")})` : code);
    this.name = "XapiError";
    this.code = code;
    this.params = params;
  }
}

/** The HTTP body of an RPC request could not be parsed; xapi answers HTTP 500 (wire-protocol.md). */
export class MalformedRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MalformedRequestError";
  }
}

/** devpool was configured wrongly (options, environment, faults file). */
export class DevpoolConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DevpoolConfigError";
  }
}

/** The data directory holds state devpool cannot read. */
export class DevpoolStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DevpoolStateError";
  }
}

/** Shorthands for the XAPI errors devpool raises, with the parameter lists xapi uses (api_errors.ml). */
export const Errors = {
  handleInvalid: (cls: string, ref: string) => new XapiError("HANDLE_INVALID", [cls, ref]),
  uuidInvalid: (cls: string, uuid: string) => new XapiError("UUID_INVALID", [cls, uuid]),
  sessionInvalid: (ref: string) => new XapiError("SESSION_INVALID", [ref]),
  methodUnknown: (method: string) => new XapiError("MESSAGE_METHOD_UNKNOWN", [method]),
  paramCount: (method: string, expected: number, received: number) =>
    new XapiError("MESSAGE_PARAMETER_COUNT_MISMATCH", [method, String(expected), String(received)]),
  vmBadPowerState: (vm: string, expected: readonly string[], actual: string) =>
    new XapiError("VM_BAD_POWER_STATE", [
      vm,
      expected.map((s) => s.toLowerCase()).join(", "),
      actual.toLowerCase(),
    ]),
  vmIsTemplate: (vm: string, op: string) => new XapiError("VM_IS_TEMPLATE", [vm, op]),
  internal: (message: string) => new XapiError("INTERNAL_ERROR", [message]),
  fieldType: (expected: string) => new XapiError("FIELD_TYPE_ERROR", [expected]),
  mapDuplicateKey: (cls: string, field: string, ref: string, key: string) =>
    new XapiError("MAP_DUPLICATE_KEY", [cls, field, ref, key]),
} as const;
