/**
 * Chunk checksums as xapi writes and compares them (`stream_vdi.ml write_block` and `recv_all_vdi`).
 *
 * - `.xxhash`: `Printf.sprintf "%016LX" (XXHash.XXH64.hash chunk)`, i.e. XXH64 with seed 0, as 16 **uppercase** hex
 *   digits, no newline. Written by every xapi since CH 8.1 / XCP-ng 8.1.
 * - `.checksum`: `Sha1.to_hex`, 40 **lowercase** hex digits. Written by older xapi; still accepted on import.
 *
 * xapi compares the file's text with its own rendering as an exact string, so case and length matter.
 *
 * XXH64 comes from `xxhash-wasm` (pure WebAssembly, no native build or per-platform binary, ~9 GB/s on one core
 * here, far above any export rate). Its one-shot `h64Raw` is enough because a chunk is at most 1 MiB and is held
 * whole anyway until its checksum file has been read.
 */
import { createHash } from "node:crypto";
import xxhash from "xxhash-wasm";
import { XvaInputError } from "./errors";

/** Which checksum file follows each chunk. */
export type XvaChecksumAlgorithm = "xxhash" | "sha1";

/** File extension of each checksum kind (`stream_vdi.ml checksum_extension_xxh/_sha`). */
export const CHECKSUM_EXTENSION: Readonly<Record<XvaChecksumAlgorithm, string>> = {
  xxhash: ".xxhash",
  sha1: ".checksum",
};

type XxhashApi = Awaited<ReturnType<typeof xxhash>>;
let api: XxhashApi | undefined;
let loading: Promise<XxhashApi> | undefined;

/** Instantiates the WebAssembly module once per process; every hashing entry point awaits this first. */
export async function loadChecksums(): Promise<void> {
  if (api !== undefined) return;
  loading ??= xxhash();
  api = await loading;
}

/**
 * XXH64 (seed 0) of `data` in xapi's `.xxhash` text form: 16 uppercase hex digits.
 * Call {@link loadChecksums} once before the first use.
 */
export function xxh64Hex(data: Uint8Array): string {
  if (api === undefined)
    throw new XvaInputError(
      "xxh64Hex was called before the hash module was loaded; await loadChecksums() first",
    );
  return api.h64Raw(data).toString(16).toUpperCase().padStart(16, "0");
}

/** SHA-1 of `data` in xapi's `.checksum` text form: 40 lowercase hex digits. */
export function sha1Hex(data: Uint8Array): string {
  return createHash("sha1").update(data).digest("hex");
}

/** Checksum text of `data` for the given algorithm, exactly as xapi writes it into the checksum file. */
export function checksumText(algorithm: XvaChecksumAlgorithm, data: Uint8Array): string {
  return algorithm === "xxhash" ? xxh64Hex(data) : sha1Hex(data);
}

/** Like {@link checksumText}, over data given as consecutive pieces (hashed incrementally, nothing joined). */
export function checksumOfParts(algorithm: XvaChecksumAlgorithm, parts: readonly Uint8Array[]): string {
  if (parts.length === 1) return checksumText(algorithm, parts[0] as Uint8Array);
  if (algorithm === "sha1") {
    const h = createHash("sha1");
    for (const p of parts) h.update(p);
    return h.digest("hex");
  }
  if (api === undefined) {
    throw new XvaInputError(
      "checksumOfParts was called before the hash module was loaded; await loadChecksums() first",
    );
  }
  const h = api.create64();
  for (const p of parts) h.update(p);
  return h.digest().toString(16).toUpperCase().padStart(16, "0");
}
