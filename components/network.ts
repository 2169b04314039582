import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { NetworkConfig } from "../infra/config";

export interface Placement {
  subnetId: pulumi.Output<string>;
  vpcId: pulumi.Output<string>;
  availabilityZone: pulumi.Output<string>;
}

/** First subnet id in a stable order, or a clear error naming trainctl:network. */
export function pickSubnet(ids: string[], zone: string | undefined, vpcId: string): string {
  const sorted = [...ids].sort();
  if (sorted.length === 0) {
    throw new Error(`trainctl:network: no default subnet in ${vpcId}${zone ? ` for zone ${zone}` : ""}; set trainctl:network.subnetId`);
  }
  return sorted[0];
}

/**
 * Where the nodes go: the configured subnet, or a default subnet of the region's default VPC
 * (in `zone` when the data volume or the config pins one).
 */
export function resolvePlacement(network: NetworkConfig, zone: string | undefined, parent: pulumi.Resource): Placement {
  const opts = { parent };
  if (network.subnetId) {
    const subnet = aws.ec2.getSubnetOutput({ id: network.subnetId }, opts);
    return { subnetId: subnet.id, vpcId: subnet.vpcId, availabilityZone: subnet.availabilityZone };
  }
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
