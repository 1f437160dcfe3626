/**
 * XVA: XenServer / XCP-ng's VM export format — a streaming writer, reader, pass-through verifier and helpers.
 *
 * An XVA is a tar stream (optionally gzip or zstd compressed as a whole): `ova.xml` first (the VM, its VBDs,
 * VDIs, VIFs, networks, SRs and guest metrics as XML-RPC records), then each disk as 1 MiB chunks
 * `Ref:<n>/%08d`, each followed by its `.xxhash` (XXH64, 16 uppercase hex digits) or `.checksum` (SHA-1) file;
 * all-zero chunks are left out except each disk's first and last.
 *
 * - Export: {@link buildXvaExport} (records → `ova.xml` graph + disk map) then {@link createXvaWriter} (→ Readable).
 * - Import: {@link parseXva} (async iterable of verified events) or {@link writeXvaDisksToFiles} (→ sparse files).
 * - Transit: {@link createXvaVerifier} (a pass-through Transform that verifies every chunk and hashes the stream).
 *
 * Memory never depends on disk size: one 1 MiB chunk plus stream buffers on each path.
 *
 * The format and its upstream sources: docs/xva-format.md. xapi file names cited in this library's comments
 * (`export.ml`, `import.ml`, `stream_vdi.ml`, `importexport.ml`, `xapi_globs.ml`) are in
 * github.com/xapi-project/xen-api under `ocaml/xapi/`.
 */
export {
  CHECKSUM_EXTENSION,
  type XvaChecksumAlgorithm,
  checksumText,
  loadChecksums,
  sha1Hex,
  xxh64Hex,
} from "./checksum";
export {
  type EmittedChunk,
  type XvaChunkPlan,
  chunkCount,
  chunkLength,
  chunkName,
  emittedChunks,
  expectedChunkIndices,
  planDiskChunks,
} from "./chunks";
export { type XvaCompression, detectCompression } from "./compression";
export { NULL_REF, OVA_XML_NAME, XVA_CHUNK_SIZE_BYTES, XVA_EXPORT_VSN } from "./constants";
export {
  type ByteRange,
  type DiskExtent,
  type DiskSource,
  type FileDiskSourceOptions,
  bufferDiskSource,
  extentsDiskSource,
  fileDiskSource,
  isAllZero,
} from "./disk-source";
export { XvaChecksumError, XvaFormatError, type XvaFormatErrorCode, XvaInputError } from "./errors";
export {
  type ExportRecordLookup,
  type XvaExport,
  type XvaExportInput,
  type XvaRecordMaps,
  buildXvaExport,
  mapRecordLookup,
} from "./export-graph";
export {
  DEFAULT_OVA_VERSION,
  type OvaObject,
  type OvaObjectOf,
  type OvaVersion,
  type OvaXml,
  type RawOvaObject,
  type TypedOvaObject,
  type XvaDiskInfo,
  objectsOfClass,
  parseOvaXml,
  serializeOvaXml,
  streamedDisks,
} from "./ova-xml";
export {
  type ParseXvaOptions,
  type XvaDiskSummary,
  type XvaEvent,
  type XvaSummary,
  parseXva,
} from "./reader";
export { makeRecord } from "./records";
export type {
  HostRecord,
  NetworkRecord,
  SrRecord,
  VbdRecord,
  VdiRecord,
  VifRecord,
  VmGuestMetricsRecord,
  VmMetricsRecord,
  VmRecord,
  XvaClass,
  XvaRecord,
} from "./schema";
export { type WriteXvaDisksOptions, writeXvaDisksToFiles } from "./sparse-files";
export { chunksOf } from "./stream-chunks";
export { xvaTarLength, xvaTarLengthBound } from "./stream-length";
export { type XvaVerification, type XvaVerifyProgress, XvaVerifier, createXvaVerifier } from "./verify";
export { type XvaWriterOptions, createXvaWriter } from "./writer";
export { XmlRpcDouble, type XmlRpcStruct, type XmlRpcValue } from "./xmlrpc";
