/**
 * Boot acceptance of a template: the stored XVA is unpacked (every chunk verified), two clones boot from
 * copy-on-write overlays with a one-time NoCloud seed, and the OS family's checks run over SSH. See README.md.
 *
 * Entry point: {@link runAcceptance}. Seam for another place to boot: {@link BootPlace}.
 */
export { type AcceleratorChoice, chooseAccelerator, kvmProbeImage } from "./accelerator";
export type { BootPlace, CloneExit, CloneSpec, PreparedImage, RunningClone } from "./boot-place";
export { CHECK_TABLES, checksFor } from "./checks/tables";
export type {
  Check,
  CheckContext,
  CheckStatus,
  CommandOutput,
  GuestAgentExpectation,
  Verdict,
} from "./checks/types";
export {
  AcceptanceArtifactError,
  AcceptanceBootError,
  AcceptanceFailedError,
  AcceptanceInputError,
  AcceptanceToolError,
} from "./errors";
export { type QemuImage, type QemuPlaceOptions, QemuBootPlace, createQemuBootPlace } from "./qemu";
export { limitsFor, runAcceptance } from "./run";
export { type NoCloudSeed, nocloudSeed } from "./seed";
export type {
  Accelerator,
  AcceptanceOptions,
  AcceptancePhase,
  AcceptanceProgress,
  AcceptanceResult,
  CheckResult,
  CloneResult,
  XvaSource,
} from "./types";
