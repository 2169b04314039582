import { describe, expect, it } from "vitest";
import { estimateCost } from "../../scripts/pricing/estimate";
import { runOffline } from "../../scripts/state/offline-program";
import { FIXTURE_STACKS, fixtureConfig } from "../fixtures/stacks";

describe("one function prices the stack output and trainctl cost (issue #16 item 19, issue #17)", () => {
  it.each(FIXTURE_STACKS)("%s: estimatedHourlyUsd is the offline plan's cost.hourly, and estimateCovers its lines", async (stack) => {
    const run = await runOffline({ stack, config: fixtureConfig(stack) });
    const report = estimateCost(run.model);
    expect(run.outputs.estimatedHourlyUsd).toBe(report.hourly);
    expect(run.outputs.estimateCovers).toEqual(report.covers);
  });

  it("the dev stack's lines include the public IPv4 address and the node's custom metrics", async () => {
    const run = await runOffline({ stack: "dev", config: fixtureConfig("dev") });
    expect(run.outputs.estimateCovers).toEqual([
      "compute",
      "root volume",
      "public IPv4",
      "custom metrics",
      "EBS volume",
      "dashboard",
      "S3 storage (expected size)",
    ]);
  });
});
