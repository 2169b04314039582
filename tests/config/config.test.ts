import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../core/config";
import { ConfigError } from "../../core/errors";

const base = {
  "aws:region": "us-east-1",
  "trainctl:owner": "alice",
  "trainctl:costCenter": "ml-research",
  "trainctl:instance": { type: "g5.xlarge", market: "spot", maxPrice: 0.75 },
  "trainctl:dataVolume": { snapshotId: "snap-0123456789abcdef0", sizeGiB: 500, iops: 6000, throughputMiBs: 500 },
};

const projectDir = mkdtempSync(path.join(tmpdir(), "trainctl-config-"));
mkdirSync(path.join(projectDir, "data"));
writeFileSync(path.join(projectDir, "file.bin"), "x");
mkdirSync(path.join(projectDir, "node_modules", "pkg"), { recursive: true });

type Overrides = Record<string, unknown>;
const volume = (v: Overrides) => ({ "trainctl:dataVolume": v });
const instance = (v: Overrides) => ({ "trainctl:instance": { type: "g5.xlarge", ...v } });

// [what, overrides, the key path the message must name, a fragment of the message]
const BAD: [string, Overrides, string, string][] = [
  ["missing owner", { "trainctl:owner": undefined }, "trainctl:owner", "is required"],
  ["missing cost center", { "trainctl:costCenter": undefined }, "trainctl:costCenter", "is required"],
  ["bad region", { "aws:region": "moon-1" }, "aws:region", "AWS region"],
  ["unknown top-level key", { "trainctl:gpuCount": 8 }, "trainctl:gpuCount", "accepted: aws:region"],
  ["unknown instance key", instance({ gpus: 8 }), "trainctl:instance.gpus", "accepted: type, count"],
  ["unknown instance type", instance({ type: "g9.xlarge" }), "trainctl:instance.type", "unknown instance type"],
  ["instance type typo in a known family", instance({ type: "g5.xxlarge" }), "trainctl:instance.type", "g5.xlarge"],
  ["count zero", instance({ count: 0 }), "trainctl:instance.count", ">= 1"],
  ["count not an integer", instance({ count: 1.5 }), "trainctl:instance.count", "int"],
  ["bad market", instance({ market: "reserved" }), "trainctl:instance.market", "spot | on-demand"],
  ["maxPrice on on-demand", instance({ market: "on-demand", maxPrice: 1 }), "trainctl:instance.maxPrice", "only allowed with trainctl:instance.market: spot"],
  ["negative maxPrice", instance({ market: "spot", maxPrice: -1 }), "trainctl:instance.maxPrice", "> 0"],
  ["one-time spot cannot stop", instance({ market: "spot", autostop: { action: "stop" } }), "trainctl:instance.autostop.action", "cannot be stopped"],
  ["bad autostop action", instance({ autostop: { action: "hibernate" } }), "trainctl:instance.autostop.action", "stop | terminate | none"],
  ["idle minutes too small", instance({ autostop: { idleMinutes: 1 } }), "trainctl:instance.autostop.idleMinutes", ">= 5"],
  ["root volume too small", instance({ rootVolumeGiB: 8 }), "trainctl:instance.rootVolumeGiB", ">= 30"],
  ["bad AMI id", instance({ ami: "ubuntu" }), "trainctl:instance.ami", "AMI id"],
  ["spot options on on-demand", instance({ market: "on-demand", spot: { persistent: true } }), "trainctl:instance.spot", "only allowed with"],
  ["volume with nothing to start from", volume({ type: "gp3" }), "trainctl:dataVolume", "needs one of snapshotId, sizeGiB"],
  ["bad snapshot id", volume({ snapshotId: "snapshot-1", sizeGiB: 10 }), "trainctl:dataVolume.snapshotId", "snapshot id"],
  ["warm rate without snapshot", volume({ sizeGiB: 10, warm: "rate" }), "trainctl:dataVolume.warm", "needs trainctl:dataVolume.snapshotId"],
  ["warm fio without snapshot", volume({ sizeGiB: 10, warm: "fio" }), "trainctl:dataVolume.warm", "needs trainctl:dataVolume.snapshotId"],
  ["unknown warm mode", volume({ snapshotId: "snap-0123456789abcdef0", warm: "hot" }), "trainctl:dataVolume.warm", "none | rate | fsr | fio"],
  ["init rate below 100", volume({ snapshotId: "snap-0123456789abcdef0", initRateMiBs: 50 }), "trainctl:dataVolume.initRateMiBs", "100..300"],
  ["init rate above 300", volume({ snapshotId: "snap-0123456789abcdef0", initRateMiBs: 400 }), "trainctl:dataVolume.initRateMiBs", "100..300"],
  [
    "init rate with fio",
    volume({ snapshotId: "snap-0123456789abcdef0", warm: "fio", initRateMiBs: 200 }),
    "trainctl:dataVolume.initRateMiBs",
    "only allowed with warm: rate",
  ],
  ["fsr without a known zone", volume({ snapshotId: "snap-0123456789abcdef0", warm: "fsr" }), "trainctl:dataVolume.warm", "availability zone"],
  ["relative mount point", volume({ sizeGiB: 10, mountPoint: "data" }), "trainctl:dataVolume.mountPoint", "absolute path"],
  ["mount point /", volume({ sizeGiB: 10, mountPoint: "/" }), "trainctl:dataVolume.mountPoint", "other than /"],
  ["bad volume type", volume({ sizeGiB: 10, type: "st1" }), "trainctl:dataVolume.type", "gp3 | io2"],
  ["gp3 IOPS above the limit", volume({ sizeGiB: 1000, iops: 90_000 }), "trainctl:dataVolume.iops", "3000..80000"],
  ["gp3 IOPS above 500 per GiB", volume({ sizeGiB: 10, iops: 6000 }), "trainctl:dataVolume.iops", "500 IOPS per GiB"],
  ["gp3 throughput above the limit", volume({ sizeGiB: 1000, iops: 16000, throughputMiBs: 2500 }), "trainctl:dataVolume.throughputMiBs", "125..2000"],
  [
    "gp3 throughput above 0.25 per IOPS",
    volume({ sizeGiB: 1000, throughputMiBs: 1000 }),
    "trainctl:dataVolume.throughputMiBs",
    "0.25 MiB/s per provisioned IOPS",
  ],
  ["io2 without IOPS", volume({ sizeGiB: 100, type: "io2" }), "trainctl:dataVolume.iops", "required for io2"],
  ["io2 throughput", volume({ sizeGiB: 100, type: "io2", iops: 1000, throughputMiBs: 200 }), "trainctl:dataVolume.throughputMiBs", "only configurable on gp3"],
  ["io2 too small", volume({ sizeGiB: 2, type: "io2", iops: 100 }), "trainctl:dataVolume.sizeGiB", "4..65536"],
  [
    "adopt with snapshot",
    volume({ adopt: "vol-0123456789abcdef0", snapshotId: "snap-0123456789abcdef0", availabilityZone: "us-east-1a" }),
    "trainctl:dataVolume.snapshotId",
    "cannot be combined",
  ],
  ["adopt without zone", volume({ adopt: "vol-0123456789abcdef0" }), "trainctl:dataVolume.availabilityZone", "required with adopt"],
  [
    "adopt with warm rate",
    volume({ adopt: "vol-0123456789abcdef0", availabilityZone: "us-east-1a", warm: "rate" }),
    "trainctl:dataVolume.warm",
    "accepted with adopt: none | fio",
  ],
  [
    "volume zone disagrees with network zone",
    { ...volume({ adopt: "vol-0123456789abcdef0", availabilityZone: "us-east-1a" }), "trainctl:network": { availabilityZone: "us-east-1b" } },
    "trainctl:dataVolume.availabilityZone",
    "must share a zone",
  ],
  ["zone of another region", { "trainctl:network": { availabilityZone: "eu-west-1a" } }, "trainctl:network.availabilityZone", "zone of region us-east-1"],
  ["bad subnet id", { "trainctl:network": { subnetId: "default" } }, "trainctl:network.subnetId", "subnet id"],
  ["dataset lifecycle on datasets", { "trainctl:buckets": { datasets: { keepVersions: 3 } } }, "trainctl:buckets.datasets", "checkpoints only"],
  ["bad bucket name", { "trainctl:buckets": { datasets: { adopt: "Bad_Bucket" } } }, "trainctl:buckets.datasets.adopt", "bucket name"],
  ["zero keepVersions", { "trainctl:buckets": { checkpoints: { keepVersions: 0 } } }, "trainctl:buckets.checkpoints.keepVersions", "> 0"],
  [
    "unknown strategy",
    { "trainctl:dataset": { source: "s3://b-1/p/", strategy: "fastest" } },
    "trainctl:dataset.strategy",
    "auto | prewarmed-ebs | direct-s3 | local-cache",
  ],
  ["malformed s3 source", { "trainctl:dataset": { source: "s3://" } }, "trainctl:dataset.source", "malformed S3 URL"],
  ["missing local source", { "trainctl:dataset": { source: "./nope" } }, "trainctl:dataset.source", "does not exist"],
  ["source is a file", { "trainctl:dataset": { source: "file.bin" } }, "trainctl:dataset.source", "folder is required"],
  ["source inside node_modules", { "trainctl:dataset": { source: "node_modules/pkg" } }, "trainctl:dataset.source", "node_modules or .git"],
  ["budget without emails", { "trainctl:budget": { monthlyUsd: 100, emails: [] } }, "trainctl:budget.emails", "at least 1"],
  ["budget with a bad email", { "trainctl:budget": { monthlyUsd: 100, emails: ["alice"] } }, "trainctl:budget.emails[0]", "email"],
  ["budget zero", { "trainctl:budget": { monthlyUsd: 0, emails: ["a@example.com"] } }, "trainctl:budget.monthlyUsd", "> 0"],
  ["object key given a string", { "trainctl:instance": "g5.xlarge" }, "trainctl:instance", "expected an object"],
];

function errorFor(overrides: Overrides): ConfigError {
  const values: Record<string, unknown> = { ...base, ...overrides };
  for (const [k, v] of Object.entries(values)) if (v === undefined) delete values[k];
  try {
    parseStackConfig(values, { projectDir });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("config was accepted");
}

describe("bad configs name the key path", () => {
  it("has a table of at least 30 cases", () => expect(BAD.length).toBeGreaterThanOrEqual(30));

  it.each(BAD)("%s", (_what, overrides, key, fragment) => {
    const error = errorFor(overrides);
    const issue = error.issues.find((i) => i.path === key);
    expect(issue, `${key} not in:\n${error.message}`).toBeDefined();
    expect(issue!.message).toContain(fragment);
    expect(error.exitCode).toBe(2);
    for (const line of error.message.split("\n")) expect(line).toMatch(/^(aws|trainctl):[^ ]*: /);
  });

  it("reports every error at once", () => {
    const error = errorFor({
      "trainctl:owner": undefined,
      "trainctl:instance": { type: "nope.large", market: "on-demand", maxPrice: 2 },
      "trainctl:dataVolume": { sizeGiB: 10, warm: "rate", initRateMiBs: 20, mountPoint: "relative" },
    });
    expect(error.issues.map((i) => i.path).sort()).toEqual(
      [
        "trainctl:owner",
        "trainctl:instance.type",
        "trainctl:instance.maxPrice",
        "trainctl:dataVolume.warm",
        "trainctl:dataVolume.initRateMiBs",
        "trainctl:dataVolume.mountPoint",
      ].sort(),
    );
    expect(error.message.split("\n")).toHaveLength(6);
  });

  it("shows the value given", () => {
    expect(errorFor(volume({ snapshotId: "snap-0123456789abcdef0", initRateMiBs: 50 })).message).toContain("(got 50)");
    expect(errorFor(instance({ market: "reserved" })).message).toContain('(got "reserved")');
  });
});

describe("good configs", () => {
  it("fills defaults: warm follows the snapshot, the init rate follows the mode", () => {
    const config = parseStackConfig({ ...base, "trainctl:dataVolume": { snapshotId: "snap-0123456789abcdef0" } });
    expect(config.dataVolume).toMatchObject({ warm: "rate", initRateMiBs: 300, type: "gp3", mountPoint: "/mnt/data", protect: true });
    const empty = parseStackConfig({ ...base, "trainctl:dataVolume": { sizeGiB: 100 } });
    expect(empty.dataVolume).toMatchObject({ warm: "none" });
    expect(empty.dataVolume?.initRateMiBs).toBeUndefined();
    expect(empty.buckets.checkpoints).toMatchObject({ keepVersions: 5, expireDays: 90, protect: true });
  });

  it("each checkpoints key has its own default: keepVersions alone keeps expireDays at 90 (docs/configuration.md)", () => {
    const config = parseStackConfig({ ...base, "trainctl:buckets": { checkpoints: { keepVersions: 3 } } });
    expect(config.buckets.checkpoints).toMatchObject({ keepVersions: 3, expireDays: 90, protect: true });
    expect(config.buckets.datasets).toEqual({ protect: true });
  });

  it("cross-field rules read the schema's defaults: an omitted market is on-demand, an omitted snapshot warms nothing", () => {
    expect(() => parseStackConfig({ ...base, "trainctl:instance": { maxPrice: 1 } })).toThrow(
      /maxPrice: only allowed with trainctl:instance.market: spot \(market is "on-demand"\)/,
    );
    // With a snapshot the derived warm mode is rate, so an init rate is welcome; without one, warm is none.
    expect(parseStackConfig({ ...base, "trainctl:dataVolume": { snapshotId: "snap-0123456789abcdef0", initRateMiBs: 200 } }).dataVolume).toMatchObject({
      warm: "rate",
      initRateMiBs: 200,
    });
    expect(() => parseStackConfig({ ...base, "trainctl:dataVolume": { sizeGiB: 10, initRateMiBs: 200 } })).toThrow(
      /initRateMiBs: only allowed with warm: rate and a snapshotId \(warm is "none"\)/,
    );
  });

  it("accepts JSON strings, as Pulumi passes object config", () => {
    const config = parseStackConfig({ ...base, "trainctl:instance": JSON.stringify({ type: "p5.48xlarge", count: 2 }) });
    expect(config.instance).toMatchObject({ type: "p5.48xlarge", count: 2, market: "on-demand" });
  });

  it("accepts a local dataset folder", () => {
    const config = parseStackConfig({ ...base, "trainctl:dataset": { source: "data" } }, { projectDir });
    expect(config.dataset).toMatchObject({ source: "data", strategy: "auto" });
  });

  it("persistent spot may stop", () => {
    const config = parseStackConfig({
      ...base,
      "trainctl:instance": { type: "g5.xlarge", market: "spot", spot: { persistent: true }, autostop: { action: "stop" } },
    });
    expect(config.instance.autostop.action).toBe("stop");
  });
});
