/** Exit codes shared by every command (see DESIGN.md). */
export const ExitCode = { ok: 0, failure: 1, usage: 2, threshold: 3, interrupted: 130 } as const;

export interface ErrorOptions {
  /** Config key path, flag or resource URN the error is about. */
  subject?: string;
  /** Whether repeating the same operation may succeed. */
  retryable?: boolean;
  exitCode?: number;
  cause?: unknown;
}

/** Base of every error trainctl reports: one line, an exit code, and what it is about. */
export class TrainctlError extends Error {
  readonly subject?: string;
  readonly retryable: boolean;
  readonly exitCode: number;

  constructor(message: string, options: ErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.subject = options.subject;
    this.retryable = options.retryable ?? false;
    this.exitCode = options.exitCode ?? ExitCode.failure;
  }
}

/** Bad flags, bad files, bad input: exit 2, nothing touched. */
export class UsageError extends TrainctlError {
  constructor(message: string, options: Omit<ErrorOptions, "exitCode"> = {}) {
    super(message, { ...options, exitCode: ExitCode.usage });
  }
}

export interface ConfigIssue {
  /** Full key path, e.g. `trainctl:dataVolume.initRateMiBs`. */
  path: string;
  message: string;
}

/** Every problem in a stack config at once, one line each. */
export class ConfigError extends UsageError {
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(issues.map((i) => `${i.path}: ${i.message}`).join("\n"), { subject: issues[0]?.path });
    this.issues = issues;
  }
}

/** A cost threshold such as `--max-monthly` was exceeded: exit 3. */
export class ThresholdError extends TrainctlError {
  constructor(message: string, subject = "--max-monthly") {
    super(message, { subject, exitCode: ExitCode.threshold });
  }
}

/** Ctrl-C: exit 130 after flushing what must be flushed. */
export class InterruptedError extends TrainctlError {
  constructor(message = "interrupted") {
    super(message, { exitCode: ExitCode.interrupted });
  }
}
