import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { compareCosts } from "../../scripts/pricing/diff";
import fc from "fast-check";
import { CLOUDWATCH_PRICES, INSTANCE_PRICES } from "../../core/catalog";
import { estimateCost, priceResource, s3StorageMonthly, spotPrices, volumeMonthly } from "../../scripts/pricing/estimate";
import { renderCostDiffMarkdown } from "../../scripts/pricing/markdown";
import type { ResourceRecord, StackModel } from "../../scripts/state/model";
import { parsePreview, readPreview, readStackExport } from "../../scripts/state/readers";
import { expectUsageError, trainctl } from "../helpers/cli";
import { stateRecord } from "../helpers/records";

const FIXTURES = path.join(__dirname, "..", "fixtures");
const STATE = path.join(FIXTURES, "dev.state.json");
const PREVIEW = path.join(FIXTURES, "dev-scale-up.preview.json");

function record(type: string, inputs: Record<string, unknown>, tags: Record<string, string> = {}): ResourceRecord {
  return stateRecord({ urn: `urn:pulumi:t::p::${type}::r`, type, name: "r", inputs, tags });
}
// No public IPv4 address, no metrics: the compute and root volume lines alone.
const bare = { associatePublicIpAddress: false };
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
    const spot = priceResource(
      record("aws:ec2/instance:Instance", {
        ...bare,
        instanceType: "p4d.24xlarge",
        instanceMarketOptions: { marketType: "spot", spotOptions: { maxPrice: "12.5" } },
      }),
    )!;
    expect(spot.hourly).toBe(12.5);
    expect(spot.detail).toContain("on-demand $21.957642/h");
    const uncapped = priceResource(record("aws:ec2/instance:Instance", { ...bare, instanceType: "g5.xlarge", instanceMarketOptions: { marketType: "spot" } }))!;
    expect(uncapped.hourly).toBe(1.006);
    const live = priceResource(record("aws:ec2/instance:Instance", { ...bare, instanceType: "g5.xlarge", instanceMarketOptions: { marketType: "spot" } }), {
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
    const node = record("aws:ec2/instance:Instance", { ...bare, instanceType: "t3.micro" }, { "trainctl:max-hours": "48" });
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

describe("issue #16: prices and lines that were wrong", () => {
  const node = (inputs: Record<string, unknown>, tags: Record<string, string> = {}) =>
    record("aws:ec2/instance:Instance", { instanceType: "g5.xlarge", ...inputs }, tags);
  const spotNode = (type: string) =>
    record("aws:ec2/instance:Instance", { ...bare, instanceType: type, instanceMarketOptions: { marketType: "spot", spotOptions: { maxPrice: "0.75" } } });

  it("17: P4 and P5 carry the June 2025 on-demand cut, each with its source and date", () => {
    expect([INSTANCE_PRICES["p5.48xlarge"].usd, INSTANCE_PRICES["p4d.24xlarge"].usd, INSTANCE_PRICES["p4de.24xlarge"].usd]).toEqual([
      55.04, 21.957642, 27.44705,
    ]);
    for (const type of ["p5.48xlarge", "p4d.24xlarge", "p4de.24xlarge"])
      expect(INSTANCE_PRICES[type]).toMatchObject({ asOf: "2025-06", source: expect.stringMatching(/June 2025/) });
    // P4 down 33% from 32.7726 and 40.9657; P5 down 44% from 98.32 ("up to 45%").
    expect(INSTANCE_PRICES["p4d.24xlarge"].usd / 32.7726).toBeCloseTo(0.67, 6);
    expect(INSTANCE_PRICES["p4de.24xlarge"].usd / 40.9657).toBeCloseTo(0.67, 5);
    expect(1 - INSTANCE_PRICES["p5.48xlarge"].usd / 98.32).toBeCloseTo(0.44, 2);
  });

  it("18: a node's public IPv4 address costs $0.005/h, decided by associatePublicIpAddress, the state's publicIp, else the subnet", () => {
    const hourly = (r: ResourceRecord) => priceResource(r)!.hourly!;
    const without = hourly(node({ associatePublicIpAddress: false }));
    expect(without).toBe(1.006);
    expect(hourly(node({ associatePublicIpAddress: true }))).toBeCloseTo(1.011, 9);
    // Unset (the default subnet decides, and default subnets assign one): charged.
    expect(priceResource(node({}))!).toMatchObject({
      hourly: 1.011,
      lines: ["compute", "public IPv4"],
      detail: expect.stringContaining("public IPv4 $0.005/h"),
    });
    // A stack export says what happened.
    expect(hourly({ ...node({}), outputs: { publicIp: "" } })).toBe(1.006);
    expect(hourly({ ...node({}), outputs: { publicIp: "54.1.2.3" } })).toBeCloseTo(1.011, 9);
  });

  it("18: a training node's custom metrics are priced per metric-month, prorated by the hour", () => {
    const trained = priceResource(node({ associatePublicIpAddress: false }, { "trainctl:role": "training-node" }))!;
    // 8 metrics (core/node-metrics.ts) × $0.30 / 730 h.
    expect(trained.hourly).toBeCloseTo(1.006 + (8 * 0.3) / 730, 6);
    expect(trained.lines).toEqual(["compute", "custom metrics"]);
    expect(trained.detail).toContain(`first ${CLOUDWATCH_PRICES.freeCustomMetrics} are free`);
  });

  it("19: two spot types with the same cap print their own expected price, with the cap beside it", () => {
    const live = {
      source: "test",
      onDemandHourly: (t: string) => INSTANCE_PRICES[t]?.usd,
      spotHourly: (t: string) => ({ "g5.xlarge": 0.41, "g6.xlarge": 0.33 })[t],
    };
    const [g5, g6] = [spotNode("g5.xlarge"), spotNode("g6.xlarge")].map((r) => priceResource(r, live)!);
    expect([g5.hourly, g6.hourly]).toEqual([0.41, 0.33]);
    expect(g5.spot).toEqual({ cap: 0.75, expected: 0.41, onDemand: 1.006 });
    expect(g5.detail).toContain("spot expected $0.41/h, cap $0.75/h (the max price), on-demand $1.006/h");
    // Unknown expected price: the cap, an upper bound, said so.
    const capped = priceResource(spotNode("g6.xlarge"))!;
    expect(capped).toMatchObject({
      hourly: 0.75,
      spot: { cap: 0.75, expected: null, onDemand: 0.8048 },
      detail: expect.stringContaining("expected price unknown"),
    });
  });

  it("19: the expected spot price never exceeds the cap, and the cap never the on-demand price", () => {
    const price = fc.double({ min: 0.001, max: 200, noNaN: true });
    fc.assert(
      fc.property(price, fc.option(price, { nil: undefined }), fc.option(price, { nil: undefined }), (onDemand, maxPrice, live) => {
        const spot = spotPrices(onDemand, maxPrice, live);
        expect(spot.cap).toBeLessThanOrEqual(onDemand);
        if (maxPrice !== undefined) expect(spot.cap).toBeLessThanOrEqual(maxPrice);
        expect(spot.expected === null ? live === undefined : spot.expected <= spot.cap).toBe(true);
      }),
    );
  });

  it("19: the report names the kinds of charge it covers", () => {
    const report = estimateCost(model([record("aws:cloudwatch/dashboard:Dashboard", {}), node({}, { "trainctl:role": "training-node" })]));
    expect(report.covers).toEqual(["compute", "public IPv4", "custom metrics", "dashboard"]);
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
    const withDeletedVolume = parsePreview({
      steps: [
        {
          op: "delete",
          urn: "urn:pulumi:s::p::aws:ebs/volume:Volume::v",
          oldState: { type: "aws:ebs/volume:Volume", custom: true, inputs: { size: 100, type: "gp3" } },
        },
      ],
    });
    expect(estimateCost(withDeletedVolume).savings).toEqual({ hourly: expect.closeTo(8 / 730, 6), monthly: expect.closeTo(8, 4) });
  });
});

describe("PR cost diff", () => {
  it("head minus base, per resource", () => {
    const diff = compareCosts(estimateCost(readPreview(PREVIEW)), estimateCost(readStackExport(STATE)));
    // Two g5.2xlarge spot nodes capped at 0.75 replace one g5.xlarge capped at 0.75; the second node
    // adds its own root volume, public IPv4 address, 8 custom metrics and a second 500 GiB data volume.
    const root = (100 * 0.08) / 730;
    const metrics = (8 * 0.3) / 730;
    const volume = 70 / 730;
    expect(diff.delta.hourly).toBeCloseTo(0.75 + root + 0.005 + metrics + volume, 5);
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
    const monthly = estimateCost(readStackExport(STATE)).monthly;
    const result = trainctl(["cost", "--state", STATE, "--max-monthly", "100", "--json"]);
    expect(result.code).toBe(3);
    expect(result.stderr.trim()).toBe(`error: --max-monthly: estimated $${monthly.toFixed(2)}/month exceeds the $100.00 threshold`);
    expect(JSON.parse(result.stdout).monthly).toBeCloseTo(monthly, 6);
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
    const result = trainctl(["cost", ...args]);
    expectUsageError(result, message);
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
    // 10 h × (0.75 spot cap + 100 GiB gp3 root at 0.08/730 + public IPv4 0.005 + 8 metrics at 0.30/730).
    expect(running.instances[0].hours).toBeCloseTo(10, 2);
    expect(running.soFar).toBeCloseTo(10 * (0.75 + 8 / 730 + 0.005 + 2.4 / 730), 2);
    expect(running.burnRate).toBeCloseTo(estimateCost(readStackExport(STATE)).hourly, 6);
  });
});
