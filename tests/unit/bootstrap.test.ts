import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isMountPoint } from "../../core/config";
import { AWS_REGIONS } from "../../core/regions";
import { type BootstrapOptions, USER_DATA_LIMIT_BYTES, bootstrapEnv, maxUptimeSeconds, renderUserData } from "../../components/bootstrap";

describe("maxUptimeSeconds", () => {
  it("whole seconds, so the shell compares fractional hours exactly", () => {
    expect(maxUptimeSeconds(72)).toBe(259_200);
    expect(maxUptimeSeconds(0.5)).toBe(1_800);
    expect(maxUptimeSeconds(1 / 3)).toBe(1_200);
    expect(maxUptimeSeconds(8_760)).toBe(31_536_000);
  });

  it("is an integer within half a second of the exact figure, and monotone (property)", () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-6, max: 8_760, noNaN: true }), fc.double({ min: 0, max: 100, noNaN: true }), (hours, more) => {
        const seconds = maxUptimeSeconds(hours);
        expect(Number.isInteger(seconds)).toBe(true);
        expect(Math.abs(seconds - hours * 3600)).toBeLessThanOrEqual(0.5);
        expect(maxUptimeSeconds(hours + more)).toBeGreaterThanOrEqual(seconds);
      }),
    );
  });

  it("reaches the env file; no maxHours leaves it empty (no limit)", () => {
    const base: BootstrapOptions = {
      experiment: "dev",
      region: "us-east-1",
      nodeIndex: 0,
      nodeCount: 1,
      volumeOrigin: undefined,
      mountPoint: "/mnt/data",
      warm: "none",
      checkpointPrefix: "checkpoints/",
      autostop: { idleMinutes: 30, action: "terminate", gpuThresholdPercent: 5 },
      spot: false,
    };
    expect(bootstrapEnv({ ...base, maxHours: 1.25 }).TRAINCTL_MAX_SECONDS).toBe("4500");
    expect(bootstrapEnv(base).TRAINCTL_MAX_SECONDS).toBe("");
  });
});

describe("renderUserData stays within EC2's 16 KB for every option combination (property)", () => {
  // Bounds: names as long as AWS allows them, an S3 dataset prefix up to 1,000 characters (keys hold
  // 1,024 bytes), a mount point up to 128. Measured with every script in one gzip stream: the dev
  // stack's user data is 13,774 bytes, all bounds at once about 15,250; past that, the plan's guard
  // (user-data-size) refuses it.
  const level = fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/).filter((l) => l !== "." && l !== "..");
  const mountPoint = fc
    .array(level, { minLength: 1, maxLength: 6 })
    .map((levels) => `/${levels.join("/")}`.slice(0, 128))
    .filter(isMountPoint);
  const bucket = fc.stringMatching(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
  const prefix = fc.stringMatching(/^[A-Za-z0-9!_.*'()/-]{0,1000}$/);
  const options: fc.Arbitrary<BootstrapOptions> = fc.record({
    experiment: fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/),
    region: fc.constantFrom(...AWS_REGIONS),
    nodeIndex: fc.integer({ min: 0, max: 63 }),
    nodeCount: fc.integer({ min: 1, max: 64 }),
    volumeId: fc.option(fc.stringMatching(/^vol-[0-9a-f]{17}$/), { nil: undefined }),
    volumeOrigin: fc.constantFrom("empty", "snapshot", "adopted", undefined),
    mountPoint,
    warm: fc.constantFrom("none", "rate", "fsr", "fio"),
    dataset: fc.option(
      fc.record({
        source: fc.tuple(bucket, prefix).map(([b, p]) => `s3://${b}/${p}`),
        strategy: fc.constantFrom("prewarmed-ebs", "direct-s3", "local-cache"),
        target: mountPoint.map((m) => `${m}/dataset`),
      }),
      { nil: undefined },
    ),
    checkpointBucket: fc.option(bucket, { nil: undefined }),
    checkpointPrefix: fc.constant("checkpoints/"),
    autostop: fc.record({
      idleMinutes: fc.integer({ min: 5, max: 1_440 }),
      action: fc.constantFrom("stop", "terminate", "none"),
      gpuThresholdPercent: fc.double({ min: 0, max: 100, noNaN: true }),
    }),
    maxHours: fc.option(fc.double({ min: 0.001, max: 8_760, noNaN: true }), { nil: undefined }),
    spot: fc.boolean(),
    recovery: fc.option(fc.record({ groupName: fc.stringMatching(/^[a-z0-9-]{1,90}$/), maxRestarts: fc.integer({ min: 0, max: 1_000 }) }), { nil: undefined }),
  });

  it("at most 16,384 bytes before base64", () => {
    let largest = 0;
    fc.assert(
      fc.property(options, (o) => {
        const bytes = Buffer.byteLength(renderUserData(o), "utf8");
        largest = Math.max(largest, bytes);
        expect(bytes).toBeLessThanOrEqual(USER_DATA_LIMIT_BYTES);
      }),
      { numRuns: 60 },
    );
    expect(largest).toBeGreaterThan(0);
  });

  it("the longest of every bound at once still fits", () => {
    const longest = AWS_REGIONS.reduce((a, b) => (b.length > a.length ? b : a));
    const mount = `/${"m".repeat(127)}`;
    const worst: BootstrapOptions = {
      experiment: "e".repeat(63),
      region: longest,
      nodeIndex: 63,
      nodeCount: 64,
      volumeId: "vol-0123456789abcdef0",
      volumeOrigin: "snapshot",
      mountPoint: mount,
      warm: "rate",
      dataset: { source: `s3://${"b".repeat(63)}/${"p".repeat(1_000)}`, strategy: "local-cache", target: `${mount}/dataset` },
      checkpointBucket: "c".repeat(63),
      checkpointPrefix: "checkpoints/",
      autostop: { idleMinutes: 1_440, action: "terminate", gpuThresholdPercent: 100 / 3 },
      maxHours: 1 / 3,
      spot: true,
      recovery: { groupName: `trainctl-${"e".repeat(63)}-node-63`, maxRestarts: 1_000 },
    };
    expect(Buffer.byteLength(renderUserData(worst), "utf8")).toBeLessThanOrEqual(USER_DATA_LIMIT_BYTES);
  });
});
