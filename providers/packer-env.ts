/**
 * The environment Packer runs with: an allowlist, not the provider's own environment, which holds the stack's
 * passphrase, Pulumi tokens and cloud credentials that neither Packer nor anything it starts needs.
 */

/** Variables passed through by exact name: what a shell, Go, Node, apt and debootstrap need to run. */
const PASS_NAMES = new Set([
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "SHELL",
  "LANG",
  "LANGUAGE",
  "TZ",
  "TMPDIR",
  "TERM",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "XDG_CACHE_HOME",
  "XDG_CONFIG_HOME",
  "XDG_RUNTIME_DIR",
  "TOOLS_HOME",
  "CHECKPOINT_DISABLE",
]);

/** Variables passed through by prefix: locale, Packer's own settings, template variables, the project's switches. */
const PASS_PREFIXES = ["LC_", "PACKER_", "PKR_VAR_", "XCPNG_"];

/** Names of the provider's environment that hold credentials: never passed on, and masked in every log line. */
const SECRET_NAME = /(PASSPHRASE|PASSWORD|SECRET|TOKEN|CREDENTIAL|PRIVATE_KEY|ACCESS_KEY)/i;

/** Whether a variable of the provider's environment may reach Packer. */
export function passesToPacker(name: string): boolean {
  // Template variables the build itself sets (PKR_VAR_pool_password) are added after this filter; one of the
  // provider's own environment that looks like a secret is not passed on, whatever its prefix.
  if (SECRET_NAME.test(name)) return false;
  return PASS_NAMES.has(name) || PASS_PREFIXES.some((p) => name.startsWith(p));
}

/** The build's environment: the allowed part of `parent`, then the build's own variables (which win). */
export function packerEnvironment(
  parent: NodeJS.ProcessEnv,
  own: Readonly<Record<string, string>>,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(parent)) if (v !== undefined && passesToPacker(k)) env[k] = v;
  return { ...env, ...own };
}

/** Values of the provider's environment that look like credentials: masked in the build log like stack secrets. */
export function environmentSecrets(parent: NodeJS.ProcessEnv): string[] {
  return Object.entries(parent)
    .filter(([k, v]) => v !== undefined && v !== "" && SECRET_NAME.test(k))
    .map(([, v]) => v as string);
}
