import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { S3Client } from "@aws-sdk/client-s3";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ResourceGroupsTaggingAPIClient } from "@aws-sdk/client-resource-groups-tagging-api";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { dataVolumesByInstance, describeNodes, describeVolumeStatus, groupNodes } from "../../scripts/remote/ec2";
import { experimentStatus, type StatusClients, taggedInstances } from "../../scripts/status/collect";
import { fetchMetrics } from "../../scripts/status/metrics";
import { type AwsServerHandle, loopbackClientConfig, startAwsServer } from "../helpers/aws-server";
import { answer, ec2Arn, type World } from "../helpers/aws-world";

const NOW = new Date("2025-06-01T12:00:00Z");
let world: World;
let aws: AwsServerHandle;
let clients: StatusClients;

function freshWorld(): World {
  return {
    instances: {
      "i-0node0": {
        state: "running",
        type: "g5.xlarge",
        spot: true,
        launched: "2025-06-01T10:00:00Z",
        tags: { "trainctl:experiment": "exp", "trainctl:runtime:busy": "true", "trainctl:runtime:staging": "complete" },
      },
      "i-0node1": { state: "stopped", type: "g5.xlarge", launched: "2025-06-01T09:00:00Z", tags: { "trainctl:experiment": "exp" } },
    },
    volumes: {
      "vol-0data0": { instanceId: "i-0node0", initState: "initializing", progress: 42, eta: 900 },
      "vol-0data1": { instanceId: "i-0node1", initState: "completed", progress: 100, eta: 0 },
    },
    metrics: { "i-0node0/CPUUtilization": [10, 20, 30], "i-0node0/GPUUtilization": [90, 95], "i-0node0/NetworkIn": [1000, 2000] },
    tagged: [],
    spot: { "g5.xlarge": 0.4 },
    deny: [],
  };
}

beforeAll(async () => {
  aws = await startAwsServer((req) => answer(world, req));
  const config = { ...loopbackClientConfig(aws.endpoint), maxAttempts: 1 };
  clients = {
    ec2: new EC2Client(config),
    cloudwatch: new CloudWatchClient(config),
    tagging: new ResourceGroupsTaggingAPIClient(config),
    s3: new S3Client(config),
  };
});
afterAll(() => aws?.stop());
beforeEach(() => {
  world = freshWorld();
  aws.requests.length = 0;
});

describe("EC2 through the real client (query protocol, XML)", () => {
  it("DescribeInstances gives state, lifecycle, type, launch time and runtime tags", async () => {
    const states = await describeNodes(clients.ec2, ["i-0node0", "i-0node1"]);
    expect(states.get("i-0node0")).toMatchObject({ state: "running", lifecycle: "spot", instanceType: "g5.xlarge", tags: { "trainctl:runtime:busy": "true" } });
    expect(states.get("i-0node0")!.launchTime!.toISOString()).toBe("2025-06-01T10:00:00.000Z");
    expect(states.get("i-0node1")).toMatchObject({ state: "stopped", lifecycle: "on-demand" });
  });

  it("DescribeVolumes finds each node's data volume by attachment and role tag", async () => {
    const volumes = await dataVolumesByInstance(clients.ec2, ["i-0node0", "i-0node1"]);
    expect(Object.fromEntries(volumes)).toEqual({ "i-0node0": "vol-0data0", "i-0node1": "vol-0data1" });
    expect(aws.requests[0].form).toMatchObject({
      Action: "DescribeVolumes",
      "Filter.1.Name": "attachment.instance-id",
      "Filter.2.Name": "tag:trainctl:role",
      "Filter.2.Value.1": "data-volume",
    });
  });

  it("DescribeVolumeStatus parses initialization-state and InitializationStatusDetails", async () => {
    const status = await describeVolumeStatus(clients.ec2, ["vol-0data0", "vol-0data1"]);
    const first = status.get("vol-0data0")!;
    expect(first.VolumeStatus?.Details).toContainEqual({ Name: "initialization-state", Status: "initializing" });
    expect(first.InitializationStatusDetails).toEqual({ InitializationType: "provisioned-rate", Progress: 42, EstimatedTimeToCompleteInSeconds: 900 });
    expect(status.get("vol-0data1")!.InitializationStatusDetails?.Progress).toBe(100);
  });

  it("DescribeVolumeStatus asks each id alone when one volume is gone, keeping the others", async () => {
    const status = await describeVolumeStatus(clients.ec2, ["vol-0data0", "vol-0gone"]);
    expect([...status.keys()]).toEqual(["vol-0data0"]);
    expect(aws.requests.map((r) => r.form?.["VolumeId.1"])).toEqual(["vol-0data0", "vol-0data0", "vol-0gone"]);
  });
});

describe("CloudWatch GetMetricData through the real client (JSON 1.0)", () => {
  it("sends one query per node and metric, and averages percentages and sums bytes", async () => {
    const metrics = await fetchMetrics(clients.cloudwatch, [{ instanceId: "i-0node0", experiment: "exp" }], 10, NOW);
    expect(metrics.get("i-0node0")).toEqual({
      cpuPercent: 20,
      gpuPercent: 92.5,
      networkInBytes: 3000,
      memoryPercent: null,
      gpuMemoryPercent: null,
      diskReadBytes: null,
    });
    const req = aws.requests[0];
    expect(req.headers["x-amz-target"]).toBe("GraniteServiceVersion20100801.GetMetricData");
    expect(req.headers["content-type"]).toBe("application/x-amz-json-1.0");
    expect(req.headers["x-amzn-query-mode"]).toBe("true");
    const body = JSON.parse(req.body);
    expect(body.MetricDataQueries).toHaveLength(6);
    expect(new Date(body.StartTime * 1000).toISOString()).toBe("2025-06-01T11:50:00.000Z");
    const gpu = body.MetricDataQueries.find((q: { MetricStat: { Metric: { MetricName: string } } }) => q.MetricStat.Metric.MetricName === "GPUUtilization");
    expect(gpu.MetricStat).toEqual({
      Metric: {
        Namespace: "trainctl",
        MetricName: "GPUUtilization",
        Dimensions: [
          { Name: "Experiment", Value: "exp" },
          { Name: "InstanceId", Value: "i-0node0" },
        ],
      },
      Period: 60,
      Stat: "Average",
    });
  });

  it("splits more than 500 queries into several calls", async () => {
    const targets = Array.from({ length: 90 }, (_, i) => ({ instanceId: `i-${i}`, experiment: "exp" }));
    const metrics = await fetchMetrics(clients.cloudwatch, targets, 5, NOW);
    expect(metrics.size).toBe(90);
    expect(aws.requests.map((r) => JSON.parse(r.body).MetricDataQueries.length)).toEqual([500, 40]);
  });
});

describe("Tagging API GetResources through the real client (JSON 1.1)", () => {
  it("asks for trainctl instances with the extra tag filters", async () => {
    world.tagged = [{ arn: ec2Arn("i-0lone0"), tags: { "trainctl:experiment": "lone", Name: "trainctl-lone-node-0" } }];
    expect(await taggedInstances(clients.tagging, [["team", "vision"]])).toEqual([
      { instanceId: "i-0lone0", tags: { "trainctl:experiment": "lone", Name: "trainctl-lone-node-0" } },
    ]);
    expect(JSON.parse(aws.requests[0].body)).toMatchObject({
      ResourceTypeFilters: ["ec2:instance"],
      TagFilters: [
        { Key: "trainctl:managed-by", Values: ["pulumi"] },
        { Key: "team", Values: ["vision"] },
      ],
    });
  });
});

describe("recovery mode: nodes are the groups' instances, found by tags", () => {
  it("groupNodes asks EC2 for the experiment's group instances and orders them by the node-index tag", async () => {
    const group = (i: number) => ({ "trainctl:experiment": "rec", "aws:autoscaling:groupName": `trainctl-rec-node-${i}`, "trainctl:node-index": String(i) });
    world.instances["i-0rec1"] = { state: "running", type: "g5.xlarge", launched: "2026-12-01T10:00:00.000Z", tags: group(1) };
    world.instances["i-0rec0"] = { state: "pending", type: "g5.xlarge", launched: "2026-12-01T10:00:00.000Z", tags: group(0) };
    world.instances["i-0gone"] = { state: "terminated", type: "g5.xlarge", launched: "2026-12-01T10:00:00.000Z", tags: group(0) };
    world.instances["i-0bare"] = { state: "running", type: "g5.xlarge", launched: "2026-12-01T10:00:00.000Z", tags: { "trainctl:experiment": "rec" } };
    try {
      expect((await groupNodes(clients.ec2, "rec")).map((n) => [n.index, n.instanceId])).toEqual([
        [0, "i-0rec0"],
        [1, "i-0rec1"],
      ]);
      const form = aws.requests.at(-1)!.form!;
      expect(Object.entries(form).filter(([k]) => k.startsWith("Filter."))).toEqual(
        expect.arrayContaining([
          ["Filter.1.Name", "tag:trainctl:experiment"],
          ["Filter.1.Value.1", "rec"],
          ["Filter.2.Name", "tag-key"],
          ["Filter.2.Value.1", "aws:autoscaling:groupName"],
        ]),
      );
    } finally {
      for (const id of ["i-0rec0", "i-0rec1", "i-0gone", "i-0bare"]) delete world.instances[id];
    }
  });
});

describe("experimentStatus", () => {
  const experiment = {
    stack: "exp",
    region: "us-east-1",
    source: "state" as const,
    nodes: [
      { index: 0, instanceId: "i-0node0" },
      { index: 1, instanceId: "i-0node1" },
    ],
    estimatedHourlyUsd: 2.5,
  };

  it("builds a row per node from EC2, the volume and CloudWatch; metrics only for running nodes", async () => {
    const status = await experimentStatus(experiment, clients, { minutes: 10, now: NOW });
    expect(status.warnings).toEqual([]);
    expect(status.nodes[0]).toMatchObject({
      state: "running",
      lifecycle: "spot",
      uptimeSeconds: 7200,
      hourlyUsd: 1.006,
      priceBasis: "spot-cap",
      costSoFarUsd: 2.012,
      volumeId: "vol-0data0",
      volumeInit: { state: "initializing", progressPercent: 42, etaSeconds: 900 },
      staging: "complete",
      run: "running",
    });
    expect(status.nodes[1]).toMatchObject({
      state: "stopped",
      uptimeSeconds: null,
      costSoFarUsd: null,
      volumeInit: { state: "completed", progressPercent: 100, etaSeconds: 0 },
      run: null,
    });
    const queried = JSON.parse(aws.requests.find((r) => r.operation === "GetMetricData")!.body).MetricDataQueries;
    expect(new Set(queried.map((q: { MetricStat: { Metric: { Dimensions: { Value: string }[] } } }) => q.MetricStat.Metric.Dimensions.at(-1)!.Value))).toEqual(
      new Set(["i-0node0"]),
    );
  });

  it("--spot-prices: a spot node at the latest spot price in its zone; without one, the on-demand cap", async () => {
    const status = await experimentStatus(experiment, clients, { minutes: 10, now: NOW, spotPrices: true });
    expect(status.nodes[0]).toMatchObject({ lifecycle: "spot", hourlyUsd: 0.4, priceBasis: "spot-live", costSoFarUsd: 0.8 });
    expect(status.nodes[1]).toMatchObject({ lifecycle: "on-demand", priceBasis: "on-demand" });
    expect(aws.requests.filter((r) => r.operation === "DescribeSpotPriceHistory").map((r) => r.form!["InstanceType.1"])).toEqual(["g5.xlarge"]);
    world.deny = ["DescribeSpotPriceHistory"];
    const denied = await experimentStatus(experiment, clients, { minutes: 10, now: NOW, spotPrices: true });
    expect(denied.nodes[0]).toMatchObject({ hourlyUsd: 1.006, priceBasis: "spot-cap" });
    expect(denied.warnings).toEqual([expect.stringMatching(/^EC2 DescribeSpotPriceHistory failed in us-east-1: /)]);
  });

  it("turns volume and metric failures into warnings, with null values", async () => {
    world.deny = ["DescribeVolumeStatus", "GetMetricData"];
    const status = await experimentStatus(experiment, clients, { minutes: 10, now: NOW });
    expect(status.nodes[0].volumeInit).toBeNull();
    expect(status.nodes[0].metrics.cpuPercent).toBeNull();
    expect(status.warnings).toEqual([
      expect.stringMatching(/^EC2 DescribeVolumeStatus failed in us-east-1: .*not allowed/),
      expect.stringMatching(/^CloudWatch GetMetricData failed in us-east-1: .*not allowed/),
    ]);
  });

  it("fails with one line when EC2 cannot describe the instances", async () => {
    world.deny = ["DescribeInstances"];
    await expect(experimentStatus(experiment, clients, { minutes: 10, now: NOW })).rejects.toThrow(
      /^EC2 DescribeInstances failed in us-east-1 for exp: .*not allowed/,
    );
  });
});
