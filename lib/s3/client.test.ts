import { expect } from "chai";
import * as https from "node:https";
import * as net from "node:net";
import * as tls from "node:tls";
import { HeadBucketCommand } from "@aws-sdk/client-s3";
import { generate } from "selfsigned";
import { createS3Client, explainTimeout, DEFAULT_S3_TIMEOUTS, type S3Location } from "./client";
import { S3StoreError } from "./errors";

const CREDS = { accessKeyId: "test", secretAccessKey: "test-secret" };

/** A TCP server that accepts every connection and never sends a byte; it counts the connections. */
async function silentServer(): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((s) => {
    connections += 1;
    sockets.add(s);
    s.on("error", () => undefined);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    close: () =>
      new Promise<void>((r) => {
        sockets.forEach((s) => s.destroy());
        server.close(() => r());
      }),
  };
}

/** A self-signed certificate for 127.0.0.1 (its own CA). */
async function identity(cn: string): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: "commonName", value: cn }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate: new Date(Date.now() - 60_000),
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }] },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** An HTTPS server that answers every request 200 with no body (enough for HeadBucket). */
async function httpsStore(id: {
  cert: string;
  key: string;
}): Promise<{ url: string; close(): Promise<void> }> {
  const server = https.createServer({ cert: id.cert, key: id.key }, (req, res) => {
    req.resume();
    res.writeHead(200, { "x-amz-bucket-region": "us-east-1" }).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const TLS_FAILURES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
]);

/** The TLS verification code of a failed request (on the error or its cause). */
function tlsCode(e: unknown): string | undefined {
  for (let c: unknown = e; c instanceof Error; c = c.cause) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === "string" && TLS_FAILURES.has(code)) return code;
  }
  return undefined;
}

describe("createS3Client: every request has a timeout", () => {
  for (const scheme of ["http", "https"] as const) {
    it(`a store that accepts the ${scheme} connection but never answers fails each attempt on the idle limit, with the operation, the endpoint and the limits in the message`, async () => {
      const server = await silentServer();
      const s3ca = await identity("s3");
      const loc: S3Location = {
        region: "us-east-1",
        endpoint: `${scheme}://127.0.0.1:${server.port}`,
        forcePathStyle: true,
        ...(scheme === "https" ? { caCertificate: s3ca.cert } : {}),
      };
      const client = createS3Client(loc, CREDS, { socketTimeoutMs: 200, maxAttempts: 2 });
      try {
        const err = await client.send(new HeadBucketCommand({ Bucket: "b" })).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(S3StoreError).with.property("code", "TimeoutError");
        expect((err as Error).message).to.include(
          `s3: HeadBucket on ${loc.endpoint} got no answer after 2 attempt(s)`,
        );
        expect((err as Error).message).to.include("200 ms of silence on a connection");
        expect((err as Error).cause, "the SDK's error is kept").to.have.property("name", "TimeoutError");
        expect(server.connections(), "each attempt opened a connection and timed out").to.equal(2);
      } finally {
        client.destroy();
        await server.close();
      }
    });
  }

  it("documented defaults: 10 s to connect, 120 s of silence, 5 attempts", () => {
    expect(DEFAULT_S3_TIMEOUTS).to.deep.equal({
      connectionTimeoutMs: 10_000,
      socketTimeoutMs: 120_000,
      maxAttempts: 5,
    });
  });

  it("only timeouts are rewritten; any other failure passes through unchanged", () => {
    const other = Object.assign(new Error("Access Denied"), { name: "AccessDenied" });
    expect(explainTimeout(other, "PutObjectCommand", "e", DEFAULT_S3_TIMEOUTS)).to.equal(other);
    const t = explainTimeout(
      Object.assign(new Error("x"), { name: "TimeoutError" }),
      "PutObjectCommand",
      "e",
      {
        ...DEFAULT_S3_TIMEOUTS,
      },
    );
    expect(t).to.be.instanceOf(S3StoreError).with.property("code", "TimeoutError");
    expect((t as Error).message).to.match(/^s3: PutObject on e got no answer after 5 attempt\(s\)/);
  });
});

describe("createS3Client: trusts the S3 CA given, never a pool CA added to the process", () => {
  let s3Id: { cert: string; key: string };
  let poolId: { cert: string; key: string };
  let original: string[];
  before(async () => {
    s3Id = await identity("s3");
    poolId = await identity("pool");
    original = tls.getCACertificates("default");
    // What a pool client that trusts its CA process-wide does (lib/xapi before it used its own agent).
    tls.setDefaultCACertificates([...original, poolId.cert]);
  });
  after(() => tls.setDefaultCACertificates(original));

  const head = async (store: string, caCertificate?: string): Promise<unknown> => {
    const client = createS3Client(
      {
        region: "us-east-1",
        endpoint: store,
        forcePathStyle: true,
        ...(caCertificate !== undefined ? { caCertificate } : {}),
      },
      CREDS,
      { maxAttempts: 1 },
    );
    try {
      return await client.send(new HeadBucketCommand({ Bucket: "b" }));
    } catch (e) {
      return e;
    } finally {
      client.destroy();
    }
  };

  it("a store with a certificate of the given S3 CA is reached", async () => {
    const store = await httpsStore(s3Id);
    try {
      const r = await head(store.url, s3Id.cert);
      expect(r).to.have.nested.property("$metadata.httpStatusCode", 200);
    } finally {
      await store.close();
    }
  });

  it("a store presenting the pool's certificate is refused, with or without an S3 CA, although the process's default store trusts it", async () => {
    const store = await httpsStore(poolId);
    try {
      // The premise: Node's default trust now includes the pool CA.
      const viaDefault = await new Promise<number | undefined>((resolve, reject) => {
        https.get(`${store.url}/`, (res) => resolve(res.resume().statusCode)).on("error", reject);
      });
      expect(viaDefault, "the process's default store trusts the pool CA").to.equal(200);

      expect(tlsCode(await head(store.url)), "no S3 CA: public roots only").to.be.a("string");
      expect(tlsCode(await head(store.url, s3Id.cert)), "S3 CA given: only it").to.be.a("string");
    } finally {
      await store.close();
    }
  });
});
