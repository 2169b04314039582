import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { RATES, estimateStrategies, parseSize, recommend, s3ObjectsPerSecond, s3ThroughputMiBs } from "../../core/recommend";
import { knownInstanceTypes } from "../../core/catalog";
import { INSTANCE_SPECS, instanceSpec } from "../../core/instance-specs";
import { trainctl } from "../helpers/cli";

const GiB = 1024 ** 3;

describe("instance specs", () => {
  it("cover every priced type, with a source", () => {
    for (const type of knownInstanceTypes()) {
      const spec = instanceSpec(type);
      expect(spec, type).toBeDefined();
      expect(spec!.source).toMatch(/^https:\/\/aws\.amazon\.com\/ec2\/instance-types\//);
      expect(spec!.vcpus).toBeGreaterThan(0);
    }
    expect(Object.keys(INSTANCE_SPECS).sort()).toEqual(knownInstanceTypes().sort());
  });
});

describe("parseSize", () => {
  it.each([
    ["500GiB", 500 * GiB],
    ["3TiB", 3 * 1024 * GiB],
    ["1.5TB", 1.5e12],
    ["1048576B", 1048576],
    ["10 MiB", 10 * 1024 ** 2],
  ])("%s", (text, bytes) => expect(parseSize(text)).toBe(bytes));

  it.each(["0GiB", "-5GiB", "lots", "5 parsecs", "500"])("rejects %s", (text) => expect(() => parseSize(text)).toThrow(/--size/));
});

describe("the model's arithmetic, worked by hand", () => {
  it("S3 throughput: g5.xlarge bursts to 10 Gbps, sustains half, reaches 80%: 5e9/8/2^20 × 0.8 ≈ 476.8 MiB/s", () => {
    expect(s3ThroughputMiBs(instanceSpec("g5.xlarge")!)).toBeCloseTo(476.837, 2);
    // p4d: 400 Gbps sustained × 0.8 = 38,147 MiB/s.
    expect(s3ThroughputMiBs(instanceSpec("p4d.24xlarge")!)).toBeCloseTo(38146.97, 1);
  });

  it("small objects: 64 in flight at 30 ms first byte = 2,133 objects/s, under the 5,500/s prefix limit", () => {
    expect(s3ObjectsPerSecond()).toBeCloseTo(2133.33, 1);
  });

  it("150 GiB in 1,281,167 files on g5.xlarge", () => {
    const [ebs, direct, local] = estimateStrategies({ sizeBytes: 150 * GiB, files: 1_281_167, epochs: 10, runs: 1, instanceType: "g5.xlarge" });
    // Direct: request-bound, 1,281,167 / 2,133.3 = 600.5 s an epoch (bytes alone: 153,600 / 476.8 = 322 s).
    expect(direct.epochReadS).toBeCloseTo(600.55, 1);
    // Local cache: stage once (600.5 s), then 153,600 MiB / 2,000 MiB/s = 76.8 s an epoch from NVMe.
    expect(local.timeToReadyS).toBeCloseTo(600.55, 1);
    expect(local.epochReadS).toBeCloseTo(76.8, 1);
    // Pre-warmed EBS on the default volume (gp3 baseline): 60 s to attach, 153,600 / 300 = 512 s to
    // warm, max(153,600 MiB / 125 MiB/s, 1,281,167 files / 3,000 IOPS) = 1,228.8 s an epoch.
    expect(ebs.timeToReadyS).toBeCloseTo(572, 1);
    expect(ebs.epochReadS).toBeCloseTo(1228.8, 1);
    expect(ebs.notes.join(" ")).toContain("gp3 125 MiB/s and 3000 IOPS (the default volume");
    // Direct S3 GET cost: 1,281,167 × 10 epochs × $0.0004 / 1000 = $5.12.
    expect(direct.extraCostUsd).toBeCloseTo(5.1247, 3);
  });

  it("reads at the volume the stack provisions: 1,000 MiB/s and 16,000 IOPS give 153.6 s an epoch; io2 follows its IOPS", () => {
    const input = { sizeBytes: 150 * GiB, files: 1_281_167, epochs: 10, runs: 1, instanceType: "g5.xlarge" };
    const [fast] = estimateStrategies({ ...input, volume: { type: "gp3", iops: 16_000, throughputMiBs: 1_000 } });
    expect(fast.epochReadS).toBeCloseTo(153.6, 1);
    // io2 at 8,000 IOPS × 256 KiB = 2,000 MiB/s: max(76.8 s, 1,281,167 / 8,000 = 160.1 s).
    const [io2] = estimateStrategies({ ...input, volume: { type: "io2", iops: 8_000 } });
    expect(io2.epochReadS).toBeCloseTo(160.15, 1);
    // The provisioned IOPS and throughput are paid for: the fast volume costs more per hour of use.
    const [slow] = estimateStrategies(input);
    expect(fast.extraCostUsd / (fast.epochReadS * 10 + 512)).toBeGreaterThan(slow.extraCostUsd / (slow.epochReadS * 10 + 512));
  });

  it("warming 500 GiB at the maximum provisioned rate takes 512,000 / 300 s", () => {
    const [ebs] = estimateStrategies({ sizeBytes: 500 * GiB, files: 1000, epochs: 1, runs: 1, instanceType: "g5.xlarge" });
    expect(ebs.timeToReadyS - RATES.volumeReadySeconds).toBeCloseTo(1706.67, 1);
  });
});

describe("the obvious cases", () => {
  it("tiny datasets → local cache", () => {
    expect(recommend({ sizeBytes: 1 * GiB, files: 1000, epochs: 10, runs: 1, instanceType: "g5.xlarge" }).recommended).toBe("local-cache");
  });

  it("larger than the instance store, many epochs, many runs → pre-warmed EBS", () => {
    const result = recommend({
      sizeBytes: 3 * 1024 * GiB,
      files: 30_000,
      epochs: 50,
      runs: 10,
      instanceType: "g5.xlarge",
      volume: { type: "gp3", iops: 16_000, throughputMiBs: 1_000 },
    });
    expect(result.recommended).toBe("prewarmed-ebs");
    expect(result.strategies.find((s) => s.strategy === "local-cache")!.feasible).toBe(false);
  });

  it("a single pass over a huge sharded dataset → direct S3", () => {
    expect(recommend({ sizeBytes: 20 * 1024 * GiB, files: 20_000, epochs: 1, runs: 1, instanceType: "p4d.24xlarge" }).recommended).toBe("direct-s3");
  });

  it("millions of small files → never per-object GETs; the reason says to pack shards", () => {
    for (const instanceType of ["g5.xlarge", "p4d.24xlarge"]) {
      const result = recommend({ sizeBytes: 150 * GiB, files: 5_000_000, epochs: 3, runs: 1, instanceType });
      expect(result.recommended, instanceType).not.toBe("direct-s3");
      expect(result.reason).toMatch(/pack them into shards/);
    }
  });

  it("rejects zero counts", () => {
    expect(() => recommend({ sizeBytes: GiB, files: 0, epochs: 1, runs: 1, instanceType: "g5.xlarge" })).toThrow(/--files/);
  });
});

describe("trainctl recommend counts classes when it can", () => {
  it("reports the class folders of a local --source in JSON, and nothing for S3", () => {
    const root = mkdtempSync(path.join(tmpdir(), "trainctl-rec-classes-"));
    for (const name of ["ant", "bee", "cat"]) {
      mkdirSync(path.join(root, name));
      writeFileSync(path.join(root, name, "0.jpg"), "x");
    }
    const base = ["recommend", "--size", "1GiB", "--files", "3", "--instance-type", "g5.xlarge", "--json"];
    expect(JSON.parse(trainctl([...base, "--source", root]).stdout).classes).toBe(3);
    expect(JSON.parse(trainctl([...base, "--source", "s3://bucket-1/data/"]).stdout)).not.toHaveProperty("classes");
  });
});
