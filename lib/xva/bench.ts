/**
 * Throughput and memory bench of the XVA library (not a test: prints figures, asserts nothing).
 *
 * Usage: `tsx lib/xva/bench.ts [sizeGiB=1] [compression=none|gzip|zstd]`
 *
 * Builds a sparse raw image of `sizeGiB` with data in about half of its 1 MiB chunks (the rest are holes), then
 * times: export (file → XVA file), import (XVA file → sparse raw file, every chunk verified), and pass-through
 * verification (XVA file → verifier → null sink, with SHA-256), and the same disk generated in memory through
 * writer → verifier (no file I/O: the library's own CPU cost). Peak RSS is the process high-water mark
 * (`process.resourceUsage().maxRSS`) after each phase; it should stay flat as `sizeGiB` grows.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, open, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { randomBytes } from "node:crypto";
import {
  type XvaCompression,
  XVA_CHUNK_SIZE_BYTES,
  createXvaVerifier,
  createXvaWriter,
  extentsDiskSource,
  fileDiskSource,
  writeXvaDisksToFiles,
} from "./index";
import { vmExport } from "./test-fixtures";

const MiB = XVA_CHUNK_SIZE_BYTES;
const POOL_CHUNKS = 16;

function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB
}

async function timed(label: string, bytes: number, f: () => Promise<void>): Promise<void> {
  const t0 = process.hrtime.bigint();
  await f();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const mbps = bytes / 1e6 / s;
  process.stdout.write(
    `${label.padEnd(34)} ${s.toFixed(2).padStart(7)} s ${mbps.toFixed(0).padStart(7)} MB/s   peak RSS ${peakRssMiB().toFixed(0)} MiB\n`,
  );
}

/** Compares two files 1 MiB at a time (bounded memory, unlike reading them whole). */
async function sameFiles(a: string, b: string): Promise<boolean> {
  const [fa, fb] = await Promise.all([open(a, "r"), open(b, "r")]);
  try {
    const [sa, sb] = await Promise.all([fa.stat(), fb.stat()]);
    if (sa.size !== sb.size) return false;
    const ba = Buffer.alloc(MiB);
    const bb = Buffer.alloc(MiB);
    for (let pos = 0; pos < sa.size; pos += MiB) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, MiB, pos), fb.read(bb, 0, MiB, pos)]);
      if (
        ra.bytesRead !== rb.bytesRead ||
        !ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))
      ) {
        return false;
      }
    }
    return true;
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

async function main(): Promise<void> {
  const sizeGiB = Number(process.argv[2] ?? "1");
  const compression = (process.argv[3] ?? "none") as XvaCompression;
  if (!(sizeGiB > 0) || !["none", "gzip", "zstd"].includes(compression)) {
    process.stderr.write("usage: tsx lib/xva/bench.ts [sizeGiB>0] [none|gzip|zstd]\n");
    process.exit(2);
  }
  const size = Math.round(sizeGiB * 1024) * MiB;
  const dir = await mkdtemp(join(tmpdir(), "xva-bench-"));
  try {
    const src = join(dir, "disk.raw");
    const fh = await open(src, "w");
    await fh.truncate(size);
    // Data in chunks whose index mod 8 is 0-3, holes elsewhere. The data comes from a 16 MiB random pool, so it
    // repeats only at distances beyond zstd's window: it does not compress.
    const pool = randomBytes(POOL_CHUNKS * MiB);
    const dataOf = (i: number): Buffer =>
      pool.subarray((i % POOL_CHUNKS) * MiB, ((i % POOL_CHUNKS) + 1) * MiB);
    let dataBytes = 0;
    for (let i = 0; i * MiB < size; i++) {
      if (i % 8 >= 4) continue;
      await fh.write(dataOf(i), 0, MiB, i * MiB);
      dataBytes += MiB;
    }
    await fh.close();
    process.stdout.write(
      `disk: ${sizeGiB} GiB virtual, ${(dataBytes / MiB).toFixed(0)} MiB of data in ${(size / MiB).toFixed(0)} chunks; ` +
        `compression ${compression}; baseline peak RSS ${peakRssMiB().toFixed(0)} MiB\n` +
        `(MB/s are virtual disk bytes per second)\n`,
    );

    const xva = join(dir, "vm.xva");
    const exp = vmExport({ disks: [await fileDiskSource(src)] });
    await timed("export: sparse file → XVA file", size, () =>
      pipeline(createXvaWriter({ ova: exp.ova, disks: exp.disks, compression }), createWriteStream(xva)),
    );
    const archiveBytes = (await stat(xva)).size;
    process.stdout.write(`archive: ${(archiveBytes / MiB).toFixed(0)} MiB\n`);

    const out = join(dir, "imported.raw");
    await timed("import: XVA file → sparse file", size, async () => {
      await writeXvaDisksToFiles(createReadStream(xva), { pathFor: () => out });
    });

    let sha = "";
    await timed("verify: XVA file → verifier → null", size, async () => {
      const verifier = createXvaVerifier();
      const sink = new Writable({ write: (_c, _e, cb) => cb() });
      await pipeline(createReadStream(xva), verifier, sink);
      sha = (await verifier.verification).sha256;
    });
    process.stdout.write(`archive sha256 ${sha}\n`);

    // The same disk generated in memory (no file I/O): the CPU cost of writing + verifying alone.
    const memory = extentsDiskSource(size, function* () {
      for (let i = 0; i * MiB < size; i++) if (i % 8 < 4) yield { offset: i * MiB, data: dataOf(i) };
    });
    const memExp = vmExport({ disks: [memory] });
    await timed("in memory: writer → verifier → null", size, async () => {
      const verifier = createXvaVerifier();
      const sink = new Writable({ write: (_c, _e, cb) => cb() });
      await pipeline(createXvaWriter({ ova: memExp.ova, disks: memExp.disks, compression }), verifier, sink);
      await verifier.verification;
    });

    process.stdout.write(`round trip identical: ${await sameFiles(src, out)}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
