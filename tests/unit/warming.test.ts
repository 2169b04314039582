import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { knownInstanceTypes } from "../../core/catalog";
import { volumePerformance } from "../../core/config";
import { instanceSpec } from "../../core/instance-specs";
import { estimateWarm, instanceEbsMiBs } from "../../components/warming";

describe("instanceEbsMiBs", () => {
  it("converts the baseline Mbps to MiB/s: g5.xlarge's 700 Mbps is ≈ 83.4 MiB/s", () => {
    expect(instanceEbsMiBs("g5.xlarge")).toBeCloseTo(700e6 / 8 / 2 ** 20, 9);
    expect(instanceEbsMiBs("g5.xlarge")).toBeCloseTo(83.45, 2);
  });

  it("unknown types give undefined, not 0 or NaN", () => {
    expect(instanceEbsMiBs("x9.mega")).toBeUndefined();
    expect(instanceEbsMiBs("")).toBeUndefined();
  });

  it("every known type has a positive figure that orders as its Mbps does", () => {
    const types = knownInstanceTypes();
    for (const type of types) expect(instanceEbsMiBs(type), type).toBeGreaterThan(0);
    const sorted = [...types].sort((a, b) => instanceSpec(a)!.ebsBaselineMbps - instanceSpec(b)!.ebsBaselineMbps);
    for (let i = 1; i < sorted.length; i++) expect(instanceEbsMiBs(sorted[i])!).toBeGreaterThanOrEqual(instanceEbsMiBs(sorted[i - 1])!);
  });
});

describe("estimateWarm fio: the slower of volume and instance, in whole seconds (property)", () => {
  it("rate is min(volume, instance EBS) and the time is size / rate", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...knownInstanceTypes()),
        fc.integer({ min: 1, max: 65_536 }),
        fc.oneof(
          fc.record({ type: fc.constant("gp3" as const), throughputMiBs: fc.integer({ min: 125, max: 2_000 }) }),
          fc.record({ type: fc.constant("io2" as const), iops: fc.integer({ min: 100, max: 256_000 }) }),
        ),
        (type, sizeGiB, volume) => {
          const warm = estimateWarm({ ...volume, warm: "fio", sizeGiB, snapshotId: "snap-0123456789abcdef0" }, type);
          const expected = Math.min(volumePerformance(volume).throughputMiBs, instanceEbsMiBs(type)!);
          expect(warm.rateMiBs).toBeCloseTo(expected, 9);
          expect(warm.secondsToWarm).toBe(Math.round((sizeGiB * 1024) / expected));
          expect(warm.oneTimeUsd).toBe(0);
          expect(warm.detail).toMatch(instanceEbsMiBs(type)! < volumePerformance(volume).throughputMiBs ? /baseline EBS bandwidth/ : /volume's throughput/);
        },
      ),
    );
  });

  it("an unknown instance type leaves the volume's throughput as the limit", () => {
    expect(estimateWarm({ type: "gp3", throughputMiBs: 500, warm: "fio", sizeGiB: 100 }, "x9.mega").rateMiBs).toBe(500);
  });
});
