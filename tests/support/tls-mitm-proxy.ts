import * as net from "node:net";
import * as tls from "node:tls";

/**
 * A man in the middle on loopback, in front of a TLS server (devpool): the first `passThrough` connections are
 * relayed untouched at the TCP level (the client sees the real certificate), every later one is terminated with
 * the impostor's certificate and relayed to the server in the clear of the proxy, which records every byte the
 * client sent on it. A client that trusts the impostor would work normally through it, and the test would find
 * its password and session in {@link MitmProxy.intercepted}; a client that checks every connection sends none.
 */
export interface MitmProxyOptions {
  readonly upstream: { readonly host: string; readonly port: number };
  /** How many connections, from the first, are relayed untouched. */
  readonly passThrough: number;
  /** The certificate and key shown on intercepted connections. */
  readonly impostor: { readonly cert: string; readonly key: string };
}

export interface InterceptedConnection {
  /** 0-based arrival order among all connections. */
  readonly index: number;
  /** Plaintext the client sent after the handshake. */
  readonly received: Buffer[];
}

export interface MitmProxy {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
  /** Connections received so far. */
  readonly count: () => number;
  readonly intercepted: readonly InterceptedConnection[];
  /** Every plaintext byte sent on intercepted connections. */
  interceptedBytes(): Buffer;
  /** Closes the relayed untouched connections, so that the client must open new ones (which are intercepted). */
  cutPassedThrough(): void;
  close(): Promise<void>;
}

export async function startMitmProxy(opts: MitmProxyOptions): Promise<MitmProxy> {
  const intercepted: InterceptedConnection[] = [];
  const passed = new Set<net.Socket>();
  const all = new Set<net.Socket>();
  let count = 0;

  const impostor = tls.createSecureContext({ cert: opts.impostor.cert, key: opts.impostor.key });
  const relay = (a: net.Socket, b: net.Socket) => {
    a.pipe(b);
    b.pipe(a);
    const end = () => {
      a.destroy();
      b.destroy();
    };
    a.on("error", end).on("close", end);
    b.on("error", end).on("close", end);
  };

  const server = net.createServer((raw) => {
    const index = count++;
    all.add(raw);
    raw.on("close", () => all.delete(raw));
    raw.on("error", () => undefined);
    if (index < opts.passThrough) {
      const up = net.connect(opts.upstream.port, opts.upstream.host);
      passed.add(raw);
      passed.add(up);
      all.add(up);
      relay(raw, up);
      return;
    }
    const record: InterceptedConnection = { index, received: [] };
    intercepted.push(record);
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: impostor });
    secure.on("error", () => raw.destroy());
    secure.once("secure", () => {
      const up = tls.connect({
        host: opts.upstream.host,
        port: opts.upstream.port,
        rejectUnauthorized: false,
      });
      all.add(up);
      secure.on("data", (c: Buffer) => record.received.push(Buffer.from(c)));
      relay(secure, up);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    count: () => count,
    intercepted,
    interceptedBytes: () => Buffer.concat(intercepted.flatMap((c) => c.received)),
    cutPassedThrough: () => {
      for (const s of passed) s.destroy();
      passed.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of all) s.destroy();
        server.close(() => resolve());
      }),
  };
}
