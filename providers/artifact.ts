import * as pulumi from "@pulumi/pulumi";
import { shimProvider } from "./dynamic/shim";
import { HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { isXcpngError } from "../lib/errors";
import { deleteAllVersions } from "../lib/s3/delete-versions";
import { isNotFound } from "../lib/s3/errors";
import { partSizeFor, streamToS3, type StreamUploadResult } from "../lib/s3/stream-upload";
import type { PoolTarget, XapiSession } from "../lib/xapi/client";
import { createXvaVerifier, objectsOfClass, type XvaVerification, type XvaVerifier } from "../lib/xva";
import { renderSbomDiffText, type SbomChangeRecord } from "../lib/sbom/diff";
import { changedKeys, diffResult } from "./dynamic/diff";
import { defined } from "./dynamic/provider-code";
import { ProviderBase } from "./dynamic/provider-base";
import { s3Failure } from "./dynamic/s3-failure";
import { ArtifactExportError } from "./errors";
import { osFromGuestMetrics } from "./os-detect";
import type { RetainedArtifact } from "./stored-artifact";
import { STACK_METADATA, findStrays, removeArtifactFiles, removeStrays, type Stray } from "./artifact-sweep";
import { artifactKeys, siblingKey } from "./layout";
import { findByUuid } from "../lib/xapi/templates";
import { storeChanged, type ArtifactStore } from "./store";
import { artifactContentType, exportCompressionParam } from "./artifact-compression";
import { changesSincePublished, storeBuildSbom, type EarlierExport } from "./artifact-sbom";
import type { BuildSbom } from "./build-sbom";
import type { ArtifactCompression, SbomReference } from "./catalogue-document";
import { appendChangesSummary, changesSummarySection } from "./changes-summary";
import { progressLine } from "./transfer-progress";
import { progressPacer, progressPeriodMs } from "./progress-pace";

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
  readonly facts: { readonly [K in keyof ArtifactFacts]: pulumi.Input<ArtifactFacts[K]> };
  /** The SBOM the build wrote (PackerBuild's `sbom`): stored beside the XVA. */
  readonly buildSbom?: pulumi.Input<BuildSbom | undefined>;
  /** How new exports are compressed (the stack's `compression`); what is stored is not exported again. */
  readonly compression?: pulumi.Input<ArtifactCompression>;
}

export interface ArtifactInputs {
  readonly pool: PoolTarget;
  readonly store: ArtifactStore;
  readonly templateUuid: string;
  readonly templateName: string;
  readonly os: string;
  readonly version: string;
  readonly virtualSizeBytes: number;
  readonly facts: ArtifactFacts;
  readonly buildSbom?: BuildSbom;
  /** @default "none" (state written before the setting existed) */
  readonly compression?: ArtifactCompression;
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
  /** How the stored XVA is compressed (what the pool sent, as the verifier read it). */
  readonly xvaCompression?: ArtifactCompression;
  /** The SBOM stored beside the XVA. */
  readonly sbom?: SbomReference;
  /** Version id of the XVA and of its manifest, on a versioned bucket. */
  readonly versionId?: string;
  readonly manifestVersionId?: string;
  /**
   * Earlier artifacts of this template still in the store, newest first: publication (components/
   * publication-plan.ts) decides which stay listed and which the index deletes; once gone they drop out of here.
   */
  readonly previous: readonly RetainedArtifact[];
  /**
   * What is left of artifacts that are no longer whole (an XVA gone or altered, its manifest still there): the
   * catalogue index deletes them once it has published an index that no longer lists them ("publish, then prune").
   * Dropped from this list once they are gone from the store.
   */
  readonly pruned: readonly RetainedArtifact[];
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
  /** How the object is compressed, its Content-Type, and the size of the tar inside. */
  readonly compression: ArtifactCompression;
  readonly contentType: string;
  readonly tarBytes: number;
  readonly sbom?: SbomReference;
  /** What changed since the template's stable build (else its newest published one). */
  readonly sbomChanges?: SbomChangeRecord;
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
/** Settings that change what is recorded or kept, or how the next export is made, not the stored object. */
const SETTING_KEYS = ["pool", "facts", "store", "compression"] as const;

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
    ...(o.xvaOs !== undefined ? { osDetected: o.xvaOs } : {}),
    ...(o.xvaCompression !== undefined ? { compression: o.xvaCompression } : {}),
    ...(o.sbom !== undefined ? { sbom: o.sbom } : {}),
  };
}

/** Every key an output set accounts for: the sweep leaves them alone. */
function knownKeys(o: Pick<ArtifactOutputs, "key" | "manifestKey" | "previous" | "pruned">): Set<string> {
  return new Set([o, ...(o.previous ?? []), ...(o.pruned ?? [])].flatMap((a) => [a.key, a.manifestKey]));
}

/**
 * The history after an update: every earlier artifact stays (publication decides what is kept), the old current
 * one joins it after a new export, and what is no longer whole (gone or altered) goes to the index for deletion.
 */
export function historyAfter(
  olds: ArtifactOutputs,
  currentKey: string,
  exported: boolean,
): { previous: RetainedArtifact[]; leftovers: RetainedArtifact[] } {
  const earlier = (olds.previous ?? []).filter((a) => a.missing !== true && a.key !== currentKey);
  const gone = (olds.previous ?? []).filter((a) => a.missing === true);
  const oldCurrent = exported && olds.key !== currentKey ? [retained(olds)] : [];
  const previous = olds.missing === true ? earlier : [...oldCurrent, ...earlier];
  const replaced = olds.missing === true ? oldCurrent : [];
  return { previous, leftovers: [...replaced, ...gone, ...(olds.pruned ?? [])] };
}

/** What one export produced, before it becomes the resource's outputs. */
interface ExportedObject {
  readonly key: string;
  readonly manifestKey: string;
  readonly timestamp: string;
  readonly upload: StreamUploadResult;
  readonly verification: XvaVerification;
  readonly contentType: string;
}

/** What an export stored beside the XVA: the SBOM and what changed since the published build. */
interface StoredSbom {
  readonly ref: SbomReference;
  readonly changes?: SbomChangeRecord;
}

/** An XVA export of a pool template, streamed into S3 and verified on the way, with its manifest. */
export class ArtifactProvider
  extends ProviderBase
  implements pulumi.dynamic.ResourceProvider<ArtifactInputs, ArtifactOutputs>
{
  protected readonly component = PREFIX;

  async diff(_id: string, olds: ArtifactOutputs, news: ArtifactInputs): Promise<pulumi.dynamic.DiffResult> {
    // A new build or a missing object is an update that exports again and keeps earlier artifacts (history);
    // only another store replaces the resource (its artifacts cannot move with it).
    const replaces = storeChanged(olds.store, news.store) ? ["store"] : [];
    const changed =
      needsExport(olds, news) ||
      (olds.previous ?? []).some((a) => a.missing === true) ||
      changedKeys(olds, news, SETTING_KEYS, "change").length > 0;
    // Leftovers of a crash or a failed export are found here, so the next `up` removes them.
    const strays = replaces.length > 0 || changed ? [] : await this.strays(olds);
    if (strays.length > 0)
      this.say(
        `${olds.templateName}: ${strays.length} object(s) or upload(s) left by a failed export will be removed`,
      );
    return diffResult(olds, news, { replaces, updates: changed || strays.length > 0 });
  }

  async create(inputs: ArtifactInputs): Promise<pulumi.dynamic.CreateResult<ArtifactOutputs>> {
    const outs = await this.export(inputs, [], [], []);
    await this.sweep(outs);
    return { id: outs.key, outs };
  }

  async update(
    _id: string,
    olds: ArtifactOutputs,
    news: ArtifactInputs,
  ): Promise<pulumi.dynamic.UpdateResult<ArtifactOutputs>> {
    const exported = needsExport(olds, news);
    // Export first: if it fails, the current artifact and its history stay as they are.
    // The SBOM of a re-export of the same build can be copied from an earlier export (providers/artifact-sbom.ts).
    const earlier: EarlierExport[] = [retained(olds), ...(olds.previous ?? [])];
    const fresh = exported ? await this.export(news, [], [], earlier) : { ...olds, ...news };
    const h = historyAfter(olds, fresh.key, exported);
    // Earlier artifacts the index pruned are gone from the store: they leave the history here.
    const previous = await this.stillStored(news.store, h.previous, "xva");
    const pruned = await this.stillStored(news.store, h.leftovers, "any");
    // `missing` is a refresh's finding about the old object: the new outputs describe what is stored now.
    const outs = defined<ArtifactOutputs>({ ...fresh, missing: undefined, previous, pruned });
    await this.sweep(outs);
    return { outs };
  }

  async delete(_id: string, props: ArtifactOutputs): Promise<void> {
    await this.remove(
      props.store,
      [retained(props), ...(props.previous ?? []), ...(props.pruned ?? [])],
      "delete",
    );
  }

  /** Exports the template into a new key, verified on the way, with its manifest; nothing is left on failure. */
  private async export(
    inputs: ArtifactInputs,
    previous: readonly RetainedArtifact[],
    pruned: readonly RetainedArtifact[],
    earlier: readonly EarlierExport[],
  ): Promise<ArtifactOutputs> {
    this.poolPassword(); // a missing secret fails before anything touches the store
    const keys = artifactKeys(
      inputs.store.prefix,
      inputs.os,
      inputs.version,
      inputs.templateName,
      new Date(),
    );
    const where = `s3://${inputs.store.bucket}/${keys.key}`;
    return this.withS3(inputs.store, async (s3) => {
      try {
        const exported = await this.withPool(inputs.pool, (x) => this.streamExport(x, s3, inputs, keys));
        const v = exported.verification;
        this.say(
          `${inputs.templateName}: ${where} complete: ${exported.upload.bytes} bytes ${v.compression} ` +
            `(${v.tarBytes} bytes of XVA), sha256 ${v.sha256.slice(0, 16)}…, ${v.chunks} chunks verified, ` +
            `provider peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`,
        );
        const sbom = await this.storeSbom(s3, inputs, keys.key, earlier);
        const manifestVersionId = await this.writeManifest(s3, inputs, exported, sbom);
        return this.outputs(inputs, exported, { previous, pruned, manifestVersionId, sbom: sbom?.ref });
      } catch (e) {
        // Nothing half-published: streamToS3 aborted an incomplete upload; a complete XVA whose manifest failed
        // and a manifest are removed here (and by the next up's sweep if this cleanup fails too).
        for (const key of [keys.manifestKey, siblingKey(keys.key, "sbom"), keys.key])
          await deleteAllVersions(s3, inputs.store.bucket, key).catch(() => undefined);
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
    const compression = inputs.compression ?? "none";
    const allocated = await this.allocatedBytes(x, inputs.templateUuid);
    const res = await x.getResource("/export", {
      uuid: inputs.templateUuid,
      use_compression: exportCompressionParam(compression),
    });
    if (res.statusCode !== 200) {
      res.body.resume();
      throw new ArtifactExportError(
        `${PREFIX}: GET /export of ${inputs.templateUuid} on ${inputs.pool.url} answered HTTP ` +
          `${res.statusCode}, expected 200. Check that the template still exists ('pulumi refresh').`,
      );
    }
    const verifier = createXvaVerifier();
    const contentType = artifactContentType(compression);
    const upload = await streamToS3(res.body, [verifier], {
      client: s3,
      bucket: inputs.store.bucket,
      key: at.key,
      // The export is bounded by the disks' virtual size plus the XVA's metadata and checksum entries.
      partSizeBytes: partSizeFor(inputs.virtualSizeBytes + 64 * 1024 * 1024),
      contentType,
      metadata: this.metadata(inputs),
      onProgress: this.exportProgress(inputs.templateName, verifier, allocated),
    });
    const verification = await verifier.verification;
    if (verification.compression !== compression)
      this.warn(
        `${inputs.templateName}: asked the pool for a ${compression} export, it sent ${verification.compression} ` +
          `(stored and recorded as sent). A pool before XCP-ng 8.3 exports no zstd: set compression: gzip.`,
      );
    return {
      ...at,
      upload,
      verification,
      contentType:
        verification.compression === compression
          ? contentType
          : artifactContentType(verification.compression),
    };
  }

  /**
   * Progress lines paced by providers/progress-pace.ts. xapi sends no length and a compressed size is unknown, so
   * the total is the disks' data as the pool counts it (VDI.physical_utilisation: what the export carries, give or
   * take its 1 MiB chunking), against the chunk data verified so far; when the pool does not say, the position in
   * the disks (through a sparse disk's holes the export goes faster than that says). And the bytes stored so far.
   */
  private exportProgress(
    template: string,
    verifier: XvaVerifier,
    allocatedBytes: number | undefined,
  ): (storedBytes: number) => void {
    let stored = 0;
    const pace = progressPacer(
      (elapsedMs) => {
        const p = verifier.progress();
        const progress =
          allocatedBytes !== undefined && allocatedBytes > 0
            ? `${progressLine(Math.min(p.dataBytes, allocatedBytes * 0.99), allocatedBytes, elapsedMs)} of the disks' data`
            : `${progressLine(p.diskBytesDone, p.diskBytesTotal, elapsedMs)} of the disks`;
        this.say(
          `${template}: export ${progress}; ${Math.round(stored / 1e6).toLocaleString("en-US")} MB stored`,
        );
      },
      { everyMs: progressPeriodMs(process.env) },
    );
    return (bytes) => {
      stored = bytes;
      // Paced on the stream's bytes (compressed or not), not on what is stored: parts are stored 8 MiB at a time.
      if (verifier.progress().diskBytesTotal > 0) pace(verifier.progress().streamBytes);
    };
  }

  /** The bytes the pool has allocated to the template's disks, or undefined when it cannot say. */
  private async allocatedBytes(x: XapiSession, templateUuid: string): Promise<number | undefined> {
    try {
      const facts = await findByUuid(x, templateUuid);
      if (facts === undefined) return undefined;
      let total = 0;
      for (const d of facts.disks)
        total += Number(await x.read<string | number>("VDI.get_physical_utilisation", d.vdiRef));
      return Number.isFinite(total) && total > 0 ? total : undefined;
    } catch {
      return undefined; // only the progress line's total: the export itself says what is wrong with the pool
    }
  }

  /** Stores the build's SBOM beside the XVA and says what changed since the published build; none without one. */
  private async storeSbom(
    s3: S3Client,
    inputs: ArtifactInputs,
    xvaKey: string,
    earlier: readonly EarlierExport[],
  ): Promise<StoredSbom | undefined> {
    const t = inputs.templateName;
    const buildId = inputs.facts.buildId;
    if (inputs.buildSbom === undefined) {
      this.say(`${t}: no SBOM stored (the build wrote none)`);
      return undefined;
    }
    const stored = await storeBuildSbom(
      s3,
      inputs.store,
      { xvaKey, buildId, template: t },
      inputs.buildSbom,
      earlier,
      this.metadata(inputs),
    );
    const at = `s3://${inputs.store.bucket}/${stored.ref.key}`;
    const copied = stored.from.startsWith("s3://") ? ` (copied from ${stored.from}, the same build)` : "";
    const head = `${t}: SBOM of ${stored.ref.packages} packages at ${at}${copied}`;
    const since = await changesSincePublished(s3, inputs.store, t, buildId, stored.json);
    const section = { template: t, buildId, packages: stored.ref.packages, sbomAt: at };
    if ("none" in since) {
      this.say(`${head}; nothing to compare with (${since.none})`);
      appendChangesSummary(process.env, changesSummarySection({ ...section, since: since.none }));
      return { ref: stored.ref };
    }
    const [summary = "", ...lines] = renderSbomDiffText(since.diff, { maxLines: 12 }).split("\n");
    const against = since.record.against;
    this.say(`${head}; since the ${against.channel ?? "published"} build ${against.buildId}: ${summary}`);
    for (const l of lines) this.say(`${t}: ${l}`);
    appendChangesSummary(
      process.env,
      changesSummarySection({ ...section, since: { ...against, diff: since.diff } }),
    );
    return { ref: stored.ref, changes: since.record };
  }

  private metadata(inputs: ArtifactInputs): Record<string, string> {
    return {
      "xcpng-template": inputs.templateName,
      "xcpng-build-id": inputs.facts.buildId,
      [STACK_METADATA]: inputs.store.stack,
    };
  }

  async read(id: string, props?: ArtifactOutputs): Promise<pulumi.dynamic.ReadResult<ArtifactOutputs>> {
    if (!props) return {};
    const where = `s3://${props.store.bucket}/${props.key}`;
    return this.withS3(props.store, async (s3) => {
      try {
        const head = await s3.send(new HeadObjectCommand({ Bucket: props.store.bucket, Key: props.key }));
        if (head.ContentLength !== props.sizeBytes || (props.etag && head.ETag !== props.etag)) {
          this.say(`${where} was altered (size or ETag differs): it will be exported again`);
          return { id, props: { ...props, missing: true } };
        }
        await s3.send(new HeadObjectCommand({ Bucket: props.store.bucket, Key: props.manifestKey }));
        return { id, props: { ...props, previous: await this.markMissing(s3, props) } };
      } catch (e) {
        if (!isNotFound(e)) throw s3Failure(e, `${PREFIX}: reading ${where}`);
        this.say(`${where} or its manifest is missing: it will be exported again`);
        return { id, props: { ...props, missing: true, previous: await this.markMissing(s3, props) } };
      }
    });
  }

  /**
   * Marks the earlier artifacts whose XVA is gone from the store: they drop out of retention and the index, and
   * the next `up` hands what is left of them (their manifests) to the index for deletion.
   */
  private async markMissing(s3: S3Client, props: ArtifactOutputs): Promise<RetainedArtifact[]> {
    const earlier = props.previous ?? [];
    const present = await Promise.all(earlier.map((a) => this.exists(s3, props.store, a.key)));
    return earlier.map((a, i) => {
      if (present[i]) return a;
      this.say(`earlier artifact s3://${props.store.bucket}/${a.key} is gone: no longer retained`);
      return { ...a, missing: true };
    });
  }

  private async exists(s3: S3Client, store: ArtifactStore, key: string): Promise<boolean> {
    return s3.send(new HeadObjectCommand({ Bucket: store.bucket, Key: key })).then(
      () => true,
      (e: unknown) => {
        if (isNotFound(e)) return false;
        throw s3Failure(e, `${PREFIX}: reading s3://${store.bucket}/${key}`);
      },
    );
  }

  /** The artifacts of `list` whose XVA (or, with "any", XVA or manifest) is still in the store, in order. */
  private async stillStored(
    store: ArtifactStore,
    list: readonly RetainedArtifact[],
    what: "xva" | "any",
  ): Promise<RetainedArtifact[]> {
    if (list.length === 0) return [];
    return this.withS3(store, async (s3) => {
      const out: RetainedArtifact[] = [];
      for (const a of list) {
        if (out.some((o) => o.key === a.key)) continue;
        const present =
          (await this.exists(s3, store, a.key)) ||
          (what === "any" && (await this.exists(s3, store, a.manifestKey)));
        if (present) out.push(a);
      }
      return out;
    });
  }

  /** This template's leftovers in the store (a seam: unit tests answer it without a store). */
  protected strays(o: ArtifactOutputs): Promise<Stray[]> {
    return this.withS3(o.store, (s3) =>
      findStrays(s3, o.store, { os: o.os, version: o.version, template: o.templateName }, knownKeys(o)),
    ).catch((e: unknown) => {
      throw s3Failure(e, `${PREFIX}: listing the keys of ${o.templateName} in s3://${o.store.bucket}`);
    });
  }

  /** Removes the strays of this template: never published, so they go at once. */
  private async sweep(o: ArtifactOutputs): Promise<void> {
    const strays = await this.strays(o);
    if (strays.length === 0) return;
    await this.withS3(o.store, (s3) => removeStrays(s3, o.store, strays));
    for (const s of strays)
      this.say(
        `removed ${s.kind === "upload" ? "incomplete upload of " : ""}s3://${o.store.bucket}/${s.key} (left by a failed export)`,
      );
  }

  /** Deletes artifacts for good (every version of every file of each); missing ones are fine. */
  private async remove(
    store: ArtifactStore,
    artifacts: readonly RetainedArtifact[],
    why: string,
  ): Promise<void> {
    if (artifacts.length === 0) return;
    await this.withS3(store, async (s3) => {
      for (const a of artifacts) {
        await removeArtifactFiles(s3, store.bucket, a).catch((e: unknown) => {
          throw s3Failure(e, `${PREFIX}: deleting s3://${store.bucket}/${a.key} (${why})`);
        });
        this.say(`deleted s3://${store.bucket}/${a.key} and its manifest (${why})`);
      }
    });
  }

  private outputs(
    inputs: ArtifactInputs,
    r: ExportedObject,
    rest: {
      previous: readonly RetainedArtifact[];
      pruned: readonly RetainedArtifact[];
      manifestVersionId: string | undefined;
      sbom: SbomReference | undefined;
    },
  ): ArtifactOutputs {
    return defined<ArtifactOutputs>({
      ...inputs,
      key: r.key,
      manifestKey: r.manifestKey,
      sha256: r.verification.sha256,
      sizeBytes: r.upload.bytes,
      etag: r.upload.etag,
      versionId: r.upload.versionId,
      manifestVersionId: rest.manifestVersionId,
      exportedAt: new Date().toISOString(),
      xvaOs: xvaOsOf(r.verification),
      chunksVerified: r.verification.chunks,
      xvaCompression: r.verification.compression,
      sbom: rest.sbom,
      previous: [...rest.previous],
      pruned: [...rest.pruned],
    });
  }

  /** Writes the manifest beside the XVA; returns its version id on a versioned bucket. */
  private async writeManifest(
    s3: S3Client,
    inputs: ArtifactInputs,
    r: ExportedObject,
    sbom: StoredSbom | undefined,
  ): Promise<string | undefined> {
    const manifest: ArtifactManifest = {
      schema: "xcpng-templates/manifest@1",
      template: inputs.templateName,
      os: inputs.os,
      version: inputs.version,
      timestamp: r.timestamp,
      key: r.key,
      sha256: r.verification.sha256,
      sizeBytes: r.upload.bytes,
      osDetected: { xva: xvaOsOf(r.verification), pool: inputs.facts.poolOs },
      build: inputs.facts,
      chunksVerified: r.verification.chunks,
      templateUuid: inputs.templateUuid,
      compression: r.verification.compression,
      contentType: r.contentType,
      tarBytes: r.verification.tarBytes,
      ...(sbom !== undefined ? { sbom: sbom.ref } : {}),
      ...(sbom?.changes !== undefined ? { sbomChanges: sbom.changes } : {}),
    };
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: inputs.store.bucket,
        Key: r.manifestKey,
        Body: JSON.stringify(manifest, null, 2),
        ContentType: "application/json",
        Metadata: this.metadata(inputs),
      }),
    );
    return put.VersionId;
  }
}

export class Artifact extends pulumi.dynamic.Resource {
  declare readonly key: pulumi.Output<string>;
  declare readonly manifestKey: pulumi.Output<string>;
  declare readonly sha256: pulumi.Output<string>;
  declare readonly sizeBytes: pulumi.Output<number>;
  declare readonly exportedAt: pulumi.Output<string>;
  declare readonly xvaOs: pulumi.Output<string>;
  declare readonly xvaCompression: pulumi.Output<ArtifactCompression | undefined>;
  declare readonly sbom: pulumi.Output<SbomReference | undefined>;
  declare readonly previous: pulumi.Output<RetainedArtifact[]>;
  declare readonly pruned: pulumi.Output<RetainedArtifact[]>;

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
        xvaCompression: undefined,
        sbom: undefined,
        versionId: undefined,
        manifestVersionId: undefined,
        previous: undefined,
        pruned: undefined,
        ...args,
      },
      opts,
      "xcpng",
      "Artifact",
    );
  }
}
