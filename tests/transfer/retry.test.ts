import { open } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { TrainctlError } from "../../core/errors";
import { RetryDeadline, withRetry } from "../../scripts/retry";
import { isTransient, naming } from "../../scripts/transfer/engine";

const failing = (message: string) => {
  let calls = 0;
  const operation = () => {
    calls += 1;
    return Promise.reject(new Error(message));
  };
  return { operation, calls: () => calls };
};

describe("withRetry under a deadline", () => {
  it("makes no attempt once the deadline has passed, and names what it was retrying and the last error", async () => {
    const { operation, calls } = failing("connect ETIMEDOUT");
    const error = await withRetry(operation, { attempts: 6, baseMs: 1, deadline: () => Date.now() - 1, what: "PUT s3://b/k" }).catch((e) => e);
    expect(error).toBeInstanceOf(TrainctlError);
    expect(error.message).toBe("gave up retrying PUT s3://b/k after 1 attempt(s): the run's retry deadline passed (last error: connect ETIMEDOUT)");
    expect(calls()).toBe(1);
  });

  it("retries up to its attempts while the deadline allows", async () => {
    const { operation, calls } = failing("reset");
    await expect(withRetry(operation, { attempts: 4, baseMs: 1, deadline: () => Date.now() + 60_000 })).rejects.toThrow("reset");
    expect(calls()).toBe(4);
  });

  it("one RetryDeadline spans operations: armed by the first failure, disarmed by a success", async () => {
    const deadline = new RetryDeadline(0); // no budget: the first failure of a streak ends the retries
    const first = failing("silent");
    await expect(withRetry(first.operation, { attempts: 6, baseMs: 1, deadline: deadline.expiresAt, what: "GET a" })).rejects.toThrow(/gave up retrying GET a/);
    const second = failing("silent");
    await expect(withRetry(second.operation, { attempts: 6, baseMs: 1, deadline: deadline.expiresAt, what: "GET b" })).rejects.toThrow(
      /gave up retrying GET b after 1 attempt/,
    );
    expect(first.calls() + second.calls()).toBe(2);

    const generous = new RetryDeadline(60_000);
    const streak = failing("reset");
    await expect(withRetry(streak.operation, { attempts: 3, baseMs: 1, deadline: generous.expiresAt })).rejects.toThrow("reset");
    expect(streak.calls()).toBe(3);
  });
});

describe("isTransient: the one retry layer retries what may succeed next time, nothing else", () => {
  const sdkError = (name: string, status?: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
  it.each([
    ["a network error (no status)", sdkError("TimeoutError"), true],
    ["503 SlowDown", sdkError("SlowDown", 503), true],
    ["500", sdkError("InternalError", 500), true],
    ["429", sdkError("TooManyRequests", 429), true],
    ["400 RequestTimeout", sdkError("RequestTimeout", 400), true],
    ["403 AccessDenied", sdkError("AccessDenied", 403), false],
    ["404 NoSuchKey", sdkError("NoSuchKey", 404), false],
    ["NoSuchUpload", sdkError("NoSuchUpload", 404), false],
    ["missing credentials", sdkError("CredentialsProviderError"), false],
    ["a retryable TrainctlError (short body)", new TrainctlError("short", { retryable: true }), true],
    ["a changed source", new TrainctlError("changed"), false],
  ])("%s → %s", (_what, error, expected) => {
    expect(isTransient(error)).toBe(expected);
  });
});

describe("naming: file-system errors name the file", () => {
  it("an ENOSPC raised through a file handle (which Node reports without a path) names the file", async () => {
    const handle = await open("/dev/full", "w");
    const error = await handle.write(Buffer.alloc(16)).catch((e) => e);
    await handle.close();
    expect(error.code).toBe("ENOSPC");
    expect(error.message).not.toContain("/data/out.bin");
    const named = naming(error, "write", "/data/out.bin") as Error;
    expect(named).toBeInstanceOf(TrainctlError);
    expect(named.message).toBe("cannot write /data/out.bin: ENOSPC: no space left on device, write");
  });

  it("leaves other errors (a network reset) as they are", () => {
    const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET", syscall: "read" });
    expect(naming(reset, "write", "/data/out.bin")).toBe(reset);
  });
});
