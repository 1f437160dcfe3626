/**
 * Every connection to a pool is opened here, and verified before anything is written on it.
 *
 * The socket is handed to its user (undici for RPC, node:http for transfers) only after the TLS handshake has
 * completed and the checks below have passed, so a request (the login with the password, a call with the session,
 * a transfer) never goes out on a connection that failed them. Nothing in the process's trust store changes: the
 * pool's CA is given to this connection only.
 *
 * | configured                  | verified on every connection                                              |
 * |-----------------------------|---------------------------------------------------------------------------|
 * | caCertificate               | the chain ends at that CA (and only that CA), and the certificate names the host |
 * | certificateFingerprint      | the leaf certificate's SHA-256 is the pinned one (chain and name are not checked: a fresh XCP-ng host's certificate is self-signed) |
 * | both                        | both of the above                                                         |
 * | neither                     | the chain ends at a CA of the system store, and the certificate names the host |
 * | insecureSkipVerify, neither | nothing (the user's explicit choice); with a CA or a pin, those are still verified |
 *
 * TLS sessions are never resumed (no session is offered), so every connection shows its certificate and is checked.
 */
import { X509Certificate } from "node:crypto";
import * as net from "node:net";
import * as tls from "node:tls";
import { PoolConnectionError } from "./errors";
import { formatDuration } from "./timeouts";

/** How to trust a pool's TLS certificate (non-secret). */
export interface PoolTrust {
  /** PEM of the CA that signed the pool's certificate; replaces the system store for this pool's connections. */
  readonly caCertificate?: string;
  /** SHA-256 of the pool's leaf certificate, hex (case and colons do not matter). */
  readonly certificateFingerprint?: string;
  /** Accept any certificate when neither a CA nor a pin is given. */
  readonly insecureSkipVerify: boolean;
}

/** Where to connect: the parts of a URL that name an origin. */
export interface PoolOrigin {
  readonly protocol: string;
  /** A host name or an IP address (IPv6 with or without brackets). */
  readonly hostname: string;
  /** Empty for the scheme's default port. */
  readonly port: string;
}

/** Lowercase hex without separators, as `certificateFingerprint` is compared. */
export function normalizeFingerprint(fp: string): string {
  return fp.replace(/:/g, "").trim().toLowerCase();
}

/** SHA-256 fingerprint of a PEM certificate, in {@link normalizeFingerprint} form. */
export function fingerprintOfPem(pem: string): string {
  return normalizeFingerprint(new X509Certificate(pem).fingerprint256);
}

function hostOf(origin: PoolOrigin): string {
  const h = origin.hostname;
  return h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h;
}

function describe(cert: tls.PeerCertificate): string {
  const cn = (n: tls.Certificate | undefined) => (n?.CN === undefined ? "?" : String(n.CN));
  return `subject CN=${cn(cert.subject)}, issuer CN=${cn(cert.issuer)}`;
}

/** The verdict on a completed handshake: undefined when the connection may be used. */
export function verifyPeer(
  sock: tls.TLSSocket,
  where: string,
  trust: PoolTrust,
): PoolConnectionError | undefined {
  const cert = sock.getPeerCertificate();
  const seen = normalizeFingerprint(cert.fingerprint256 ?? "");
  const pinned =
    trust.certificateFingerprint === undefined
      ? undefined
      : normalizeFingerprint(trust.certificateFingerprint);
  const chainRequired =
    trust.caCertificate !== undefined || (pinned === undefined && !trust.insecureSkipVerify);
  if (chainRequired && !sock.authorized) {
    const why = String(sock.authorizationError ?? "not verified");
    return new PoolConnectionError(
      "POOL_TLS_UNTRUSTED",
      `pool: the TLS certificate of ${where} (${describe(cert)}, SHA-256 ${seen}) is not trusted: ${why}` +
        (trust.caCertificate === undefined
          ? " against the system's CAs. Give the CA that signed it as pool.caCertificate (or pool.caCertificateFile)"
          : " against pool.caCertificate. Check that pool.caCertificate is the CA that signed the pool's certificate " +
            "and that pool.url names a host written in the certificate") +
        `, or pin the certificate with pool.certificateFingerprint after reading its fingerprint on the host ` +
        `('openssl x509 -noout -fingerprint -sha256 -in /etc/xensource/xapi-ssl.pem'). Nothing was sent on this connection.`,
    );
  }
  if (pinned !== undefined && seen !== pinned) {
    return new PoolConnectionError(
      "POOL_PIN_MISMATCH",
      `pool: the TLS certificate of ${where} (${describe(cert)}) has SHA-256 fingerprint ${seen}, but ` +
        `pool.certificateFingerprint pins ${pinned}. Nothing was sent on this connection. If the pool's certificate ` +
        `was renewed on purpose, read the new fingerprint on the host ('openssl x509 -noout -fingerprint -sha256 -in ` +
        `/etc/xensource/xapi-ssl.pem') and update the pin; otherwise something between you and the pool presents ` +
        `another certificate.`,
    );
  }
  return undefined;
}

/** Node and OpenSSL codes of a connection that never got to the pool (net, dns, tls before the handshake ends). */
function connectFailure(e: unknown, where: string): PoolConnectionError {
  if (e instanceof PoolConnectionError) return e;
  const code = (e as { code?: unknown }).code;
  const text = typeof code === "string" ? code : e instanceof Error ? e.message : String(e);
  const tlsLayer = typeof code === "string" && code.startsWith("ERR_SSL_");
  return new PoolConnectionError(
    tlsLayer ? "POOL_PROTOCOL_ERROR" : "POOL_UNREACHABLE",
    tlsLayer
      ? `pool: the TLS handshake with ${where} failed (${text}): does it serve HTTPS on that port? Check pool.url.`
      : `pool: cannot connect to ${where} (${text}). Check pool.url and that the host is up and reachable from here.`,
    { cause: e },
  );
}

/**
 * Opens a connection to the origin and resolves once it may carry a request: TCP connected, and for `https:`
 * the handshake done and verified ({@link verifyPeer}). Rejects with a {@link PoolConnectionError}
 * (POOL_UNREACHABLE, POOL_TLS_UNTRUSTED, POOL_PIN_MISMATCH, POOL_PROTOCOL_ERROR, or POOL_TIMEOUT after
 * `connectTimeoutMs`), the socket destroyed.
 */
export function connectToPool(
  origin: PoolOrigin,
  trust: PoolTrust,
  connectTimeoutMs: number,
): Promise<net.Socket> {
  const host = hostOf(origin);
  const secure = origin.protocol === "https:";
  const port = Number(origin.port || (secure ? 443 : 80));
  const where = `${origin.hostname}:${port}`;
  return new Promise<net.Socket>((resolve, reject) => {
    const sock: net.Socket = secure
      ? tls.connect({
          host,
          port,
          // SNI carries names only (RFC 6066); a pool addressed by IP gets none.
          ...(net.isIP(host) === 0 ? { servername: host } : {}),
          ...(trust.caCertificate !== undefined ? { ca: [trust.caCertificate] } : {}),
          // Verification is ours, after the handshake and before any write (verifyPeer): with `true`, Node would
          // refuse a self-signed certificate before a pin could accept it.
          rejectUnauthorized: false,
          ALPNProtocols: ["http/1.1"],
        })
      : net.connect({ host, port });
    const fail = (e: unknown) => {
      clearTimeout(timer);
      sock.destroy();
      reject(connectFailure(e, where));
    };
    const timer = setTimeout(
      () =>
        fail(
          new PoolConnectionError(
            "POOL_TIMEOUT",
            `pool: no ${secure ? "TLS handshake" : "TCP connection"} with ${where} within ` +
              `${formatDuration(connectTimeoutMs)} (connectTimeoutMs). Check pool.url, and that nothing between ` +
              `here and the pool swallows the connection (a firewall dropping packets, a proxy that never answers).`,
          ),
        ),
      connectTimeoutMs,
    );
    sock.once("error", fail);
    sock.once(secure ? "secureConnect" : "connect", () => {
      const refused = secure ? verifyPeer(sock as tls.TLSSocket, where, trust) : undefined;
      if (refused !== undefined) {
        fail(refused);
        return;
      }
      clearTimeout(timer);
      sock.off("error", fail);
      resolve(sock);
    });
  });
}
