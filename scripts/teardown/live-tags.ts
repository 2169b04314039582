import { ec2Sdk } from "../sdk";
import { AUTOSCALING_GROUP_TAG, BUSY_TAGS } from "../../core/tags";

/**
 * Instances whose live tags say a training process runs (BUSY_TAGS: the runtime busy tag, or the older
 * un-prefixed one, set to true). The provider ignores runtime tags, so state rarely holds them; EC2 does.
 */
export async function liveBusyInstances(
  region: string,
  instanceIds: string[],
  client = new (ec2Sdk().EC2Client)({ region, maxAttempts: 5 }),
): Promise<string[]> {
  if (instanceIds.length === 0) return [];
  return (await busyOf(client, { InstanceIds: instanceIds })).map((b) => b.instanceId);
}

/** Busy instances that spot recovery groups launched, found by the tag AWS gives them (not in state). */
export async function liveBusyGroupNodes(
  region: string,
  groupNames: string[],
  client = new (ec2Sdk().EC2Client)({ region, maxAttempts: 5 }),
): Promise<{ instanceId: string; group: string }[]> {
  if (groupNames.length === 0) return [];
  return busyOf(client, { Filters: [{ Name: `tag:${AUTOSCALING_GROUP_TAG}`, Values: groupNames }] });
}

async function busyOf(
  client: InstanceType<ReturnType<typeof ec2Sdk>["EC2Client"]>,
  query: { InstanceIds?: string[]; Filters?: { Name: string; Values: string[] }[] },
): Promise<{ instanceId: string; group: string }[]> {
  const reply = await client.send(new (ec2Sdk().DescribeInstancesCommand)(query));
  const busy: { instanceId: string; group: string }[] = [];
  for (const reservation of reply.Reservations ?? []) {
    for (const instance of reservation.Instances ?? []) {
      const tags = Object.fromEntries((instance.Tags ?? []).map((t): [string, string | undefined] => [t.Key ?? "", t.Value]));
      if (instance.InstanceId && BUSY_TAGS.some((key) => tags[key]?.toLowerCase() === "true"))
        busy.push({ instanceId: instance.InstanceId, group: tags[AUTOSCALING_GROUP_TAG] ?? "" });
    }
  }
  return busy;
}
