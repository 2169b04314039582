import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { compareCosts } from "../../scripts/pricing/diff";
import { estimateCost, priceResource, s3StorageMonthly, volumeMonthly } from "../../scripts/pricing/estimate";
import { renderCostDiffMarkdown } from "../../scripts/pricing/markdown";
import type { ResourceRecord, StackModel } from "../../scripts/state/model";
import { parsePreview, readPreview, readStackExport } from "../../scripts/state/readers";
import { expectUsageError, trainctl } from "../helpers/cli";

const FIXTURES = path.join(__dirname, "..", "fixtures");
const STATE = path.join(FIXTURES, "dev.state.json");
const PREVIEW = path.join(FIXTURES, "dev-scale-up.preview.json");

function record(type: string, inputs: Record<string, unknown>, tags: Record<string, string> = {}): ResourceRecord {
  return { urn: `urn:pulumi:t::p::${type}::r`, type, name: "r", custom: true, protect: false, retainOnDelete: false, dependencies: [], inputs, outputs: {}, tags };
}
const model = (resources: ResourceRecord[]): StackModel => ({ source: "state", stack: "t", project: "p", resources, deleted: [] });

describe("arithmetic, worked by hand", () => {
  it("gp3 at the free baseline costs storage only", () => {
    expect(volumeMonthly({ type: "gp3", sizeGiB: 100, iops: 3000, throughputMiBs: 125 }).monthly).toBeCloseTo(8, 9); // 100 × 0.08
  });

  it("gp3 beyond baseline adds IOPS and throughput", () => {
    // 1000 × 0.08 + (16000 − 3000) × 0.005 + (1000 − 125) × 0.04 = 80 + 65 + 35 = 180
    expect(volumeMonthly({ type: "gp3", sizeGiB: 1000, iops: 16000, throughputMiBs: 1000 }).monthly).toBeCloseTo(180, 9);
  });

  it("io2 IOPS are tiered", () => {
    // 100 × 0.125 + 32000 × 0.065 + 32000 × 0.0455 + 16000 × 0.03185 = 12.5 + 2080 + 1456 + 509.6 = 4058.1
    expect(volumeMonthly({ type: "io2", sizeGiB: 100, iops: 80000 }).monthly).toBeCloseTo(4058.1, 6);
  });

  it("S3 storage is tiered at 50 TB and 500 TB", () => {
    expect(s3StorageMonthly(100)).toBeCloseTo(2.3, 9);
    // 51200 × 0.023 + 10000 × 0.022 = 1177.6 + 220
    expect(s3StorageMonthly(61_200)).toBeCloseTo(1397.6, 6);
  });

  it("fast snapshot restore is $0.75 per DSU-hour", () => {
    const item = priceResource(record("aws:ebs/fastSnapshotRestore:FastSnapshotRestore", { snapshotId: "snap-1", availabilityZone: "us-east-1a" }))!;
    expect(item.hourly).toBe(0.75);
    expect(item.monthly).toBeCloseTo(547.5, 9);
  });

  it("spot is capped by maxPrice below on-demand, and shows on-demand beside it", () => {
    const spot = priceResource(record("aws:ec2/instance:Instance", { instanceType: "p4d.24xlarge", instanceMarketOptions: { marketType: "spot", spotOptions: { maxPrice: "12.5" } } }))!;
    expect(spot.hourly).toBe(12.5);
    expect(spot.detail).toContain("on-demand $32.7726/h");
    const uncapped = priceResource(record("aws:ec2/instance:Instance", { instanceType: "g5.xlarge", instanceMarketOptions: { marketType: "spot" } }))!;
    expect(uncapped.hourly).toBe(1.006);
    const live = priceResource(record("aws:ec2/instance:Instance", { instanceType: "g5.xlarge", instanceMarketOptions: { marketType: "spot" } }), {
      source: "test",
      onDemandHourly: () => 1.006,
      spotHourly: () => 0.3621,
    })!;
    expect(live.hourly).toBe(0.3621);
  });

  it("a volume's final snapshot is what stays after delete: size × $0.05", () => {
    const item = priceResource(record("aws:ebs/volume:Volume", { size: 2048, type: "gp3", finalSnapshot: true }))!;
    expect(item.afterDeleteMonthly).toBeCloseTo(102.4, 9);
    expect(item.monthly).toBeCloseTo(163.84, 9);
  });

  it("hours: explicit, else the largest max-hours tag, else 730", () => {
    const node = record("aws:ec2/instance:Instance", { instanceType: "t3.micro" }, { "trainctl:max-hours": "48" });
    expect(estimateCost(model([node])).hours).toBe(48);
    expect(estimateCost(model([node]), { hours: 5 }).total).toBeCloseTo(0.052, 9);
    expect(estimateCost(model([record("aws:ec2/instance:Instance", { instanceType: "t3.micro" })])).hours).toBe(730);
  });

  it("an unknown instance type is unpriced, never $0, and warned about", () => {
    const report = estimateCost(model([record("aws:ec2/instance:Instance", { instanceType: "x9.mega" })]));
    expect(report.items[0]).toMatchObject({ hourly: null, monthly: null, unpriced: true });
    expect(report.unpriced).toBe(1);
    expect(report.warnings[0]).toContain("x9.mega");
  });
});

describe("estimates from the resource model's sources", () => {
  it("a stack export prices the same as the offline plan of the same stack", () => {
    const fromState = estimateCost(readStackExport(STATE));
    const plan = JSON.parse(trainctl(["plan", "--json"]).stdout);
    expect(fromState.hourly).toBeCloseTo(plan.cost.hourly, 9);
    expect(fromState.items.map((i) => i.urn)).toEqual(plan.cost.items.map((i: { urn: string }) => i.urn));
  });

  it("the state reader keeps protect and retainOnDelete, and defaults missing flags to false", () => {
    const state = readStackExport(STATE);
    const bucket = state.resources.find((r) => r.type === "aws:s3/bucket:Bucket")!;
    expect([bucket.protect, bucket.retainOnDelete]).toEqual([true, true]);
    const node = state.resources.find((r) => r.type === "aws:ec2/instance:Instance")!;
    expect([node.protect, node.retainOnDelete]).toEqual([false, false]);
    expect(node.tags["trainctl:experiment"]).toBe("dev");
  });

  it("a preview prices new states and counts deletes as savings", () => {
    const preview = readPreview(PREVIEW);
    expect(preview.deleted.map((r) => r.type).sort()).toEqual(["aws:budgets/budget:Budget", "trainctl:cost:Budget"]);
    const report = estimateCost(preview);
    expect(report.items.filter((i) => i.type === "aws:ec2/instance:Instance").map((i) => i.detail)).toEqual([
      expect.stringContaining("g5.2xlarge"),
      expect.stringContaining("g5.2xlarge"),
    ]);
    const withDeletedVolume = parsePreview({ steps: [{ op: "delete", urn: "urn:pulumi:s::p::aws:ebs/volume:Volume::v", oldState: { type: "aws:ebs/volume:Volume", custom: true, inputs: { size: 100, type: "gp3" } } }] });
    expect(estimateCost(withDeletedVolume).savings).toEqual({ hourly: expect.closeTo(8 / 730, 6), monthly: expect.closeTo(8, 4) });
  });
});

describe("PR cost diff", () => {
  it("head minus base, per resource", () => {
    const diff = compareCosts(estimateCost(readPreview(PREVIEW)), estimateCost(readStackExport(STATE)));
    // Two g5.2xlarge spot nodes capped at 0.75 replace one g5.xlarge capped at 0.75; the second node
    // adds its own root volume and a second 500 GiB data volume.
    const root = (100 * 0.08) / 730;
    const volume = 70 / 730;
    expect(diff.delta.hourly).toBeCloseTo(0.75 + root + volume, 5);
    expect(diff.changes.map((c) => [c.name, c.change])).toEqual(
      expect.arrayContaining([
        ["dev-training-node-1", "added"],
        ["dev-data-1-volume", "added"],
      ]),
    );
  });

  it("renders a compact markdown comment (snapshot read by a person)", async () => {
    const diff = compareCosts(estimateCost(readPreview(PREVIEW)), estimateCost(readStackExport(STATE)));
    await expect(renderCostDiffMarkdown(diff)).toMatchFileSnapshot("__snapshots__/dev-scale-up.cost.md");
  });
});

describe("trainctl cost", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "trainctl-cost-"));
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it("--max-monthly exits 3 with a clear line", () => {
    const result = trainctl(["cost", "--state", STATE, "--max-monthly", "100", "--json"]);
    expect(result.code).toBe(3);
    expect(result.stderr.trim()).toMatch(/^error: --max-monthly: estimated \$631\.95\/month exceeds the \$100\.00 threshold$/);
    expect(JSON.parse(result.stdout).monthly).toBeCloseTo(631.95, 2);
  });

  it("--compare --format markdown writes the comment to stdout", () => {
    const result = trainctl(["cost", "--preview", PREVIEW, "--compare", STATE, "--format", "markdown"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(readFileSync(path.join(__dirname, "__snapshots__", "dev-scale-up.cost.md"), "utf8"));
  });

  it.each([
    ["not a Pulumi export", ["--state", file("a.json", '{"resources": []}')], /not a Pulumi stack export/],
    ["an old version", ["--state", file("v2.json", '{"version": 2, "deployment": {}}')], /version 2 is not supported \(accepted: 3/],
    ["truncated JSON", ["--state", file("t.json", readFileSync(STATE, "utf8").slice(0, 500))], /not valid JSON \(truncated\?\)/],
    ["a preview with no steps", ["--preview", file("p.json", '{"steps": []}')], /no steps found/],
    ["negative hours", ["--state", STATE, "--hours", "-5"], /--hours must be a number >= 0/],
    ["two sources", ["--state", STATE, "--preview", PREVIEW], /exactly one of --state, --preview/],
  ])("bad input: %s → exit 2, one line", (_what, args, message) => {
    const result = trainctl(["cost", ...(args as string[])]);
    expectUsageError(result, message as RegExp);
  });

  it("an unknown instance type is a warning, not an error", () => {
    const state = JSON.parse(readFileSync(STATE, "utf8"));
    const node = state.deployment.resources.find((r: { type: string }) => r.type === "aws:ec2/instance:Instance");
    node.inputs.instanceType = "zz9.huge";
    const result = trainctl(["cost", "--state", file("unknown.json", JSON.stringify(state)), "--json"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^warning: no price for zz9\.huge/m);
    const report = JSON.parse(result.stdout);
    expect(report.unpriced).toBe(1);
    expect(report.items.find((i: { name: string }) => i.name === "dev-training-node-0")).toMatchObject({ hourly: null, unpriced: true });
  });
});

describe("trainctl cost --running", () => {
  it("multiplies each instance's price by the hours since Pulumi created it", () => {
    const state = JSON.parse(readFileSync(STATE, "utf8"));
    const node = state.deployment.resources.find((r: { type: string }) => r.type === "aws:ec2/instance:Instance");
    node.created = new Date(Date.now() - 10 * 3_600_000).toISOString();
    const dir = mkdtempSync(path.join(tmpdir(), "trainctl-running-"));
    writeFileSync(path.join(dir, "state.json"), JSON.stringify(state));
    const result = trainctl(["cost", "--state", path.join(dir, "state.json"), "--running", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const running = JSON.parse(result.stdout);
    // 10 h × (0.75 spot cap + 100 GiB gp3 root at 0.08/730) = 7.5 + 0.1096.
    expect(running.instances[0].hours).toBeCloseTo(10, 2);
    expect(running.soFar).toBeCloseTo(10 * (0.75 + 8 / 730), 2);
    expect(running.burnRate).toBeCloseTo(0.8657, 3);
  });
});
