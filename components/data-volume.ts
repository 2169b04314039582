import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { DataVolumeConfig } from "../core/config";
import { childName } from "./naming";
import { TAG, resourceTags } from "../core/tags";

export interface DataVolumeArgs {
  /** The `Name` tag; existence checks look volumes up by it. */
  volumeName: string;
  config: DataVolumeConfig;
  /** Zone of the instance's subnet (snapshot or empty volumes follow it). */
  availabilityZone: pulumi.Input<string>;
  /** Volume ids this stack already manages (from its own last outputs); any other volume of this name is a duplicate. */
  managedVolumeIds: pulumi.Input<string[]>;
  /** The experiment's incarnation id: tagged on the volume; a volume carrying it is this stack's own. */
  incarnation?: string;
  /**
   * With `warm: fsr`, the experiment's one FastSnapshotRestore (one per snapshot and zone, however
   * many nodes). When absent, this volume declares it.
   */
  fastSnapshotRestore?: aws.ebs.FastSnapshotRestore;
}

/** Device name the attachment asks for; the bootstrap finds the volume by id, never by this name. */
export const DATA_DEVICE_NAME = "/dev/sdf";

/**
 * Properties whose change replaces a volume. An adopted volume keeps them as AWS has them: it is
 * protected, so a replacement would fail, and its data must never be recreated.
 */
export const ADOPTED_VOLUME_KEEPS = ["availabilityZone", "encrypted", "kmsKeyId", "snapshotId"];

/** Why creating this volume would duplicate one that exists outside the stack, or undefined. */
export function duplicateVolumeProblem(volumeName: string, foundIds: string[], managedIds: string[]): string | undefined {
  const foreign = foundIds.filter((id) => !managedIds.includes(id));
  if (foreign.length === 0) return undefined;
  return `a data volume named ${volumeName} already exists outside this stack (${foreign.join(", ")}); adopt it with trainctl:dataVolume.adopt: ${foreign[0]} (and trainctl:dataVolume.availabilityZone), or delete it`;
}

/**
 * How long enabling fast snapshot restore may take: AWS documents about 60 minutes per TiB of
 * snapshot to reach `enabled` (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-fast-snapshot-restore.html),
 * plus a margin; the provider's default is 10 minutes.
 */
export function fsrTimeouts(sizeGiB: number | undefined): pulumi.CustomTimeouts {
  const minutes = Math.ceil(((sizeGiB ?? 1_024) / 1_024) * 60) + 15;
  return { create: `${minutes}m`, delete: `${minutes}m` };
}

/** The volume's own args: encrypted, final snapshot on delete, the init rate only with `warm: rate`. */
export function volumeArgs(config: DataVolumeConfig, availabilityZone: pulumi.Input<string>, tags: pulumi.Input<Record<string, string>>): aws.ebs.VolumeArgs {
  return {
    availabilityZone: config.adopt && config.availabilityZone ? config.availabilityZone : availabilityZone,
    snapshotId: config.snapshotId,
    size: config.sizeGiB,
    type: config.type,
    iops: config.iops,
    throughput: config.type === "gp3" ? config.throughputMiBs : undefined,
    encrypted: true,
    finalSnapshot: true,
    volumeInitializationRate: config.warm === "rate" ? config.initRateMiBs : undefined,
    tags,
  };
}

/** An encrypted EBS data volume, restored from a snapshot or empty or adopted, protected unless told otherwise. */
export class DataVolume extends pulumi.ComponentResource {
  readonly volume: aws.ebs.Volume;
  readonly fastSnapshotRestore?: aws.ebs.FastSnapshotRestore;
  readonly volumeId: pulumi.Output<string>;
  readonly availabilityZone: pulumi.Output<string>;
  private readonly name: string;

  constructor(name: string, args: DataVolumeArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("trainctl:storage:DataVolume", name, {}, opts);
    const { config } = args;
    this.name = name;
    // One switch: protect and retainOnDelete together (retainOnDelete is not inherited, so set here).
    const data: pulumi.CustomResourceOptions = { parent: this, protect: config.protect, retainOnDelete: config.protect };

    const tags = resourceTags(args.volumeName, "data-volume", config.protect, args.incarnation ? { [TAG.incarnation]: args.incarnation } : {});
    let checkedTags: pulumi.Input<Record<string, string>> = tags;
    if (!config.adopt) {
      // Existence check: a volume of this name that the stack does not manage fails the deployment.
      // One carrying this incarnation's id is ours even when a failed first `up` wrote no outputs.
      const byName = { name: "tag:Name", values: [args.volumeName] };
      const found = aws.ebs.getEbsVolumesOutput({ filters: [byName] }, { parent: this });
      const own = args.incarnation
        ? aws.ebs.getEbsVolumesOutput({ filters: [byName, { name: `tag:${TAG.incarnation}`, values: [args.incarnation] }] }, { parent: this }).ids
        : [];
      checkedTags = pulumi.all([found.ids, args.managedVolumeIds, own]).apply(([ids, managed, ours]) => {
        const problem = duplicateVolumeProblem(args.volumeName, ids ?? [], [...(managed ?? []), ...(ours ?? [])]);
        if (problem) throw new pulumi.ResourceError(problem, this, true);
        return tags;
      });
    }

    if (config.warm === "fsr" && config.snapshotId) {
      this.fastSnapshotRestore =
        args.fastSnapshotRestore ??
        new aws.ebs.FastSnapshotRestore(
          childName(name, "fsr"),
          { snapshotId: config.snapshotId, availabilityZone: args.availabilityZone },
          { parent: this, customTimeouts: fsrTimeouts(config.sizeGiB) },
        );
    }

    this.volume = new aws.ebs.Volume(childName(name, "volume"), volumeArgs(config, args.availabilityZone, checkedTags), {
      ...data,
      ...(config.adopt ? { import: config.adopt } : {}),
      ...(this.fastSnapshotRestore ? { dependsOn: [this.fastSnapshotRestore] } : {}),
      // A restored volume keeps its snapshot; the rate only matters at creation.
      ignoreChanges: ["snapshotId", "volumeInitializationRate", ...(config.adopt ? ADOPTED_VOLUME_KEEPS.filter((k) => k !== "snapshotId") : [])],
    });
    this.volumeId = this.volume.id;
    this.availabilityZone = this.volume.availabilityZone;
    this.registerOutputs({ volumeId: this.volumeId });
  }

  /**
   * Attaches the volume to an instance. Compute is never protected, so the attachment is not either.
   * `detach` says how a destroy lets go of it (see `detachBehavior` in training-instance.ts).
   */
  attachTo(instance: aws.ec2.Instance, detach: { stopInstanceBeforeDetaching: true } | { skipDestroy: true }): aws.ec2.VolumeAttachment {
    return new aws.ec2.VolumeAttachment(
      childName(this.name, "attachment"),
      { instanceId: instance.id, volumeId: this.volume.id, deviceName: DATA_DEVICE_NAME, ...detach },
      { parent: this, deleteBeforeReplace: true },
    );
  }
}
