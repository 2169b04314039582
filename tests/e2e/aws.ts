/**
 * The e2e suite's AWS side: SDK clients, polling, and the last-resort cleanup of whatever still
 * carries the throwaway experiment's tags. Every delete here is limited to resources tagged both
 * trainctl:experiment=<the e2e stack> and trainctl:test=true.
 */
import { CloudWatchClient, DeleteDashboardsCommand } from "@aws-sdk/client-cloudwatch";
import {
  DeleteSnapshotCommand,
  DeleteVolumeCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  EC2Client,
  type Filter,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { paginateGetResources, ResourceGroupsTaggingAPIClient } from "@aws-sdk/client-resource-groups-tagging-api";
import { DeleteBucketCommand, DeleteObjectsCommand, ListObjectVersionsCommand, S3Client } from "@aws-sdk/client-s3";
import { SSMClient } from "@aws-sdk/client-ssm";

export function awsClients(region: string) {
  const base = { region, maxAttempts: 5 };
  return {
    ec2: new EC2Client(base),
    s3: new S3Client(base),
    ssm: new SSMClient(base),
    cloudwatch: new CloudWatchClient(base),
    tagging: new ResourceGroupsTaggingAPIClient(base),
  };
}
export type AwsClients = ReturnType<typeof awsClients>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns a value, or fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < until) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ""}`);
}

/** Tag filters that select only the throwaway experiment's resources. */
export function experimentTags(experiment: string) {
  return [
    { Key: "trainctl:experiment", Values: [experiment] },
    { Key: "trainctl:test", Values: ["true"] },
  ];
}
const ec2Filters = (experiment: string): Filter[] => experimentTags(experiment).map((t) => ({ Name: `tag:${t.Key}`, Values: t.Values }));

/** Every ARN the Tagging API lists for the experiment, with its tags. */
export async function taggedResources(tagging: ResourceGroupsTaggingAPIClient, experiment: string): Promise<{ arn: string; tags: Record<string, string> }[]> {
  const out: { arn: string; tags: Record<string, string> }[] = [];
  for await (const page of paginateGetResources({ client: tagging }, { TagFilters: experimentTags(experiment) })) {
    for (const m of page.ResourceTagMappingList ?? [])
      out.push({ arn: m.ResourceARN!, tags: Object.fromEntries((m.Tags ?? []).map((t) => [t.Key!, t.Value!])) });
  }
  return out;
}

/**
 * What still exists and bills: tagged ARNs, minus instances that are terminated (EC2 and the Tagging
 * API keep listing those for a while).
 */
export async function liveLeftovers(c: AwsClients, experiment: string): Promise<string[]> {
  const arns = (await taggedResources(c.tagging, experiment)).map((r) => r.arn);
  const instanceIds = arns.filter((a) => a.includes(":instance/")).map((a) => a.split("/").pop()!);
  const gone = new Set<string>();
  if (instanceIds.length) {
    const found = await c.ec2.send(new DescribeInstancesCommand({ InstanceIds: instanceIds })).catch(() => undefined);
    for (const i of found?.Reservations?.flatMap((r) => r.Instances ?? []) ?? []) if (i.State?.Name === "terminated") gone.add(i.InstanceId!);
  }
  return arns.filter((a) => !(a.includes(":instance/") && gone.has(a.split("/").pop()!)));
}

async function emptyBucket(s3: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({ Key: v.Key!, VersionId: v.VersionId }));
    if (objects.length === 0) return;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }));
  }
}

/** Deletes the experiment's final snapshots (the sweep keeps them on purpose; here they are test data). */
export async function deleteSnapshots(c: AwsClients, experiment: string): Promise<string[]> {
  const found = await c.ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ["self"], Filters: ec2Filters(experiment) }));
  const ids = (found.Snapshots ?? []).map((s) => s.SnapshotId!);
  for (const id of ids) await c.ec2.send(new DeleteSnapshotCommand({ SnapshotId: id }));
  return ids;
}

/**
 * The last resort when Pulumi could not finish: terminate instances, then delete volumes, snapshots,
 * buckets (emptied first) and the dashboard. Returns what it did; errors are collected, not thrown.
 */
export async function forceCleanup(c: AwsClients, experiment: string, dashboardName: string): Promise<{ done: string[]; errors: string[] }> {
  const done: string[] = [];
  const errors: string[] = [];
  const attempt = async (what: string, action: () => Promise<unknown>) => {
    try {
      await action();
      done.push(what);
    } catch (error) {
      errors.push(`${what}: ${(error as Error).message}`);
    }
  };
  const reservations = await c.ec2.send(new DescribeInstancesCommand({ Filters: ec2Filters(experiment) })).catch(() => undefined);
  const instances = (reservations?.Reservations ?? [])
    .flatMap((r) => r.Instances ?? [])
    .filter((i) => i.State?.Name !== "terminated")
    .map((i) => i.InstanceId!);
  if (instances.length) {
    await attempt(`terminate ${instances.join(", ")}`, () => c.ec2.send(new TerminateInstancesCommand({ InstanceIds: instances })));
    await attempt("wait for termination", () =>
      waitFor(
        "instances to terminate",
        async () => {
          const now = await c.ec2.send(new DescribeInstancesCommand({ InstanceIds: instances }));
          return now.Reservations?.flatMap((r) => r.Instances ?? []).every((i) => i.State?.Name === "terminated") ? true : undefined;
        },
        10 * 60_000,
      ),
    );
  }
  const volumes = await c.ec2.send(new DescribeVolumesCommand({ Filters: ec2Filters(experiment) })).catch(() => undefined);
  for (const v of volumes?.Volumes ?? []) await attempt(`delete ${v.VolumeId}`, () => c.ec2.send(new DeleteVolumeCommand({ VolumeId: v.VolumeId })));
  await attempt("delete snapshots", () => deleteSnapshots(c, experiment));
  const buckets = (await taggedResources(c.tagging, experiment).catch(() => []))
    .filter((r) => r.arn.startsWith("arn:aws:s3:::"))
    .map((r) => r.arn.slice("arn:aws:s3:::".length));
  for (const bucket of buckets) {
    await attempt(`delete bucket ${bucket}`, async () => {
      await emptyBucket(c.s3, bucket);
      await c.s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    });
  }
  await attempt(`delete dashboard ${dashboardName}`, () => c.cloudwatch.send(new DeleteDashboardsCommand({ DashboardNames: [dashboardName] })));
  return { done, errors };
}
