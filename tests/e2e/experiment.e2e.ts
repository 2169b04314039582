/**
 * Real AWS, end to end (docs/e2e.md): a throwaway experiment goes up through the Automation API, the
 * promises of the unit tests are checked through the SDKs, the CLI runs against it, and everything is
 * torn down and swept. Runs only with TRAINCTL_E2E=1 (the config's global setup refuses otherwise).
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { GetDashboardCommand, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeInstancesCommand, DescribeSecurityGroupsCommand, DescribeVolumesCommand, type Instance } from "@aws-sdk/client-ec2";
import {
  GetBucketEncryptionCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  HeadObjectCommand,
} from "@aws-sdk/client-s3";
import { DescribeInstanceInformationCommand } from "@aws-sdk/client-ssm";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { dashboardName } from "../../components/naming";
import { stackFile } from "../../scripts/experiments/config-file";
import { ROOT, trainctlAsync, type CliResult } from "../helpers/cli";
import { type AwsClients, awsClients, deleteSnapshots, forceCleanup, liveLeftovers, taggedResources, waitFor } from "./aws";
import { costCeilingProblem, e2eSettings, e2eStackConfig, e2eStackName } from "./settings";
import { createStack, onOutput, protectedUrns, writeStackConfig } from "./stack";

const MINUTE = 60_000;
const settings = e2eSettings(process.env);
const name = e2eStackName(new Date());
const dashboard = dashboardName("trainctl", name);
/** Time kept back at the end of the deadline for the cleanup. */
const CLEANUP_RESERVE_MS = 20 * MINUTE;
const deadline = Date.now() + settings.deadlineMinutes * MINUTE;

let aws: AwsClients;
let stack: Stack | undefined;
let outputs: Record<string, unknown> = {};
let destroyed = false;

/** The CLI as a user runs it, from the project folder; fails the step on a non-zero exit. */
async function cli(args: string[], expectCode = 0): Promise<CliResult> {
  const result = await trainctlAsync(args);
  expect(result.code, `trainctl ${args.join(" ")}\n${result.stderr}`).toBe(expectCode);
  return result;
}

async function node(): Promise<Instance> {
  const found = await aws.ec2.send(new DescribeInstancesCommand({ InstanceIds: [String(outputs.instanceId)] }));
  return found.Reservations![0].Instances![0];
}

describe(`real AWS: throwaway experiment ${name}`, () => {
  beforeAll(async () => {
    aws = awsClients(settings.region);
    writeStackConfig(name, e2eStackConfig(settings, true));
    // The cost ceiling, from the offline plan, before anything is created.
    const plan = JSON.parse((await cli(["plan", "--stack", name, "--json"])).stdout);
    const problem = costCeilingProblem(plan.cost.hourly, settings);
    if (problem) throw new Error(`refusing to start: ${problem}`);
    stack = await createStack(name);
    const up = await stack.up({ onOutput });
    outputs = Object.fromEntries(Object.entries(up.outputs).map(([k, v]) => [k, v.value]));
  }, 30 * MINUTE);

  beforeEach(() => {
    if (Date.now() > deadline - CLEANUP_RESERVE_MS) throw new Error(`the ${settings.deadlineMinutes}-minute deadline is near: skipping to the cleanup`);
  });

  afterAll(async () => {
    // Always: unprotect and destroy through Pulumi; then delete whatever still carries the tags.
    const problems: string[] = [];
    if (stack && !destroyed) {
      try {
        writeStackConfig(name, e2eStackConfig(settings, false));
        const data = await protectedUrns(stack);
        if (data.length) await stack.up({ target: data, onOutput });
        await stack.destroy({ onOutput });
      } catch (error) {
        problems.push(`pulumi cleanup failed: ${(error as Error).message.split("\n")[0]}`);
      }
    }
    const forced = await forceCleanup(aws ?? awsClients(settings.region), name, dashboard);
    problems.push(...forced.errors.filter((e) => !e.includes("ResourceNotFound") && !e.startsWith("delete dashboard")));
    if (stack) await stack.workspace.removeStack(name, { force: true }).catch((error) => problems.push(`stack rm: ${(error as Error).message.split("\n")[0]}`));
    rmSync(stackFile(ROOT, name), { force: true });
    const left = await liveLeftovers(aws ?? awsClients(settings.region), name).catch(() => []);
    if (left.length) problems.push(`still tagged trainctl:experiment=${name}: ${left.join(", ")}`);
    if (problems.length) console.error(`e2e cleanup of ${name}:\n  ${problems.join("\n  ")}`);
  }, 40 * MINUTE);

  it("tags every resource with the cost keys and trainctl:test=true, the root volume included", async () => {
    const tagged = await taggedResources(aws.tagging, name);
    expect(tagged.length).toBeGreaterThan(5);
    for (const { arn, tags } of tagged) {
      expect(tags, arn).toMatchObject({
        "trainctl:project": "trainctl",
        "trainctl:experiment": name,
        "trainctl:owner": settings.owner,
        "trainctl:cost-center": "trainctl-e2e",
        "trainctl:managed-by": "pulumi",
        "trainctl:test": "true",
      });
    }
    const instance = await node();
    const rootId = instance.BlockDeviceMappings!.find((m) => m.DeviceName === instance.RootDeviceName)!.Ebs!.VolumeId!;
    expect(tagged.map((t) => t.arn)).toEqual(
      expect.arrayContaining([expect.stringContaining(`volume/${rootId}`), expect.stringContaining(`instance/${String(outputs.instanceId)}`)]),
    );
    const bucketTags = await aws.s3.send(new GetBucketTaggingCommand({ Bucket: String(outputs.datasetsBucket) }));
    expect(bucketTags.TagSet).toEqual(expect.arrayContaining([{ Key: "trainctl:protected", Value: "true" }]));
  });

  it("requires IMDSv2, encrypts every EBS volume, and opens no inbound port", async () => {
    const instance = await node();
    expect(instance.MetadataOptions?.HttpTokens).toBe("required");
    const volumeIds = instance.BlockDeviceMappings!.map((m) => m.Ebs!.VolumeId!);
    expect(volumeIds).toEqual(expect.arrayContaining(outputs.dataVolumeIds as string[]));
    const volumes = await aws.ec2.send(new DescribeVolumesCommand({ VolumeIds: volumeIds }));
    for (const v of volumes.Volumes!) expect(v.Encrypted, v.VolumeId).toBe(true);
    const groups = await aws.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: instance.SecurityGroups!.map((g) => g.GroupId!) }));
    for (const g of groups.SecurityGroups!) expect(g.IpPermissions ?? [], g.GroupId).toEqual([]);
  });

  it("hardens both buckets: SSE, public access blocked, versioning, TLS only", async () => {
    for (const bucket of [String(outputs.datasetsBucket), String(outputs.checkpointsBucket)]) {
      const sse = await aws.s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
      expect(sse.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm, bucket).toMatch(/^(AES256|aws:kms)$/);
      const block = await aws.s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }));
      expect(block.PublicAccessBlockConfiguration, bucket).toEqual({
        BlockPublicAcls: true,
        IgnorePublicAcls: true,
        BlockPublicPolicy: true,
        RestrictPublicBuckets: true,
      });
      expect((await aws.s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status, bucket).toBe("Enabled");
      const policy = JSON.parse((await aws.s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy!);
      expect(policy.Statement, bucket).toEqual(
        expect.arrayContaining([expect.objectContaining({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } })]),
      );
    }
  });

  it("has the experiment's dashboard at the dashboardUrl output", async () => {
    expect(outputs.dashboardUrl).toBe(
      `https://${settings.region}.console.aws.amazon.com/cloudwatch/home?region=${settings.region}#dashboards:name=${dashboard}`,
    );
    const found = await aws.cloudwatch.send(new GetDashboardCommand({ DashboardName: dashboard }));
    expect(found.DashboardBody).toContain(String(outputs.instanceId));
  });

  it("transfer: a folder up to the datasets bucket and back, byte for byte, encrypted at rest", async () => {
    const local = mkdtempSync(path.join(tmpdir(), "trainctl-e2e-up-"));
    mkdirSync(path.join(local, "train"));
    writeFileSync(path.join(local, "train", "a.bin"), Buffer.alloc(3 * 1024 * 1024, 7));
    writeFileSync(path.join(local, "labels.csv"), "file,label\na.bin,1\n");
    const url = `s3://${String(outputs.datasetsBucket)}/e2e/`;
    await cli(["transfer", local, url]);
    const head = await aws.s3.send(new HeadObjectCommand({ Bucket: String(outputs.datasetsBucket), Key: "e2e/train/a.bin" }));
    expect(head.ServerSideEncryption).toBeTruthy();
    const back = mkdtempSync(path.join(tmpdir(), "trainctl-e2e-down-"));
    await cli(["transfer", url, back]);
    expect(readdirSync(back).sort()).toEqual(["labels.csv", "train"]);
    expect(readFileSync(path.join(back, "train", "a.bin")).equals(readFileSync(path.join(local, "train", "a.bin")))).toBe(true);
  });

  it(
    "run and logs: nvidia-smi through SSM once the node is online",
    async () => {
      await waitFor(
        "the node to come online in SSM",
        async () => {
          const info = await aws.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: "InstanceIds", Values: [String(outputs.instanceId)] }] }));
          return info.InstanceInformationList?.[0]?.PingStatus === "Online" ? true : undefined;
        },
        15 * MINUTE,
      );
      const code = mkdtempSync(path.join(tmpdir(), "trainctl-e2e-code-"));
      writeFileSync(path.join(code, "train.py"), "print('hello from e2e')\n");
      await cli(["run", name, "--code", code, "--", "nvidia-smi"]);
      const logs = await waitFor(
        "nvidia-smi output in trainctl logs",
        async () => {
          const result = await trainctlAsync(["logs", name]);
          return result.code === 0 && result.stdout.includes("NVIDIA-SMI") ? result.stdout : undefined;
        },
        5 * MINUTE,
        15_000,
      );
      expect(logs).toMatch(/Driver Version/);
    },
    25 * MINUTE,
  );

  it(
    "transfer: a folder to the node's disk and back through SSM and the staging prefix",
    async () => {
      const local = mkdtempSync(path.join(tmpdir(), "trainctl-e2e-node-"));
      writeFileSync(path.join(local, "weights.bin"), Buffer.alloc(2 * 1024 * 1024, 3));
      await cli(["transfer", local, `${name}:/var/tmp/trainctl-e2e`]);
      const back = mkdtempSync(path.join(tmpdir(), "trainctl-e2e-node-back-"));
      await cli(["transfer", `${name}:/var/tmp/trainctl-e2e`, back]);
      expect(readFileSync(path.join(back, "weights.bin")).equals(readFileSync(path.join(local, "weights.bin")))).toBe(true);
    },
    10 * MINUTE,
  );

  it(
    "the bootstrap publishes the node's metrics to CloudWatch",
    async () => {
      const dimensions = [
        { Name: "Experiment", Value: name },
        { Name: "InstanceId", Value: String(outputs.instanceId) },
      ];
      const values = await waitFor(
        "trainctl metrics from the node",
        async () => {
          const now = new Date();
          const result = await aws.cloudwatch.send(
            new GetMetricDataCommand({
              StartTime: new Date(now.getTime() - 30 * MINUTE),
              EndTime: now,
              MetricDataQueries: ["CPUUtilization", "MemoryUtilization", "GPUUtilization"].map((metric, i) => ({
                Id: `m${i}`,
                MetricStat: { Metric: { Namespace: "trainctl", MetricName: metric, Dimensions: dimensions }, Period: 60, Stat: "Average" },
              })),
            }),
          );
          const series = result.MetricDataResults ?? [];
          return series.length === 3 && series.every((s) => (s.Values ?? []).length > 0) ? series : undefined;
        },
        10 * MINUTE,
        30_000,
      );
      expect(values).toHaveLength(3);
    },
    12 * MINUTE,
  );

  it("status --json reports the running node", async () => {
    const status = JSON.parse((await cli(["status", name, "--json"])).stdout);
    const experiment = status.experiments.find((e: { stack: string }) => e.stack === name);
    expect(experiment.nodes).toHaveLength(1);
    expect(experiment.nodes[0]).toMatchObject({ index: 0, instanceId: outputs.instanceId, state: "running", lifecycle: "on-demand" });
    for (const key of ["uptimeSeconds", "costSoFarUsd", "volumeInit", "staging", "run", "metrics"]) expect(experiment.nodes[0], key).toHaveProperty(key);
  });

  it("a plain destroy fails on the protected data", async () => {
    await expect(stack!.destroy({ onOutput })).rejects.toThrow(/protect/);
    expect((await aws.ec2.send(new DescribeVolumesCommand({ VolumeIds: outputs.dataVolumeIds as string[] }))).Volumes).toHaveLength(1);
    await aws.s3.send(new HeadBucketCommand({ Bucket: String(outputs.datasetsBucket) }));
  });

  it(
    "teardown --execute deletes compute and keeps the protected data",
    async () => {
      await cli(["teardown", "--stack", name, "--execute", "--confirm", name]);
      await waitFor("the node to terminate", async () => ((await node()).State?.Name === "terminated" ? true : undefined), 10 * MINUTE);
      const volumes = await aws.ec2.send(new DescribeVolumesCommand({ VolumeIds: outputs.dataVolumeIds as string[] }));
      expect(volumes.Volumes?.[0]?.State).toBe("available");
      for (const bucket of [outputs.datasetsBucket, outputs.checkpointsBucket]) await aws.s3.send(new HeadBucketCommand({ Bucket: String(bucket) }));
    },
    20 * MINUTE,
  );

  it(
    "protect: false, a targeted up and a destroy remove the data",
    async () => {
      writeStackConfig(name, e2eStackConfig(settings, false));
      const data = await protectedUrns(stack!);
      expect(data.length).toBeGreaterThan(0);
      // Only the protected leftovers: a full up would bring the node back first.
      await stack!.up({ target: data, onOutput });
      expect(await protectedUrns(stack!)).toEqual([]);
      await stack!.destroy({ onOutput });
      destroyed = true;
      await expect(aws.s3.send(new HeadBucketCommand({ Bucket: String(outputs.datasetsBucket) }))).rejects.toThrow();
      await expect(aws.cloudwatch.send(new GetDashboardCommand({ DashboardName: dashboard }))).rejects.toThrow();
    },
    20 * MINUTE,
  );

  it(
    "sweep: nothing of the experiment is left but its final snapshot, and then nothing at all",
    async () => {
      const report = JSON.parse((await cli(["sweep", "--json", "--min-age", "0s", "--region", settings.region])).stdout);
      const ours = new Set((await taggedResources(aws.tagging, name)).map((r) => r.arn));
      const leaks = (report.leaks as { arn: string; type: string; action: string | null }[]).filter((l) => ours.has(l.arn));
      // The data volume's final snapshot is kept on purpose; nothing else may leak.
      expect(leaks.filter((l) => l.type !== "ec2:snapshot")).toEqual([]);
      expect(leaks.filter((l) => l.action !== null)).toEqual([]);
      await deleteSnapshots(aws, name);
      await waitFor(
        "the experiment's tagged resources to disappear",
        async () => ((await liveLeftovers(aws, name)).length === 0 ? true : undefined),
        10 * MINUTE,
        30_000,
      );
    },
    15 * MINUTE,
  );
});
