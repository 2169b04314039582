import { ec2Sdk } from "../sdk";
import { BUSY_TAGS } from "./teardown-plan";

/**
 * Instances whose live tags say a training process runs (`trainctl:runtime:busy=true`, or the older
 * `trainctl:busy=true`). The provider ignores runtime tags, so state rarely holds them; EC2 does.
 */
export async function liveBusyInstances(region: string, instanceIds: string[], client = new (ec2Sdk().EC2Client)({ region, maxAttempts: 5 })): Promise<string[]> {
  if (instanceIds.length === 0) return [];
  const reply = await client.send(new (ec2Sdk().DescribeInstancesCommand)({ InstanceIds: instanceIds }));
  const busy: string[] = [];
  for (const reservation of reply.Reservations ?? []) {
    for (const instance of reservation.Instances ?? []) {
      const tags = Object.fromEntries((instance.Tags ?? []).map((t): [string, string | undefined] => [t.Key ?? "", t.Value?.toLowerCase()]));
      if (instance.InstanceId && BUSY_TAGS.some((key) => tags[key] === "true")) busy.push(instance.InstanceId);
    }
  }
  return busy;
}
