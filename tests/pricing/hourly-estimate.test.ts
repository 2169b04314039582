import { describe, expect, it } from "vitest";
import { estimateCost } from "../../scripts/pricing/estimate";
import { loadStackConfig, runOffline } from "../../scripts/state/offline-program";

const dev = loadStackConfig("dev");
const instance = dev["trainctl:instance"] as Record<string, unknown>;
const volume = dev["trainctl:dataVolume"] as Record<string, unknown>;

// The stacks the fixtures and the lifecycle test share, by what changes the price.
const STACKS: [string, Record<string, unknown>][] = [
  ["dev (spot, snapshot volume warmed at a rate, dataset)", dev],
  ["2-node", { ...dev, "trainctl:instance": { ...instance, count: 2 } }],
  ["on-demand", { ...dev, "trainctl:instance": { ...instance, market: "on-demand", maxPrice: undefined, autostop: { idleMinutes: 30, action: "stop" } } }],
  ["fsr", { ...dev, "trainctl:dataVolume": { ...volume, warm: "fsr", initRateMiBs: undefined }, "trainctl:network": { availabilityZone: "us-east-1a" } }],
];

describe("one function prices the stack output and trainctl cost (issue #16 item 19, issue #17)", () => {
  it.each(STACKS)("%s: estimatedHourlyUsd is the offline plan's cost.hourly, and estimateCovers its lines", async (_name, config) => {
    const run = await runOffline({ stack: "dev", config });
    const report = estimateCost(run.model);
    expect(run.outputs.estimatedHourlyUsd).toBe(report.hourly);
    expect(run.outputs.estimateCovers).toEqual(report.covers);
  });

  it("the dev stack's lines include the public IPv4 address and the node's custom metrics", async () => {
    const run = await runOffline({ stack: "dev", config: dev });
    expect(run.outputs.estimateCovers).toEqual(["compute", "root volume", "public IPv4", "custom metrics", "EBS volume", "dashboard", "S3 storage (expected size)"]);
  });
});
