/** Fixtures for devpool's integration tests: VMs with disks holding known data. */
import { randomBytes } from "node:crypto";
import type { Engine } from "../api/context";
import { toJson } from "../rpc/jsonrpc";
import type { Input } from "../rpc/wire";
import { BLOCK_BYTES } from "../storage/disks";

/** Calls the engine directly and returns the JSON-typed result; throws `CODE(params)` on failure. */
export async function engineCall(
  engine: Engine & { call(m: string, p: readonly Input[]): Promise<unknown> },
  method: string,
  ...params: Input[]
): Promise<unknown> {
  const out = (await engine.call(method, params)) as
    { ok: true; value: Parameters<typeof toJson>[0] } | { ok: false; code: string; params: string[] };
  if (!out.ok) throw new Error(`${method}: ${out.code}(${out.params.join(",")})`);
  return toJson(out.value);
}

/**
 * Creates a disk of `sizeBytes` on the pool's default SR and plugs it into `vm` as its boot disk; returns the VDI.
 * `call` is any XAPI caller (the engine in-process, or an RPC client).
 */
export async function attachNewDisk(
  call: (method: string, ...params: Input[]) => Promise<unknown>,
  session: string,
  pool: string,
  vm: string,
  nameLabel: string,
  sizeBytes: number,
  type: "user" | "system" = "user",
): Promise<string> {
  const sr = (await call("pool.get_default_SR", session, pool)) as string;
  const vdi = (await call("VDI.create", session, {
    name_label: nameLabel,
    SR: sr,
    virtual_size: sizeBytes,
    type,
    sharable: false,
    read_only: false,
    other_config: {},
  })) as string;
  await call("VBD.create", session, {
    VM: vm,
    VDI: vdi,
    userdevice: "0",
    bootable: true,
    mode: "RW",
    type: "Disk",
    unpluggable: false,
    empty: false,
    other_config: {},
    qos_algorithm_type: "",
    qos_algorithm_params: {},
  });
  return vdi;
}

export interface DiskVm {
  readonly vm: string;
  readonly vdi: string;
  readonly vdiUuid: string;
  readonly session: string;
  /** Data written, by byte offset. */
  readonly written: ReadonlyMap<number, Buffer>;
}

/**
 * A halted VM cloned from "Debian Bookworm 12" with one disk holding random data at a few offsets (a block at 0,
 * one straddling the boundary of chunks 36 and 37, the last bytes), the rest sparse. The disk is the template's
 * provisioned 10 GiB one, or a fresh one of `sizeBytes`.
 */
export async function makeDiskVm(
  engine: Engine & { call(m: string, p: readonly Input[]): Promise<unknown> },
  username: string,
  password: string,
  name: string,
  sizeBytes?: number,
): Promise<DiskVm> {
  const call = (m: string, ...p: Input[]) => engineCall(engine, m, ...p);
  const session = (await call("session.login_with_password", username, password)) as string;
  const [tpl] = (await call("VM.get_by_name_label", session, "Debian Bookworm 12")) as string[];
  const vm = (await call("VM.clone", session, tpl!, name)) as string;
  await call("VM.set_is_a_template", session, vm, false);
  if (sizeBytes === undefined) {
    await call("VM.provision", session, vm);
  } else {
    await attachNewDisk(call, session, engine.poolRef(), vm, `${name} disk`, sizeBytes, "user");
  }
  const [vbd] = (await call("VM.get_VBDs", session, vm)) as string[];
  const vdi = (await call("VBD.get_VDI", session, vbd!)) as string;
  const vdiUuid = (await call("VDI.get_uuid", session, vdi)) as string;
  const size = (await call("VDI.get_virtual_size", session, vdi)) as number;
  const written = new Map<number, Buffer>([
    [0, randomBytes(4096)],
    [37 * BLOCK_BYTES - 1000, randomBytes(3000)],
    [size - 512, randomBytes(512)],
  ]);
  for (const [offset, data] of written) await engine.disks.write(vdiUuid, offset, data);
  return { vm, vdi, vdiUuid, session, written };
}
