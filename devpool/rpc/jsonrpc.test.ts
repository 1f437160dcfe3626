import { expect } from "chai";
import { MalformedRequestError } from "../errors";
import { failureResponse, parseCall, successResponse } from "./jsonrpc";
import { W } from "./wire";

describe("devpool rpc/jsonrpc", () => {
  it("reads a v2 call as the xen-api client sends it", () => {
    const call = parseCall(
      '{"id":0,"jsonrpc":"2.0","method":"VM.get_record","params":["OpaqueRef:s","OpaqueRef:v"]}',
    );
    expect(call).to.deep.equal({
      version: 2,
      id: 0,
      method: "VM.get_record",
      params: ["OpaqueRef:s", "OpaqueRef:v"],
    });
  });

  it("answers v2 success without an error key and v2 failure without a result key", () => {
    const ok = JSON.parse(successResponse({ version: 2, id: 7 }, W.int(4294967296))) as Record<
      string,
      unknown
    >;
    expect(ok).to.deep.equal({ jsonrpc: "2.0", result: 4294967296, id: 7 });
    const ko = JSON.parse(
      failureResponse({ version: 2, id: "x" }, "HANDLE_INVALID", ["VM", "OpaqueRef:bad"]),
    ) as Record<string, unknown>;
    expect(ko).to.deep.equal({
      jsonrpc: "2.0",
      error: { code: 1, message: "HANDLE_INVALID", data: ["VM", "OpaqueRef:bad"] },
      id: "x",
    });
  });

  it("answers a struct member named __proto__ as a member of the result", () => {
    const text = successResponse({ version: 2, id: 1 }, W.struct([["__proto__", W.str("v")]]));
    expect(text).to.include('"__proto__":"v"');
  });

  it("answers v1 calls in the v1 shape", () => {
    expect(JSON.parse(successResponse({ version: 1, id: 1 }, W.str("")))).to.deep.equal({
      result: "",
      error: null,
      id: 1,
    });
    expect(JSON.parse(failureResponse({ version: 1, id: 1 }, "SESSION_INVALID", ["s"]))).to.deep.equal({
      result: null,
      error: ["SESSION_INVALID", "s"],
      id: 1,
    });
  });

  it("types values: ints and doubles as numbers, dates as xapi-format strings", () => {
    const body = successResponse(
      { version: 2, id: 0 },
      W.struct([
        ["i", W.int(3)],
        ["d", W.double(1)],
        ["t", W.date("19700101T00:00:00Z")],
        ["b", W.bool(false)],
      ]),
    );
    expect(JSON.parse(body)).to.deep.equal({
      jsonrpc: "2.0",
      result: { i: 3, d: 1, t: "19700101T00:00:00Z", b: false },
      id: 0,
    });
  });

  it("rejects notifications (no id) and non-JSON bodies, as xapi's Malformed_method_request", () => {
    expect(() => parseCall('{"jsonrpc":"2.0","method":"x","params":[]}')).to.throw(
      MalformedRequestError,
      /no id/,
    );
    expect(() => parseCall('{"jsonrpc":"2.0","method":"x","params":[],"id":null}')).to.throw(
      MalformedRequestError,
    );
    expect(() => parseCall("{")).to.throw(MalformedRequestError, /not JSON/);
    expect(() => parseCall('{"method":"x","params":{},"id":1}')).to.throw(MalformedRequestError, /array/);
  });
});
