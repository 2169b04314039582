import { describe, expect, it } from "vitest";
import { ConfigError, ExitCode, InterruptedError, ThresholdError, TrainctlError, UsageError } from "../../core/errors";

describe("error classes carry the exit code DESIGN.md assigns", () => {
  it("failure 1, usage 2, threshold 3, interrupted 130", () => {
    expect(ExitCode).toEqual({ ok: 0, failure: 1, usage: 2, threshold: 3, interrupted: 130 });
    expect(new TrainctlError("x").exitCode).toBe(1);
    expect(new UsageError("x").exitCode).toBe(2);
    expect(new ThresholdError("x").exitCode).toBe(3);
    expect(new InterruptedError().exitCode).toBe(130);
  });

  it("a usage error names its flag and is not retryable by default", () => {
    const error = new UsageError("--hours: must be > 0", { subject: "--hours" });
    expect(error.subject).toBe("--hours");
    expect(error.retryable).toBe(false);
    expect(new TrainctlError("throttled", { retryable: true }).retryable).toBe(true);
  });

  it("names itself after its class, keeps its cause, and is an instance of its bases", () => {
    const cause = new Error("socket hang up");
    const error = new ThresholdError("over budget");
    expect(error.name).toBe("ThresholdError");
    expect(error.subject).toBe("--max-monthly");
    expect(error).toBeInstanceOf(TrainctlError);
    expect(new TrainctlError("x", { cause }).cause).toBe(cause);
    expect(new InterruptedError().message).toBe("interrupted");
    expect(new InterruptedError().name).toBe("InterruptedError");
  });

  it("a config error lists every issue, one line each, and is about the first key", () => {
    const error = new ConfigError([
      { path: "trainctl:owner", message: "is required (expected string)" },
      { path: "trainctl:dataVolume.iops", message: "must be <= 80000 (got 90000)" },
    ]);
    expect(error.message).toBe("trainctl:owner: is required (expected string)\ntrainctl:dataVolume.iops: must be <= 80000 (got 90000)");
    expect(error.subject).toBe("trainctl:owner");
    expect(error.exitCode).toBe(2);
    expect(error).toBeInstanceOf(UsageError);
    expect(new ConfigError([]).subject).toBeUndefined();
  });
});
