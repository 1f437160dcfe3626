import { expect } from "chai";
import type * as tls from "node:tls";
import { isXcpngError, XcpngError } from "../errors";
import { PoolConnectionError, XapiError } from "./errors";
import { verifyPeer, type PoolTrust } from "./trust";

/** The shape of xen-api 4.7.6's own XapiError (`_XapiError.mjs`, not exported): name, code, params. */
class XenApiLikeError extends Error {
  constructor(
    readonly code: unknown,
    readonly params: unknown,
  ) {
    super(`${String(code)}(${String(params)})`);
    this.name = "XapiError";
  }
}

describe("lib/xapi errors", () => {
  describe("XapiError.fromXenApi: only failures that came over the wire", () => {
    const socketError = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
    const cases: { name: string; given: unknown; code?: string; params?: string[] }[] = [
      {
        name: "xen-api's XapiError",
        given: new XenApiLikeError("HANDLE_INVALID", ["VM", "OpaqueRef:x"]),
        code: "HANDLE_INVALID",
        params: ["VM", "OpaqueRef:x"],
      },
      {
        name: "no params",
        given: new XenApiLikeError("SESSION_INVALID", []),
        code: "SESSION_INVALID",
        params: [],
      },
      {
        name: "non-string params, as xen-api parses them",
        given: new XenApiLikeError("X", [1, true]),
        code: "X",
        params: ["1", "true"],
      },
      { name: "a socket error (its code looks like a XAPI code)", given: socketError },
      {
        name: "an undici error",
        given: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }),
      },
      { name: "named XapiError without params", given: new XenApiLikeError("X", undefined) },
      { name: "named XapiError with a non-string code", given: new XenApiLikeError(42, []) },
      { name: "a plain object", given: { name: "XapiError", code: "X", params: [] } },
      { name: "undefined", given: undefined },
    ];
    for (const c of cases) {
      it(`${c.name} → ${c.code ?? "undefined"}`, () => {
        const got = XapiError.fromXenApi(c.given, "VM.destroy");
        if (c.code === undefined) {
          expect(got).to.equal(undefined);
          return;
        }
        expect(got).to.be.instanceOf(XapiError);
        expect(got).to.be.instanceOf(XcpngError);
        expect(got!.code).to.equal(c.code);
        expect(got!.params).to.deep.equal(c.params);
        expect(got!.cause).to.equal(c.given);
        expect(got!.message).to.match(new RegExp(`^pool: VM\\.destroy failed with ${c.code}`));
      });
    }

    it("returns one of ours unchanged", () => {
      const ours = new XapiError("pool: x", "HANDLE_INVALID", ["VM", "r"]);
      expect(XapiError.fromXenApi(ours, "x")).to.equal(ours);
    });

    it("fromErrorInfo keeps code and params as sent", () => {
      const e = XapiError.fromErrorInfo(["IMPORT_ERROR", "bad checksum"], "PUT /import");
      expect([e.code, ...e.params]).to.deep.equal(["IMPORT_ERROR", "bad checksum"]);
      expect(e.message).to.equal('pool: PUT /import failed with IMPORT_ERROR ["bad checksum"]');
      expect(e.name).to.equal("XapiError");
    });
  });

  describe("PoolConnectionError", () => {
    it("carries its code and cause, and is one of the project's errors", () => {
      const cause = new Error("x");
      const e = new PoolConnectionError("POOL_PIN_MISMATCH", "pool: pin", { cause });
      expect([e.code, e.message, e.cause, e.name]).to.deep.equal([
        "POOL_PIN_MISMATCH",
        "pool: pin",
        cause,
        "PoolConnectionError",
      ]);
      expect(isXcpngError(e)).to.equal(true);
    });

    it("the one-argument form (callers written before the codes) gets POOL_CONNECTION_FAILED", () => {
      const e = new PoolConnectionError("artifact: no pool password");
      expect([e.code, e.message]).to.deep.equal(["POOL_CONNECTION_FAILED", "artifact: no pool password"]);
    });
  });
});

describe("lib/xapi trust: the verdict on a handshake (verifyPeer)", () => {
  const POOL = "aa".repeat(32);
  const OTHER = "bb".repeat(32);
  /** A TLS socket after the handshake: only what verifyPeer may read; anything else throws. */
  function socket(authorized: boolean, fingerprint: string): tls.TLSSocket {
    const known: Record<string, unknown> = {
      authorized,
      authorizationError: authorized ? null : "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      getPeerCertificate: () => ({
        fingerprint256: fingerprint.match(/../g)!.join(":").toUpperCase(),
        subject: { CN: "pool" },
        issuer: { CN: "ca" },
      }),
    };
    return new Proxy({} as tls.TLSSocket, {
      get: (_t, p) => {
        if (typeof p === "string" && p in known) return known[p];
        throw new Error(`verifyPeer read an unexpected member: ${String(p)}`);
      },
    });
  }
  const ca = "-----BEGIN CERTIFICATE-----(test)";
  const rows: { trust: PoolTrust; authorized: boolean; seen: string; verdict: string }[] = [
    // CA only: the chain (and name) decide
    { trust: { caCertificate: ca, insecureSkipVerify: false }, authorized: true, seen: OTHER, verdict: "ok" },
    {
      trust: { caCertificate: ca, insecureSkipVerify: false },
      authorized: false,
      seen: POOL,
      verdict: "POOL_TLS_UNTRUSTED",
    },
    // pin only: the fingerprint decides (a self-signed pool certificate is not authorized)
    {
      trust: { certificateFingerprint: POOL, insecureSkipVerify: false },
      authorized: false,
      seen: POOL,
      verdict: "ok",
    },
    {
      trust: { certificateFingerprint: POOL.toUpperCase(), insecureSkipVerify: false },
      authorized: false,
      seen: POOL,
      verdict: "ok",
    },
    {
      trust: { certificateFingerprint: POOL, insecureSkipVerify: false },
      authorized: true,
      seen: OTHER,
      verdict: "POOL_PIN_MISMATCH",
    },
    // both: both must hold, the chain first
    {
      trust: { caCertificate: ca, certificateFingerprint: POOL, insecureSkipVerify: false },
      authorized: true,
      seen: POOL,
      verdict: "ok",
    },
    {
      trust: { caCertificate: ca, certificateFingerprint: POOL, insecureSkipVerify: false },
      authorized: true,
      seen: OTHER,
      verdict: "POOL_PIN_MISMATCH",
    },
    {
      trust: { caCertificate: ca, certificateFingerprint: POOL, insecureSkipVerify: false },
      authorized: false,
      seen: POOL,
      verdict: "POOL_TLS_UNTRUSTED",
    },
    // neither: the system store decides, unless the user skips verification
    { trust: { insecureSkipVerify: false }, authorized: true, seen: OTHER, verdict: "ok" },
    { trust: { insecureSkipVerify: false }, authorized: false, seen: OTHER, verdict: "POOL_TLS_UNTRUSTED" },
    { trust: { insecureSkipVerify: true }, authorized: false, seen: OTHER, verdict: "ok" },
    // skipping verification never disables a CA or a pin that was given
    {
      trust: { certificateFingerprint: POOL, insecureSkipVerify: true },
      authorized: false,
      seen: OTHER,
      verdict: "POOL_PIN_MISMATCH",
    },
    {
      trust: { caCertificate: ca, insecureSkipVerify: true },
      authorized: false,
      seen: OTHER,
      verdict: "POOL_TLS_UNTRUSTED",
    },
  ];
  for (const r of rows) {
    const given = [
      r.trust.caCertificate !== undefined ? "CA" : "",
      r.trust.certificateFingerprint === undefined
        ? ""
        : r.trust.certificateFingerprint === POOL
          ? "pin"
          : "pin (upper case)",
      r.trust.insecureSkipVerify ? "skip" : "",
    ].filter((s) => s !== "");
    it(`${given.join("+") || "nothing"}, chain ${r.authorized ? "ok" : "not ok"}, leaf ${r.seen === POOL ? "pinned" : "other"} → ${r.verdict}`, () => {
      const v = verifyPeer(socket(r.authorized, r.seen), "pool:443", r.trust);
      expect(v?.code ?? "ok").to.equal(r.verdict);
    });
  }
});
