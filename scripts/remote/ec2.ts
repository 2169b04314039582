import type { EC2Client, VolumeStatusItem } from "@aws-sdk/client-ec2";
import { ec2Sdk } from "../sdk";
import { UsageError } from "../../core/errors";
import { AUTOSCALING_GROUP_TAG, TAG } from "../../core/tags";
import type { ExperimentNode, ExperimentTarget } from "./target";

/** What EC2 says about one node right now. */
export interface NodeState {
  instanceId: string;
  state: string;
  lifecycle: "spot" | "on-demand";
  instanceType?: string;
  availabilityZone?: string;
  launchTime?: Date;
  privateIp?: string;
  tags: Record<string, string>;
}

export function ec2Client(region: string): EC2Client {
  return new (ec2Sdk().EC2Client)({ region });
}

/** DescribeInstances for the given ids (paged); ids EC2 no longer knows are absent from the result. */
export async function describeNodes(client: EC2Client, instanceIds: string[]): Promise<Map<string, NodeState>> {
  const states = new Map<string, NodeState>();
  if (instanceIds.length === 0) return states;
  for await (const page of ec2Sdk().paginateDescribeInstances({ client }, { Filters: [{ Name: "instance-id", Values: instanceIds }] })) {
    for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
      if (!instance.InstanceId) continue;
      states.set(instance.InstanceId, {
        instanceId: instance.InstanceId,
        state: instance.State?.Name ?? "unknown",
        lifecycle: instance.InstanceLifecycle === "spot" ? "spot" : "on-demand",
        instanceType: instance.InstanceType,
        availabilityZone: instance.Placement?.AvailabilityZone,
        launchTime: instance.LaunchTime,
        privateIp: instance.PrivateIpAddress,
        tags: Object.fromEntries((instance.Tags ?? []).filter((t) => t.Key).map((t) => [t.Key!, t.Value ?? ""])),
      });
    }
  }
  return states;
}

/**
 * Recovery mode: the experiment's nodes are whatever instances its groups hold now, found by tags
 * (`trainctl:experiment` and the `aws:autoscaling:groupName` AWS sets), not by stack state; node
 * index from the `trainctl:node-index` tag. Terminated instances are left out.
 */
export async function groupNodes(client: EC2Client, experiment: string): Promise<ExperimentNode[]> {
  const Filters = [
    { Name: `tag:${TAG.experiment}`, Values: [experiment] },
    { Name: "tag-key", Values: [AUTOSCALING_GROUP_TAG] },
    { Name: "instance-state-name", Values: ["pending", "running", "stopping", "stopped", "shutting-down"] },
  ];
  const nodes: ExperimentNode[] = [];
  for await (const page of ec2Sdk().paginateDescribeInstances({ client }, { Filters })) {
    for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
      const index = Number(instance.Tags?.find((t) => t.Key === TAG.nodeIndex)?.Value);
      if (instance.InstanceId && Number.isInteger(index)) nodes.push({ index, instanceId: instance.InstanceId, privateIp: instance.PrivateIpAddress });
    }
  }
  return nodes.sort((a, b) => a.index - b.index);
}

/** The chosen nodes, each running; anything else is bad input naming the stack (for run and logs). */
export async function requireRunning(client: EC2Client, target: ExperimentTarget, nodes: ExperimentNode[]): Promise<Map<string, NodeState>> {
  const states = await describeNodes(
    client,
    nodes.map((n) => n.instanceId),
  );
  const idle = nodes.filter((n) => states.get(n.instanceId)?.state !== "running");
  if (idle.length) {
    const list = idle.map((n) => `node ${n.index} ${n.instanceId} is ${states.get(n.instanceId)?.state ?? "gone"}`).join(", ");
    throw new UsageError(`STACK: ${target.stack} has no running instance to use (${list}); start it with pulumi up -s ${target.stack}`, { subject: "STACK" });
  }
  return states;
}

/**
 * DescribeVolumeStatus for the given volume ids (paged). When a batch fails because one id is gone,
 * each id is asked alone, so the others still answer; ids EC2 no longer knows are absent.
 */
export async function describeVolumeStatus(client: EC2Client, volumeIds: string[]): Promise<Map<string, VolumeStatusItem>> {
  const statuses = new Map<string, VolumeStatusItem>();
  const ask = async (VolumeIds: string[]) => {
    for await (const page of ec2Sdk().paginateDescribeVolumeStatus({ client }, { VolumeIds })) {
      for (const item of page.VolumeStatuses ?? []) if (item.VolumeId) statuses.set(item.VolumeId, item);
    }
  };
  if (volumeIds.length === 0) return statuses;
  try {
    await ask(volumeIds);
  } catch (error) {
    if (!/NotFound/.test((error as Error).name ?? "")) throw error;
    for (const id of volumeIds) await ask([id]).catch((e: Error) => (/NotFound/.test(e.name ?? "") ? undefined : Promise.reject(e)));
  }
  return statuses;
}

/** Each instance's attached data volume (tagged `trainctl:role=data-volume`), from DescribeVolumes (paged). */
export async function dataVolumesByInstance(client: EC2Client, instanceIds: string[]): Promise<Map<string, string>> {
  const volumes = new Map<string, string>();
  if (instanceIds.length === 0) return volumes;
  const Filters = [
    { Name: "attachment.instance-id", Values: instanceIds },
    { Name: `tag:${TAG.role}`, Values: ["data-volume"] },
  ];
  for await (const page of ec2Sdk().paginateDescribeVolumes({ client }, { Filters })) {
    for (const volume of page.Volumes ?? []) {
      const instanceId = volume.Attachments?.find((a) => a.InstanceId && instanceIds.includes(a.InstanceId))?.InstanceId;
      if (instanceId && volume.VolumeId && !volumes.has(instanceId)) volumes.set(instanceId, volume.VolumeId);
    }
  }
  return volumes;
}
