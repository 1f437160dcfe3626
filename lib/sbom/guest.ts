import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import * as tar from "tar-stream";
import type { PackageDatabase } from "./cyclonedx";
import { SbomInputError } from "./errors";
import { rootfsPackageDatabase } from "./rootfs";
import { messageOf } from "../errors";

/**
 * The package database of a running guest (the pool path, before cleanup): a command run in the guest writes the
 * few files the SBOM reads as one gzip'd tar, and {@link withGuestPackageDatabase} reads that tar back as a
 * {@link PackageDatabase}, through the same code as a root filesystem.
 */

/**
 * A POSIX shell command, run as root in the guest, that writes to `output` ("-": standard output) a gzip'd tar of
 * what the SBOM reads: dpkg's status, os-release (both places), each package's copyright file and the links
 * between doc directories. A few MB for a server image; GNU tar, as Debian and Ubuntu have. `root` is for tests.
 */
export function guestCollectCommand(output = "-", root = "/"): string {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  return (
    `cd ${q(root)} && { echo var/lib/dpkg/status; ` +
    `for f in etc/os-release usr/lib/os-release; do if [ -e "$f" ] || [ -L "$f" ]; then echo "$f"; fi; done; ` +
    `find usr/share/doc -mindepth 1 -maxdepth 1 -type l; ` +
    `find usr/share/doc -mindepth 2 -maxdepth 2 -name copyright; ` +
    `} | tar -c -z --no-recursion -T - -f ${q(output)}`
  );
}

/** The entries of the collected tar that are read; anything else in it is skipped. */
const WANTED = [
  /^var\/lib\/dpkg\/status$/,
  /^(etc|usr\/lib)\/os-release$/,
  /^usr\/share\/doc\/[a-z0-9][a-z0-9+.-]*$/, // a link between doc directories
  /^usr\/share\/doc\/[a-z0-9][a-z0-9+.-]*\/copyright$/,
];
/** Limits on what one guest may hand over: dpkg's status of a large desktop is ~3 MB, all copyrights ~20 MB. */
const MAX_FILE_BYTES = 32 * 1024 * 1024;
const MAX_TOTAL_BYTES = 256 * 1024 * 1024;

/**
 * Extracts `archive` (what {@link guestCollectCommand} wrote) into a temporary directory, gives `use` the package
 * database read from it, and removes the directory when `use` settles. Only regular files and links of the wanted
 * names are written, never through a link, so a hostile tar cannot write outside the directory; the links are
 * followed inside it later, confined as in a root filesystem.
 */
export async function withGuestPackageDatabase<T>(
  archive: Readable | Buffer,
  use: (db: PackageDatabase) => Promise<T>,
  options?: {
    /** Where the temporary directory is made. @default os.tmpdir() */
    readonly tmpDir?: string;
  },
): Promise<T> {
  const dir = await fs.mkdtemp(path.join(options?.tmpDir ?? os.tmpdir(), "sbom-guest-"));
  try {
    await extractWanted(Buffer.isBuffer(archive) ? Readable.from([archive]) : archive, dir);
    return await use(await rootfsPackageDatabase(dir));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function extractWanted(input: Readable, dir: string): Promise<void> {
  const extract = tar.extract();
  const gunzip = createGunzip();
  const failed = (e: unknown): SbomInputError =>
    new SbomInputError(
      "BAD_ARCHIVE",
      `the package database collected in the guest is not a gzip'd tar (${messageOf(e)}); expected what ` +
        `guestCollectCommand writes: collect it again`,
      { cause: e },
    );
  input.on("error", (e) => extract.destroy(e));
  gunzip.on("error", (e) => extract.destroy(e));
  input.pipe(gunzip).pipe(extract);
  let total = 0;
  try {
    for await (const entry of extract) {
      const name = entry.header.name.replace(/^(\.\/|\/)+/, "").replace(/\/+$/, "");
      const wanted = WANTED.some((re) => re.test(name)) && !(await throughLink(dir, name));
      if (wanted && entry.header.type === "symlink" && entry.header.linkname) {
        await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
        await fs.symlink(entry.header.linkname, path.join(dir, name)).catch(ignoreExisting);
      } else if (wanted && entry.header.type === "file") {
        const size = entry.header.size ?? 0;
        total += size;
        if (size > MAX_FILE_BYTES || total > MAX_TOTAL_BYTES) {
          throw new SbomInputError(
            "BAD_ARCHIVE",
            `the package database collected in the guest is too large (${name}: ${size} bytes, ${total} in all; ` +
              `at most ${MAX_FILE_BYTES} per file and ${MAX_TOTAL_BYTES} in all)`,
          );
        }
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
        await fs.writeFile(path.join(dir, name), Buffer.concat(chunks), { flag: "wx" }).catch(ignoreExisting);
        continue;
      }
      entry.resume();
    }
  } catch (e) {
    throw e instanceof SbomInputError ? e : failed(e);
  }
}

/** True when a parent of `name` under `dir` is a link (writing there would follow it). */
async function throughLink(dir: string, name: string): Promise<boolean> {
  const parts = name.split("/").slice(0, -1);
  for (let i = 1; i <= parts.length; i++) {
    const st = await fs.lstat(path.join(dir, ...parts.slice(0, i))).catch(() => undefined);
    if (st === undefined) return false;
    if (st.isSymbolicLink()) return true;
  }
  return false;
}

/** A second entry of the same name keeps the first: a tar built by the command has none. */
function ignoreExisting(e: unknown): void {
  if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
}
