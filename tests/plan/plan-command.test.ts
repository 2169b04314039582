import { rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { EBS_PRICES, INSTANCE_PRICES } from "../../core/catalog";
import { ROOT, trainctl } from "../helpers/cli";

describe("trainctl plan --json for dev", () => {
  let plan: any;
  beforeAll(() => {
    const result = trainctl(["plan", "--stack", "dev", "--json"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    plan = JSON.parse(result.stdout);
  });

  it("follows the contract's shape", () => {
    expect(Object.keys(plan)).toEqual(expect.arrayContaining(["stack", "project", "region", "resources", "cost"]));
    expect(plan).toMatchObject({ stack: "dev", project: "trainctl", region: "us-east-1" });
    for (const r of plan.resources) {
      expect(Object.keys(r).sort()).toEqual(expect.arrayContaining(["urn", "type", "name", "protect", "retainOnDelete", "tags", "inputs"]));
      expect(typeof r.protect).toBe("boolean");
    }
    expect(Object.keys(plan.cost)).toEqual(expect.arrayContaining(["currency", "hours", "hourly", "monthly", "priceSource", "items"]));
    expect(plan.cost.priceSource).toMatch(/catalog \d{4}-\d{2}-\d{2}/);
  });

  it("lists effective tags: provider defaults merged with the resource's own", () => {
    const volume = plan.resources.find((r: any) => r.type === "aws:ebs/volume:Volume");
    expect(volume.tags).toMatchObject({
      "trainctl:project": "trainctl",
      "trainctl:experiment": "dev",
      "trainctl:owner": "alice",
      "trainctl:cost-center": "ml-research",
      "trainctl:managed-by": "pulumi",
      Name: "trainctl-dev-data-0",
      "trainctl:role": "data-volume",
      "trainctl:protected": "true",
    });
  });

  it("prices from the catalog: worked by hand", () => {
    // g5.xlarge spot capped at maxPrice 0.75 (< on-demand 1.006), plus a 100 GiB gp3 root volume,
    // a public IPv4 address ($0.005/h) and 8 custom metrics ($0.30 per metric-month).
    const root = (100 * EBS_PRICES.gp3.storage.usd) / 730;
    const node = plan.cost.items.find((i: any) => i.type === "aws:ec2/instance:Instance");
    expect(node.hourly).toBeCloseTo(0.75 + root + 0.005 + (8 * 0.3) / 730, 6);
    expect(node.detail).toContain(`on-demand $${INSTANCE_PRICES["g5.xlarge"].usd}/h`);
    // 500 GiB gp3: 500 × 0.08 + (6000 − 3000) × 0.005 + (500 − 125) × 0.04 = 40 + 15 + 15 = 70 per month.
    const volume = plan.cost.items.find((i: any) => i.type === "aws:ebs/volume:Volume");
    expect(volume.monthly).toBeCloseTo(70, 6);
    expect(volume.oneTime).toBeCloseTo(500 * EBS_PRICES.volumeInitialization.usd, 6);
    expect(volume.afterDeleteMonthly).toBeCloseTo(25, 6);
    // Datasets bucket: 150 GiB expected × 0.023.
    const datasets = plan.cost.items.find((i: any) => i.name === "dev-datasets-bucket");
    expect(datasets.monthly).toBeCloseTo(150 * 0.023, 6);
    const hourly = plan.cost.items.reduce((s: number, i: any) => s + (i.hourly ?? 0), 0);
    expect(plan.cost.hourly).toBeCloseTo(hourly, 5);
    expect(plan.cost.monthly).toBeCloseTo(plan.cost.hourly * 730, 2);
    expect(plan.cost.hours).toBe(72);
    expect(plan.cost.total).toBeCloseTo(plan.cost.hourly * 72, 4);
  });

  it("--hours overrides maxHours", () => {
    const result = trainctl(["plan", "--json", "--hours", "10"]);
    const other = JSON.parse(result.stdout);
    expect(other.cost.hours).toBe(10);
    expect(other.cost.total).toBeCloseTo(other.cost.hourly * 10, 4);
  });
});

describe("trainctl plan, human view and bad input", () => {
  it("prints a tree with protection, tags, cost and warming on stderr", () => {
    const result = trainctl(["plan"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/aws:ebs\/volume:Volume dev-data-0-volume \[protected, retained\]/);
    expect(result.stderr).toMatch(/Default tags \(every resource\): trainctl:project=trainctl/);
    expect(result.stderr).toMatch(/Cost \(catalog .*\): \$\d+\.\d+\/h · \$[\d,]+\.\d\d\/month/);
    expect(result.stderr).toMatch(/Data volume warming \(rate\): fully warm after ~28 min/);
  });

  it("a missing stack file names the file and the stacks that exist, exit 2", () => {
    const result = trainctl(["plan", "--stack", "nope"]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(/^error: --stack: Pulumi\.nope\.yaml does not exist \(stacks here: (.*, )?dev(, .*)?\)$/);
  });

  it("a bad config exits 2 with one line per key and no stack trace", () => {
    writeFileSync(
      path.join(ROOT, "Pulumi.test-bad-config.yaml"),
      "config:\n  trainctl:owner: alice\n  trainctl:instance:\n    type: g5.xlarge\n    market: on-demand\n    maxPrice: 2\n  trainctl:dataVolume:\n    sizeGiB: 10\n    warm: rate\n",
    );
    try {
      const result = trainctl(["plan", "--stack", "test-bad-config"]);
      expect(result.code).toBe(2);
      const lines = result.stderr.trim().split("\n");
      expect(lines).toEqual([
        "error: trainctl:costCenter: is required (expected string)",
        'error: trainctl:instance.maxPrice: only allowed with trainctl:instance.market: spot (market is "on-demand")',
        'error: trainctl:dataVolume.warm: "rate" needs trainctl:dataVolume.snapshotId (an empty volume needs no warming; accepted: none)',
      ]);
    } finally {
      rmSync(path.join(ROOT, "Pulumi.test-bad-config.yaml"));
    }
  });

  it("--hours must not be negative", () => {
    const result = trainctl(["plan", "--hours", "-1"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--hours");
  });
});
