/**
 * Asks the account, read-only, what `pulumi up` will need, and turns each answer into a row with
 * the decisions in checks.ts. Real SDK clients with the SDK's retries; endpoints follow
 * AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>.
 */
import { CostExplorerClient, ListCostAllocationTagsCommand } from "@aws-sdk/client-cost-explorer";
import {
  type _InstanceType,
  DescribeAvailabilityZonesCommand,
  DescribeImagesCommand,
  DescribeRegionsCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  EC2Client,
  GetSpotPlacementScoresCommand,
  paginateDescribeInstanceTypeOfferings,
  paginateDescribeInstances,
  paginateDescribeSpotPriceHistory,
} from "@aws-sdk/client-ec2";
import { IAMClient, paginateSimulatePrincipalPolicy } from "@aws-sdk/client-iam";
import { HeadBucketCommand, ListBucketsCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { GetAWSDefaultServiceQuotaCommand, GetServiceQuotaCommand, ServiceQuotasClient } from "@aws-sdk/client-service-quotas";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { TAG } from "../../core/tags";
import { type StackConfig, instanceTypes } from "../../core/config";
import { instanceSpec } from "../../core/instance-specs";
import {
  adoptedBucketCheck,
  amiCheck,
  type AmiSource,
  type BucketOwnership,
  type Check,
  callFailed,
  costTagsCheck,
  datasetCheck,
  type DatasetListing,
  deployActions,
  identityCheck,
  isDenied,
  notChecked,
  offeringCheck,
  permissionsCheck,
  principalArn,
  quotaCheck,
  quotaFor,
  regionCheck,
  snapshotCheck,
  spotPriceCheck,
  spotScoreCheck,
  typesRow,
  volumeCheck,
} from "./checks";
import { amiSource, pinnedZoneOf } from "./choices";

export interface PreflightClients {
  sts: STSClient;
  ec2: EC2Client;
  quotas: ServiceQuotasClient;
  iam: IAMClient;
  s3: S3Client;
  ssm: SSMClient;
  costExplorer: CostExplorerClient;
}

/** Settings every client shares (tests: a loopback endpoint and credentials). */
export interface ClientBase {
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  maxAttempts?: number;
}

/** Clients for the stack's region. IAM and Cost Explorer are global (us-east-1 endpoints). */
export function preflightClients(region: string, base: ClientBase = {}): PreflightClients {
  const global = { ...base, region: "us-east-1" };
  return {
    sts: new STSClient({ ...base, region }),
    ec2: new EC2Client({ ...base, region }),
    quotas: new ServiceQuotasClient({ ...base, region }),
    iam: new IAMClient(global),
    s3: new S3Client({ ...base, region, forcePathStyle: Boolean(base.endpoint) }),
    ssm: new SSMClient({ ...base, region }),
    costExplorer: new CostExplorerClient(global),
  };
}

/** Runs one check: a denied call becomes "warn: not checked", any other error a failed row. */
async function guarded(id: string, call: string, check: () => Promise<Check>): Promise<Check> {
  try {
    return await check();
  } catch (error) {
    return isDenied(error) ? notChecked(id, call, error) : callFailed(id, call, error);
  }
}

const errorName = (error: unknown) => (error as { name?: string })?.name ?? "";
const httpStatus = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;

interface Identity {
  account: string;
  arn: string;
}

export interface PreflightOptions {
  /** The role `pulumi up` runs as, when it is not the caller (a read-only CI role checking the deploy role). */
  deployRole?: string;
}

/** Every row for this stack. Identity comes first: without it, nothing else can be asked. */
export async function runPreflight(config: StackConfig, clients: PreflightClients, options: PreflightOptions = {}): Promise<Check[]> {
  let identity: Identity;
  try {
    const caller = await clients.sts.send(new GetCallerIdentityCommand({}));
    identity = { account: caller.Account ?? "", arn: caller.Arn ?? "" };
  } catch (error) {
    return [callFailed("identity", "sts:GetCallerIdentity", error)];
  }
  const zone = pinnedZoneOf(config);
  const instance = config.instance;
  const volume = config.dataVolume;
  const tasks: Promise<Check | Check[]>[] = [
    Promise.resolve(identityCheck(identity.account, identity.arn, config.allowedAccounts)),
    guarded("region", "ec2:DescribeRegions", () => region(config.region, clients)),
    guarded("quota", "servicequotas:GetServiceQuota, ec2:DescribeInstances", () => quota(config, clients)),
    guarded("offering", "ec2:DescribeInstanceTypeOfferings", () => offering(config.region, instanceTypes(instance), zone, clients)),
  ];
  if (instance.market === "spot") {
    tasks.push(guarded("spot-score", "ec2:GetSpotPlacementScores, ec2:DescribeAvailabilityZones", () => spotScore(config, zone, clients)));
    tasks.push(guarded("spot-price", "ec2:DescribeSpotPriceHistory", () => spotPrice(instance.type, instance.maxPrice, zone, clients)));
  }
  if (volume?.snapshotId)
    tasks.push(guarded("snapshot", "ec2:DescribeSnapshots", () => snapshot(config.region, volume.snapshotId as string, volume.sizeGiB, clients)));
  if (volume?.adopt) tasks.push(guarded("volume", "ec2:DescribeVolumes", () => adoptedVolume(volume.adopt as string, volume.availabilityZone, clients)));
  if (config.dataset?.source.startsWith("s3://")) {
    const { source, sizeGiB } = config.dataset;
    tasks.push(guarded("dataset", "s3:ListBucket", () => dataset(source, sizeGiB, clients)));
  }
  for (const [role, bucket] of Object.entries(config.buckets)) {
    if (bucket.adopt) tasks.push(guarded(`bucket:${role}`, "s3:ListAllMyBuckets", () => adoptedBucket(role, bucket.adopt as string, config.region, clients)));
  }
  tasks.push(guarded("ami", amiSource(config).kind === "image" ? "ec2:DescribeImages" : "ssm:GetParameter", () => ami(amiSource(config), clients)));
  tasks.push(guarded("permissions", "iam:SimulatePrincipalPolicy", () => permissions(config, options.deployRole ?? identity.arn, clients)));
  if (config.budget) tasks.push(guarded("cost-tags", "ce:ListCostAllocationTags", () => costTags(clients)));
  return (await Promise.all(tasks)).flat();
}

async function region(name: string, clients: PreflightClients): Promise<Check> {
  try {
    const out = await clients.ec2.send(new DescribeRegionsCommand({ RegionNames: [name], AllRegions: true }));
    return regionCheck(name, out.Regions?.find((r) => r.RegionName === name)?.OptInStatus);
  } catch (error) {
    if (errorName(error) === "InvalidParameterValue") return regionCheck(name, undefined);
    throw error;
  }
}

async function quota(config: StackConfig, clients: PreflightClients): Promise<Check> {
  const { count, market } = config.instance;
  const types = instanceTypes(config.instance);
  const limits = new Map<string, Promise<number>>();
  const limitOf = (code: string) => {
    if (!limits.has(code)) limits.set(code, quotaLimit(code, clients));
    return limits.get(code)!;
  };
  const inUse = await vcpusInUse(clients);
  const rows = await Promise.all(
    types.map(async (type): Promise<Check> => {
      const ref = quotaFor(type, market);
      const spec = instanceSpec(type);
      if (!ref || !spec)
        return {
          id: "quota",
          status: "warn",
          detail: `no vCPU quota mapping for ${type}`,
          fix: "check the EC2 quotas for this family in the Service Quotas console",
        };
      const limit = await limitOf(ref.code);
      return quotaCheck({ region: config.region, type, count, vcpusPerNode: spec.vcpus, quota: ref, limit, inUse: inUse.get(ref.code) ?? 0 });
    }),
  );
  return typesRow(types, rows);
}

/** A quota's value in vCPUs: the account's applied value, else the default. */
async function quotaLimit(code: string, clients: PreflightClients): Promise<number> {
  const input = { ServiceCode: "ec2", QuotaCode: code };
  try {
    return (await clients.quotas.send(new GetServiceQuotaCommand(input))).Quota?.Value ?? 0;
  } catch (error) {
    // An account with no applied value reports the default.
    if (errorName(error) !== "NoSuchResourceException") throw error;
    return (await clients.quotas.send(new GetAWSDefaultServiceQuotaCommand(input))).Quota?.Value ?? 0;
  }
}

/** vCPUs of pending and running instances, by the quota each counts against (spot instances against the spot quota). */
async function vcpusInUse(clients: PreflightClients): Promise<Map<string, number>> {
  const inUse = new Map<string, number>();
  const filters = [{ Name: "instance-state-name", Values: ["pending", "running"] }];
  for await (const page of paginateDescribeInstances({ client: clients.ec2 }, { Filters: filters, MaxResults: 1000 })) {
    for (const i of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
      const itsMarket = i.InstanceLifecycle === "spot" ? "spot" : "on-demand";
      const code = i.InstanceType ? quotaFor(i.InstanceType, itsMarket)?.code : undefined;
      if (!code) continue;
      const cpu = i.CpuOptions;
      const vcpus = cpu?.CoreCount && cpu.ThreadsPerCore ? cpu.CoreCount * cpu.ThreadsPerCore : (instanceSpec(i.InstanceType!)?.vcpus ?? 0);
      inUse.set(code, (inUse.get(code) ?? 0) + vcpus);
    }
  }
  return inUse;
}

async function offering(regionName: string, types: string[], zone: string | undefined, clients: PreflightClients): Promise<Check> {
  const zones: Record<string, string[]> = {};
  const input = { LocationType: "availability-zone" as const, Filters: [{ Name: "instance-type", Values: types }], MaxResults: 1000 };
  for await (const page of paginateDescribeInstanceTypeOfferings({ client: clients.ec2 }, input))
    for (const o of page.InstanceTypeOfferings ?? []) if (o.InstanceType && o.Location) (zones[o.InstanceType] ??= []).push(o.Location);
  return offeringCheck(regionName, types, zone, zones);
}

async function spotScore(config: StackConfig, zone: string | undefined, clients: PreflightClients): Promise<Check> {
  const { type, count } = config.instance;
  // Scores name zones by id (use1-az1); names differ per account.
  const zones = await clients.ec2.send(new DescribeAvailabilityZonesCommand({}));
  const nameOf = new Map((zones.AvailabilityZones ?? []).map((z) => [z.ZoneId, z.ZoneName]));
  const out = await clients.ec2.send(
    new GetSpotPlacementScoresCommand({
      InstanceTypes: [type],
      TargetCapacity: count,
      TargetCapacityUnitType: "units",
      SingleAvailabilityZone: true,
      RegionNames: [config.region],
    }),
  );
  const scores = (out.SpotPlacementScores ?? [])
    .filter((s) => nameOf.has(s.AvailabilityZoneId))
    .map((s) => ({ zone: nameOf.get(s.AvailabilityZoneId) as string, score: s.Score ?? 0 }));
  return spotScoreCheck(type, count, zone, scores);
}

async function spotPrice(type: string, maxPrice: number | undefined, zone: string | undefined, clients: PreflightClients): Promise<Check> {
  const latest = new Map<string, number>();
  const input = {
    InstanceTypes: [type as _InstanceType],
    ProductDescriptions: ["Linux/UNIX"],
    StartTime: new Date(),
    ...(zone ? { AvailabilityZone: zone } : {}),
  };
  for await (const page of paginateDescribeSpotPriceHistory({ client: clients.ec2 }, input)) {
    for (const p of page.SpotPriceHistory ?? []) {
      if (p.AvailabilityZone && p.SpotPrice && !latest.has(p.AvailabilityZone)) latest.set(p.AvailabilityZone, Number(p.SpotPrice));
    }
  }
  return spotPriceCheck(
    type,
    maxPrice,
    zone,
    [...latest].map(([z, price]) => ({ zone: z, price })),
  );
}

async function snapshot(regionName: string, id: string, sizeGiB: number | undefined, clients: PreflightClients): Promise<Check> {
  try {
    const found = (await clients.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [id] }))).Snapshots?.[0];
    const facts = found && { state: found.State ?? "unknown", sizeGiB: found.VolumeSize ?? 0, encrypted: Boolean(found.Encrypted), kmsKeyId: found.KmsKeyId };
    return snapshotCheck(regionName, id, sizeGiB, facts);
  } catch (error) {
    if (errorName(error) === "InvalidSnapshot.NotFound") return snapshotCheck(regionName, id, sizeGiB, undefined);
    throw error;
  }
}

async function adoptedVolume(id: string, zone: string | undefined, clients: PreflightClients): Promise<Check> {
  try {
    const found = (await clients.ec2.send(new DescribeVolumesCommand({ VolumeIds: [id] }))).Volumes?.[0];
    return volumeCheck(id, zone, found && { state: found.State ?? "unknown", zone: found.AvailabilityZone ?? "" });
  } catch (error) {
    if (errorName(error) === "InvalidVolume.NotFound") return volumeCheck(id, zone, undefined);
    throw error;
  }
}

/** Listing pages sampled: a 1.28-million-file prefix is over a thousand pages. */
const DATASET_PAGES = 3;

async function dataset(source: string, sizeGiB: number | undefined, clients: PreflightClients): Promise<Check> {
  const [, bucket, prefix = ""] = /^s3:\/\/([^/]+)\/?(.*)$/.exec(source) as RegExpExecArray;
  const listing: DatasetListing = { objects: 0, bytes: 0, complete: false };
  let token: string | undefined;
  try {
    for (let page = 0; page < DATASET_PAGES; page++) {
      const out = await clients.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of out.Contents ?? []) {
        listing.objects++;
        listing.bytes += o.Size ?? 0;
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
      if (!token) {
        listing.complete = true;
        break;
      }
    }
  } catch (error) {
    if (errorName(error) === "NoSuchBucket") return datasetCheck(source, sizeGiB, "no-bucket");
    throw error;
  }
  return datasetCheck(source, sizeGiB, listing);
}

/** Whose a bucket is: this account lists its own (with their region); anything else exists or does not. */
async function adoptedBucket(role: string, bucket: string, regionName: string, clients: PreflightClients): Promise<Check> {
  const own = await clients.s3.send(new ListBucketsCommand({ Prefix: bucket, MaxBuckets: 1000 }));
  const mine = own.Buckets?.find((b) => b.Name === bucket);
  let found: BucketOwnership;
  if (mine) found = { kind: "own", region: mine.BucketRegion ?? regionName };
  else {
    try {
      await clients.s3.send(new HeadBucketCommand({ Bucket: bucket }));
      found = { kind: "taken" };
    } catch (error) {
      const status = httpStatus(error);
      if (status === 404) found = { kind: "missing" };
      else if (status === 403 || status === 301) found = { kind: "taken" };
      else throw error;
    }
  }
  return adoptedBucketCheck(role, bucket, regionName, found);
}

async function ami(source: AmiSource, clients: PreflightClients): Promise<Check> {
  if (source.kind === "image") {
    const image = (await clients.ec2.send(new DescribeImagesCommand({ ImageIds: [source.id] }))).Images?.[0];
    return amiCheck(source, image && { id: image.ImageId ?? source.id, state: image.State });
  }
  try {
    const value = (await clients.ssm.send(new GetParameterCommand({ Name: source.name }))).Parameter?.Value;
    return amiCheck(source, value ? { id: value } : undefined);
  } catch (error) {
    if (errorName(error) === "ParameterNotFound") return amiCheck(source, undefined);
    throw error;
  }
}

async function permissions(config: StackConfig, callerArn: string, clients: PreflightClients): Promise<Check> {
  const principal = principalArn(callerArn);
  if (!principal)
    return {
      id: "permissions",
      status: "warn",
      detail: `not checked: ${callerArn} cannot be simulated (root or federated user)`,
      fix: "run preflight as the role or user that runs pulumi up",
    };
  const actions = deployActions(config);
  const denied = new Set<string>();
  for await (const page of paginateSimulatePrincipalPolicy({ client: clients.iam }, { PolicySourceArn: principal, ActionNames: actions })) {
    for (const result of page.EvaluationResults ?? []) if (result.EvalDecision !== "allowed") denied.add(result.EvalActionName ?? "");
  }
  return permissionsCheck(principal, actions.length, [...denied].sort());
}

async function costTags(clients: PreflightClients): Promise<Check> {
  const out = await clients.costExplorer.send(new ListCostAllocationTagsCommand({ TagKeys: [TAG.experiment], Type: "UserDefined" }));
  const status = out.CostAllocationTags?.find((t) => t.TagKey === TAG.experiment)?.Status;
  return costTagsCheck(TAG.experiment, status);
}
