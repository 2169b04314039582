import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hourlyEstimate, pricedResources } from "../../components/hourly-estimate";
import { marketOptions } from "../../components/training-instance";
import { stackConfig as config } from "./stack-config";

const SNAPSHOT = "snap-0123456789abcdef0";

describe("pricedResources", () => {
  it("per node an instance (with the component's market options) and a data volume; one FSR; the dashboard; the datasets bucket's expected size", () => {
    const c = config({
      "trainctl:instance": { count: 2, market: "spot", maxPrice: 0.5, maxHours: 24 },
      "trainctl:dataVolume": { snapshotId: SNAPSHOT, sizeGiB: 100, warm: "fsr" },
      "trainctl:network": { availabilityZone: "us-east-1a" },
      "trainctl:dataset": { source: "s3://team-data/x/", sizeGiB: 150 },
    });
    const resources = pricedResources(c);
    expect(resources.map((r) => `${r.type} ${r.name}`)).toEqual([
      "aws:ec2/instance:Instance node-0",
      "aws:ebs/volume:Volume data-0",
      "aws:ec2/instance:Instance node-1",
      "aws:ebs/volume:Volume data-1",
      "aws:ebs/fastSnapshotRestore:FastSnapshotRestore fsr",
      "aws:cloudwatch/dashboard:Dashboard dashboard",
      "aws:s3/bucket:Bucket datasets",
    ]);
    expect(resources[0].inputs.instanceMarketOptions).toEqual(marketOptions(c.instance));
    expect(resources[0].tags).toMatchObject({ "trainctl:role": "training-node", "trainctl:max-hours": "24" });
    expect(resources[6].tags).toEqual({ "trainctl:expected-gib": "150" });
    expect(new Set(resources.map((r) => r.urn)).size).toBe(resources.length);
  });

  it("no volume, no dataset size: nodes and the dashboard only", () => {
    expect(pricedResources(config()).map((r) => r.name)).toEqual(["node-0", "dashboard"]);
  });
});

describe("hourlyEstimate", () => {
  it("worked by hand: one on-demand g5.xlarge, 100 GiB root, public IPv4, 8 metrics and a dashboard", () => {
    const estimate = hourlyEstimate(config());
    const expected = 1.006 + (100 * 0.08) / 730 + 0.005 + (8 * 0.3) / 730 + 3 / 730;
    expect(estimate.hourly).toBeCloseTo(expected, 6);
    expect(estimate.covers).toEqual(["compute", "root volume", "public IPv4", "custom metrics", "dashboard"]);
    expect(estimate.priceSource).toMatch(/^catalog /);
  });

  it("spot counts at its cap: the max price below on-demand", () => {
    const onDemand = hourlyEstimate(config()).hourly;
    const spot = hourlyEstimate(config({ "trainctl:instance": { market: "spot", maxPrice: 0.5 } })).hourly;
    expect(onDemand - spot).toBeCloseTo(1.006 - 0.5, 6);
  });

  it("a price book's prices are used", () => {
    const book = { source: "test book", onDemandHourly: () => 2 };
    expect(hourlyEstimate(config(), book)).toMatchObject({ priceSource: "test book" });
    expect(hourlyEstimate(config(), book).hourly - hourlyEstimate(config()).hourly).toBeCloseTo(2 - 1.006, 6);
  });

  it("grows with nodes, volume size and dataset size, and is never NaN (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 16_000 }), fc.integer({ min: 1, max: 100_000 }), (count, sizeGiB, datasetGiB) => {
        const at = (n: number, size: number, data: number) =>
          hourlyEstimate(
            config({
              "trainctl:instance": { count: n },
              "trainctl:dataVolume": { sizeGiB: size },
              "trainctl:dataset": { source: "s3://team-data/x/", sizeGiB: data },
            }),
          ).hourly;
        const base = at(count, sizeGiB, datasetGiB);
        expect(Number.isFinite(base)).toBe(true);
        expect(at(count + 1, sizeGiB, datasetGiB)).toBeGreaterThan(base);
        expect(at(count, sizeGiB + 100, datasetGiB)).toBeGreaterThan(base);
        expect(at(count, sizeGiB, datasetGiB + 1_000)).toBeGreaterThan(base);
      }),
      { numRuns: 40 },
    );
  });
});
