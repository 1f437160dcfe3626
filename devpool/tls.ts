/**
 * devpool's TLS identity: a self-signed certificate for 127.0.0.1 and localhost, generated once per data directory
 * (`<dataDir>/tls/`) with the `selfsigned` library and kept, so a client that pinned it after one start still
 * trusts devpool after a restart. Like a fresh XCP-ng host, whose certificate is self-signed too, clients must
 * either trust this certificate (`ca`) or skip verification (`allowUnauthorized` in the `xen-api` client).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { generate } from "selfsigned";

export interface TlsIdentity {
  /** PEM certificate: what clients put in their trust store. */
  readonly cert: string;
  /** PEM private key. */
  readonly key: string;
}

export async function loadOrCreateIdentity(dataDir: string, hostname: string): Promise<TlsIdentity> {
  const dir = path.join(dataDir, "tls");
  const certFile = path.join(dir, "cert.pem");
  const keyFile = path.join(dir, "key.pem");
  if (fs.existsSync(certFile) && fs.existsSync(keyFile)) {
    return { cert: fs.readFileSync(certFile, "utf8"), key: fs.readFileSync(keyFile, "utf8") };
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const notBeforeDate = new Date(Date.now() - 60_000);
  const pems = await generate([{ name: "commonName", value: hostname }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + 10 * 365 * 24 * 3600 * 1000),
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "localhost" },
          { type: 7, ip: "127.0.0.1" },
          ...(hostname !== "localhost" && hostname !== "127.0.0.1"
            ? [{ type: 2 as const, value: hostname }]
            : []),
        ],
      },
    ],
  });
  fs.writeFileSync(keyFile, pems.private, { mode: 0o600 });
  fs.writeFileSync(certFile, pems.cert, { mode: 0o644 });
  return { cert: pems.cert, key: pems.private };
}
