/**
 * Gathers what `status` shows: EC2 instance state and runtime tags, the data volume's
 * initialization, CloudWatch usage, and instances known only by their tags (Tagging API).
 * Real SDK clients with the SDK's retries; endpoints follow AWS_ENDPOINT_URL_<SERVICE>.
 */
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import type { EC2Client, VolumeStatusItem } from "@aws-sdk/client-ec2";
import type { S3Client } from "@aws-sdk/client-s3";
import { ec2Sdk } from "../sdk";
import { paginateGetResources, ResourceGroupsTaggingAPIClient } from "@aws-sdk/client-resource-groups-tagging-api";
import { TrainctlError } from "../../core/errors";
import { spotQuote } from "../pricing/live";
import { dataVolumesByInstance, describeNodes, describeVolumeStatus, groupNodes } from "../remote/ec2";
import { type RunRecovery, runRecovery } from "../remote/run-spec";
import { readRunSpec } from "../remote/run-spec-store";
import { makeS3Client } from "../transfer/engine";
import type { ExperimentNode } from "../remote/target";
import { fetchMetrics, type NodeMetrics } from "./metrics";
import { buildNodeRow, type NodeRow, nodeIndexFromName } from "./rows";
import { TAG } from "../../core/tags";

export interface StatusClients {
  ec2: EC2Client;
  cloudwatch: CloudWatchClient;
  tagging: ResourceGroupsTaggingAPIClient;
  s3: S3Client;
}

export function statusClients(region: string): StatusClients {
  const base = { region, maxAttempts: 3 };
  return {
    ec2: new (ec2Sdk().EC2Client)(base),
    cloudwatch: new CloudWatchClient(base),
    tagging: new ResourceGroupsTaggingAPIClient(base),
    s3: makeS3Client({ region, endpoint: process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL, concurrency: 1 }),
  };
}

/** An experiment to show: from a stack's outputs (`state`), or from instance tags alone (`tags`). */
export interface ExperimentSource {
  stack: string;
  region: string;
  source: "state" | "tags";
  nodes: ExperimentNode[];
  /** The stack output's burn rate for the whole experiment (all nodes). */
  estimatedHourlyUsd?: number;
  dashboardUrl?: string;
  /** Where the run spec lives (spot recovery). */
  checkpointsBucket?: string;
  /** Spot recovery: the nodes are the groups' current instances, found by tags. */
  nodeGroupNames?: string[];
}

export interface ExperimentStatus {
  stack: string;
  region: string;
  source: "state" | "tags";
  dashboardUrl?: string;
  nodes: NodeRow[];
  /** Spot recovery: the stored run's restarts, interruptions and lost time. */
  recovery?: RunRecovery;
  warnings: string[];
}

const errorText = (error: unknown) => {
  const e = error as { name?: string; message?: string };
  return e?.name && e.message && !e.message.startsWith(e.name) ? `${e.name}: ${e.message}` : (e?.message ?? String(error));
};

export interface StatusOptions {
  minutes: number;
  now?: Date;
  /** Price spot nodes at the latest spot price in their zone (DescribeSpotPriceHistory). */
  spotPrices?: boolean;
}

/** One experiment's rows. EC2 DescribeInstances must answer; volumes, prices and metrics degrade to warnings. */
export async function experimentStatus(experiment: ExperimentSource, clients: StatusClients, options: StatusOptions): Promise<ExperimentStatus> {
  const now = options.now ?? new Date();
  const warnings: string[] = [];
  if (experiment.nodeGroupNames) {
    const name = experiment.stack.split("/").pop()!;
    const nodes = await groupNodes(clients.ec2, name).catch((error) => {
      throw new TrainctlError(`EC2 DescribeInstances failed in ${experiment.region} for ${experiment.stack}: ${errorText(error)}`, {
        subject: experiment.stack,
        retryable: true,
        cause: error,
      });
    });
    experiment = { ...experiment, nodes };
  }
  const ids = experiment.nodes.map((n) => n.instanceId);
  const states = await describeNodes(clients.ec2, ids).catch((error) => {
    throw new TrainctlError(`EC2 DescribeInstances failed in ${experiment.region} for ${experiment.stack}: ${errorText(error)}`, {
      subject: experiment.stack,
      retryable: true,
      cause: error,
    });
  });
  const soft = async <T>(what: string, call: () => Promise<T>, fallback: T): Promise<T> =>
    call().catch((error) => {
      warnings.push(`${what} failed in ${experiment.region}: ${errorText(error)}`);
      return fallback;
    });
  const volumeIds = await soft("EC2 DescribeVolumes", () => dataVolumesByInstance(clients.ec2, ids), new Map<string, string>());
  const volumes = await soft("EC2 DescribeVolumeStatus", () => describeVolumeStatus(clients.ec2, [...volumeIds.values()]), new Map<string, VolumeStatusItem>());
  const running = experiment.nodes.filter((n) => states.get(n.instanceId)?.state === "running");
  const metricTargets = running.map((n) => ({
    instanceId: n.instanceId,
    experiment: states.get(n.instanceId)?.tags[TAG.experiment] ?? experiment.stack.split("/").pop()!,
  }));
  const metrics = await soft(
    "CloudWatch GetMetricData",
    () => fetchMetrics(clients.cloudwatch, metricTargets, options.minutes, now),
    new Map<string, NodeMetrics>(),
  );
  const spotTypes = options.spotPrices
    ? [...new Set([...states.values()].filter((n) => n.lifecycle === "spot" && n.instanceType).map((n) => n.instanceType!))]
    : [];
  const spot = new Map<string, Record<string, number>>();
  for (const type of spotTypes)
    spot.set(type, (await soft("EC2 DescribeSpotPriceHistory", () => spotQuote(clients.ec2, type, now), undefined))?.latestByZone ?? {});
  const perNode = experiment.estimatedHourlyUsd !== undefined && experiment.nodes.length ? experiment.estimatedHourlyUsd / experiment.nodes.length : undefined;
  const nodes = experiment.nodes.map((node) => {
    const volumeId = volumeIds.get(node.instanceId);
    const ec2 = states.get(node.instanceId);
    return buildNodeRow({
      node,
      ec2,
      spotHourlyUsd: ec2?.instanceType && ec2.availabilityZone ? spot.get(ec2.instanceType)?.[ec2.availabilityZone] : undefined,
      volumeId,
      volume: volumeId ? volumes.get(volumeId) : undefined,
      metrics: metrics.get(node.instanceId),
      estimatedHourlyUsd: perNode,
      now,
    });
  });
  const bucket = experiment.checkpointsBucket;
  const spec = experiment.nodeGroupNames && bucket ? await soft("S3 GetObject (run spec)", () => readRunSpec(clients.s3, bucket), undefined) : undefined;
  return {
    stack: experiment.stack,
    region: experiment.region,
    source: experiment.source,
    ...(experiment.dashboardUrl ? { dashboardUrl: experiment.dashboardUrl } : {}),
    nodes,
    ...(spec ? { recovery: runRecovery(spec) } : {}),
    warnings,
  };
}

export interface TaggedInstance {
  instanceId: string;
  tags: Record<string, string>;
}

/** Instances tagged trainctl:managed-by=pulumi (and every extra k=v), through the Tagging API, all pages. */
export async function taggedInstances(client: ResourceGroupsTaggingAPIClient, extra: readonly [string, string][] = []): Promise<TaggedInstance[]> {
  const TagFilters = [{ Key: TAG.managedBy, Values: ["pulumi"] }, ...extra.map(([Key, value]) => ({ Key, Values: [value] }))];
  const out: TaggedInstance[] = [];
  for await (const page of paginateGetResources({ client, pageSize: 100 }, { ResourceTypeFilters: ["ec2:instance"], TagFilters })) {
    for (const mapping of page.ResourceTagMappingList ?? []) {
      const instanceId = mapping.ResourceARN?.split("/").pop();
      if (!instanceId?.startsWith("i-")) continue;
      out.push({ instanceId, tags: Object.fromEntries((mapping.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""])) });
    }
  }
  return out;
}

/**
 * Tagged instances no readable stack covers, as experiments grouped by their trainctl:experiment tag.
 * Node order comes from the Name tag (`…-node-N`), else the order the API gave. Pure.
 */
export function experimentsFromTags(tagged: readonly TaggedInstance[], known: ReadonlySet<string>, region: string): ExperimentSource[] {
  const groups = new Map<string, TaggedInstance[]>();
  for (const instance of tagged) {
    if (known.has(instance.instanceId)) continue;
    const name = instance.tags[TAG.experiment] ?? "(untagged)";
    groups.set(name, [...(groups.get(name) ?? []), instance]);
  }
  return [...groups].map(([stack, instances]) => ({
    stack,
    region,
    source: "tags" as const,
    nodes: instances
      .map((i, position) => ({ instanceId: i.instanceId, index: nodeIndexFromName(i.tags.Name) ?? position }))
      .sort((a, b) => a.index - b.index || a.instanceId.localeCompare(b.instanceId)),
  }));
}
