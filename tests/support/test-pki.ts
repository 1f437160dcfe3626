/**
 * Certificates for TLS tests: a CA, and server certificates it signs for loopback (127.0.0.1, localhost), each
 * with its own key. Generated per run with the `selfsigned` library (EC P-256, SHA-256).
 */
import { X509Certificate } from "node:crypto";
import { generate } from "selfsigned";

export interface Pem {
  readonly cert: string;
  readonly key: string;
  /** SHA-256 of the certificate: lowercase hex, no colons. */
  readonly fingerprint: string;
}

function fingerprint(cert: string): string {
  return new X509Certificate(cert).fingerprint256.replace(/:/g, "").toLowerCase();
}

const validity = () => {
  const notBeforeDate = new Date(Date.now() - 60_000);
  return { notBeforeDate, notAfterDate: new Date(notBeforeDate.getTime() + 24 * 3600 * 1000) };
};

/** A CA certificate (basicConstraints cA) named `name`. */
export async function makeCa(name: string): Promise<Pem> {
  const pems = await generate([{ name: "commonName", value: name }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    ...validity(),
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: pems.cert, key: pems.private, fingerprint: fingerprint(pems.cert) };
}

/** A server certificate for 127.0.0.1 and localhost, signed by `ca`, with a fresh key. */
export async function issueServerCert(ca: Pem, commonName = "127.0.0.1"): Promise<Pem> {
  const pems = await generate([{ name: "commonName", value: commonName }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    ...validity(),
    ca: { key: ca.key, cert: ca.cert },
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "localhost" },
          { type: 7, ip: "127.0.0.1" },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private, fingerprint: fingerprint(pems.cert) };
}
