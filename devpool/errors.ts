/**
 * Errors of devpool, in the project's one error model (lib/errors.ts: every class extends `XcpngError`, has a
 * stable `code`, keeps its `cause`).
 *
 * - `ServerError` is the XAPI failure devpool *sends* (xapi's `Api_errors.Server_error`, ocaml/xapi-consts/
 *   api_errors.ml): `code` and `params` become `ErrorDescription` in XML-RPC, `error.message`/`error.data` in
 *   JSON-RPC. A client that receives it sees lib/xapi's `ServerError`; inside devpool it is only ever thrown.
 * - The others are devpool's own failures (bad options, unreadable state, malformed requests, broken invariants)
 *   and never reach a client as an XAPI error.
 */
import { type ErrorOptions, XcpngError } from "../lib/errors";

/** An XAPI failure devpool answers with: `code` plus its parameters, all strings on the wire. */
export class ServerError extends XcpngError {
  readonly params: readonly string[];
  constructor(code: string, params: readonly string[] = [], options?: ErrorOptions) {
    super(code, params.length > 0 ? `${code}(${params.join(", ")})` : code, options);
    this.params = params;
  }
}

/**
 * The HTTP body of an RPC request could not be parsed. xapi answers HTTP 500 with its HTML error page
 * (ocaml/libs/http-lib/http_svr.ml `response_internal_error`), naming the parser's exception.
 */
export class MalformedRequestError extends XcpngError {
  constructor(message: string, options?: ErrorOptions) {
    super("DEVPOOL_MALFORMED_REQUEST", message, options);
  }
}

/** devpool was configured wrongly (options, environment, faults file, users). */
export class DevpoolConfigError extends XcpngError {
  constructor(message: string, options?: ErrorOptions) {
    super("DEVPOOL_CONFIG", message, options);
  }
}

/** The data directory holds state devpool cannot read. */
export class DevpoolStateError extends XcpngError {
  constructor(message: string, options?: ErrorOptions) {
    super("DEVPOOL_STATE", message, options);
  }
}

/**
 * An invariant of devpool itself does not hold (a class or type missing from its own tables, a disk path that is
 * not a uuid): a defect of devpool, never the client's fault. Clients see it as INTERNAL_ERROR, as xapi reports
 * its own unexpected exceptions (ocaml/xapi/helpers/exnHelper.ml `error_of_exn`).
 */
export class DevpoolDefectError extends XcpngError {
  constructor(message: string, options?: ErrorOptions) {
    super("DEVPOOL_DEFECT", message, options);
  }
}

/** A local service (devpool, versitygw) did not come up in time, or exited while starting. */
export class ServiceStartError extends XcpngError {
  constructor(message: string, options?: ErrorOptions) {
    super("SERVICE_START", message, options);
  }
}

/** Shorthands for the XAPI errors devpool raises, with the parameter lists xapi uses (api_errors.ml). */
export const Errors = {
  handleInvalid: (cls: string, ref: string) => new ServerError("HANDLE_INVALID", [cls, ref]),
  uuidInvalid: (cls: string, uuid: string) => new ServerError("UUID_INVALID", [cls, uuid]),
  sessionInvalid: (ref: string) => new ServerError("SESSION_INVALID", [ref]),
  methodUnknown: (method: string) => new ServerError("MESSAGE_METHOD_UNKNOWN", [method]),
  paramCount: (method: string, expected: number, received: number) =>
    new ServerError("MESSAGE_PARAMETER_COUNT_MISMATCH", [method, String(expected), String(received)]),
  vmBadPowerState: (vm: string, expected: readonly string[], actual: string) =>
    new ServerError("VM_BAD_POWER_STATE", [
      vm,
      expected.map((s) => s.toLowerCase()).join(", "),
      actual.toLowerCase(),
    ]),
  vmIsTemplate: (vm: string, op: string) => new ServerError("VM_IS_TEMPLATE", [vm, op]),
  internal: (message: string) => new ServerError("INTERNAL_ERROR", [message]),
  fieldType: (expected: string) => new ServerError("FIELD_TYPE_ERROR", [expected]),
  mapDuplicateKey: (cls: string, field: string, ref: string, key: string) =>
    new ServerError("MAP_DUPLICATE_KEY", [cls, field, ref, key]),
} as const;
