/**
 * The leak sweep's AWS side: list trainctl-tagged resources, learn their age and size, and delete
 * leaks. Real SDK clients with the SDK's own retry strategy; endpoints follow the standard
 * AWS_ENDPOINT_URL_<SERVICE> variables (EC2, STS, S3, RESOURCE_GROUPS_TAGGING_API).
 */
import type { EC2Client, Tag } from "@aws-sdk/client-ec2";
import { ec2Sdk } from "../sdk";
import { paginateGetResources, ResourceGroupsTaggingAPIClient } from "@aws-sdk/client-resource-groups-tagging-api";
import { DeleteBucketCommand, ListBucketsCommand, ListObjectsV2Command, ListObjectVersionsCommand, S3Client } from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { type CloudResource, type Leak, parseArn, SWEEP_SNAPSHOT_ROLE } from "./leak-rules";
import { TAG } from "../../core/tags";

export interface SweepClients {
  tagging: ResourceGroupsTaggingAPIClient;
  ec2: EC2Client;
  s3: S3Client;
  sts: STSClient;
}

/** Clients for a region. An S3 endpoint override (local S3 servers) also turns on path-style requests. */
export function sweepClients(region: string, env: NodeJS.ProcessEnv = process.env): SweepClients {
  const base = { region, maxAttempts: 5 };
  const s3Endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  return {
    tagging: new ResourceGroupsTaggingAPIClient(base),
    ec2: new (ec2Sdk().EC2Client)(base),
    sts: new STSClient(base),
    s3: new S3Client({
      ...base,
      forcePathStyle: Boolean(s3Endpoint),
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    }),
  };
}

const message = (error: unknown) => {
  const e = error as { name?: string; message?: string };
  return e?.name && e.message && !e.message.startsWith(e.name) ? `${e.name}: ${e.message}` : (e?.message ?? String(error));
};

/** Every resource tagged trainctl:managed-by=pulumi and trainctl:project=PROJECT, all pages. */
export async function listTagged(client: ResourceGroupsTaggingAPIClient, project: string): Promise<CloudResource[]> {
  const out: CloudResource[] = [];
  const pages = paginateGetResources(
    { client, pageSize: 100 },
    {
      TagFilters: [
        { Key: TAG.managedBy, Values: ["pulumi"] },
        { Key: TAG.project, Values: [project] },
      ],
    },
  );
  for await (const page of pages) {
    for (const mapping of page.ResourceTagMappingList ?? []) {
      if (!mapping.ResourceARN) continue;
      const arn = parseArn(mapping.ResourceARN);
      const tags = Object.fromEntries((mapping.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));
      out.push({ arn: mapping.ResourceARN, kind: arn.kind, id: arn.id, type: arn.type, tags });
    }
  }
  return out;
}

const chunks = <T>(items: T[], size: number): T[][] => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, i * size + size));

/**
 * Describes ids in batches; when a batch fails (one id is gone), retries each id alone so one
 * missing resource does not hide the others' age. Returns per-id facts or an error text.
 */
async function describeEach<T>(ids: string[], describe: (ids: string[]) => Promise<Map<string, T>>): Promise<Map<string, T | { error: string }>> {
  const out = new Map<string, T | { error: string }>();
  for (const batch of chunks(ids, 100)) {
    try {
      for (const [id, facts] of await describe(batch)) out.set(id, facts);
    } catch {
      for (const id of batch) {
        try {
          const one = await describe([id]);
          out.set(id, one.get(id) ?? { error: "not found" });
        } catch (error) {
          out.set(id, { error: message(error) });
        }
      }
    }
  }
  return out;
}

type Facts = Partial<CloudResource>;

async function describeInstances(ec2: EC2Client, ids: string[]): Promise<Map<string, Facts>> {
  const out = new Map<string, Facts>();
  const reply = await ec2.send(new (ec2Sdk().DescribeInstancesCommand)({ InstanceIds: ids }));
  for (const reservation of reply.Reservations ?? []) {
    for (const i of reservation.Instances ?? []) {
      if (i.InstanceId) out.set(i.InstanceId, { createdAt: i.LaunchTime, state: i.State?.Name, instanceType: i.InstanceType });
    }
  }
  return out;
}

async function describeVolumes(ec2: EC2Client, ids: string[]): Promise<Map<string, Facts>> {
  const out = new Map<string, Facts>();
  const reply = await ec2.send(new (ec2Sdk().DescribeVolumesCommand)({ VolumeIds: ids }));
  for (const v of reply.Volumes ?? []) {
    if (v.VolumeId)
      out.set(v.VolumeId, { createdAt: v.CreateTime, state: v.State, sizeGiB: v.Size, volumeType: v.VolumeType, iops: v.Iops, throughputMiBs: v.Throughput });
  }
  return out;
}

async function describeSnapshots(ec2: EC2Client, ids: string[]): Promise<Map<string, Facts>> {
  const out = new Map<string, Facts>();
  const reply = await ec2.send(new (ec2Sdk().DescribeSnapshotsCommand)({ SnapshotIds: ids }));
  for (const s of reply.Snapshots ?? []) if (s.SnapshotId) out.set(s.SnapshotId, { createdAt: s.StartTime, state: s.State, sizeGiB: s.VolumeSize });
  return out;
}

/**
 * Whether a bucket holds any object version or delete marker. Servers without ListObjectVersions
 * (local S3 stand-ins answer 405/501) fall back to ListObjectsV2.
 */
async function bucketEmpty(s3: S3Client, bucket: string): Promise<boolean> {
  try {
    const reply = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: 1 }));
    return (reply.Versions?.length ?? 0) + (reply.DeleteMarkers?.length ?? 0) === 0;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== 405 && status !== 501) throw error;
    const reply = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1 }));
    return (reply.KeyCount ?? reply.Contents?.length ?? 0) === 0;
  }
}

/**
 * Fills in age, state and size: EC2 LaunchTime / CreateTime / StartTime; for buckets the
 * `trainctl:created-at` tag when present, else ListBuckets' CreationDate, plus whether they are empty.
 */
export async function describe(clients: SweepClients, resources: CloudResource[]): Promise<CloudResource[]> {
  const ofKind = (kind: CloudResource["kind"]) => resources.filter((r) => r.kind === kind).map((r) => r.id);
  const facts = new Map<string, Facts | { error: string }>();
  const merge = (m: Map<string, Facts | { error: string }>) => m.forEach((v, k) => facts.set(k, v));
  const instances = ofKind("instance");
  const volumes = ofKind("volume");
  const snapshots = ofKind("snapshot");
  if (instances.length) merge(await describeEach(instances, (ids) => describeInstances(clients.ec2, ids)));
  if (volumes.length) merge(await describeEach(volumes, (ids) => describeVolumes(clients.ec2, ids)));
  if (snapshots.length) merge(await describeEach(snapshots, (ids) => describeSnapshots(clients.ec2, ids)));

  const buckets = resources.filter((r) => r.kind === "bucket");
  if (buckets.length) {
    let created = new Map<string, Date | undefined>();
    try {
      const list = await clients.s3.send(new ListBucketsCommand({}));
      created = new Map((list.Buckets ?? []).map((b) => [b.Name ?? "", b.CreationDate]));
    } catch (error) {
      for (const b of buckets) facts.set(b.id, { error: `ListBuckets: ${message(error)}` });
    }
    for (const b of buckets) {
      const tagged = b.tags[TAG.createdAt] ? new Date(b.tags[TAG.createdAt]) : undefined;
      try {
        facts.set(b.id, { createdAt: tagged ?? created.get(b.id), empty: await bucketEmpty(clients.s3, b.id) });
      } catch (error) {
        facts.set(b.id, { createdAt: tagged ?? created.get(b.id), describeError: `ListObjectVersions: ${message(error)}` });
      }
    }
  }
  return resources.map((r) => {
    const f = facts.get(r.id);
    if (!f) return r;
    return "error" in f ? { ...r, describeError: f.error } : { ...r, ...f };
  });
}

export async function callerAccount(sts: STSClient): Promise<string> {
  const reply = await sts.send(new GetCallerIdentityCommand({}));
  if (!reply.Account) throw new Error("STS GetCallerIdentity returned no account");
  return reply.Account;
}

export interface SweepResult {
  arn: string;
  action: string;
  status: "done" | "failed";
  error?: string;
  /** The snapshot taken before deleting a volume. */
  snapshotId?: string;
}

const copyableTags = (tags: Record<string, string>): Tag[] =>
  Object.entries(tags)
    .filter(([k]) => !k.startsWith("aws:"))
    .map(([Key, Value]) => ({ Key, Value }));

/** Applies each leak's action, one at a time; a failure is reported and the sweep goes on. */
export async function executeSweep(clients: SweepClients, leaks: Leak[], options: { snapshot: boolean; now?: Date }): Promise<SweepResult[]> {
  const results: SweepResult[] = [];
  for (const leak of leaks) {
    const r = leak.resource;
    if (!leak.action) continue;
    const action = leak.action === "snapshot-and-delete" && !options.snapshot ? "delete" : leak.action;
    try {
      let snapshotId: string | undefined;
      if (action === "terminate") await clients.ec2.send(new (ec2Sdk().TerminateInstancesCommand)({ InstanceIds: [r.id] }));
      if (action === "snapshot-and-delete") {
        const tags = {
          ...r.tags,
          Name: `${r.tags.Name ?? r.id}-sweep`,
          [TAG.role]: SWEEP_SNAPSHOT_ROLE,
          [TAG.createdAt]: (options.now ?? new Date()).toISOString(),
        };
        const snap = await clients.ec2.send(
          new (ec2Sdk().CreateSnapshotCommand)({
            VolumeId: r.id,
            Description: `trainctl sweep: last copy of leaked volume ${r.id}`,
            TagSpecifications: [{ ResourceType: "snapshot", Tags: copyableTags(tags) }],
          }),
        );
        snapshotId = snap.SnapshotId;
        if (!snapshotId) throw new Error("CreateSnapshot returned no snapshot id; the volume was kept");
      }
      if (action === "snapshot-and-delete" || (action === "delete" && r.kind === "volume"))
        await clients.ec2.send(new (ec2Sdk().DeleteVolumeCommand)({ VolumeId: r.id }));
      if (action === "delete" && r.kind === "snapshot") await clients.ec2.send(new (ec2Sdk().DeleteSnapshotCommand)({ SnapshotId: r.id }));
      if (action === "delete-bucket") await clients.s3.send(new DeleteBucketCommand({ Bucket: r.id }));
      results.push({ arn: r.arn, action, status: "done", ...(snapshotId ? { snapshotId } : {}) });
    } catch (error) {
      results.push({ arn: r.arn, action, status: "failed", error: message(error) });
    }
  }
  return results;
}
