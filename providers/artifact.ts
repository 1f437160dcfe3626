import * as pulumi from "@pulumi/pulumi";
import { shimProvider } from "./dynamic/shim";
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { isUnknown, providerCodeChanged } from "./dynamic/provider-code";
import { poolPasswordFrom, s3CredentialsFrom } from "./dynamic/stack-secrets";
import { createS3Client, type S3Credentials, type S3Location } from "./s3/client";
import { S3StoreError, isNotFound, s3ErrorCode } from "./s3/errors";
import { partSizeFor, streamToS3 } from "./s3/stream-upload";
import { withXapi, type PoolTarget } from "./xapi/client";
import { PoolConnectionError, XapiError } from "./xapi/errors";
import { osFromGuestMetrics } from "./os-detect";
import { createXvaVerifier, objectsOfClass, type XvaVerification } from "./xva";

/** Build facts recorded in the manifest. */
export interface ArtifactFacts {
  readonly buildId: string;
  readonly sourceHash: string;
  readonly toolVersions: string;
  readonly packerVersion: string;
  readonly buildDurationSeconds: number;
  /** OS as the pool's guest metrics report it. */
  readonly poolOs: string;
}

export interface ArtifactArgs {
  readonly pool: pulumi.Input<PoolTarget>;
  readonly store: pulumi.Input<S3Location & { bucket: string }>;
  readonly templateUuid: pulumi.Input<string>;
  readonly templateName: pulumi.Input<string>;
  readonly os: pulumi.Input<string>;
  readonly version: pulumi.Input<string>;
  /** Sum of the template's disk sizes: bounds the export and so sets the multipart part size. */
  readonly virtualSizeBytes: pulumi.Input<number>;
  readonly facts: { readonly [K in keyof ArtifactFacts]: pulumi.Input<ArtifactFacts[K]> };
}

export interface ArtifactInputs {
  readonly pool: PoolTarget;
  readonly store: S3Location & { readonly bucket: string };
  readonly templateUuid: string;
  readonly templateName: string;
  readonly os: string;
  readonly version: string;
  readonly virtualSizeBytes: number;
  readonly facts: ArtifactFacts;
}

export interface ArtifactOutputs extends ArtifactInputs {
  readonly key: string;
  readonly manifestKey: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly etag: string;
  readonly exportedAt: string;
  /** OS as the XVA's own ova.xml (VM_guest_metrics) reports it. */
  readonly xvaOs: string;
  readonly chunksVerified: number;
  /** Set by refresh when the object or its manifest is missing or altered: the next `up` exports it again and
   * removes what is left of this one (its manifest), so nothing is orphaned. */
  readonly missing?: boolean;
}

/** The manifest written beside each XVA. */
export interface ArtifactManifest {
  readonly schema: "xcpng-templates/manifest@1";
  readonly template: string;
  readonly os: string;
  readonly version: string;
  readonly timestamp: string;
  readonly key: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly osDetected: { readonly xva: string; readonly pool: string };
  readonly build: ArtifactFacts;
  readonly chunksVerified: number;
  readonly templateUuid: string;
}

/** `<os>/<version>/<timestamp>/<template>.xva`, the one layout of the store; the timestamp is UTC, sortable. */
export function artifactKeys(
  os: string,
  version: string,
  template: string,
  at: Date,
): { key: string; manifestKey: string; timestamp: string } {
  const timestamp = at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  const dir = `${os}/${version}/${timestamp}`;
  return { key: `${dir}/${template}.xva`, manifestKey: `${dir}/${template}.manifest.json`, timestamp };
}

const PREFIX = "artifact";

/** The OS the archive's own VM_guest_metrics report, as "distro version" (like the pool's). */
export function xvaOsOf(v: XvaVerification): string {
  for (const gm of objectsOfClass(v.header, "VM_guest_metrics")) {
    const os = osFromGuestMetrics(gm.snapshot.os_version);
    if (os) return `${os.distro} ${os.version}`;
  }
  return v.osName ?? "unknown";
}

/** An XVA export of a pool template, streamed into S3 and verified on the way, with its manifest. */
export class ArtifactProvider implements pulumi.dynamic.ResourceProvider<ArtifactInputs, ArtifactOutputs> {
  private password: string | undefined;
  private credentials: S3Credentials | undefined;

  configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.password = poolPasswordFrom(req.config);
    this.credentials = s3CredentialsFrom(req.config);
    return Promise.resolve();
  }

  diff(_id: string, olds: ArtifactOutputs, news: ArtifactInputs): Promise<pulumi.dynamic.DiffResult> {
    // Unknown values (preview, while the template resource updates in place) are decided by `up`'s own diff.
    const replaces = (["templateUuid", "templateName", "os", "version"] as const)
      .filter((k) => !isUnknown(news[k]))
      .filter((k) => olds[k] !== news[k]);
    if (olds.missing === true) replaces.push("key" as never);
    if (olds.store.bucket !== news.store.bucket || olds.store.endpoint !== news.store.endpoint)
      replaces.push("store" as never);
    const changed =
      JSON.stringify(olds.pool) !== JSON.stringify(news.pool) ||
      JSON.stringify(olds.facts) !== JSON.stringify(news.facts);
    return Promise.resolve({
      changes: replaces.length > 0 || changed || providerCodeChanged(olds, news),
      replaces,
    });
  }

  async create(inputs: ArtifactInputs): Promise<pulumi.dynamic.CreateResult<ArtifactOutputs>> {
    if (this.password === undefined) {
      throw new PoolConnectionError(
        `${PREFIX}: no pool password: set it with 'pulumi config set --secret poolPassword'`,
      );
    }
    const { key, manifestKey, timestamp } = artifactKeys(
      inputs.os,
      inputs.version,
      inputs.templateName,
      new Date(),
    );
    const s3 = createS3Client(inputs.store, this.credentials);
    const where = `s3://${inputs.store.bucket}/${key}`;
    try {
      const { upload, verification } = await withXapi(inputs.pool, this.password, async (x) => {
        const res = await x.getResource("/export", { uuid: inputs.templateUuid, use_compression: "false" });
        if (res.statusCode !== 200) {
          res.body.resume();
          throw new XapiError(
            `${PREFIX}: GET /export of ${inputs.templateUuid} answered HTTP ${res.statusCode}`,
            "EXPORT_FAILED",
          );
        }
        const verifier = createXvaVerifier();
        let lastLog = 0;
        const total = inputs.virtualSizeBytes;
        const upload = await streamToS3(res.body, [verifier], {
          client: s3,
          bucket: inputs.store.bucket,
          key,
          partSizeBytes: partSizeFor(total + 64 * 1024 * 1024),
          contentType: "application/octet-stream",
          metadata: { "xcpng-template": inputs.templateName, "xcpng-build-id": inputs.facts.buildId },
          onProgress: (n) => {
            if (Date.now() - lastLog < 5000) return;
            lastLog = Date.now();
            console.log(
              `${PREFIX}: ${inputs.templateName}: ${(n / 1048576).toFixed(0)} MiB uploaded to ${where}`,
            );
          },
        });
        return { upload, verification: await verifier.verification };
      });
      const sha256 = verification.sha256;
      const outs = this.outputs(inputs, {
        key,
        manifestKey,
        timestamp,
        sha256,
        verification,
        bytes: upload.bytes,
        etag: upload.etag,
      });
      await this.writeManifest(s3, inputs, outs, timestamp);
      console.log(
        `${PREFIX}: ${where} complete: ${upload.bytes} bytes, sha256 ${sha256.slice(0, 16)}…, ${verification.chunks} chunks verified`,
      );
      return { id: key, outs };
    } catch (e) {
      // Nothing half-published: the multipart upload was aborted by streamToS3; remove a manifest if written.
      await s3
        .send(new DeleteObjectCommand({ Bucket: inputs.store.bucket, Key: manifestKey }))
        .catch(() => undefined);
      throw e instanceof Error && /^artifact: |^upload to /.test(e.message)
        ? e
        : new S3StoreError(
            `${PREFIX}: export of ${inputs.templateName} (${inputs.templateUuid}) to ${where} failed: ${(e as Error).message}`,
            s3ErrorCode(e),
            { cause: e },
          );
    } finally {
      s3.destroy();
    }
  }

  async read(id: string, props?: ArtifactOutputs): Promise<pulumi.dynamic.ReadResult<ArtifactOutputs>> {
    if (!props) return {};
    const s3 = createS3Client(props.store, this.credentials);
    try {
      const head = await s3.send(new HeadObjectCommand({ Bucket: props.store.bucket, Key: props.key }));
      if (head.ContentLength !== props.sizeBytes || (props.etag && head.ETag !== props.etag)) {
        console.log(
          `${PREFIX}: s3://${props.store.bucket}/${props.key} was altered (size or ETag differs): it will be exported again`,
        );
        return { id, props: { ...props, missing: true } };
      }
      await s3.send(new HeadObjectCommand({ Bucket: props.store.bucket, Key: props.manifestKey }));
      return { id, props };
    } catch (e) {
      if (isNotFound(e)) {
        console.log(
          `${PREFIX}: s3://${props.store.bucket}/${props.key} or its manifest is missing: it will be exported again`,
        );
        return { id, props: { ...props, missing: true } };
      }
      throw new S3StoreError(
        `${PREFIX}: read s3://${props.store.bucket}/${props.key}: ${s3ErrorCode(e) ?? String(e)}`,
        s3ErrorCode(e),
      );
    } finally {
      s3.destroy();
    }
  }

  update(
    _id: string,
    olds: ArtifactOutputs,
    news: ArtifactInputs,
  ): Promise<pulumi.dynamic.UpdateResult<ArtifactOutputs>> {
    // Replacing keys re-export; pool settings, facts or provider code keep the stored object.
    return Promise.resolve({ outs: { ...olds, ...news } });
  }

  async delete(_id: string, props: ArtifactOutputs): Promise<void> {
    const s3 = createS3Client(props.store, this.credentials);
    try {
      for (const Key of [props.manifestKey, props.key]) {
        await s3.send(new DeleteObjectCommand({ Bucket: props.store.bucket, Key })).catch((e: unknown) => {
          if (!isNotFound(e)) throw e;
        });
      }
      console.log(`${PREFIX}: deleted s3://${props.store.bucket}/${props.key} and its manifest`);
    } finally {
      s3.destroy();
    }
  }

  private outputs(
    inputs: ArtifactInputs,
    r: {
      key: string;
      manifestKey: string;
      timestamp: string;
      sha256: string;
      verification: XvaVerification;
      bytes: number;
      etag: string;
    },
  ): ArtifactOutputs {
    return {
      ...inputs,
      key: r.key,
      manifestKey: r.manifestKey,
      sha256: r.sha256,
      sizeBytes: r.bytes,
      etag: r.etag,
      exportedAt: new Date().toISOString(),
      xvaOs: xvaOsOf(r.verification),
      chunksVerified: r.verification.chunks,
    };
  }

  private async writeManifest(
    s3: S3Client,
    inputs: ArtifactInputs,
    outs: ArtifactOutputs,
    timestamp: string,
  ): Promise<void> {
    const manifest: ArtifactManifest = {
      schema: "xcpng-templates/manifest@1",
      template: inputs.templateName,
      os: inputs.os,
      version: inputs.version,
      timestamp,
      key: outs.key,
      sha256: outs.sha256,
      sizeBytes: outs.sizeBytes,
      osDetected: { xva: outs.xvaOs, pool: inputs.facts.poolOs },
      build: inputs.facts,
      chunksVerified: outs.chunksVerified,
      templateUuid: inputs.templateUuid,
    };
    await s3.send(
      new PutObjectCommand({
        Bucket: inputs.store.bucket,
        Key: outs.manifestKey,
        Body: JSON.stringify(manifest, null, 2),
        ContentType: "application/json",
      }),
    );
  }
}

export class Artifact extends pulumi.dynamic.Resource {
  declare readonly key: pulumi.Output<string>;
  declare readonly manifestKey: pulumi.Output<string>;
  declare readonly sha256: pulumi.Output<string>;
  declare readonly sizeBytes: pulumi.Output<number>;
  declare readonly exportedAt: pulumi.Output<string>;
  declare readonly xvaOs: pulumi.Output<string>;

  constructor(name: string, args: ArtifactArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      shimProvider<ArtifactInputs, ArtifactOutputs>("providers/artifact", "ArtifactProvider"),
      name,
      {
        key: undefined,
        manifestKey: undefined,
        sha256: undefined,
        sizeBytes: undefined,
        etag: undefined,
        exportedAt: undefined,
        xvaOs: undefined,
        chunksVerified: undefined,
        ...args,
      },
      opts,
      "xcpng",
      "Artifact",
    );
  }
}
