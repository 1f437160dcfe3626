import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** One entry per path: type, mode, owner and content hash (or link target); no times, which always change. */
export type Manifest = ReadonlyMap<string, string>;

/** Top-level directories of a root filesystem that are mount points at run time, never content. */
export const VIRTUAL_DIRS: readonly string[] = ["/proc", "/sys", "/dev", "/run"];

function hashFile(file: string): string {
  const h = createHash("sha256");
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest("hex");
}

/** Walks a tree without following links and records every file, directory and link under it. */
export function treeManifest(root: string, exclude: readonly string[] = VIRTUAL_DIRS): Manifest {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    const abs = path.join(root, rel);
    const st = fs.lstatSync(abs);
    const meta = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
    if (st.isSymbolicLink()) {
      out.set(rel, `link ${meta} -> ${fs.readlinkSync(abs)}`);
    } else if (st.isDirectory()) {
      out.set(rel, `dir ${meta}`);
      for (const name of fs.readdirSync(abs).sort()) {
        const child = `${rel === "/" ? "" : rel}/${name}`;
        if (!exclude.includes(child)) walk(child);
      }
    } else if (st.isFile()) {
      out.set(rel, `file ${meta} ${hashFile(abs)}`);
    } else {
      out.set(rel, `special ${meta} ${st.rdev}`);
    }
  };
  walk("/");
  return out;
}

/** Paths whose entry differs between two manifests (added, removed or changed), sorted. */
export function manifestDiff(a: Manifest, b: Manifest): string[] {
  const changed = new Set<string>();
  for (const [k, v] of a) if (b.get(k) !== v) changed.add(k);
  for (const k of b.keys()) if (!a.has(k)) changed.add(k);
  return [...changed].sort();
}
