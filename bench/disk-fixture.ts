/**
 * A template on devpool whose one disk is "sparse but non-trivial": a fraction of its 1 MiB blocks hold random
 * (incompressible, never repeated) data, in runs of a few blocks separated by holes, the rest is never written.
 * devpool exports only allocated blocks (its allocation map plays the part of a VHD block table, as xapi's
 * stream_vdi.ml reads only allocated VHD blocks), so the XVA carries about `fill` × the virtual size.
 */
import { randomFillSync } from "node:crypto";
import * as fs from "node:fs";
import type { Devpool } from "../devpool";
import { attachNewDisk, engineCall } from "../devpool/testing/fixtures";
import type { Input } from "../devpool/rpc/wire";
import { BLOCK_BYTES } from "../devpool/storage/disks";

export interface DiskTemplate {
  readonly vmUuid: string;
  readonly vdiUuid: string;
  readonly virtualSizeBytes: number;
  readonly dataBlocks: number;
  readonly totalBlocks: number;
}

/** Mulberry32: a small seeded PRNG, so the layout of holes and data is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Which blocks hold data: a two-state Markov chain (leave a data run with probability 0.2, so runs average 5
 * blocks; enter one with 0.2·f/(1−f)), whose stationary share of data blocks is `fill`.
 */
export function dataBlockLayout(totalBlocks: number, fill: number, seed = 0x5eed): boolean[] {
  const next = prng(seed);
  const leave = 0.2;
  const enter = (leave * fill) / (1 - fill);
  const out: boolean[] = [];
  let data = next() < fill;
  for (let b = 0; b < totalBlocks; b++) {
    out.push(data);
    data = data ? next() >= leave : next() < enter;
  }
  return out;
}

/**
 * Creates a halted template named `name` (a clone of "Debian Bookworm 12" with one fresh disk of
 * `virtualSizeBytes`), fills the chosen blocks with random data and gives it Debian 12 guest metrics.
 */
export async function createDiskTemplate(
  pool: Devpool,
  username: string,
  password: string,
  name: string,
  virtualSizeBytes: number,
  fill: number,
): Promise<DiskTemplate> {
  const { engine } = pool;
  const call = (m: string, ...p: Input[]) => engineCall(engine, m, ...p);
  const session = (await call("session.login_with_password", username, password)) as string;
  try {
    const [tpl] = (await call("VM.get_by_name_label", session, "Debian Bookworm 12")) as string[];
    const vm = (await call("VM.clone", session, tpl ?? "", name)) as string;
    const vdi = await attachNewDisk(
      call,
      session,
      engine.poolRef(),
      vm,
      `${name} disk`,
      virtualSizeBytes,
      "system",
    );
    const vdiUuid = (await call("VDI.get_uuid", session, vdi)) as string;
    const vmUuid = (await call("VM.get_uuid", session, vm)) as string;
    const totalBlocks = Math.ceil(virtualSizeBytes / BLOCK_BYTES);
    const layout = dataBlockLayout(totalBlocks, fill);
    const writer = await engine.disks.openWriter(vdiUuid);
    let dataBlocks = 0;
    try {
      // A fresh random block each time: no two chunks repeat, so nothing on the way can deduplicate them.
      const buf = Buffer.allocUnsafe(BLOCK_BYTES);
      for (let b = 0; b < totalBlocks; b++) {
        if (!layout[b]) continue;
        const n = Math.min(BLOCK_BYTES, virtualSizeBytes - b * BLOCK_BYTES);
        randomFillSync(buf, 0, n);
        await writer.write(b * BLOCK_BYTES, buf.subarray(0, n));
        dataBlocks++;
      }
    } finally {
      await writer.close();
    }
    await call("VM.set_is_a_template", session, vm, true);
    pool.setGuestMetrics(vm, {
      os_version: { name: "Debian GNU/Linux 12 (bookworm)", distro: "debian", major: "12", minor: "8" },
    });
    return { vmUuid, vdiUuid, virtualSizeBytes, dataBlocks, totalBlocks };
  } finally {
    await call("session.logout", session);
  }
}

/**
 * A halted template whose one disk holds a raw disk image (e.g. the local build's `disk.raw`): only its non-zero
 * 1 MiB blocks are written, so devpool exports what a pool would (a VHD's allocated blocks). Debian 12 guest metrics.
 */
export async function createImageTemplate(
  pool: Devpool,
  username: string,
  password: string,
  name: string,
  imagePath: string,
): Promise<DiskTemplate> {
  const { engine } = pool;
  const call = (m: string, ...p: Input[]) => engineCall(engine, m, ...p);
  const virtualSizeBytes = fs.statSync(imagePath).size;
  const session = (await call("session.login_with_password", username, password)) as string;
  try {
    const [tpl] = (await call("VM.get_by_name_label", session, "Debian Bookworm 12")) as string[];
    const vm = (await call("VM.clone", session, tpl ?? "", name)) as string;
    const vdi = await attachNewDisk(
      call,
      session,
      engine.poolRef(),
      vm,
      `${name} disk`,
      virtualSizeBytes,
      "system",
    );
    const vdiUuid = (await call("VDI.get_uuid", session, vdi)) as string;
    const vmUuid = (await call("VM.get_uuid", session, vm)) as string;
    const totalBlocks = Math.ceil(virtualSizeBytes / BLOCK_BYTES);
    const writer = await engine.disks.openWriter(vdiUuid);
    const fd = fs.openSync(imagePath, "r");
    let dataBlocks = 0;
    try {
      const buf = Buffer.alloc(BLOCK_BYTES);
      const zero = Buffer.alloc(BLOCK_BYTES);
      for (let b = 0; b < totalBlocks; b++) {
        const n = fs.readSync(fd, buf, 0, BLOCK_BYTES, b * BLOCK_BYTES);
        if (buf.subarray(0, n).equals(zero.subarray(0, n))) continue;
        await writer.write(b * BLOCK_BYTES, buf.subarray(0, n));
        dataBlocks++;
      }
    } finally {
      fs.closeSync(fd);
      await writer.close();
    }
    await call("VM.set_is_a_template", session, vm, true);
    pool.setGuestMetrics(vm, {
      os_version: { name: "Debian GNU/Linux 12 (bookworm)", distro: "debian", major: "12", minor: "8" },
    });
    return { vmUuid, vdiUuid, virtualSizeBytes, dataBlocks, totalBlocks };
  } finally {
    await call("session.logout", session);
  }
}
