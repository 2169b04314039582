import { describe, expect, it } from "vitest";
import { recommend } from "../../core/recommend";
import { effectiveStrategy, experimentWarnings } from "../../components/experiment";
import { stackConfig as config } from "./stack-config";

const SNAPSHOT = "snap-0123456789abcdef0";
const volume = { "trainctl:dataVolume": { snapshotId: SNAPSHOT, sizeGiB: 500 } };
// A million small files, read once in each of 10 runs on a g4dn.xlarge: per-object GETs make S3 slow,
// and the recommender picks pre-warmed EBS.
const smallFiles = {
  "trainctl:instance": { type: "g4dn.xlarge" },
  "trainctl:dataset": { source: "s3://team-data/x/", sizeGiB: 10, files: 1_000_000, epochs: 1, runs: 10 },
};

describe("effectiveStrategy", () => {
  it("an explicit strategy is kept, even without a data volume", () => {
    expect(effectiveStrategy(config({ "trainctl:dataset": { source: "s3://team-data/x/", strategy: "prewarmed-ebs" } }))).toBe("prewarmed-ebs");
    expect(effectiveStrategy(config({ "trainctl:dataset": { source: "s3://team-data/x/", strategy: "direct-s3" }, ...volume }))).toBe("direct-s3");
  });

  it("auto without size and file count: pre-warmed EBS when a volume is configured, else direct from S3", () => {
    expect(effectiveStrategy(config({ "trainctl:dataset": { source: "s3://team-data/x/", sizeGiB: 100 }, ...volume }))).toBe("prewarmed-ebs");
    expect(effectiveStrategy(config({ "trainctl:dataset": { source: "s3://team-data/x/", files: 100 } }))).toBe("direct-s3");
    expect(effectiveStrategy(config())).toBe("direct-s3");
  });

  it("auto with size and files asks the recommender", () => {
    expect(effectiveStrategy(config({ "trainctl:dataset": { source: "s3://team-data/x/", sizeGiB: 500, files: 1_000 }, ...volume }))).toBe("direct-s3");
    expect(effectiveStrategy(config({ ...smallFiles, ...volume }))).toBe("prewarmed-ebs");
  });

  it("a recommended pre-warmed EBS without a data volume falls back to the local cache", () => {
    expect(recommend({ sizeBytes: 10 * 1024 ** 3, files: 1_000_000, epochs: 1, runs: 10, instanceType: "g4dn.xlarge" }).recommended).toBe("prewarmed-ebs");
    expect(effectiveStrategy(config(smallFiles))).toBe("local-cache");
  });
});

describe("experimentWarnings", () => {
  const pinned = { "trainctl:instance": { ami: "ami-0123456789abcdef0" } };

  it("a plain stack with a pinned AMI warns of nothing", () => {
    expect(experimentWarnings(config(pinned))).toEqual([]);
  });

  it("the AMI resolves once unless pinned", () => {
    expect(experimentWarnings(config())).toEqual([expect.stringMatching(/^the AMI resolves once: .*pin trainctl:instance\.ami/)]);
  });

  it("an adopted bucket has its policy and lifecycle replaced; an unprotected one is deleted with its objects", () => {
    const warnings = experimentWarnings(config({ ...pinned, "trainctl:buckets": { datasets: { adopt: "team-data" }, checkpoints: { protect: false } } }));
    expect(warnings).toEqual([
      "trainctl:buckets.datasets.adopt: adopting team-data replaces its bucket policy and lifecycle configuration with trainctl's",
      "trainctl:buckets.checkpoints.protect is false: pulumi destroy deletes the bucket and every object in it",
    ]);
  });

  it("fsr bills per hour while enabled; an unprotected volume is deleted; no incarnation risks a false duplicate", () => {
    const warnings = experimentWarnings(
      config({
        ...pinned,
        "trainctl:dataVolume": { snapshotId: SNAPSHOT, sizeGiB: 100, warm: "fsr", protect: false },
        "trainctl:network": { availabilityZone: "us-east-1a" },
      }),
    );
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toMatch(/^trainctl:dataVolume\.warm: fsr bills \$0\.75\/DSU-hour per zone .*\(\$547\.50\/month\)/);
    expect(warnings[1]).toMatch(/^trainctl:dataVolume\.protect is false/);
    expect(warnings[2]).toMatch(/^trainctl:incarnation is not set/);
  });

  it("an incarnation or an adopted volume needs no incarnation warning", () => {
    expect(experimentWarnings(config({ ...pinned, ...volume, "trainctl:incarnation": "0123456789ab" }))).toEqual([]);
    expect(experimentWarnings(config({ ...pinned, "trainctl:dataVolume": { adopt: "vol-0123456789abcdef0", availabilityZone: "us-east-1a" } }))).toEqual([]);
  });

  it("a budget brings the cost-allocation tag note", () => {
    const warnings = experimentWarnings(config({ ...pinned, "trainctl:budget": { monthlyUsd: 100, emails: ["a@example.com"] } }));
    expect(warnings).toEqual([expect.stringMatching(/^trainctl:budget filters on the cost-allocation tag trainctl:experiment/)]);
  });
});
