import { expect } from "chai";
import { issueServerCert, makeCa } from "./support/test-pki";
import { startE2eStack, type E2eStack } from "./support/e2e-stack";
import { startMitmProxy, type MitmProxy } from "./support/tls-mitm-proxy";

/**
 * The pool's certificate pin and CA are checked on every connection, not on a first probe: a man in the middle
 * that lets the first connection through and presents another certificate (signed by the same CA, so only the
 * pin tells it apart) afterwards gets no credential, from `preview` or `up`.
 */
describe("trust (e2e): the pin on every connection, through Pulumi", function () {
  this.timeout(10 * 60 * 1000);
  let st: E2eStack;
  let proxy: MitmProxy;
  let passThrough = 0;

  before(async () => {
    const ca = await makeCa("e2e pool CA");
    const real = await issueServerCert(ca);
    const impostor = await issueServerCert(ca);
    st = await startE2eStack({
      name: "truste2e",
      devpoolIdentity: { cert: real.cert, key: real.key },
      poolConfig: async (pool) => {
        const u = new URL(pool.url);
        proxy = await startMitmProxy({
          upstream: { host: u.hostname, port: Number(u.port) },
          // Read when a connection arrives: each test sets how many go through untouched.
          get passThrough() {
            return passThrough;
          },
          impostor,
        });
        return {
          url: proxy.url,
          username: "root",
          caCertificate: ca.cert,
          certificateFingerprint: real.fingerprint,
        };
      },
      templates: [
        {
          name: "t",
          packerTemplate: "packer/local/debian12-local.pkr.hcl",
          os: "debian",
          version: "12",
          acceptance: { enabled: false },
        },
      ],
    });
  });
  after(async () => {
    await proxy?.close();
    await st?.stop();
  });

  const noCredentialReached = () => {
    const seen = proxy.interceptedBytes().toString("latin1");
    expect(proxy.intercepted.length, "the impostor was tried").to.be.greaterThan(0);
    expect(
      seen.includes(st.secrets.poolPassword),
      `the password reached the impostor:\n${seen.slice(0, 3000)}`,
    ).to.equal(false);
    expect(seen, "a session reached the impostor").to.not.match(/OpaqueRef:|session/i);
  };

  it("preview fails at the impostor's certificate, naming the pin, before any credential reaches it", async () => {
    passThrough = 0;
    const r = await st.pulumi(["preview"], { ok: false });
    expect(r.code).to.not.equal(0);
    expect(r.stdout + r.stderr).to.match(/certificateFingerprint|pin/i);
    noCredentialReached();
  });

  it("up: the first connection goes through, the next meets the impostor and carries nothing", async () => {
    passThrough = proxy.count() + 1;
    const r = await st.pulumi(["up", "--yes", "--skip-preview"], { ok: false });
    expect(r.code).to.not.equal(0);
    expect(r.stdout + r.stderr).to.match(/certificateFingerprint|pin/i);
    noCredentialReached();
    expect(st.templatesOnPool(), "nothing was built").to.deep.equal([]);
  });
});
