import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { type InstanceConfig, instanceTypes } from "../core/config";
import { TAG } from "../core/tags";

/**
 * Spot recovery: one node as its own Auto Scaling group of size 1 (docs/spot.md). The launch template
 * carries what the bare instance would (IMDSv2, encrypted gp3 root, profile, user data with this
 * node's volume id, placement group); the group's MixedInstancesPolicy picks the spot type.
 */
export interface NodeGroupArgs {
  /** The group's physical name (`nodeGroupName`); the launch template takes the same. */
  groupName: string;
  nodeIndex: number;
  config: InstanceConfig;
  ami: pulumi.Input<string>;
  /** The subnet of the data volume's zone: the node must come up where its volume is. */
  subnetId: pulumi.Input<string>;
  securityGroupId: pulumi.Input<string>;
  instanceProfileName: pulumi.Input<string>;
  placementGroupName?: pulumi.Input<string>;
  /** Raw user data; the template takes it base64-encoded. */
  userData: pulumi.Input<string>;
  /** The provider's default tags: they do not reach the group's instances, so the group propagates them. */
  costTags: Record<string, string>;
  /** The node's own tags (Name, role, node index, max hours). */
  nodeTags: Record<string, string>;
  /** Root volume tags on top of the cost tags. */
  rootVolumeTags: Record<string, string>;
  /** The cost estimate's interruption assumptions, kept on the group (not propagated). */
  interruptions: { perDay: number; restartMinutes: number };
}

/**
 * Capacity Rebalance stays off. With it, a rebalance recommendation (often a false alarm) makes the
 * group launch a second GPU and then terminate the running node without the two-minute notice the
 * spot watcher checkpoints on; the newcomer could only boot and stage, since the volume stays
 * attached to the old node until it is gone. Off, a node is replaced only after a real interruption.
 */
export const CAPACITY_REBALANCE = false;

/** Spot only, no on-demand base or fallback; the AWS-recommended allocation strategy for spot. */
export function instancesDistribution(config: Pick<InstanceConfig, "maxPrice">): aws.types.input.autoscaling.GroupMixedInstancesPolicyInstancesDistribution {
  return {
    onDemandBaseCapacity: 0,
    onDemandPercentageAboveBaseCapacity: 0,
    spotAllocationStrategy: "price-capacity-optimized",
    ...(config.maxPrice !== undefined ? { spotMaxPrice: String(config.maxPrice) } : {}),
  };
}

/** The encrypted gp3 root volume, as a launch template mapping (its booleans are strings). */
export function rootDeviceMapping(config: Pick<InstanceConfig, "rootVolumeGiB">, deviceName: pulumi.Input<string>) {
  return { deviceName, ebs: { volumeSize: config.rootVolumeGiB, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } };
}

/** One override per allowed type, preferred first. */
export function launchTemplateOverrides(config: Pick<InstanceConfig, "type" | "types">): { instanceType: string }[] {
  return instanceTypes(config).map((instanceType) => ({ instanceType }));
}

/**
 * The group's tags: the cost tags, then the node's own (which win), written on each instance it
 * launches; then the interruption assumptions the cost estimate reads, on the group only.
 */
export function groupTags(
  costTags: Record<string, string>,
  nodeTags: Record<string, string>,
  interruptions: NodeGroupArgs["interruptions"],
): aws.types.input.autoscaling.GroupTag[] {
  return [
    ...Object.entries({ ...costTags, ...nodeTags }).map(([key, value]) => ({ key, value, propagateAtLaunch: true })),
    { key: TAG.interruptionsPerDay, value: String(interruptions.perDay), propagateAtLaunch: false },
    { key: TAG.restartMinutes, value: String(interruptions.restartMinutes), propagateAtLaunch: false },
  ];
}

/**
 * The group never changes its desired capacity on `pulumi up`: a node scaled to 0 (autostop, the
 * restart limit) stays stopped until someone scales it up on purpose.
 */
export const GROUP_IGNORE_CHANGES = ["desiredCapacity"];

export class NodeGroup extends pulumi.ComponentResource {
  readonly launchTemplate: aws.ec2.LaunchTemplate;
  readonly group: aws.autoscaling.Group;

  constructor(name: string, args: NodeGroupArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("trainctl:compute:NodeGroup", name, {}, opts);
    const { config } = args;
    const child = { parent: this };
    // Like the bare instance: the AMI and user data resolve once unless `ami` is pinned.
    const ignoreChanges = config.ami ? [] : ["imageId", "userData"];
    const rootDeviceName = aws.ec2.getAmiOutput({ filters: [{ name: "image-id", values: [args.ami] }], mostRecent: true }, child).rootDeviceName;

    // No instanceMarketOptions: a MixedInstancesPolicy refuses a template that requests spot itself.
    this.launchTemplate = new aws.ec2.LaunchTemplate(
      `${name}-template`,
      {
        name: args.groupName,
        description: `trainctl node ${args.nodeIndex}`,
        imageId: args.ami,
        instanceType: config.type,
        iamInstanceProfile: { name: args.instanceProfileName },
        vpcSecurityGroupIds: [args.securityGroupId],
        placement: args.placementGroupName ? { groupName: args.placementGroupName } : undefined,
        instanceInitiatedShutdownBehavior: "terminate",
        metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 2, instanceMetadataTags: "enabled" },
        // The root mapping must name the AMI's own root device, else it adds a second volume.
        blockDeviceMappings: [rootDeviceMapping(config, rootDeviceName)],
        tagSpecifications: [{ resourceType: "volume", tags: { ...args.costTags, ...args.rootVolumeTags } }],
        userData: pulumi.output(args.userData).apply((text) => Buffer.from(text, "utf8").toString("base64")),
        tags: args.nodeTags,
      },
      { ...child, ignoreChanges, deleteBeforeReplace: true },
    );

    this.group = new aws.autoscaling.Group(
      `${name}-group`,
      {
        name: args.groupName,
        minSize: 0,
        maxSize: 1,
        desiredCapacity: 1,
        vpcZoneIdentifiers: [args.subnetId],
        capacityRebalance: CAPACITY_REBALANCE,
        // `pulumi up` returns once the group exists; a spot node may take longer than any fixed wait.
        waitForCapacityTimeout: "0",
        mixedInstancesPolicy: {
          instancesDistribution: instancesDistribution(config),
          launchTemplate: {
            launchTemplateSpecification: { launchTemplateId: this.launchTemplate.id, version: "$Latest" },
            overrides: launchTemplateOverrides(config),
          },
        },
        tags: groupTags(args.costTags, args.nodeTags, args.interruptions),
      },
      { ...child, ignoreChanges: GROUP_IGNORE_CHANGES, deleteBeforeReplace: true },
    );
    this.registerOutputs({ groupName: this.group.name });
  }
}

/** The node tags of a group's instances: Name and role as a bare node has, plus the node index. */
export function nodeGroupTags(nodeTags: Record<string, string>, nodeIndex: number): Record<string, string> {
  return { ...nodeTags, [TAG.nodeIndex]: String(nodeIndex) };
}
