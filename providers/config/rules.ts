/**
 * The one table of value rules. The stack configuration and the providers' `check()` validate with it, and a test
 * (rules.test.ts) checks that `packer/build.sh` and every HCL `validation` block enforce the same patterns, so a
 * value `preview` accepts is never refused by the build, and the reverse.
 *
 * Patterns are written so they mean the same in JavaScript, bash `[[ =~ ]]` (POSIX ERE) and HCL `regex()` (RE2):
 * anchors, bracket expressions and bounded repetition only.
 */
export interface ValueRule {
  /** Anchored pattern, the same text in build.sh and the HCL files that enforce it. */
  readonly pattern: RegExp;
  /** What is expected, as the message says it: "expected <expected>, but ... was provided". */
  readonly expected: string;
  /** Values that pass and values that fail, as examples in tests and messages. */
  readonly examples: { readonly valid: readonly string[]; readonly invalid: readonly string[] };
  /** Extra test beyond the pattern (for rules a regular expression cannot say). */
  readonly also?: (v: string) => boolean;
}

export const RULES = {
  /** A catalogue template's name: the pool template's name prefix, the artifact's file name, Packer's template_name. */
  templateName: {
    pattern: /^[a-z0-9][a-z0-9.-]{0,62}$/,
    expected: "1-63 lowercase letters, digits, '.' or '-', starting with a letter or digit (e.g. debian-12)",
    examples: {
      valid: ["debian-12", "ubuntu-24.04", "a"],
      invalid: ["debian_12", "Debian-12", "-x", "", "a".repeat(64)],
    },
  },
  /** A build's id: tags the pool template (`build-id:<id>`) and names its artifact's build. */
  buildId: {
    pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    expected: "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
    examples: {
      valid: ["20260101T000000Z-abc123", "b1", "x".repeat(64)],
      invalid: ["", "-b", "a b", "x".repeat(65), "id/1"],
    },
  },
  /** An OS version as the catalogue declares it and guest metrics report it. */
  osVersion: {
    pattern: /^[0-9]+(\.[0-9]+)*$/,
    expected: 'a quoted version such as "12" or "24.04"',
    examples: { valid: ["12", "13", "24.04", "24.10"], invalid: ["", "12.", "v12", "bookworm"] },
  },
  /** An S3 bucket name (S3's naming rules: 3-63 characters, no IP-address form). */
  bucketName: {
    pattern: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    expected: "3-63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit",
    examples: { valid: ["xcpng-templates", "a.b.c"], invalid: ["ab", "UPPER", "10.0.0.1", "-ab", "a_b"] },
    also: (v: string) => !/^\d+\.\d+\.\d+\.\d+$/.test(v),
  },
  /** The prefix of every key a stack writes in the bucket (providers/layout.ts); "" means the bucket root. */
  keyPrefix: {
    pattern: /^([A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*)?$/,
    expected:
      "path segments of letters, digits, '.', '_' or '-' separated by '/', without a leading or trailing '/' (e.g. prod or sites/paris), or \"\" for the bucket root",
    examples: {
      valid: ["dev", "sites/paris", "prod-1.2", ""],
      invalid: ["/dev", "dev/", "a//b", "a b", "../x"],
    },
  },
  /** A fleet pool's name: in resource names, messages and its password's key (`fleetPoolPasswords.<name>`). */
  fleetPoolName: {
    pattern: /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/,
    expected: "1-63 letters, digits, '_' or '-', starting with a letter or digit (e.g. paris or site-b)",
    examples: { valid: ["paris", "site-b", "Lab_2"], invalid: ["", "-x", "a.b", "a b", "x".repeat(64)] },
  },
  /** A user name for the temporary build user (POSIX portable user name). */
  buildUsername: {
    pattern: /^[a-z_][a-z0-9_-]{0,30}$/,
    expected:
      "a POSIX user name: 1-31 lowercase letters, digits, '_' or '-', not starting with a digit or '-'",
    examples: { valid: ["xcpng-build", "_b"], invalid: ["1user", "Root", "", "u".repeat(32)] },
  },
} as const satisfies Record<string, ValueRule>;

export type RuleName = keyof typeof RULES;

/** Whether `v` satisfies the rule. */
export function satisfies(rule: ValueRule, v: string): boolean {
  return rule.pattern.test(v) && (rule.also?.(v) ?? true);
}

/** The failure reason for a value that breaks the rule, or undefined when it satisfies it. */
export function ruleFailure(rule: ValueRule, v: unknown): string | undefined {
  if (typeof v === "string" && satisfies(rule, v)) return undefined;
  return `expected ${rule.expected}, but ${JSON.stringify(v)} was provided`;
}
