import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { NetworkConfig } from "../infra/config";
import { type PinnedZone, pickSubnet, subnetZoneProblem } from "./placement";

export { pickSubnet } from "./placement";

export interface Placement {
  subnetId: pulumi.Output<string>;
  vpcId: pulumi.Output<string>;
  availabilityZone: pulumi.Output<string>;
}

/**
 * Where the nodes go: the configured subnet (which must lie in the pinned zone), or a default
 * subnet of the region's default VPC (in the pinned zone, if any). Invokes only; decisions in placement.ts.
 */
export function resolvePlacement(network: NetworkConfig, pin: PinnedZone | undefined, parent: pulumi.Resource): Placement {
  const opts = { parent };
  if (network.subnetId) {
    const subnetId = network.subnetId;
    const subnet = aws.ec2.getSubnetOutput({ id: subnetId }, opts);
    const availabilityZone = subnet.availabilityZone.apply((zone) => {
      const problem = subnetZoneProblem(subnetId, zone, pin);
      if (problem) throw new pulumi.ResourceError(problem, parent, true);
      return zone;
    });
    return { subnetId: subnet.id, vpcId: subnet.vpcId, availabilityZone };
  }
  const zone = pin?.zone;
  const vpcs = aws.ec2.getVpcsOutput({ filters: [{ name: "is-default", values: ["true"] }] }, opts);
  const vpcId = vpcs.ids.apply((ids) => {
    if (!ids || ids.length === 0) throw new pulumi.ResourceError("trainctl:network: this region has no default VPC; set trainctl:network.subnetId", parent, true);
    return ids[0];
  });
  const filters = [
    { name: "vpc-id", values: [vpcId] },
    { name: "default-for-az", values: ["true"] },
    ...(zone ? [{ name: "availability-zone", values: [zone] }] : []),
  ];
  const subnetId = aws.ec2.getSubnetsOutput({ filters }, opts).ids.apply((ids) => pickSubnet(ids, zone, "the default VPC"));
  const subnet = aws.ec2.getSubnetOutput({ id: subnetId }, opts);
  return { subnetId, vpcId, availabilityZone: subnet.availabilityZone };
}
