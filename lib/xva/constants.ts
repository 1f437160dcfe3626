/**
 * Fixed facts of the XVA format as xapi writes and reads it (xapi `stream_vdi.ml`, `xapi_globs.ml`).
 */

/** Every disk is cut into chunks of this size; only the last chunk of a disk may be shorter (`stream_vdi.ml chunk_size`). */
export const XVA_CHUNK_SIZE_BYTES = 1024 * 1024;

/** Name of the metadata entry; xapi's importer rejects an archive whose first entry has another name. */
export const OVA_XML_NAME = "ova.xml";

/** xapi's null reference, used for every reference that points outside the export. */
export const NULL_REF = "OpaqueRef:NULL";

/** Export format version written by current xapi (`xapi_globs.ml export_vsn = 2`): inline checksums, no trailing table. */
export const XVA_EXPORT_VSN = 2;

/** Size of one tar block: headers and data padding come in these units. */
export const TAR_BLOCK_BYTES = 512;

/**
 * Chunk file names carry an 8-digit zero-padded decimal number (`Printf.sprintf "%s/%08d"`). Past this many chunks
 * (about 95 TiB) the names get a ninth digit and xapi's lexicographic order check breaks, so we refuse larger disks.
 */
export const XVA_MAX_CHUNKS = 100_000_000;
