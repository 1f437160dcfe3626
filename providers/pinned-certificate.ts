import type { TLSSocket } from "node:tls";
import { connectToPool } from "../lib/xapi/trust";
import type { PoolTarget } from "../lib/xapi/client";

/** How long reading the pool's certificate may take. */
const CONNECT_TIMEOUT_MS = 30_000;

/**
 * The pool's own certificate (PEM), read on a connection that lib/xapi verified against the stack's CA and pin
 * (nothing is sent on it): what Packer, which cannot check a fingerprint, is given as its only trusted root.
 */
export async function pinnedCertificate(pool: PoolTarget): Promise<string> {
  const sock = (await connectToPool(new URL(pool.url), pool, CONNECT_TIMEOUT_MS)) as TLSSocket;
  try {
    const der = sock.getPeerCertificate().raw;
    const b64 = der.toString("base64").replace(/(.{64})/g, "$1\n");
    return `-----BEGIN CERTIFICATE-----\n${b64.trimEnd()}\n-----END CERTIFICATE-----\n`;
  } finally {
    sock.destroy();
  }
}
