import { expect } from "chai";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { XvaChecksumError, XvaFormatError, createXvaWriter, objectsOfClass } from "../xva";
import { collect, pieces, sparseDisk, vmExport } from "../xva/test-fixtures";
import { AcceptanceArtifactError } from "./errors";
import { bootDiskId, unpackBootDisk } from "./xva-disk";

const MIB = 1024 * 1024;

describe("acceptance: the stored XVA into a raw boot disk", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "xcpng-xva-disk-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const system = sparseDisk(3 * MIB + 512, [
    { offset: 0, bytes: Buffer.from("boot sector") },
    { offset: 2 * MIB + 7, bytes: Buffer.from("root filesystem") },
  ]);
  const data = sparseDisk(2 * MIB, [{ offset: MIB, bytes: Buffer.from("data disk") }]);
  const archive = (): Promise<Buffer> => {
    const exp = vmExport({ disks: [system, data], withCdrom: true });
    return collect(createXvaWriter({ ova: exp.ova, disks: exp.disks, compression: "zstd" }));
  };

  it("writes the bootable disk's bytes, sparse and read-only, and hashes the stream", async () => {
    const xva = await archive();
    const got = await unpackBootDisk(pieces(xva, 64 * 1024), dir);
    expect(got.path).to.equal(path.join(dir, "disk.raw"));
    expect(got.diskBytes).to.equal(system.byteLength);
    expect(fs.readFileSync(got.path).equals(system)).to.equal(true);
    expect(fs.statSync(got.path).mode & 0o777).to.equal(0o444);
    expect(fs.statSync(got.path).blocks * 512, "sparse").to.be.lessThan(system.byteLength);
    expect(got.bytes).to.equal(xva.byteLength);
    expect(got.sha256).to.equal(createHash("sha256").update(xva).digest("hex"));
    expect(fs.readdirSync(dir), "only the boot disk is kept").to.deep.equal(["disk.raw"]);
  });

  it("accepts the stream when its SHA-256 is the manifest's", async () => {
    const xva = await archive();
    const sha = createHash("sha256").update(xva).digest("hex").toUpperCase();
    const got = await unpackBootDisk(pieces(xva, MIB), dir, { expectedSha256: sha });
    expect(got.sha256).to.equal(sha.toLowerCase());
  });

  it("refuses a stream whose SHA-256 is not the manifest's", async () => {
    const err = await unpackBootDisk(pieces(await archive(), MIB), dir, {
      expectedSha256: "0".repeat(64),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(AcceptanceArtifactError);
    expect((err as AcceptanceArtifactError).code).to.equal("ACCEPTANCE_ARTIFACT");
    expect((err as Error).message).to.match(/hashes to sha256 [0-9a-f]{64}, but the manifest records 0{64}/);
  });

  it("refuses a corrupted chunk with the XVA library's verdict as the cause", async () => {
    const exp = vmExport({ disks: [system] });
    const xva = await collect(createXvaWriter({ ova: exp.ova, disks: exp.disks }));
    const at = xva.indexOf("root filesystem");
    xva[at] = xva[at]! ^ 0xff;
    const err = (await unpackBootDisk(pieces(xva, MIB), dir).catch(
      (e: unknown) => e,
    )) as AcceptanceArtifactError;
    expect(err).to.be.instanceOf(AcceptanceArtifactError);
    expect(err.cause).to.be.instanceOf(XvaChecksumError);
    expect(err.message).to.match(/could not be read into a disk after \d+ bytes: xva: checksum mismatch/);
  });

  it("refuses what is not an XVA", async () => {
    const err = (await unpackBootDisk(pieces(Buffer.from("<html>not found</html>"), 16), dir).catch(
      (e: unknown) => e,
    )) as AcceptanceArtifactError;
    expect(err).to.be.instanceOf(AcceptanceArtifactError);
    expect(err.cause).to.be.instanceOf(XvaFormatError);
  });

  it("refuses an XVA without a disk to boot", async () => {
    const exp = vmExport({ disks: [], withCdrom: true });
    const xva = await collect(createXvaWriter({ ova: exp.ova, disks: exp.disks }));
    await unpackBootDisk(pieces(xva, MIB), dir).then(
      () => expect.fail("resolved"),
      (e: unknown) => {
        expect(e).to.be.instanceOf(AcceptanceArtifactError);
        expect((e as Error).message).to.match(/the XVA has no disk to boot \(0 streamed disks/);
      },
    );
  });

  it("bootDiskId: the bootable Disk VBD, else the lowest device number", () => {
    const exp = vmExport({ disks: [data, system], withCdrom: true });
    const disks = [...exp.disks.keys()].map((id) => ({ id, virtualSize: 0, vdi: {} as never }));
    const vbds = objectsOfClass(exp.ova, "VBD").map((o) => o.snapshot as { VDI: string; bootable: boolean });
    const vdi = (ref: string): string => exp.idByRef.get(ref)!;
    const bootable = (n: string): void => {
      for (const v of vbds) v.bootable = v.VDI === vdi(n);
    };
    bootable("OpaqueRef:vdi1");
    expect(bootDiskId(exp.ova, disks)).to.equal(vdi("OpaqueRef:vdi1"));
    bootable("none");
    expect(bootDiskId(exp.ova, disks)).to.equal(vdi("OpaqueRef:vdi0"));
    expect(bootDiskId(exp.ova, [])).to.equal(undefined);
  });
});
