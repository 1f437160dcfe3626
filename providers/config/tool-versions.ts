import * as fs from "node:fs";
import * as path from "node:path";

/** Pins of tools/versions.env (the one place versions are written), as name → version. */
export function readPins(projectRoot: string): Record<string, string> {
  const out: Record<string, string> = {};
  const text = fs.readFileSync(path.join(projectRoot, "tools/versions.env"), "utf8");
  for (const line of text.split("\n")) {
    const m = /^([A-Z0-9_]+)=(\S+)/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) out[m[1]] = m[2];
  }
  return out;
}

/** The tool versions that shape an image: a change rebuilds every template. */
export function imageToolVersions(projectRoot: string): string {
  const p = readPins(projectRoot);
  return [
    `packer ${p.PACKER_VERSION ?? "?"}`,
    `xenserver-plugin ${p.XENSERVER_PLUGIN_VERSION ?? "none"}`,
  ].join(", ");
}
