import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { UsageError } from "../errors";
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
  return new EC2Client({ region });
}

/** DescribeInstances for the given ids (paged); ids EC2 no longer knows are absent from the result. */
export async function describeNodes(client: EC2Client, instanceIds: string[]): Promise<Map<string, NodeState>> {
  const states = new Map<string, NodeState>();
  if (instanceIds.length === 0) return states;
  let NextToken: string | undefined;
  do {
    const page = await client.send(new DescribeInstancesCommand({ Filters: [{ Name: "instance-id", Values: instanceIds }], NextToken }));
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
    NextToken = page.NextToken;
  } while (NextToken);
  return states;
}

/** The chosen nodes, each running; anything else is bad input naming the stack (for run and logs). */
export async function requireRunning(client: EC2Client, target: ExperimentTarget, nodes: ExperimentNode[]): Promise<Map<string, NodeState>> {
  const states = await describeNodes(client, nodes.map((n) => n.instanceId));
  const idle = nodes.filter((n) => states.get(n.instanceId)?.state !== "running");
  if (idle.length) {
    const list = idle.map((n) => `node ${n.index} ${n.instanceId} is ${states.get(n.instanceId)?.state ?? "gone"}`).join(", ");
    throw new UsageError(`STACK: ${target.stack} has no running instance to use (${list}); start it with pulumi up -s ${target.stack}`, { subject: "STACK" });
  }
  return states;
}
