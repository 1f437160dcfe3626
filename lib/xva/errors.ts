/**
 * Typed errors of the XVA library, in the project's error model ({@link XcpngError}: a stable `code`, the `cause`
 * kept). Every message says what failed, what was expected, what was given and what to do.
 */
import { XcpngError } from "../errors";

/** What kind of format violation an {@link XvaFormatError} reports, for callers that branch on it. */
export type XvaFormatErrorCode =
  /** Not a tar / gzip / zstd stream, or the first entry is not `ova.xml`. */
  | "NOT_XVA"
  /** `ova.xml` is not the XML-RPC header xapi writes (bad XML, missing key, wrong type). */
  | "BAD_OVA_XML"
  /** `ova.xml` declares an export format this library does not read. */
  | "UNSUPPORTED_VERSION"
  /** An entry that xapi's importer would reject at this position (wrong prefix, wrong order, missing checksum). */
  | "UNEXPECTED_ENTRY"
  /** The stream ended before every disk was complete, or inside an entry, or without the tar end blocks. */
  | "TRUNCATED"
  /** An entry is larger than the format allows (chunk over 1 MiB, disk overrun, oversized ova.xml). */
  | "OVERSIZED"
  /** The tar or compression layer itself is corrupt (bad header checksum, bad gzip/zstd frame). */
  | "CORRUPT"
  /** A layout xapi itself would import wrongly (a gap after a first chunk shorter than 1 MiB). */
  | "UNSUPPORTED_LAYOUT";

/** The bytes are not a valid XVA stream, or not one xapi would import. */
export class XvaFormatError extends XcpngError {
  /** Machine-readable category. */
  declare readonly code: XvaFormatErrorCode;
  /** Tar entry being processed when the error was found, if any (e.g. `Ref:3/00000007`). */
  readonly entry: string | undefined;

  constructor(code: XvaFormatErrorCode, message: string, options?: { entry?: string; cause?: unknown }) {
    super(code, `xva: ${message}`, options);
    this.entry = options?.entry;
  }
}

/** A chunk's data does not match the checksum file that follows it in the archive. Code `CHECKSUM_MISMATCH`. */
export class XvaChecksumError extends XcpngError {
  declare readonly code: "CHECKSUM_MISMATCH";
  /** Export id of the disk (tar directory), e.g. `Ref:3`. */
  readonly disk: string;
  /** Tar entry name of the chunk, e.g. `Ref:3/00000007`. */
  readonly chunk: string;
  /** Byte offset of the chunk in the disk. */
  readonly offset: number;
  /** `xxhash` (XXH64, 16 uppercase hex digits) or `sha1` (40 lowercase hex digits). */
  readonly algorithm: "xxhash" | "sha1";
  /** Checksum recorded in the archive. */
  readonly expected: string;
  /** Checksum computed from the chunk data received. */
  readonly actual: string;

  constructor(args: {
    disk: string;
    chunk: string;
    offset: number;
    algorithm: "xxhash" | "sha1";
    expected: string;
    actual: string;
  }) {
    super(
      "CHECKSUM_MISMATCH",
      `xva: checksum mismatch for chunk ${args.chunk} (disk ${args.disk}, offset ${args.offset}): ` +
        `the archive records ${args.algorithm} ${args.expected} but the data hashes to ${args.actual}. ` +
        `The stream was corrupted in transit or storage; export the VM again.`,
    );
    this.disk = args.disk;
    this.chunk = args.chunk;
    this.offset = args.offset;
    this.algorithm = args.algorithm;
    this.expected = args.expected;
    this.actual = args.actual;
  }
}

/**
 * The caller gave the writer or a helper something it cannot use (bad record graph, disk source out of range).
 * Code `INVALID_INPUT`.
 */
export class XvaInputError extends XcpngError {
  declare readonly code: "INVALID_INPUT";
  constructor(message: string, options?: { cause?: unknown }) {
    super("INVALID_INPUT", `xva: ${message}`, options);
  }
}

/** `value` as an Error: itself when it is one, else an {@link XvaInputError} describing it (only user code throws non-Errors). */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new XvaInputError(`a non-Error value was thrown: ${String(value)}`);
}
