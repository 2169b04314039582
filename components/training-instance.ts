import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { amiSource } from "../core/ami";
import type { InstanceConfig } from "../core/config";
import { ec2AssumeRolePolicy, instanceAccessPolicy, ssmParametersArn } from "./iam";
import { nodeGroupName, runSecretsPath } from "../core/names";
import { NodeGroup, nodeGroupTags } from "./node-group";
import { METRICS_NAMESPACE } from "../core/node-metrics";
import { TAG, mergeTags, resourceTags } from "../core/tags";

export interface TrainingInstanceArgs {
  /** The Pulumi project: with the experiment, it scopes the run secrets the nodes may read. */
  project: string;
  experiment: string;
  config: InstanceConfig;
  subnetId: pulumi.Input<string>;
  vpcId: pulumi.Input<string>;
  /** Cost tags, repeated on the root volume: provider default tags do not reach it. */
  costTags: Record<string, string>;
  /** Buckets the nodes may read and write. */
  bucketNames: pulumi.Input<string>[];
  /** An external `s3://` dataset source the nodes may read. */
  datasetSource?: string;
  /** User data for node N (0-based). */
  userData: (nodeIndex: number) => pulumi.Input<string>;
}

/** Node N's Name and role tags, and the max-hours marker the sweep reads. */
function nodeTags(nodeName: string, config: InstanceConfig): Record<string, string> {
  return resourceTags(nodeName, "training-node", false, config.maxHours !== undefined ? { [TAG.maxHours]: String(config.maxHours) } : {});
}

/** All traffic between the experiment's own nodes (NCCL, c10d); EC2 allows no apostrophe in rule descriptions. */
export const CLUSTER_INGRESS = { protocol: "-1", fromPort: 0, toPort: 0, self: true, description: "NCCL and c10d between the nodes of this experiment" };

/** Spot market options, or undefined for on-demand. One-time spot terminates; persistent spot stops. */
export function marketOptions(config: InstanceConfig): aws.types.input.ec2.InstanceInstanceMarketOptions | undefined {
  if (config.market !== "spot") return undefined;
  const persistent = config.spot.persistent;
  return {
    marketType: "spot",
    spotOptions: {
      maxPrice: config.maxPrice !== undefined ? String(config.maxPrice) : undefined,
      spotInstanceType: persistent ? "persistent" : "one-time",
      instanceInterruptionBehavior: persistent ? "stop" : "terminate",
    },
  };
}

/** What an OS-level shutdown does: the autostop action, except that one-time spot can only terminate. */
export function shutdownBehavior(config: InstanceConfig): "stop" | "terminate" {
  if (config.market === "spot" && !config.spot.persistent) return "terminate";
  return config.autostop.action === "terminate" ? "terminate" : "stop";
}

/**
 * How a data volume leaves a node on destroy. A node that only ever stops (on-demand or persistent
 * spot with shutdown behaviour stop) is stopped first, so the filesystem is clean. A node that may
 * terminate itself (one-time spot, autostop or maxHours with terminate) cannot be stopped
 * (UnsupportedOperation) and, once terminated, not detached from (IncorrectState): termination
 * detaches the volume, so the destroy only drops the attachment from state.
 */
export function detachBehavior(config: InstanceConfig): { stopInstanceBeforeDetaching: true } | { skipDestroy: true } {
  return shutdownBehavior(config) === "stop" ? { stopInstanceBeforeDetaching: true } : { skipDestroy: true };
}

/** GPU nodes for one experiment: no inbound ports, IMDSv2, encrypted root, SSM access, S3 limited to the experiment. */
export class TrainingInstance extends pulumi.ComponentResource {
  readonly securityGroup: aws.ec2.SecurityGroup;
  readonly role: aws.iam.Role;
  readonly instanceProfile: aws.iam.InstanceProfile;
  readonly placementGroup?: aws.ec2.PlacementGroup;
  /** Bare nodes; empty in recovery mode, where each node is a group instead. */
  readonly nodes: aws.ec2.Instance[];
  /** Recovery mode: node N's Auto Scaling group of size 1; empty otherwise. */
  readonly groups: NodeGroup[];

  constructor(name: string, args: TrainingInstanceArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("trainctl:compute:TrainingInstance", name, {}, opts);
    const { config } = args;
    const child = { parent: this };

    // Every rule inline: the provider warns against mixing inline rules with separate rule resources.
    this.securityGroup = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      {
        vpcId: args.vpcId,
        description: `trainctl ${args.experiment}: no inbound; egress for SSM and S3`,
        ingress: config.count > 1 ? [CLUSTER_INGRESS] : [],
        egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"], description: "SSM, S3 and package mirrors" }],
        tags: resourceTags(`${name}-sg`, "security-group"),
      },
      child,
    );
    if (config.count > 1) {
      this.placementGroup = new aws.ec2.PlacementGroup(
        `${name}-placement`,
        { strategy: "cluster", tags: resourceTags(`${name}-placement`, "placement-group") },
        child,
      );
    }

    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        assumeRolePolicy: JSON.stringify(ec2AssumeRolePolicy()),
        description: `trainctl ${args.experiment} nodes`,
        tags: resourceTags(`${name}-role`, "instance-role"),
      },
      child,
    );
    const partition = aws.getPartitionOutput({}, child).partition;
    new aws.iam.RolePolicyAttachment(
      `${name}-ssm-core`,
      { role: this.role.name, policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/AmazonSSMManagedInstanceCore` },
      child,
    );
    const runSecretsArn = pulumi
      .all([partition, aws.getRegionOutput({}, child).region, aws.getCallerIdentityOutput({}, child).accountId])
      .apply(([arnPartition, region, account]) =>
        ssmParametersArn({ partition: arnPartition, region, account }, runSecretsPath(args.project, args.experiment)),
      );
    new aws.iam.RolePolicy(
      `${name}-experiment-access`,
      {
        role: this.role.id,
        policy: pulumi.all([partition, runSecretsArn, ...args.bucketNames]).apply(([arnPartition, secrets, ...buckets]) =>
          JSON.stringify(
            instanceAccessPolicy({
              partition: arnPartition,
              experiment: args.experiment,
              readWriteBuckets: buckets,
              readOnlySource: args.datasetSource,
              metricsNamespace: METRICS_NAMESPACE,
              runSecretsArn: secrets,
              recovery: config.recovery,
            }),
          ),
        ),
      },
      child,
    );
    this.instanceProfile = new aws.iam.InstanceProfile(
      `${name}-profile`,
      { role: this.role.name, tags: resourceTags(`${name}-profile`, "instance-profile") },
      child,
    );

    // The AMI resolves once; later parameter and user-data changes never replace a running node unless `ami` is pinned.
    const source = amiSource(config);
    const ami = source.kind === "image" ? source.id : aws.ssm.getParameterOutput({ name: source.name }, child).value;
    const ignoreChanges = config.ami ? [] : ["ami", "userData"];

    this.groups = !config.recovery
      ? []
      : Array.from({ length: config.count }, (_, i) => {
          const nodeName = `${name}-node-${i}`;
          const groupName = nodeGroupName(args.project, args.experiment, i);
          return new NodeGroup(
            nodeName,
            {
              groupName,
              nodeIndex: i,
              config,
              ami,
              subnetId: args.subnetId,
              securityGroupId: this.securityGroup.id,
              instanceProfileName: this.instanceProfile.name,
              placementGroupName: this.placementGroup?.name,
              userData: args.userData(i),
              costTags: args.costTags,
              nodeTags: nodeGroupTags(nodeTags(nodeName, config), i),
              rootVolumeTags: resourceTags(`${nodeName}-root`, "root-volume", false, { [TAG.nodeGroup]: groupName }),
              interruptions: { perDay: config.interruptionsPerDay, restartMinutes: config.restartMinutes },
            },
            child,
          );
        });
    this.nodes = Array.from({ length: config.recovery ? 0 : config.count }, (_, i) => {
      const nodeName = `${name}-node-${i}`;
      return new aws.ec2.Instance(
        nodeName,
        {
          ami,
          instanceType: config.type,
          subnetId: args.subnetId,
          vpcSecurityGroupIds: [this.securityGroup.id],
          iamInstanceProfile: this.instanceProfile.name,
          associatePublicIpAddress: undefined,
          placementGroup: this.placementGroup?.name,
          instanceMarketOptions: marketOptions(config),
          instanceInitiatedShutdownBehavior: shutdownBehavior(config),
          metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 2, instanceMetadataTags: "enabled" },
          rootBlockDevice: {
            volumeSize: config.rootVolumeGiB,
            volumeType: "gp3",
            encrypted: true,
            deleteOnTermination: true,
            tags: mergeTags(args.costTags, resourceTags(`${nodeName}-root`, "root-volume")),
          },
          userData: args.userData(i),
          tags: nodeTags(nodeName, config),
        },
        { ...child, ignoreChanges },
      );
    });
    this.registerOutputs({ instanceIds: this.nodes.map((n) => n.id), groupNames: this.groups.map((g) => g.group.name) });
  }
}
