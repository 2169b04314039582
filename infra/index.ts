import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { dashboardUrl as consoleUrl } from "../components/dashboard";
import { Experiment } from "../components/experiment";
import { RUNTIME_TAG_PREFIX, costTags } from "../core/tags";
import { estimateWarm } from "../components/warming";
import { hourlyEstimate } from "../components/hourly-estimate";
import { parseStackConfig } from "../core/config";

// One stack is one experiment. Config is validated in full before any resource is declared.
// `pulumi up` runs the program in the project folder; the offline plan names it in TRAINCTL_PROJECT_DIR.
const projectDir = process.env.TRAINCTL_PROJECT_DIR ?? process.cwd();
const config = parseStackConfig(pulumi.runtime.allConfig(), { projectDir });
const project = pulumi.getProject();
const experimentName = pulumi.getStack();
const defaultTags = costTags({ project, experiment: experimentName, owner: config.owner, costCenter: config.costCenter, extra: config.tags });

const provider = new aws.Provider("aws", {
  region: config.region as aws.Region,
  defaultTags: { tags: defaultTags },
  ignoreTags: { keyPrefixes: [RUNTIME_TAG_PREFIX] },
});

const experiment = new Experiment(
  experimentName,
  { project, experiment: experimentName, config, costTags: defaultTags, projectDir },
  { providers: { aws: provider } },
);

// In recovery mode the groups own the nodes: their instances are found by tag, not in state.
const nodes = experiment.instance.nodes;
export const region = config.region;
export const instanceIds = nodes.map((n) => n.id);
/** Node 0 is the torchrun rendezvous (MASTER_ADDR). */
export const privateIps = nodes.map((n) => n.privateIp);
export const instanceId = nodes[0]?.id ?? null;
export const availabilityZone = nodes[0]?.availabilityZone ?? experiment.availabilityZone;
export const ssmConnectCommand = nodes[0] ? pulumi.interpolate`aws ssm start-session --region ${config.region} --target ${nodes[0].id}` : null;
/** Recovery mode: node N's Auto Scaling group (`<project>-<experiment>-node-<N>`); empty otherwise. */
export const nodeGroupNames = experiment.instance.groups.map((g) => g.group.name);
export const datasetsBucket = experiment.datasets.bucketName;
export const checkpointsBucket = experiment.checkpoints.bucketName;
export const dataVolumeIds = experiment.volumes.map((v) => v.volumeId);
export const mountPoint = config.dataVolume?.mountPoint ?? null;
export const dataStrategy = experiment.strategy;
export const warnings = experiment.zoneNote.apply((note) => [note, ...experiment.warnings]);
/** Where the dataset is read from on S3, and where the generated DataLoader is published. */
export const datasetLocation = experiment.dataPath ? experiment.dataPath.datasetLocation : null;
export const loaderLocation = experiment.dataPath ? experiment.dataPath.loaderLocation : null;
/** Per volume: time until fully warm and what warming costs (see docs/bootstrap.md for the rates). */
export const warming = config.dataVolume ? estimateWarm(config.dataVolume, config.instance.type) : null;
/** Catalog burn rate, priced like `trainctl cost` (spot at its cap); `estimateCovers` names the lines it includes. */
const estimate = hourlyEstimate(config);
export const estimatedHourlyUsd = estimate.hourly;
export const estimateCovers = estimate.covers;
/** The experiment's CloudWatch dashboard (node metrics from the bootstrap, EC2 CPU and EBS reads). */
export const dashboardUrl = experiment.dashboard.dashboardName.apply((name) => consoleUrl(config.region, name));
