/**
 * The NoCloud seed of a clone (cloud-init's `cidata` data source, as Xen Orchestra's config drive): a one-time
 * user with the run's public key and a hostname. Nothing in it can be reused: the user has no password, the key's
 * private half never leaves the run's work directory, and both die with the run.
 *
 * The seed deliberately sets nothing the image is responsible for (no `ssh_pwauth`, no `disable_root`, no
 * `manage_etc_hosts`, no locale, no host key types): the checks must see the image's own behaviour.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { dump } from "js-yaml";
import { AcceptanceInputError } from "./errors";
import { runTool } from "./process";

/** The two files of a NoCloud seed. */
export interface NoCloudSeed {
  readonly userData: string;
  readonly metaData: string;
}

export interface SeedInput {
  /** cloud-init's instance id: a new one makes cloud-init treat the boot as a first boot. */
  readonly instanceId: string;
  readonly hostname: string;
  readonly user: string;
  /** One OpenSSH public key line (`ssh-ed25519 AAAA… comment`). */
  readonly publicKey: string;
}

const USER = /^[a-z_][a-z0-9_-]{0,30}$/;
const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const PUBLIC_KEY = /^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/=]+( [^\n]*)?$/;

/** The user-data and meta-data of a clone. Throws {@link AcceptanceInputError} on a value cloud-init would mangle. */
export function nocloudSeed(input: SeedInput): NoCloudSeed {
  if (!USER.test(input.user)) {
    throw new AcceptanceInputError(`seed user must be a POSIX user name, but "${input.user}" was given`);
  }
  if (!HOSTNAME.test(input.hostname)) {
    throw new AcceptanceInputError(
      `seed hostname must be one DNS label (a-z, 0-9, '-', at most 63), but "${input.hostname}" was given`,
    );
  }
  const key = input.publicKey.trim();
  if (!PUBLIC_KEY.test(key)) {
    throw new AcceptanceInputError("seed public key is not one OpenSSH public key line (ssh-ed25519 AAAA…)");
  }
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(input.instanceId)) {
    throw new AcceptanceInputError(
      `seed instance id must be [A-Za-z0-9._-]{1,128}, but "${input.instanceId}" was given`,
    );
  }
  const userData = {
    // Top-level keys go to the distribution's default user and, as cloud-init's `disable_root` stub ("Please
    // login as ..."), to root: as with a user's real seed. The check "root login refused" then proves that sshd
    // refuses root, not merely that root has no key.
    ssh_authorized_keys: [key],
    users: [
      {
        name: input.user,
        gecos: "xcpng-templates acceptance (one run)",
        shell: "/bin/bash",
        lock_passwd: true,
        sudo: "ALL=(ALL) NOPASSWD:ALL",
        ssh_authorized_keys: [key],
      },
    ],
  };
  return {
    userData: `#cloud-config\n${dump(userData, { lineWidth: -1 })}`,
    metaData: dump({ "instance-id": input.instanceId, "local-hostname": input.hostname }, { lineWidth: -1 }),
  };
}

/**
 * Writes the seed as an ISO 9660 image labelled `cidata` with `cloud-localds` (cloud-image-utils), the medium
 * cloud-init's NoCloud source finds on any block device.
 */
export async function writeSeedImage(seed: NoCloudSeed, dir: string, name: string): Promise<string> {
  const src = path.join(dir, `${name}-seed`);
  await fs.mkdir(src, { recursive: true, mode: 0o700 });
  await fs.writeFile(path.join(src, "user-data"), seed.userData, { mode: 0o600 });
  await fs.writeFile(path.join(src, "meta-data"), seed.metaData, { mode: 0o600 });
  const image = path.join(dir, `${name}-seed.iso`);
  await runTool("cloud-localds", [image, path.join(src, "user-data"), path.join(src, "meta-data")]);
  await fs.rm(src, { recursive: true, force: true });
  return image;
}
