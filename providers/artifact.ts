import * as pulumi from "@pulumi/pulumi";
import { shimProvider } from "./dynamic/shim";
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { isXcpngError } from "../lib/errors";
import { isNotFound } from "../lib/s3/errors";
import { partSizeFor, streamToS3, type StreamUploadResult } from "../lib/s3/stream-upload";
import type { PoolTarget, XapiSession } from "../lib/xapi/client";
import { createXvaVerifier, objectsOfClass, type XvaVerification } from "../lib/xva";
import { changedKeys, diffResult } from "./dynamic/diff";
import { ProviderBase } from "./dynamic/provider-base";
import { s3Failure } from "./dynamic/s3-failure";
import { ArtifactExportError } from "./errors";
import { osFromGuestMetrics } from "./os-detect";
import { planRetention, type RetainedArtifact } from "./artifact-retention";
import { storeChanged, type ArtifactStore } from "./store";

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
  readonly store: pulumi.Input<ArtifactStore>;
  readonly templateUuid: pulumi.Input<string>;
  readonly templateName: pulumi.Input<string>;
  readonly os: pulumi.Input<string>;
  readonly version: pulumi.Input<string>;
  /** Sum of the template's disk sizes: bounds the export and so sets the multipart part size. */
  readonly virtualSizeBytes: pulumi.Input<number>;
  /** Artifacts of this template kept in the store, the current one included; older ones are deleted. */
  readonly retention: pulumi.Input<number>;
  readonly facts: { readonly [K in keyof ArtifactFacts]: pulumi.Input<ArtifactFacts[K]> };
}

export interface ArtifactInputs {
  readonly pool: PoolTarget;
  readonly store: ArtifactStore;
  readonly templateUuid: string;
  readonly templateName: string;
  readonly os: string;
  readonly version: string;
  readonly virtualSizeBytes: number;
  readonly retention: number;
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
  /** Earlier artifacts of this template still in the store (retention), newest first. */
  readonly previous: readonly RetainedArtifact[];
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

/** The identity of an export: when one of these changes (or the object went missing), `up` exports again. */
const EXPORT_KEYS = ["templateUuid", "templateName", "os", "version"] as const;
/** Settings that change what is recorded or kept, not the stored object. */
const SETTING_KEYS = ["retention", "pool", "facts", "store"] as const;

/** Whether an update must export the template again (a new template, or the stored object went missing). */
export function needsExport(olds: ArtifactOutputs, news: ArtifactInputs): boolean {
  // Unknown in preview (the template updates in place): `up`'s own diff decides.
  return olds.missing === true || changedKeys(olds, news, EXPORT_KEYS).length > 0;
}

/** The artifact an output set describes, as retention lists it. */
function retained(o: ArtifactOutputs): RetainedArtifact {
  return {
    key: o.key,
    manifestKey: o.manifestKey,
    sha256: o.sha256,
    sizeBytes: o.sizeBytes,
    buildId: o.facts.buildId,
    exportedAt: o.exportedAt,
  };
}

/** What one export produced, before it becomes the resource's outputs. */
interface ExportedObject {
  readonly key: string;
  readonly manifestKey: string;
  readonly timestamp: string;
  readonly upload: StreamUploadResult;
  readonly verification: XvaVerification;
}

/** An XVA export of a pool template, streamed into S3 and verified on the way, with its manifest. */
export class ArtifactProvider
  extends ProviderBase
  implements pulumi.dynamic.ResourceProvider<ArtifactInputs, ArtifactOutputs>
{
  protected readonly component = PREFIX;

  diff(_id: string, olds: ArtifactOutputs, news: ArtifactInputs): Promise<pulumi.dynamic.DiffResult> {
    // A new build or a missing object is an update that exports again and keeps earlier artifacts (retention);
    // only another store replaces the resource (its artifacts cannot move with it).
    return Promise.resolve(
      diffResult(olds, news, {
        replaces: storeChanged(olds.store, news.store) ? ["store"] : [],
        updates:
          needsExport(olds, news) ||
          (olds.previous ?? []).some((a) => a.missing === true) ||
          changedKeys(olds, news, SETTING_KEYS, "change").length > 0,
      }),
    );
  }

  async create(inputs: ArtifactInputs): Promise<pulumi.dynamic.CreateResult<ArtifactOutputs>> {
    const outs = await this.export(inputs, []);
    return { id: outs.key, outs };
  }

  /** Exports the template into a new key, verified on the way, with its manifest; nothing is left on failure. */
  private async export(
    inputs: ArtifactInputs,
    previous: readonly RetainedArtifact[],
  ): Promise<ArtifactOutputs> {
    this.poolPassword(); // a missing secret fails before anything touches the store
    const { key, manifestKey, timestamp } = artifactKeys(
      inputs.os,
      inputs.version,
      inputs.templateName,
      new Date(),
    );
    const where = `s3://${inputs.store.bucket}/${key}`;
    return this.withS3(inputs.store, async (s3) => {
      try {
        const exported = await this.withPool(inputs.pool, (x) =>
          this.streamExport(x, s3, inputs, { key, manifestKey, timestamp }),
        );
        const outs = this.outputs(inputs, previous, exported);
        await this.writeManifest(s3, inputs, outs, timestamp);
        console.log(
          `${PREFIX}: ${where} complete: ${outs.sizeBytes} bytes, sha256 ${outs.sha256.slice(0, 16)}…, ` +
            `${outs.chunksVerified} chunks verified, ` +
            `provider peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`,
        );
        return outs;
      } catch (e) {
        // Nothing half-published: the multipart upload was aborted by streamToS3; remove a manifest if written.
        await s3
          .send(new DeleteObjectCommand({ Bucket: inputs.store.bucket, Key: manifestKey }))
          .catch(() => undefined);
        // Pool, store and XVA errors already say what failed and where; anything else is wrapped with the context.
        if (isXcpngError(e)) throw e;
        throw new ArtifactExportError(
          `${PREFIX}: export of ${inputs.templateName} (${inputs.templateUuid}) to ${where} failed: ` +
            `${e instanceof Error ? e.message : String(e)}. Run 'pulumi up' again; nothing was published.`,
          { cause: e },
        );
      }
    });
  }

  /** `GET /export` of the template, piped through the XVA verifier into a multipart upload at `at.key`. */
  private async streamExport(
    x: XapiSession,
    s3: S3Client,
    inputs: ArtifactInputs,
    at: { key: string; manifestKey: string; timestamp: string },
  ): Promise<ExportedObject> {
    const where = `s3://${inputs.store.bucket}/${at.key}`;
    const res = await x.getResource("/export", { uuid: inputs.templateUuid, use_compression: "false" });
    if (res.statusCode !== 200) {
      res.body.resume();
      throw new ArtifactExportError(
        `${PREFIX}: GET /export of ${inputs.templateUuid} on ${inputs.pool.url} answered HTTP ` +
          `${res.statusCode}, expected 200. Check that the template still exists ('pulumi refresh').`,
      );
    }
    const verifier = createXvaVerifier();
    let lastLog = 0;
    const upload = await streamToS3(res.body, [verifier], {
      client: s3,
      bucket: inputs.store.bucket,
      key: at.key,
      // The export is bounded by the disks' virtual size plus the XVA's metadata and checksum entries.
      partSizeBytes: partSizeFor(inputs.virtualSizeBytes + 64 * 1024 * 1024),
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
    return { ...at, upload, verification: await verifier.verification };
  }

  async read(id: string, props?: ArtifactOutputs): Promise<pulumi.dynamic.ReadResult<ArtifactOutputs>> {
    if (!props) return {};
    const where = `s3://${props.store.bucket}/${props.key}`;
    return this.withS3(props.store, async (s3) => {
      try {
        const head = await s3.send(new HeadObjectCommand({ Bucket: props.store.bucket, Key: props.key }));
        if (head.ContentLength !== props.sizeBytes || (props.etag && head.ETag !== props.etag)) {
          console.log(`${PREFIX}: ${where} was altered (size or ETag differs): it will be exported again`);
          return { id, props: { ...props, missing: true } };
        }
        await s3.send(new HeadObjectCommand({ Bucket: props.store.bucket, Key: props.manifestKey }));
        return { id, props: { ...props, previous: await this.markMissing(s3, props) } };
      } catch (e) {
        if (!isNotFound(e)) throw s3Failure(e, `${PREFIX}: reading ${where}`);
        console.log(`${PREFIX}: ${where} or its manifest is missing: it will be exported again`);
        return { id, props: { ...props, missing: true, previous: await this.markMissing(s3, props) } };
      }
    });
  }

  /**
   * Marks the earlier artifacts whose XVA is gone from the store: they drop out of retention and the index, and
   * the next `up` removes their manifests (a refresh only records what it found).
   */
  private async markMissing(s3: S3Client, props: ArtifactOutputs): Promise<RetainedArtifact[]> {
    const earlier = props.previous ?? [];
    const present = await Promise.all(
      earlier.map((a) =>
        s3.send(new HeadObjectCommand({ Bucket: props.store.bucket, Key: a.key })).then(
          () => true,
          (e: unknown) => {
            if (isNotFound(e)) return false;
            throw s3Failure(e, `${PREFIX}: reading s3://${props.store.bucket}/${a.key}`);
          },
        ),
      ),
    );
    return earlier.map((a, i) => {
      if (present[i]) return a;
      console.log(
        `${PREFIX}: earlier artifact s3://${props.store.bucket}/${a.key} is gone: no longer retained`,
      );
      return { ...a, missing: true };
    });
  }

  async update(
    _id: string,
    olds: ArtifactOutputs,
    news: ArtifactInputs,
  ): Promise<pulumi.dynamic.UpdateResult<ArtifactOutputs>> {
    const earlier = (olds.previous ?? []).filter((a) => a.missing !== true);
    const gone = (olds.previous ?? []).filter((a) => a.missing === true);
    if (!needsExport(olds, news)) {
      // Pool settings, facts, retention or provider code: the stored object stays; a lower retention prunes.
      const plan = planRetention(olds.key, earlier, news.retention);
      await this.remove(news.store, gone, "its XVA is gone");
      await this.remove(news.store, plan.pruned, "retention");
      return { outs: { ...olds, ...news, previous: [...plan.kept] } };
    }
    // Export first: if it fails, the current artifact and its history stay as they are.
    const fresh = await this.export(news, []);
    // Planned against the new key: an export within the same second overwrote the old key, which is then
    // neither kept twice nor pruned (that would delete the new object).
    const candidates = olds.missing === true ? earlier : [retained(olds), ...earlier];
    const plan = planRetention(fresh.key, candidates, news.retention);
    if (olds.missing === true && olds.key !== fresh.key)
      await this.remove(olds.store, [retained(olds)], "missing or altered");
    await this.remove(news.store, gone, "its XVA is gone");
    await this.remove(news.store, plan.pruned, "retention");
    return { outs: { ...fresh, previous: [...plan.kept] } };
  }

  async delete(_id: string, props: ArtifactOutputs): Promise<void> {
    await this.remove(props.store, [retained(props), ...(props.previous ?? [])], "delete");
  }

  /** Deletes artifacts (manifest first, then the XVA); an already missing object is not an error. */
  private async remove(
    store: ArtifactStore,
    artifacts: readonly RetainedArtifact[],
    why: string,
  ): Promise<void> {
    if (artifacts.length === 0) return;
    await this.withS3(store, async (s3) => {
      for (const a of artifacts) {
        for (const Key of [a.manifestKey, a.key]) {
          await s3.send(new DeleteObjectCommand({ Bucket: store.bucket, Key })).catch((e: unknown) => {
            if (!isNotFound(e))
              throw s3Failure(e, `${PREFIX}: deleting s3://${store.bucket}/${Key} (${why})`);
          });
        }
        console.log(`${PREFIX}: deleted s3://${store.bucket}/${a.key} and its manifest (${why})`);
      }
    });
  }

  private outputs(
    inputs: ArtifactInputs,
    previous: readonly RetainedArtifact[],
    r: ExportedObject,
  ): ArtifactOutputs {
    return {
      ...inputs,
      key: r.key,
      manifestKey: r.manifestKey,
      sha256: r.verification.sha256,
      sizeBytes: r.upload.bytes,
      etag: r.upload.etag,
      exportedAt: new Date().toISOString(),
      xvaOs: xvaOsOf(r.verification),
      chunksVerified: r.verification.chunks,
      previous: [...previous],
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
  declare readonly previous: pulumi.Output<RetainedArtifact[]>;

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
        previous: undefined,
        ...args,
      },
      opts,
      "xcpng",
      "Artifact",
    );
  }
}
