/** One built template, as the program exports it (`built` stack output). */
export interface BuiltRow {
  readonly name: string;
  readonly poolUuid?: string;
  readonly osDetected?: string;
  readonly s3Key?: string;
  readonly sha256?: string;
  readonly sizeBytes?: number;
  readonly buildTime?: string;
  readonly channels?: { readonly candidate?: string; readonly stable?: string };
}

/** One template's channel on one fleet pool (`fleetReplicas` stack output). */
export interface ReplicaRow {
  readonly pool?: string;
  readonly template?: string;
  readonly channel?: string;
  readonly buildId?: string;
  readonly uuid?: string;
}

/** Renders rows as a fixed-width text table. */
export function renderTable(rows: readonly BuiltRow[]): string {
  const cols: [keyof BuiltRow, string][] = [
    ["name", "TEMPLATE"],
    ["channels", "STABLE"],
    ["poolUuid", "POOL UUID"],
    ["osDetected", "OS DETECTED"],
    ["s3Key", "S3 KEY"],
    ["sha256", "SHA-256"],
    ["sizeBytes", "SIZE"],
    ["buildTime", "BUILT"],
  ];
  const cell = (r: BuiltRow, k: keyof BuiltRow): string => {
    if (k === "channels") return r.channels?.stable ?? "(none yet)";
    const v = r[k];
    if (v === undefined || typeof v === "object") return "-";
    if (k === "sha256") return String(v).slice(0, 16);
    if (k === "sizeBytes") return `${(Number(v) / 1048576).toFixed(1)} MiB`;
    return String(v);
  };
  const widths = cols.map(([k, h]) => Math.max(h.length, ...rows.map((r) => cell(r, k).length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(cols.map(([, h]) => h)), ...rows.map((r) => line(cols.map(([k]) => cell(r, k))))].join("\n");
}

export function printCatalogue(outputs: Record<string, unknown>): void {
  const built = Array.isArray(outputs.built) ? (outputs.built as BuiltRow[]) : [];
  if (typeof outputs.bucketName === "string") console.log(`\nartifact bucket: s3://${outputs.bucketName}`);
  console.log(built.length > 0 ? `\n${renderTable(built)}\n` : "\nno template built yet\n");
  const replicas = Array.isArray(outputs.fleetReplicas) ? (outputs.fleetReplicas as ReplicaRow[]) : [];
  if (replicas.length > 0) console.log(`fleet:\n${renderReplicas(replicas)}\n`);
}

/** The fleet's replicas as a fixed-width text table. */
export function renderReplicas(rows: readonly ReplicaRow[]): string {
  const cols: [keyof ReplicaRow, string][] = [
    ["pool", "POOL"],
    ["template", "TEMPLATE"],
    ["channel", "CHANNEL"],
    ["buildId", "BUILD"],
    ["uuid", "REPLICA UUID"],
  ];
  const cell = (r: ReplicaRow, k: keyof ReplicaRow) =>
    r[k] === undefined || r[k] === "" ? "-" : String(r[k]);
  const widths = cols.map(([k, h]) => Math.max(h.length, ...rows.map((r) => cell(r, k).length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(cols.map(([, h]) => h)), ...rows.map((r) => line(cols.map(([k]) => cell(r, k))))].join("\n");
}
