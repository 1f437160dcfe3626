import { XcpngError, type ErrorOptions } from "../lib/errors";

/**
 * The providers' own verdicts (errors that did not come over the wire: those are `XapiError` and `S3StoreError`
 * from lib/). Each message starts with the component (`artifact: ...`) and says the way out.
 */

/** A secret the operation needs is not in the stack's configuration. */
export class MissingSecretError extends XcpngError {
  readonly key: string;
  /** `command` is how to set it, when not `pulumi config set --secret <key>` (a `--path` into a structure). */
  constructor(component: string, key: string, command = `pulumi config set --secret ${key}`) {
    super(
      "MISSING_SECRET",
      `${component}: the stack has no ${key}: set it with '${command}' ` +
        `(the value is read from stdin when omitted), then run the command again.`,
    );
    this.key = key;
  }
}

/**
 * The template the build left on the pool is not what the catalogue declares. With `init`, a partial failure (the
 * engine records the resource); without, the engine keeps the previous state.
 */
export class TemplateVerificationError extends XcpngError {
  readonly id: string | undefined;
  readonly properties: Readonly<Record<string, unknown>> | undefined;
  readonly reasons: readonly string[];
  constructor(
    message: string,
    init: { id: string; properties: object; reasons: readonly string[] } | undefined,
    reasons: readonly string[],
  ) {
    super("TEMPLATE_VERIFICATION_FAILED", message);
    this.id = init?.id;
    this.properties = init ? { ...init.properties } : undefined;
    this.reasons = [...reasons];
  }
}

/** No template on the pool carries the build's tag, or a tracked template is gone. */
export class TemplateNotFoundError extends XcpngError {
  constructor(message: string) {
    super("TEMPLATE_NOT_FOUND", message);
  }
}

export type PackerBuildErrorCode =
  "BUILD_FAILED" | "BUILD_NO_RESULT" | "BUILD_NOT_STARTED" | "BUILD_TIMEOUT" | "BUILD_CANCELLED";

/** The Packer build did not produce a template. */
export class PackerBuildError extends XcpngError {
  declare readonly code: PackerBuildErrorCode;
  constructor(code: PackerBuildErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** The export of a template into the store failed somewhere other than the pool or the store themselves. */
export class ArtifactExportError extends XcpngError {
  constructor(message: string, options?: ErrorOptions) {
    super("ARTIFACT_EXPORT_FAILED", message, options);
  }
}

/**
 * The stored artifact booted but failed checks: the message names each failing check with its evidence and where
 * the console logs are kept; nothing was promoted. `cause` is lib/acceptance's verdict.
 */
export class AcceptanceRefusedError extends XcpngError {
  constructor(message: string, options: ErrorOptions) {
    super("ACCEPTANCE_FAILED", message, options);
  }
}

/**
 * The resource was created but is not usable (Pulumi's "initialization failure"): the engine records `id` (so
 * `destroy` can remove it) and fails the update with `reasons`. The dynamic-provider host reads exactly these
 * fields (`id`, `properties`, `reasons`) from a thrown error (@pulumi/pulumi cmd/dynamic-provider,
 * grpcResponseFromError).
 */
export abstract class ResourceInitError extends XcpngError {
  readonly id: string;
  readonly properties: Readonly<Record<string, unknown>>;
  readonly reasons: readonly string[];
  constructor(
    code: string,
    message: string,
    init: { id: string; properties: object; reasons: readonly string[] },
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.id = init.id;
    this.properties = { ...init.properties };
    this.reasons = [...init.reasons];
  }
}

export type ReplicaErrorCode =
  /** Streaming the artifact into the pool failed (the pool, the store, or the transfer); nothing is left. */
  | "REPLICA_IMPORT_FAILED"
  /** The stored artifact is not the one the channel points to (size, SHA-256, manifest, compression). */
  | "REPLICA_INTEGRITY"
  /** The imported template is not what the build says (tag, template flag, disks, OS); it was removed. */
  | "REPLICA_VERIFICATION_FAILED"
  /** The pool already holds a copy of the build the fleet did not place (the build pool, or a copy by hand). */
  | "REPLICA_FOREIGN_COPY"
  /** Anything else that failed while reconciling one pool's replicas. */
  | "REPLICA_FAILED";

/**
 * One template's replica on one fleet pool could not be placed. The message names the pool (the fleet's name and
 * URL), so among many failing resources each says where; `poolName` carries it for callers.
 */
export class ReplicaError extends XcpngError {
  declare readonly code: ReplicaErrorCode;
  readonly poolName: string;
  constructor(code: ReplicaErrorCode, poolName: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.poolName = poolName;
  }
}

/**
 * A replica was imported and recorded, but a later step (moving the channel tag, removing replicas beyond
 * retention) failed: the engine records the new state, so the next `up` finishes the job and nothing is orphaned.
 */
export class ReplicaIncompleteError extends ResourceInitError {
  readonly poolName: string;
  constructor(
    poolName: string,
    message: string,
    init: { id: string; properties: object; reasons: readonly string[] },
    options?: ErrorOptions,
  ) {
    super("REPLICA_INCOMPLETE", message, init, options);
    this.poolName = poolName;
  }
}

/** The SBOM an export must store beside the XVA cannot be found (neither the build's file nor an earlier copy). */
export class ArtifactSbomError extends XcpngError {
  constructor(message: string, options?: ErrorOptions) {
    super("ARTIFACT_SBOM_MISSING", message, options);
  }
}
