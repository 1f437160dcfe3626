import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** Everything that shapes one template's image, by content. */
export interface TemplateSources {
  /** Project-relative path → SHA-256 of the file's content, sorted by path. */
  readonly files: Readonly<Record<string, string>>;
  /** One SHA-256 over the files and the tool versions. */
  readonly hash: string;
}

// Path-like tokens inside HCL or shell: optional ${path.root}/ prefix, then a relative path.
const TOKEN = /(?:\$\{path\.root\}\/)?((?:\.\.?\/)*[A-Za-z0-9_][A-Za-z0-9_./-]*)/g;
const TEXT_EXT = /\.(hcl|sh|cfg|ya?ml|json|txt|seed|conf|pkrvars\.hcl)$/;

function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

function walk(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? walk(path.join(dir, e.name)) : e.isFile() ? [path.join(dir, e.name)] : [],
    );
}

/**
 * Collects the files a Packer template uses: its HCL (a file, or every *.pkr.hcl of a directory), its variable
 * file, and, transitively, every file or directory under `packer/` that those files name (scripts, preseed
 * and autoinstall directories, helpers a script sources). Candidates are resolved against the naming file's
 * directory, the template's directory and the packer root, so both `${path.root}/../common/x.sh` and
 * `debian/install_guest_agent.sh` (a var-file entry) are found. Names that resolve to nothing are ignored.
 */
export function collectTemplateSources(
  projectRoot: string,
  packerTemplate: string,
  varFile: string | undefined,
  toolVersions: string,
): TemplateSources {
  const packerRoot = path.join(projectRoot, "packer");
  const tmpl = path.resolve(projectRoot, packerTemplate);
  const tmplDir = fs.statSync(tmpl).isDirectory() ? tmpl : path.dirname(tmpl);
  const roots = fs.statSync(tmpl).isDirectory()
    ? fs
        .readdirSync(tmpl)
        .filter((f) => f.endsWith(".pkr.hcl"))
        .map((f) => path.join(tmpl, f))
    : [tmpl];
  if (varFile !== undefined) roots.push(path.resolve(projectRoot, varFile));

  const seen = new Set<string>();
  const queue = [...roots];
  while (queue.length > 0) {
    const file = queue.shift() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!TEXT_EXT.test(file)) continue;
    const text = fs.readFileSync(file, "utf8");
    for (const m of text.matchAll(TOKEN)) {
      const rel = m[1];
      if (!rel || !/[/.]/.test(rel)) continue;
      for (const base of [path.dirname(file), tmplDir, packerRoot]) {
        const cand = path.resolve(base, rel);
        if (!cand.startsWith(packerRoot + path.sep) || !fs.existsSync(cand)) continue;
        if (fs.statSync(cand).isDirectory()) queue.push(...walk(cand));
        else queue.push(cand);
        break;
      }
    }
  }
  const files: Record<string, string> = {};
  for (const f of [...seen].sort()) {
    files[path.relative(projectRoot, f).split(path.sep).join("/")] = sha256(fs.readFileSync(f));
  }
  const hash = sha256(
    Object.entries(files)
      .map(([p, h]) => `${p}\0${h}\n`)
      .join("") + `tools\0${toolVersions}\n`,
  );
  return { files, hash };
}
