/**
 * The pool's CA and pin are checked in the handshake of every connection that carries credentials or a session
 * (the login, every call, every transfer), not once on a probe: a man in the middle (tests/support/tls-mitm-proxy)
 * lets the first connection through and shows another certificate afterwards. Whatever step it intercepts,
 * withXapi fails with the right code and the proxy reads nothing (no password, no session).
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import { startDevpool, type Devpool } from "../../devpool";
import { makeDiskVm } from "../../devpool/testing/fixtures";
import { issueServerCert, makeCa, type Pem } from "../../tests/support/test-pki";
import { startMitmProxy, type MitmProxy } from "../../tests/support/tls-mitm-proxy";
import { type PoolTarget, withXapi } from "./client";
import { PoolConnectionError, type PoolConnectionCode } from "./errors";

const USER = "root";
const PASSWORD = `mitm-test-password-${process.pid}`;

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection, the promise resolved");
}

describe("lib/xapi trust: CA and pin verified on every connection (integ: devpool over TLS behind a MITM proxy)", function () {
  this.timeout(60_000);
  let dir: string;
  let pool: Devpool;
  let poolCa: Pem;
  let poolCert: Pem;
  let sameCaImpostor: Pem;
  let otherCaImpostor: Pem;
  let vmUuid: string;
  const proxies: MitmProxy[] = [];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "xapi-trust-"));
    poolCa = await makeCa("pool CA");
    poolCert = await issueServerCert(poolCa);
    sameCaImpostor = await issueServerCert(poolCa);
    otherCaImpostor = await issueServerCert(await makeCa("another CA"));
    // devpool reuses the identity it finds in <dataDir>/tls: give it a certificate signed by our CA.
    const tlsDir = path.join(dir, "pool", "tls");
    fs.mkdirSync(tlsDir, { recursive: true });
    fs.writeFileSync(path.join(tlsDir, "cert.pem"), poolCert.cert);
    fs.writeFileSync(path.join(tlsDir, "key.pem"), poolCert.key);
    pool = await startDevpool({
      dataDir: path.join(dir, "pool"),
      username: USER,
      password: PASSWORD,
      tls: true,
    });
    expect(pool.certificate).to.equal(poolCert.cert);
    const vm = await makeDiskVm(pool.engine, USER, PASSWORD, "trust source", 2 * 1024 * 1024);
    vmUuid = pool.engine.store.get("VM", vm.vm)?.uuid as string;
  });
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((p) => p.close()));
  });
  after(async () => {
    await pool.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function proxy(passThrough: number, impostor: Pem): Promise<MitmProxy> {
    const p = await startMitmProxy({ upstream: { host: pool.host, port: pool.port }, passThrough, impostor });
    proxies.push(p);
    return p;
  }

  const target = (url: string, trust: { ca?: boolean; pin?: boolean }): PoolTarget => ({
    url,
    username: USER,
    insecureSkipVerify: false,
    ...(trust.ca === true ? { caCertificate: poolCa.cert } : {}),
    ...(trust.pin === true ? { certificateFingerprint: poolCert.fingerprint } : {}),
  });

  /** login, a read, an export: the three kinds of connection withXapi makes. */
  async function operation(
    t: PoolTarget,
    mitm: MitmProxy | undefined,
    cutAfterFirstRead: boolean,
  ): Promise<number> {
    return withXapi(t, PASSWORD, async (x) => {
      await x.read("pool.get_all");
      if (cutAfterFirstRead) mitm?.cutPassedThrough();
      await x.read("VM.get_by_uuid", vmUuid);
      const res = await x.getResource("/export", { uuid: vmUuid, use_compression: "false" });
      let n = 0;
      for await (const c of res.body) n += (c as Buffer).length;
      return n;
    });
  }

  it("works through the proxy when it intercepts nothing (CA and pin both set): the setup is sound", async () => {
    const mitm = await proxy(Number.MAX_SAFE_INTEGER, sameCaImpostor);
    const bytes = await operation(target(mitm.url, { ca: true, pin: true }), mitm, false);
    expect(bytes).to.be.greaterThan(2 * 1024 * 1024);
    expect(mitm.count()).to.be.greaterThanOrEqual(2);
    expect(mitm.intercepted).to.have.length(0);
  });

  it("the same-CA impostor is trusted by the CA alone, so only the pin can catch it", async () => {
    const mitm = await proxy(0, sameCaImpostor);
    const sock = tls.connect({ host: "127.0.0.1", port: Number(new URL(mitm.url).port), ca: [poolCa.cert] });
    await new Promise<void>((resolve, reject) => {
      sock.once("secureConnect", resolve).once("error", reject);
    });
    expect(sock.authorized).to.equal(true);
    expect(sock.getPeerCertificate().fingerprint256.replace(/:/g, "").toLowerCase()).to.equal(
      sameCaImpostor.fingerprint,
    );
    sock.destroy();
  });

  type Step = "login" | "call" | "export";
  const steps: readonly { step: Step; passThrough: number; cut: boolean }[] = [
    // The very first connection (the login, with the password) is intercepted.
    { step: "login", passThrough: 0, cut: false },
    // The login's connection passes; it is cut after a first read, so the next call opens a new one.
    { step: "call", passThrough: 1, cut: true },
    // The login's connection passes and stays; the export always opens its own.
    { step: "export", passThrough: 1, cut: false },
  ];
  const cases: readonly {
    name: string;
    trust: { ca?: boolean; pin?: boolean };
    impostor: () => Pem;
    code: PoolConnectionCode;
  }[] = [
    {
      name: "CA and pin, impostor from the same CA",
      trust: { ca: true, pin: true },
      impostor: () => sameCaImpostor,
      code: "POOL_PIN_MISMATCH",
    },
    {
      name: "pin only, impostor from the same CA",
      trust: { pin: true },
      impostor: () => sameCaImpostor,
      code: "POOL_PIN_MISMATCH",
    },
    {
      name: "pin only, impostor from another CA",
      trust: { pin: true },
      impostor: () => otherCaImpostor,
      code: "POOL_PIN_MISMATCH",
    },
    {
      name: "CA only, impostor from another CA",
      trust: { ca: true },
      impostor: () => otherCaImpostor,
      code: "POOL_TLS_UNTRUSTED",
    },
    {
      name: "CA and pin, impostor from another CA",
      trust: { ca: true, pin: true },
      impostor: () => otherCaImpostor,
      code: "POOL_TLS_UNTRUSTED",
    },
  ];

  for (const c of cases) {
    for (const s of steps) {
      it(`${c.name}: intercepting the ${s.step} fails with ${c.code} and nothing reaches the proxy`, async () => {
        const impostor = c.impostor();
        const mitm = await proxy(s.passThrough, impostor);
        const err = await rejection(operation(target(mitm.url, c.trust), mitm, s.cut));

        expect(err).to.be.instanceOf(PoolConnectionError);
        expect((err as PoolConnectionError).code).to.equal(c.code);
        const msg = (err as Error).message;
        expect(msg).to.include(impostor.fingerprint);
        if (c.code === "POOL_PIN_MISMATCH") expect(msg).to.include(poolCert.fingerprint);
        expect(msg).to.match(/Nothing was sent on this connection/);

        // The attack happened (a connection was intercepted, and the client saw the impostor's certificate: its
        // fingerprint is in the message) and got nothing.
        expect(mitm.intercepted.length).to.be.greaterThanOrEqual(1);
        const got = mitm.interceptedBytes();
        expect(got.length, `intercepted: ${got.toString("latin1").slice(0, 200)}`).to.equal(0);
        expect(got.includes(PASSWORD)).to.equal(false);
        expect(got.includes("OpaqueRef:")).to.equal(false);
      });
    }
  }

  it("never changes the process's trust store (S3 clients and others do not trust the pool's CA)", async () => {
    const before = tls.getCACertificates("default");
    const mitm = await proxy(Number.MAX_SAFE_INTEGER, sameCaImpostor);
    await operation(target(mitm.url, { ca: true }), mitm, false);
    const after = tls.getCACertificates("default");
    expect(after).to.deep.equal(before);
    expect(after.some((c) => c.trim() === poolCa.cert.trim())).to.equal(false);
    const sock = tls.connect({ host: pool.host, port: pool.port });
    const refused = await rejection(
      new Promise<void>((resolve, reject) => sock.once("secureConnect", resolve).once("error", reject)),
    );
    expect((refused as { code?: string }).code).to.equal("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
  });
});
