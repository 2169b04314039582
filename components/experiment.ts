import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { type StackConfig, type Strategy, keyPath } from "../core/config";
import { estimateWarm } from "./warming";
import { renderUserData, volumeOrigin } from "./bootstrap";
import { recommend } from "../core/recommend";
import { Budget, costTagNote } from "./budget";
import { dashboardBody } from "./dashboard";
import { DataPath } from "./data-path";
import { DataVolume } from "./data-volume";
import { dashboardName, dataVolumeName, nodeGroupName, selfStackName } from "./naming";
import { resolvePlacement } from "./network";
import { pinnedZone } from "./placement";
import { SecureBucket } from "./secure-bucket";
import { TAG } from "../core/tags";
import { TrainingInstance, detachBehavior } from "./training-instance";

export interface ExperimentArgs {
  project: string;
  /** The stack name: one stack is one experiment. */
  experiment: string;
  config: StackConfig;
  /** Provider default tags, repeated where the provider cannot reach (root volumes). */
  costTags: Record<string, string>;
  /** The project folder: local dataset sources and generated files are relative to it. */
  projectDir: string;
}

/**
 * The data strategy the experiment provisions for. `auto` asks the recommender when the dataset's size
 * and file count are known; pre-warmed EBS needs a configured data volume, else the local cache stands in.
 */
export function effectiveStrategy(config: StackConfig): Strategy {
  const dataset = config.dataset;
  if (dataset && dataset.strategy !== "auto") return dataset.strategy;
  if (!dataset?.sizeGiB || !dataset.files) return config.dataVolume ? "prewarmed-ebs" : "direct-s3";
  const choice = recommend({
    sizeBytes: dataset.sizeGiB * 1024 ** 3,
    files: dataset.files,
    epochs: dataset.epochs,
    runs: dataset.runs,
    instanceType: config.instance.type,
    volume: config.dataVolume,
  }).recommended;
  return choice === "prewarmed-ebs" && !config.dataVolume ? "local-cache" : choice;
}

/** Plain-language warnings the plan prints: what changes silently, what costs money while enabled. */
export function experimentWarnings(config: StackConfig): string[] {
  const warnings: string[] = [];
  for (const [name, bucket] of Object.entries(config.buckets)) {
    if (bucket.adopt)
      warnings.push(`trainctl:buckets.${name}.adopt: adopting ${bucket.adopt} replaces its bucket policy and lifecycle configuration with trainctl's`);
  }
  const volume = config.dataVolume;
  if (volume?.warm === "fsr") {
    const warm = estimateWarm(volume, config.instance.type);
    warnings.push(`trainctl:dataVolume.warm: fsr bills ${warm.detail}; set warm: none and run pulumi up once the volume exists to stop it`);
  }
  if (volume && !volume.protect) warnings.push("trainctl:dataVolume.protect is false: pulumi destroy deletes the data volume (a final snapshot is kept)");
  for (const [name, bucket] of Object.entries(config.buckets)) {
    if (!bucket.protect) warnings.push(`trainctl:buckets.${name}.protect is false: pulumi destroy deletes the bucket and every object in it`);
  }
  if (config.budget) warnings.push(costTagNote());
  if (volume && !volume.adopt && !config.incarnation) {
    const key = keyPath(["incarnation"]);
    warnings.push(
      `${key} is not set: a retry after a failed first pulumi up may take this stack's own new volume for a duplicate; set it once with pulumi config set ${key} $(openssl rand -hex 6)`,
    );
  }
  if (!config.instance.ami)
    warnings.push(
      "the AMI resolves once: later AMI and user-data changes are ignored so nodes are never replaced mid-run (pin trainctl:instance.ami to change it)",
    );
  return warnings;
}

/** Everything one training experiment needs: buckets, data volumes, GPU nodes, budget. */
export class Experiment extends pulumi.ComponentResource {
  readonly datasets: SecureBucket;
  readonly checkpoints: SecureBucket;
  readonly volumes: DataVolume[] = [];
  readonly instance: TrainingInstance;
  readonly budget?: Budget;
  readonly dashboard: aws.cloudwatch.Dashboard;
  readonly dataPath?: DataPath;
  readonly warnings: string[];
  /** Which zone the nodes go to, and why (the plan prints it). */
  readonly zoneNote: pulumi.Output<string>;
  /** The nodes' (and new volumes') availability zone. */
  readonly availabilityZone: pulumi.Output<string>;
  readonly strategy: Strategy;

  constructor(name: string, args: ExperimentArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("trainctl:experiment:Experiment", name, {}, opts);
    const { config, experiment } = args;
    const child = { parent: this };
    this.warnings = experimentWarnings(config);
    this.strategy = effectiveStrategy(config);

    const expectedGiB = config.dataset?.sizeGiB;
    this.datasets = new SecureBucket(
      `${name}-datasets`,
      { role: "datasets", ...config.buckets.datasets, tags: expectedGiB ? { [TAG.expectedGiB]: String(expectedGiB) } : {} },
      child,
    );
    this.checkpoints = new SecureBucket(`${name}-checkpoints`, { role: "checkpoints", ...config.buckets.checkpoints }, child);

    const volumeConfig = config.dataVolume;
    // The stack's own last outputs tell which same-named volumes are already ours (pulumi/pulumi#3722)
    // and where the experiment runs.
    const self = new pulumi.StackReference(selfStackName(pulumi.getOrganization(), args.project, experiment), {}, child);
    const managedVolumeIds = self.getOutput("dataVolumeIds").apply((ids) => (Array.isArray(ids) ? (ids as string[]) : []));
    const deployedZone = self.getOutput("availabilityZone").apply((zone) => (typeof zone === "string" && zone ? zone : undefined));
    const placement = resolvePlacement(config.network, pinnedZone(config), { instanceType: config.instance.type, region: config.region, deployedZone }, this);
    this.availabilityZone = placement.availabilityZone;
    this.zoneNote = pulumi.interpolate`availability zone ${placement.availabilityZone}: ${placement.zoneReason}`;

    if (volumeConfig) {
      for (let i = 0; i < config.instance.count; i++) {
        // One FastSnapshotRestore per snapshot and zone: node 0's volume declares it, the others share it.
        const fastSnapshotRestore = this.volumes[0]?.fastSnapshotRestore;
        this.volumes.push(
          new DataVolume(
            `${name}-data-${i}`,
            {
              volumeName: dataVolumeName(args.project, experiment, i),
              config: volumeConfig,
              availabilityZone: placement.availabilityZone,
              managedVolumeIds,
              incarnation: config.incarnation,
              fastSnapshotRestore,
            },
            child,
          ),
        );
      }
    }

    const dataset = config.dataset;
    const externalSource = dataset?.source.startsWith("s3://") ? dataset.source : undefined;
    const stageTarget = `${volumeConfig?.mountPoint ?? "/opt/dlami/nvme"}/dataset`;
    if (dataset) {
      this.dataPath = new DataPath(
        `${name}-data-path`,
        {
          stack: experiment,
          projectDir: args.projectDir,
          localSource: externalSource ? undefined : dataset.source,
          externalSource,
          datasetsBucket: this.datasets.bucketName,
          codeBucket: this.checkpoints.bucketName,
          loader: {
            strategy: this.strategy,
            format: dataset.format,
            data: this.strategy === "prewarmed-ebs" ? stageTarget : externalSource,
            instanceType: config.instance.type,
            cacheDir: stageTarget,
          },
        },
        child,
      );
    }
    // A local dataset is uploaded to the datasets bucket and staged from there. A volume restored from
    // a dataset snapshot already holds the data, so nothing is staged onto it.
    const stagesFrom =
      this.strategy === "direct-s3" || (this.strategy === "prewarmed-ebs" && volumeConfig?.snapshotId)
        ? undefined
        : (externalSource ?? this.dataPath?.datasetLocation);
    this.instance = new TrainingInstance(
      `${name}-training`,
      {
        project: args.project,
        experiment,
        config: config.instance,
        subnetId: placement.subnetId,
        vpcId: placement.vpcId,
        costTags: args.costTags,
        bucketNames: [this.datasets.bucketName, this.checkpoints.bucketName],
        datasetSource: externalSource,
        userData: (i) =>
          pulumi.all([this.volumes[i]?.volumeId, this.checkpoints.bucketName, stagesFrom]).apply(([volumeId, checkpointBucket, source]) =>
            renderUserData({
              experiment,
              region: config.region,
              nodeIndex: i,
              nodeCount: config.instance.count,
              volumeId,
              volumeOrigin: volumeConfig && volumeOrigin(volumeConfig),
              mountPoint: volumeConfig?.mountPoint,
              warm: volumeConfig?.warm ?? "none",
              dataset: source ? { source, strategy: this.strategy, target: stageTarget } : undefined,
              checkpointBucket,
              checkpointPrefix: "checkpoints/",
              autostop: config.instance.autostop,
              maxHours: config.instance.maxHours,
              spot: config.instance.market === "spot",
              recovery: config.instance.recovery
                ? { groupName: nodeGroupName(args.project, experiment, i), maxRestarts: config.instance.maxRestarts }
                : undefined,
            }),
          ),
      },
      child,
    );
    // In recovery mode each node attaches its own volume at boot, by id: the stack holds no attachment.
    if (!config.instance.recovery) this.volumes.forEach((volume, i) => volume.attachTo(this.instance.nodes[i], detachBehavior(config.instance)));

    // CloudWatch dashboards take no tags; the name carries project and stack.
    this.dashboard = new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      {
        dashboardName: dashboardName(args.project, experiment),
        dashboardBody: pulumi
          .all([pulumi.all(this.instance.nodes.map((n) => n.id)), pulumi.all(this.instance.groups.map((g) => g.group.name))])
          .apply(([instanceIds, groupNames]) => JSON.stringify(dashboardBody({ experiment, region: config.region, instanceIds, groupNames }))),
      },
      child,
    );

    if (config.budget) this.budget = new Budget(`${name}-budget`, { project: args.project, experiment, config: config.budget }, child);
    this.registerOutputs({});
  }
}
