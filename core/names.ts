/**
 * Physical names, in one place. Every name AWS sees is derived from the project and the experiment
 * (the stack name) by the functions below; the experiment-name rule is derived from the same table,
 * so a name that passes it fits every limit.
 */

import { randomBytes } from "node:crypto";

/** An experiment's incarnation id (`trainctl:incarnation`): 12 lowercase hex characters, set once. */
export const INCARNATION = /^[0-9a-f]{12}$/;

export function newIncarnation(): string {
  return randomBytes(6).toString("hex");
}

/** Pulumi's default autonaming appends `-` and 7 random lowercase characters to the logical name. */
export const AUTONAME_SUFFIX = "-0000000";

/** A child's logical name: always prefixed with its component's name. */
export function childName(parent: string, part: string): string {
  return `${parent}-${part}`;
}

/** The physical name Pulumi gives an autonamed resource: the logical name plus the random suffix. */
export function autoName(logicalName: string): string {
  return `${logicalName}${AUTONAME_SUFFIX}`;
}

/**
 * The `Name` tag of node N's data volume. It includes the project, so two projects with a stack of
 * the same name never collide; the existence check looks volumes up by this tag.
 */
export function dataVolumeName(project: string, experiment: string, nodeIndex: number): string {
  return `${project}-${experiment}-data-${nodeIndex}`;
}

/**
 * Node i's Auto Scaling group in recovery mode (AutoScalingGroupName: 1..255 ASCII 33..126, no
 * colon: CreateAutoScalingGroupType in @aws-sdk/client-auto-scaling/dist-types/models/models_0.d.ts
 * and the API reference's length limit).
 */
export function nodeGroupName(project: string, experiment: string, nodeIndex: number): string {
  return `${project}-${experiment}-node-${nodeIndex}`;
}

/**
 * Node i's launch template: the same name (CreateLaunchTemplate LaunchTemplateName: 3..128 of
 * `[a-zA-Z0-9().\-/_]`, EC2 API reference; the request in @aws-sdk/client-ec2 models_1.d.ts).
 */
export const launchTemplateName = nodeGroupName;

/** AWS Budgets names are unique per account: project and stack together. */
export function budgetName(project: string, experiment: string): string {
  return `${project}-${experiment}`;
}

/** CloudWatch dashboard names are unique per account and allow only letters, digits, `-` and `_`. */
export function dashboardName(project: string, experiment: string): string {
  return `${project}-${experiment}`.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 255);
}

/** The fully qualified name of this stack, for the self stack reference (`org/project/stack`). */
export function selfStackName(organization: string, project: string, experiment: string): string {
  return `${organization}/${project}/${experiment}`;
}

/** Logical names of the experiment's resources whose physical names Pulumi derives from them. */
export const logicalNames = {
  datasetsBucket: (e: string) => childName(childName(e, "datasets"), "bucket"),
  checkpointsBucket: (e: string) => childName(childName(e, "checkpoints"), "bucket"),
  training: (e: string) => childName(e, "training"),
  securityGroup: (e: string) => childName(logicalNames.training(e), "sg"),
  role: (e: string) => childName(logicalNames.training(e), "role"),
  rolePolicy: (e: string) => childName(logicalNames.training(e), "experiment-access"),
  instanceProfile: (e: string) => childName(logicalNames.training(e), "profile"),
  placementGroup: (e: string) => childName(logicalNames.training(e), "placement"),
};

/** One derived physical name and the longest AWS allows for it (the sources are in core/aws-constraints.ts). */
export interface DerivedName {
  what: string;
  name: string;
  max: number;
}

/** Every physical name an experiment derives, with its AWS length limit (64 nodes at most). */
export function derivedNames(project: string, experiment: string): DerivedName[] {
  return [
    { what: "datasets bucket", name: autoName(logicalNames.datasetsBucket(experiment)), max: 63 },
    { what: "checkpoints bucket", name: autoName(logicalNames.checkpointsBucket(experiment)), max: 63 },
    { what: "IAM role", name: autoName(logicalNames.role(experiment)), max: 64 },
    { what: "IAM role policy", name: autoName(logicalNames.rolePolicy(experiment)), max: 128 },
    { what: "instance profile", name: autoName(logicalNames.instanceProfile(experiment)), max: 128 },
    { what: "security group", name: autoName(logicalNames.securityGroup(experiment)), max: 255 },
    { what: "placement group", name: autoName(logicalNames.placementGroup(experiment)), max: 255 },
    { what: "budget", name: budgetName(project, experiment), max: 100 },
    { what: "dashboard", name: dashboardName(project, experiment), max: 255 },
    { what: "data volume Name tag", name: dataVolumeName(project, experiment, 63), max: 256 },
    { what: "Auto Scaling group", name: nodeGroupName(project, experiment, 63), max: 255 },
    { what: "launch template", name: launchTemplateName(project, experiment, 63), max: 128 },
  ];
}

/** The experiment-name rule: a DNS label (lowercase letters, digits, inner `-`), short enough for every derived name. */
export const EXPERIMENT_NAME = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/** The longest experiment name for which every derived name fits. */
export function maxExperimentNameLength(project: string): number {
  const slack = derivedNames(project, "").map((d) => d.max - d.name.length);
  return Math.min(63, ...slack);
}

/** Why `experiment` cannot name a new experiment of `project`, or undefined. */
export function experimentNameProblem(experiment: string, project: string): string | undefined {
  const max = maxExperimentNameLength(project);
  if (!EXPERIMENT_NAME.test(experiment) || experiment.includes("--")) {
    return `experiment name ${JSON.stringify(experiment)} must be lowercase letters, digits and single inner hyphens (it names S3 buckets, which allow no capitals or "_")`;
  }
  if (experiment.length > max) {
    const tight = derivedNames(project, experiment).find((d) => d.name.length > d.max);
    return `experiment name ${JSON.stringify(experiment)} has ${experiment.length} characters; at most ${max} fit every derived name${tight ? ` (the ${tight.what} ${tight.name} would exceed ${tight.max})` : ""}`;
  }
  return undefined;
}

/** Where local ↔ instance copies and run code wait in an experiment bucket; a lifecycle rule expires it. */
export const STAGING_PREFIX = "staging/";

/**
 * Where spot recovery keeps what a restart needs for as long as the run lasts: the run spec and the
 * run's code. Not under STAGING_PREFIX, whose lifecycle rule expires objects after a day
 * (components/secure-bucket.ts): a node replaced on day two would find neither.
 */
export const RUNS_PREFIX = "runs/";

/** The run spec object in the checkpoints bucket: what a recovering node restarts (docs/spot.md). */
export const RUN_SPEC_KEY = `${RUNS_PREFIX}current.json`;
export const RUN_SPEC_VERSION = 1;

/** Where an experiment's run secrets live; the instance role may read parameters under this path only. */
export function runSecretsPath(project: string, experiment: string): string {
  return `/trainctl/${project}/${experiment}/`;
}
