import { spawn } from "node:child_process";
import * as path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type AwsServerHandle, startAwsServer } from "../helpers/aws-server";
import { COMPILED_CLI, ROOT, expectUsageError, trainctlAsync } from "../helpers/cli";
import { type FakePulumi, installFakePulumi, pathWithout } from "../helpers/fake-pulumi";
import { answer, ec2Arn, type World } from "../helpers/aws-world";

const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();

function freshWorld(): World {
  return {
    instances: {
      "i-0exp0": {
        state: "running",
        type: "g5.xlarge",
        spot: true,
        launched: hoursAgo(2),
        tags: { "trainctl:experiment": "exp", "trainctl:runtime:busy": "true", "trainctl:runtime:staging": "complete" },
      },
      "i-0exp1": {
        state: "running",
        type: "g5.xlarge",
        spot: true,
        launched: hoursAgo(2),
        tags: { "trainctl:experiment": "exp", "trainctl:runtime:staging": "copying" },
      },
      "i-0lone0": { state: "stopped", type: "g6.xlarge", launched: hoursAgo(30), tags: { "trainctl:experiment": "lone" } },
    },
    volumes: {
      "vol-0exp0": { instanceId: "i-0exp0", initState: "initializing", progress: 40, eta: 1800 },
      "vol-0exp1": { instanceId: "i-0exp1", initState: "completed", progress: 100, eta: 0 },
    },
    metrics: {
      "i-0exp0/CPUUtilization": [50, 70],
      "i-0exp0/GPUUtilization": [97],
      "i-0exp0/GPUMemoryUtilization": [60],
      "i-0exp0/MemoryUtilization": [30],
      "i-0exp0/NetworkIn": [1_048_576],
      "i-0exp0/EBSReadBytes": [2_097_152],
    },
    tagged: [
      { arn: ec2Arn("i-0exp0"), tags: { "trainctl:experiment": "exp", Name: "exp-training-node-0" } },
      { arn: ec2Arn("i-0exp1"), tags: { "trainctl:experiment": "exp", Name: "exp-training-node-1" } },
      { arn: ec2Arn("i-0lone0"), tags: { "trainctl:experiment": "lone", Name: "lone-training-node-0" } },
    ],
    spot: { "g5.xlarge": 0.45 },
    deny: [],
  };
}

const OUTPUTS = {
  exp: { region: "us-east-1", instanceIds: ["i-0exp0", "i-0exp1"], instanceId: "i-0exp0", dataVolumeIds: ["vol-0exp0", "vol-0exp1"], estimatedHourlyUsd: 2.2 },
  other: { region: "us-east-1", instanceIds: [] },
};
const STACK_TAGS = { exp: { team: "vision" }, other: { team: "nlp" } };

let world = freshWorld();
let aws: AwsServerHandle;
let pulumi: FakePulumi;

beforeAll(async () => {
  aws = await startAwsServer((req) => answer(world, req));
  pulumi = installFakePulumi([
    ...Object.entries(OUTPUTS).map(([name, outputs]) => ({
      prefix: ["stack", "output", "--json", "--show-secrets=false", "--stack", name],
      stdout: JSON.stringify(outputs),
    })),
    { prefix: ["stack", "output"], code: 255, stderr: "error: no stack named 'nope' found\n" },
    ...Object.entries(STACK_TAGS).map(([name, tags]) => ({ prefix: ["stack", "tag", "ls", "--json", "--stack", name], stdout: JSON.stringify(tags) })),
    {
      prefix: ["stack", "ls", "--json"],
      stdout: JSON.stringify([
        { name: "exp", current: true },
        { name: "other", current: false },
      ]),
    },
  ]);
});
afterAll(() => aws?.stop());
beforeEach(() => {
  world = freshWorld();
  aws.requests.length = 0;
});

const env = (over: Record<string, string | undefined> = {}) => ({
  PATH: pathWithout(),
  TRAINCTL_PULUMI: pulumi.bin,
  AWS_ENDPOINT_URL: aws.endpoint,
  AWS_ACCESS_KEY_ID: "AKIDTEST",
  AWS_SECRET_ACCESS_KEY: "secret",
  AWS_REGION: "us-east-1",
  AWS_PROFILE: undefined,
  AWS_MAX_ATTEMPTS: "1",
  ...over,
});
const status = (args: string[], over: Record<string, string | undefined> = {}) => trainctlAsync(["status", ...args], { env: env(over) });

describe("trainctl status STACK", () => {
  it("--json: one row per node of a two-node stack, in the documented shape", async () => {
    const result = await status(["exp", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const view = JSON.parse(result.stdout);
    expect(view.experiments).toHaveLength(1);
    const [experiment] = view.experiments;
    expect(experiment).toMatchObject({ stack: "exp", region: "us-east-1", source: "state", warnings: [] });
    expect(experiment.nodes.map((n: { index: number; instanceId: string }) => [n.index, n.instanceId])).toEqual([
      [0, "i-0exp0"],
      [1, "i-0exp1"],
    ]);
    for (const n of experiment.nodes) {
      expect(Object.keys(n)).toEqual(
        expect.arrayContaining([
          "index",
          "instanceId",
          "state",
          "lifecycle",
          "instanceType",
          "uptimeSeconds",
          "costSoFarUsd",
          "volumeInit",
          "staging",
          "run",
          "metrics",
        ]),
      );
      expect(Object.keys(n.metrics).sort()).toEqual(["cpuPercent", "diskReadBytes", "gpuMemoryPercent", "gpuPercent", "memoryPercent", "networkInBytes"]);
    }
    const [first, second] = experiment.nodes;
    expect(first).toMatchObject({
      state: "running",
      lifecycle: "spot",
      instanceType: "g5.xlarge",
      priceBasis: "spot-cap",
      hourlyUsd: 1.006,
      volumeInit: { state: "initializing", progressPercent: 40, etaSeconds: 1800 },
      staging: "complete",
      run: "running",
    });
    expect(first.uptimeSeconds).toBeGreaterThanOrEqual(7200);
    expect(first.uptimeSeconds).toBeLessThan(7300);
    expect(first.costSoFarUsd).toBeCloseTo(2.012, 2);
    expect(first.metrics).toEqual({
      cpuPercent: 60,
      memoryPercent: 30,
      gpuPercent: 97,
      gpuMemoryPercent: 60,
      networkInBytes: 1_048_576,
      diskReadBytes: 2_097_152,
    });
    expect(second).toMatchObject({ volumeInit: { state: "completed", progressPercent: 100, etaSeconds: 0 }, staging: "copying", run: "idle" });
    expect(second.metrics).toEqual({
      cpuPercent: null,
      memoryPercent: null,
      gpuPercent: null,
      gpuMemoryPercent: null,
      networkInBytes: null,
      diskReadBytes: null,
    });
    // With a STACK the state covers everything: no Tagging API call.
    expect(aws.requests.map((r) => r.operation)).not.toContain("GetResources");
  });

  it("prints a table on stderr, saying how spot was priced, and nothing on stdout", async () => {
    const result = await status(["exp"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("exp (us-east-1, from stack state): 2 node(s)");
    for (const text of [
      "node",
      "cost so far",
      "volume init",
      "gpu mem",
      "i-0exp0",
      "g5.xlarge spot",
      "40% (30m00s left)",
      "ready",
      "complete",
      "running",
      "97%",
      "1.0 MiB",
      "2.0 MiB",
      "(cap)",
    ])
      expect(result.stderr).toContain(text);
    expect(result.stderr).toContain("(cap) a spot node counted at the on-demand price, the most it can cost");
    expect(result.stderr).toContain("Usage over the last 10 min");
  });

  it("asks CloudWatch for the last --minutes, and prices spot live with --spot-prices", async () => {
    const result = await status(["exp", "--json", "--minutes", "30", "--spot-prices"]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).experiments[0].nodes[0]).toMatchObject({ hourlyUsd: 0.45, priceBasis: "spot-live" });
    const body = JSON.parse(aws.requests.find((r) => r.operation === "GetMetricData")!.body);
    expect(body.EndTime - body.StartTime).toBe(1800);
    expect(JSON.parse(result.stdout).minutes).toBe(30);
  });

  it("an unknown stack is bad input: exit 2, one line", async () => {
    const result = await status(["nope", "--json"]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^error: STACK: unknown stack "nope": .*no stack named 'nope' found/)]);
  });

  it("an EC2 failure exits 1 with one line", async () => {
    world.deny = ["DescribeInstances"];
    const result = await status(["exp", "--json"]);
    expect(result.code).toBe(1);
    expect(
      result.stderr
        .trim()
        .split("\n")
        .filter((l) => !/NodeVersionSupportWarning|^\s|^$/.test(l)),
    ).toEqual([expect.stringMatching(/^error: EC2 DescribeInstances failed in us-east-1 for exp: .*not allowed/)]);
  });
});

describe("trainctl status bad input", () => {
  it.each([
    [["--tag", "team"], "--tag"],
    [["--minutes", "0"], "--minutes"],
    [["--minutes", "ten"], "--minutes"],
    [["--interval", "0", "--watch"], "--interval"],
  ])("%j exits 2 naming the flag", async (args, flag) => {
    const result = await status(["exp", ...args]);
    expectUsageError(result, new RegExp(`^error: (status: )?${flag}`));
    expect(aws.requests).toEqual([]);
  });
});

describe("trainctl status (every experiment)", () => {
  it("lists the project's stacks filtered by --tag, plus tagged instances no readable state covers", async () => {
    const result = await status(["--json", "--tag", "team=vision"]);
    expect(result.code, result.stderr).toBe(0);
    const view = JSON.parse(result.stdout);
    expect(view.experiments.map((e: { stack: string; source: string }) => [e.stack, e.source])).toEqual([
      ["exp", "state"],
      ["lone", "tags"],
    ]);
    const lone = view.experiments[1];
    expect(lone.nodes).toEqual([
      expect.objectContaining({
        index: 0,
        instanceId: "i-0lone0",
        state: "stopped",
        lifecycle: "on-demand",
        instanceType: "g6.xlarge",
        uptimeSeconds: null,
        costSoFarUsd: null,
        run: null,
      }),
    ]);
    const tagging = JSON.parse(aws.requests.find((r) => r.operation === "GetResources")!.body);
    expect(tagging).toMatchObject({
      ResourceTypeFilters: ["ec2:instance"],
      TagFilters: [
        { Key: "trainctl:managed-by", Values: ["pulumi"] },
        { Key: "team", Values: ["vision"] },
      ],
    });
  });

  it("without the Pulumi CLI, uses the Tagging API alone and says so", async () => {
    const result = await status(["--json"], { TRAINCTL_PULUMI: path.join(pulumi.dir, "missing") });
    expect(result.code, result.stderr).toBe(0);
    const view = JSON.parse(result.stdout);
    expect(view.experiments.map((e: { stack: string; source: string; nodes: unknown[] }) => [e.stack, e.source, e.nodes.length])).toEqual([
      ["exp", "tags", 2],
      ["lone", "tags", 1],
    ]);
    expect(view.warnings).toEqual(["the Pulumi CLI is not installed: experiments come from the Tagging API alone"]);
  });

  it("a Tagging API failure is a warning, the stacks still show", async () => {
    world.deny = ["GetResources"];
    const result = await status(["--json"]);
    expect(result.code, result.stderr).toBe(0);
    const view = JSON.parse(result.stdout);
    expect(view.experiments.map((e: { stack: string }) => e.stack)).toEqual(["exp", "other"]);
    expect(view.warnings).toEqual([expect.stringMatching(/^Tagging API GetResources failed in us-east-1: /)]);
  });
});

describe("trainctl status --watch", () => {
  it("prints one JSON line per refresh until Ctrl-C, then exits 130", async () => {
    const child = spawn(process.execPath, [COMPILED_CLI, "status", "exp", "--json", "--watch", "--interval", "0.2"], {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: "0", ...env() },
    });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    await new Promise<void>((resolve) =>
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        if (stdout.split("\n").filter(Boolean).length >= 3) resolve();
      }),
    );
    child.kill("SIGINT");
    expect(await done, stderr).toBe(130);
    const lines = stdout.trim().split("\n");
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(JSON.parse(line).experiments[0].nodes).toHaveLength(2);
  });
});
