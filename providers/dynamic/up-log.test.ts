import { expect } from "chai";
import * as grpc from "@grpc/grpc-js";
import { EngineService } from "@pulumi/pulumi/proto/engine_grpc_pb";
import { LogSeverity, type LogRequest } from "@pulumi/pulumi/proto/engine_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { createUpLog, engineAddressOf, type LineSink } from "./up-log";

/** An engine that records every Log call; any other call fails the test. */
async function fakeEngine(): Promise<{
  address: string;
  got: { message: string; severity: number; ephemeral: boolean; urn: string }[];
  stop: () => Promise<void>;
}> {
  const got: { message: string; severity: number; ephemeral: boolean; urn: string }[] = [];
  const server = new grpc.Server();
  const unexpected = (_call: unknown, cb: (e: Error) => void) => cb(new Error("unexpected engine call"));
  server.addService(EngineService, {
    log: (call: grpc.ServerUnaryCall<LogRequest, Empty>, cb: grpc.sendUnaryData<Empty>) => {
      const r = call.request;
      got.push({
        message: r.getMessage(),
        severity: r.getSeverity(),
        ephemeral: r.getEphemeral(),
        urn: r.getUrn(),
      });
      cb(null, new Empty());
    },
    getRootResource: unexpected,
    setRootResource: unexpected,
    startDebugging: unexpected,
    requirePulumiVersion: unexpected,
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    got,
    stop: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}

describe("up log: each line once, as an ephemeral engine message", () => {
  it("sends lines in order as ephemeral messages with their severity, and nothing to stdout", async () => {
    const engine = await fakeEngine();
    const fallback: string[] = [];
    const log = createUpLog(engine.address, (l) => fallback.push(l));
    try {
      log.info("packer-build: tmpl: rootfs");
      log.warn("bucket: no lifecycle rules");
      for (let i = 0; i < 20; i++) log.info(`line ${i}`);
      await log.flush();
      expect(engine.got.map((g) => g.message)).to.deep.equal([
        "packer-build: tmpl: rootfs",
        "bucket: no lifecycle rules",
        ...Array.from({ length: 20 }, (_, i) => `line ${i}`),
      ]);
      expect(engine.got.every((g) => g.ephemeral && g.urn === "")).to.equal(true);
      expect(engine.got.slice(0, 2).map((g) => g.severity)).to.deep.equal([
        LogSeverity.INFO,
        LogSeverity.WARNING,
      ]);
      expect(fallback).to.deep.equal([]);
    } finally {
      await log.close();
      await engine.stop();
    }
  });

  it("falls back to stdout for the failed line and every later one when the engine is gone", async () => {
    const engine = await fakeEngine();
    const fallback: [string, string][] = [];
    const sink: LineSink = (l, s) => fallback.push([l, s]);
    const log = createUpLog(engine.address, sink);
    log.info("first");
    await log.flush();
    await engine.stop();
    log.info("second");
    log.warn("third");
    await log.close();
    expect(engine.got.map((g) => g.message)).to.deep.equal(["first"]);
    expect(fallback).to.deep.equal([
      ["second", "info"],
      ["third", "warning"],
    ]);
  });

  it("without an engine address, writes to the fallback only", async () => {
    const fallback: string[] = [];
    const log = createUpLog(undefined, (l) => fallback.push(l));
    log.info("a");
    log.warn("b");
    await log.flush();
    expect(fallback).to.deep.equal(["a", "b"]);
  });

  const argvs: ReadonlyArray<[string, readonly string[], string | undefined]> = [
    [
      "the dynamic-provider host with its engine address",
      ["/usr/bin/node", "/p/node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js", "127.0.0.1:40123"],
      "127.0.0.1:40123",
    ],
    [
      "an IPv6 engine address",
      ["node", "/p/@pulumi/pulumi/cmd/dynamic-provider/index.js", "[::1]:40123"],
      "[::1]:40123",
    ],
    ["mocha", ["node", "/p/node_modules/.bin/mocha", "127.0.0.1:1"], undefined],
    ["the host without an argument", ["node", "/p/cmd/dynamic-provider/index.js"], undefined],
    ["an argument that is no address", ["node", "/p/cmd/dynamic-provider/index.js", "--flag"], undefined],
  ];
  for (const [when, argv, want] of argvs)
    it(`engine address: ${when}`, () => expect(engineAddressOf(argv)).to.equal(want));
});
