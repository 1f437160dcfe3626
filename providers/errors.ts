import { XcpngError, type ErrorOptions } from "../lib/errors";

/**
 * The providers' own verdicts (errors that did not come over the wire: those are `XapiError` and `S3StoreError`
 * from lib/). Each message starts with the component (`artifact: ...`) and says the way out.
 */

/** A secret the operation needs is not in the stack's configuration. */
export class MissingSecretError extends XcpngError {
  readonly key: string;
  constructor(component: string, key: string) {
    super(
      "MISSING_SECRET",
      `${component}: the stack has no ${key}: set it with 'pulumi config set --secret ${key}' ` +
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

/** The SBOM an export must store beside the XVA cannot be found (neither the build's file nor an earlier copy). */
export class ArtifactSbomError extends XcpngError {
  constructor(message: string, options?: ErrorOptions) {
    super("ARTIFACT_SBOM_MISSING", message, options);
  }
}
