import * as net from "node:net";
import { ServiceStartError } from "./errors";

export { ServiceStartError } from "./errors";

/** Asks the kernel for a free TCP port on the loopback interface. */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      if (addr === null || typeof addr === "string") {
        srv.close();
        reject(new ServiceStartError(`could not read the address of a probe socket on ${host}`));
        return;
      }
      srv.close(() => resolve(addr.port));
    });
  });
}

/** Resolves once something accepts TCP connections on host:port, or rejects after timeoutMs. */
export async function waitForPort(
  host: string,
  port: number,
  timeoutMs: number,
  isAlive: () => boolean = () => true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect({ host, port });
      sock.once("connect", () => {
        sock.destroy();
        resolve(true);
      });
      sock.once("error", () => resolve(false));
    });
    if (ok) return;
    if (!isAlive()) throw new ServiceStartError(`the process meant to listen on ${host}:${port} exited`);
    if (Date.now() > deadline) {
      throw new ServiceStartError(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
