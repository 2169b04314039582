import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { NetworkConfig } from "../core/config";
import { type ZoneChoice, chooseZone } from "../core/zones";
import { type PinnedZone, pickSubnet, subnetZoneProblem } from "./placement";

export { pickSubnet } from "./placement";

export interface Placement {
  subnetId: pulumi.Output<string>;
  vpcId: pulumi.Output<string>;
  availabilityZone: pulumi.Output<string>;
  /** Why the nodes go to this zone, for the plan. */
  zoneReason: pulumi.Output<string>;
}

/** What the zone choice needs to know: the type it must be offered, and where the stack already runs. */
export interface ZoneTarget {
  instanceType: string;
  region: string;
  /** The zone of the stack's last deployment (its `availabilityZone` output), if any. */
  deployedZone: pulumi.Input<string | undefined>;
}

/**
 * Where the nodes go: the configured subnet (which must lie in the pinned zone), or the default
 * subnet of the region's default VPC in the pinned zone, else in the zone `chooseZone` picks among
 * those that offer the instance type. Invokes only; decisions in placement.ts and core/zones.ts.
 */
export function resolvePlacement(network: NetworkConfig, pin: PinnedZone | undefined, target: ZoneTarget, parent: pulumi.Resource): Placement {
  const opts = { parent };
  if (network.subnetId) {
    const subnetId = network.subnetId;
    const subnet = aws.ec2.getSubnetOutput({ id: subnetId }, opts);
    const availabilityZone = subnet.availabilityZone.apply((zone) => {
      const problem = subnetZoneProblem(subnetId, zone, pin);
      if (problem) throw new pulumi.ResourceError(problem, parent, true);
      return zone;
    });
    return { subnetId: subnet.id, vpcId: subnet.vpcId, availabilityZone, zoneReason: pulumi.output(`the zone of ${subnetId} (trainctl:network.subnetId)`) };
  }
  const choice: pulumi.Output<ZoneChoice> = pin
    ? pulumi.output({ zone: pin.zone, reason: `pinned by ${pin.key}` })
    : pulumi
        .all([
          aws.ec2.getInstanceTypeOfferingsOutput(
            { locationType: "availability-zone", filters: [{ name: "instance-type", values: [target.instanceType] }] },
            opts,
          ).locations,
          target.deployedZone,
        ])
        .apply(([offered, deployed]) => {
          try {
            return chooseZone(target.instanceType, target.region, offered ?? [], deployed);
          } catch (error) {
            throw new pulumi.ResourceError((error as Error).message, parent, true);
          }
        });
  const zone = choice.zone;
  const vpcs = aws.ec2.getVpcsOutput({ filters: [{ name: "is-default", values: ["true"] }] }, opts);
  const vpcId = vpcs.ids.apply((ids) => {
    if (!ids || ids.length === 0)
      throw new pulumi.ResourceError("trainctl:network: this region has no default VPC; set trainctl:network.subnetId", parent, true);
    return ids[0];
  });
  const filters = [
    { name: "vpc-id", values: [vpcId] },
    { name: "default-for-az", values: ["true"] },
    { name: "availability-zone", values: [zone] },
  ];
  const subnetId = pulumi.all([aws.ec2.getSubnetsOutput({ filters }, opts).ids, zone]).apply(([ids, z]) => pickSubnet(ids, z, "the default VPC"));
  return { subnetId, vpcId, availabilityZone: zone, zoneReason: choice.reason };
}
