/**
 * The availability zone an experiment runs in, chosen once. A deployed experiment never moves: a new
 * zone would replace the nodes and the zone-bound, protected data volume.
 */

export interface ZoneChoice {
  zone: string;
  /** Why this zone, for the plan. */
  reason: string;
}

/**
 * The zone for the nodes: the zone the stack last deployed to, else the first zone, in name order,
 * where AWS offers the instance type (DescribeInstanceTypeOfferings with location type
 * availability-zone). Throws naming trainctl:instance.type when no zone offers it.
 */
export function chooseZone(instanceType: string, region: string, offered: readonly string[], deployed?: string): ZoneChoice {
  if (deployed) return { zone: deployed, reason: "the zone this experiment is deployed in (it never moves)" };
  const zones = [...new Set(offered)].sort();
  if (zones.length === 0)
    throw new Error(`trainctl:instance.type: ${instanceType} is not offered in any availability zone of ${region} (pick another type or region)`);
  return { zone: zones[0], reason: `the first of ${zones.join(", ")} (the zones offering ${instanceType})` };
}
