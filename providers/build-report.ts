import * as fs from "node:fs";
import { classifyBuildLine } from "./build-output";
import { formatSeconds } from "./transfer-progress";

/**
 * What `up` shows of one build, and the build's full log.
 *
 * Every line of build.sh's output (masked) is appended to the log file. By default only the lines that mark a
 * step, a transfer's progress or a warning are shown, each with the time since the build
 * started (`[+1 min 05 s] provision`); with `verbose` every line is shown as it comes. Either way a line is shown
 * at most once. `finish` gives the closing line: how long it took and where the log is.
 */
export class BuildReport {
  private readonly started: number;
  private readonly log: number;
  private steps = 0;

  constructor(
    private readonly opts: {
      /** Template name: every shown line starts with it. */
      readonly label: string;
      /** The build's log file, created (or truncated) here, mode 0600: it may hold what a secret mask missed. */
      readonly logFile: string;
      /** Shows every line, as before this report existed. */
      readonly verbose: boolean;
      /** Where shown lines go. */
      readonly show: (line: string) => void;
      readonly now?: () => number;
    },
  ) {
    this.started = this.now();
    this.log = fs.openSync(opts.logFile, "w", 0o600);
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }

  private elapsed(): string {
    return `[+${formatSeconds((this.now() - this.started) / 1000)}]`;
  }

  /** One line of build.sh's stderr. */
  line(text: string): void {
    fs.writeSync(this.log, `${text}\n`);
    if (this.opts.verbose) {
      this.opts.show(`[packer ${this.opts.label}] ${text}`);
      return;
    }
    const l = classifyBuildLine(text);
    const at = `${this.opts.label}: ${this.elapsed()}`;
    switch (l.kind) {
      case "step":
        this.steps++;
        return this.opts.show(`${at} ${l.name}`);
      case "progress":
        return this.opts.show(`${this.opts.label}: ${l.source} ${l.text}`);
      case "warning":
        return this.opts.show(`${this.opts.label}: ${l.text}`);
      case "detail":
        return;
    }
  }

  /**
   * Closes the log; the closing line of the build: how long it took, and, when it did not succeed, where the log
   * is (a success named it when it started).
   */
  finish(outcome: "built" | "failed" | "stopped"): string {
    fs.closeSync(this.log);
    const took = formatSeconds((this.now() - this.started) / 1000);
    const steps = this.opts.verbose ? "" : ` (${this.steps} steps)`;
    const log = outcome === "built" ? "" : `; full log: ${this.opts.logFile}`;
    return `${this.opts.label}: ${outcome} in ${took}${steps}${log}`;
  }
}
