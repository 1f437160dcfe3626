import * as net from "node:net";

/**
 * A TCP listener used as HTTP_PROXY/HTTPS_PROXY for child processes: it records every connection (the first
 * request line, e.g. "CONNECT api.github.com:443 HTTP/1.1") and answers 403, so any attempt to reach the
 * network is both visible to the test and refused.
 */
export interface RecordingProxy {
  readonly url: string;
  readonly attempts: string[];
  close(): Promise<void>;
}

export async function startRecordingProxy(): Promise<RecordingProxy> {
  const attempts: string[] = [];
  const server = net.createServer((sock) => {
    sock.once("data", (buf) => {
      attempts.push(buf.toString("latin1").split("\r\n")[0] ?? "");
      sock.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    });
    sock.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${addr.port}`,
    attempts,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
