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

/** The template the build left on the pool is not what the catalogue declares. */
export class TemplateVerificationError extends ResourceInitError {
  constructor(message: string, init: { id: string; properties: object; reasons: readonly string[] }) {
    super("TEMPLATE_VERIFICATION_FAILED", message, init);
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
