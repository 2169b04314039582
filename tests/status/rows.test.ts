import { describe, expect, it } from "vitest";
import type { NodeState } from "../../scripts/remote/ec2";
import { experimentsFromTags, type TaggedInstance } from "../../scripts/status/collect";
import { buildMetricQueries, emptyMetrics, metricsFromResults, STATUS_METRICS } from "../../scripts/status/metrics";
import { buildNodeRow, matchesTags, nodeHourly, nodeIndexFromName, parseTagFilter, volumeInitFrom } from "../../scripts/status/rows";

const NOW = new Date("2025-06-01T12:00:00Z");
const node = { index: 0, instanceId: "i-0abc" };
const ec2 = (over: Partial<NodeState> = {}): NodeState => ({
  instanceId: "i-0abc",
  state: "running",
  lifecycle: "on-demand",
  instanceType: "g5.xlarge",
  launchTime: new Date("2025-06-01T11:30:00Z"),
  tags: {},
  ...over,
});

describe("nodeHourly", () => {
  it("takes the catalog's on-demand price, and counts spot at that price as the cap", () => {
    expect(nodeHourly({ ec2: ec2() })).toEqual({ hourlyUsd: 1.006, priceBasis: "on-demand" });
    expect(nodeHourly({ ec2: ec2({ lifecycle: "spot" }) })).toEqual({ hourlyUsd: 1.006, priceBasis: "spot-cap" });
  });
  it("uses a live spot price for spot nodes when one is given, never for on-demand ones", () => {
    expect(nodeHourly({ ec2: ec2({ lifecycle: "spot" }), spotHourlyUsd: 0.4 })).toEqual({ hourlyUsd: 0.4, priceBasis: "spot-live" });
    expect(nodeHourly({ ec2: ec2(), spotHourlyUsd: 0.4 }).priceBasis).toBe("on-demand");
  });
  it("falls back to the stack estimate for types the catalog does not know, else no price", () => {
    expect(nodeHourly({ ec2: ec2({ instanceType: "x9.huge" }), estimatedHourlyUsd: 3 })).toEqual({ hourlyUsd: 3, priceBasis: "stack-estimate" });
    expect(nodeHourly({ ec2: ec2({ instanceType: "x9.huge" }) })).toEqual({ hourlyUsd: null, priceBasis: null });
  });
});

describe("volumeInitFrom", () => {
  it("is null without a volume", () => expect(volumeInitFrom(undefined)).toBeNull());
  it("reads the initialization-state detail, progress and ETA", () => {
    expect(
      volumeInitFrom({
        VolumeStatus: {
          Details: [
            { Name: "io-enabled", Status: "passed" },
            { Name: "initialization-state", Status: "initializing" },
          ],
        },
        InitializationStatusDetails: { Progress: 37, EstimatedTimeToCompleteInSeconds: 1200 },
      }),
    ).toEqual({ state: "initializing", progressPercent: 37, etaSeconds: 1200 });
  });
  it("says 100% and no time left once completed, even without details", () => {
    expect(volumeInitFrom({ VolumeStatus: { Details: [{ Name: "initialization-state", Status: "completed" }] } })).toEqual({
      state: "completed",
      progressPercent: 100,
      etaSeconds: 0,
    });
  });
  it("derives the state from progress when the detail is missing, and says unknown when nothing is known", () => {
    expect(volumeInitFrom({ InitializationStatusDetails: { Progress: 60 } })).toEqual({ state: "initializing", progressPercent: 60, etaSeconds: null });
    expect(volumeInitFrom({ InitializationStatusDetails: { Progress: 100 } })?.state).toBe("completed");
    expect(volumeInitFrom({ VolumeStatus: { Status: "ok", Details: [] } })).toEqual({ state: "unknown", progressPercent: null, etaSeconds: null });
  });
});

describe("buildNodeRow", () => {
  it("running on-demand node: uptime since launch, cost so far, runtime tags", () => {
    const row = buildNodeRow({
      node,
      ec2: ec2({ tags: { "trainctl:runtime:busy": "true", "trainctl:runtime:staging": "copying", "trainctl:runtime:warm-state": "warming" } }),
      now: NOW,
    });
    expect(row).toEqual({
      index: 0,
      instanceId: "i-0abc",
      state: "running",
      lifecycle: "on-demand",
      instanceType: "g5.xlarge",
      uptimeSeconds: 1800,
      hourlyUsd: 1.006,
      priceBasis: "on-demand",
      costSoFarUsd: 0.503,
      volumeId: null,
      volumeInit: null,
      warmState: "warming",
      staging: "copying",
      run: "running",
      metrics: emptyMetrics(),
    });
  });
  it("a running node without the busy tag is idle (autostop tags only changes)", () => {
    expect(buildNodeRow({ node, ec2: ec2(), now: NOW }).run).toBe("idle");
    expect(buildNodeRow({ node, ec2: ec2({ tags: { "trainctl:runtime:busy": "false" } }), now: NOW }).run).toBe("idle");
  });
  it("a stopped node has no uptime, no cost so far and no run, whatever a stale busy tag says", () => {
    const row = buildNodeRow({ node, ec2: ec2({ state: "stopped", tags: { "trainctl:runtime:busy": "true" } }), now: NOW });
    expect(row).toMatchObject({ state: "stopped", uptimeSeconds: null, costSoFarUsd: null, run: null, hourlyUsd: 1.006 });
  });
  it("a node EC2 no longer knows is not-found, with nothing else", () => {
    expect(buildNodeRow({ node, now: NOW })).toMatchObject({
      state: "not-found",
      lifecycle: null,
      instanceType: null,
      uptimeSeconds: null,
      hourlyUsd: null,
      priceBasis: null,
      staging: null,
      run: null,
    });
  });
  it("carries the volume and metrics given", () => {
    const metrics = { ...emptyMetrics(), gpuPercent: 88 };
    const row = buildNodeRow({
      node,
      ec2: ec2(),
      volumeId: "vol-1",
      volume: { InitializationStatusDetails: { Progress: 10, EstimatedTimeToCompleteInSeconds: 60 } },
      metrics,
      now: NOW,
    });
    expect(row).toMatchObject({ volumeId: "vol-1", volumeInit: { state: "initializing", progressPercent: 10, etaSeconds: 60 }, metrics });
  });
});

describe("metric queries", () => {
  it("one query per node and metric, with unique ids, the trainctl namespace keyed by experiment", () => {
    const { queries, keys, startTime, endTime } = buildMetricQueries(
      [
        { instanceId: "i-a", experiment: "exp" },
        { instanceId: "i-b", experiment: "exp" },
      ],
      15,
      NOW,
    );
    expect(queries).toHaveLength(2 * STATUS_METRICS.length);
    expect(new Set(queries.map((q) => q.Id)).size).toBe(queries.length);
    for (const q of queries) expect(q.Id).toMatch(/^[a-z][A-Za-z0-9_]*$/);
    expect(endTime).toEqual(NOW);
    expect(startTime).toEqual(new Date("2025-06-01T11:45:00Z"));
    const cpu = queries.find((q) => q.MetricStat?.Metric?.MetricName === "CPUUtilization" && keys.get(q.Id!)!.instanceId === "i-b")!;
    expect(cpu.MetricStat).toEqual({
      Metric: { Namespace: "AWS/EC2", MetricName: "CPUUtilization", Dimensions: [{ Name: "InstanceId", Value: "i-b" }] },
      Period: 60,
      Stat: "Average",
    });
    const mem = queries.find((q) => q.MetricStat?.Metric?.MetricName === "MemoryUtilization")!;
    expect(mem.MetricStat?.Metric?.Dimensions).toEqual([
      { Name: "Experiment", Value: "exp" },
      { Name: "InstanceId", Value: "i-a" },
    ]);
  });

  it("every field of NodeMetrics has exactly one metric", () => {
    expect(STATUS_METRICS.map((m) => m.key).sort()).toEqual(Object.keys(emptyMetrics()).sort());
  });

  it("averages percentages, sums bytes, merges pages of the same id, and leaves no data as null", () => {
    const { keys } = buildMetricQueries([{ instanceId: "i-a", experiment: "exp" }], 10, NOW);
    const id = (name: string) => [...keys].find(([, k]) => STATUS_METRICS.find((m) => m.key === k.key)!.name === name)![0];
    const metrics = metricsFromResults(
      [
        { Id: id("CPUUtilization"), Values: [10, 20] },
        { Id: id("CPUUtilization"), Values: [60] },
        { Id: id("EBSReadBytes"), Values: [1024, 2048] },
        { Id: id("GPUUtilization"), Values: [] },
        { Id: "unknown", Values: [1] },
      ],
      keys,
    );
    expect(metrics.get("i-a")).toEqual({ ...emptyMetrics(), cpuPercent: 30, diskReadBytes: 3072 });
  });
});

describe("tags", () => {
  it("parses KEY=VALUE and refuses anything else", () => {
    expect(parseTagFilter("team=vision")).toEqual(["team", "vision"]);
    expect(parseTagFilter("a=b=c")).toEqual(["a", "b=c"]);
    expect(parseTagFilter("k=")).toEqual(["k", ""]);
    expect(parseTagFilter("novalue")).toBeUndefined();
    expect(parseTagFilter("=v")).toBeUndefined();
  });
  it("matches every wanted pair", () => {
    expect(
      matchesTags({ a: "1", b: "2" }, [
        ["a", "1"],
        ["b", "2"],
      ]),
    ).toBe(true);
    expect(matchesTags({ a: "1" }, [["a", "2"]])).toBe(false);
    expect(matchesTags({}, [])).toBe(true);
  });
  it("reads the node index from a Name tag", () => {
    expect(nodeIndexFromName("trainctl-exp-training-node-3")).toBe(3);
    expect(nodeIndexFromName("something")).toBeUndefined();
  });

  it("groups instances no stack covers by their experiment tag, in node order", () => {
    const tagged: TaggedInstance[] = [
      { instanceId: "i-b1", tags: { "trainctl:experiment": "b", Name: "b-training-node-1" } },
      { instanceId: "i-known", tags: { "trainctl:experiment": "a" } },
      { instanceId: "i-b0", tags: { "trainctl:experiment": "b", Name: "b-training-node-0" } },
      { instanceId: "i-x", tags: {} },
    ];
    expect(experimentsFromTags(tagged, new Set(["i-known"]), "eu-west-1")).toEqual([
      {
        stack: "b",
        region: "eu-west-1",
        source: "tags",
        nodes: [
          { instanceId: "i-b0", index: 0 },
          { instanceId: "i-b1", index: 1 },
        ],
      },
      { stack: "(untagged)", region: "eu-west-1", source: "tags", nodes: [{ instanceId: "i-x", index: 0 }] },
    ]);
  });
});
