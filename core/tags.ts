/**
 * Every `trainctl:*` tag key, defined here only (tests/architecture/single-definitions.test.ts checks
 * no other source spells one). Cost keys live in the provider's default tags; the rest per resource.
 */
export const TAG = {
  project: "trainctl:project",
  experiment: "trainctl:experiment",
  owner: "trainctl:owner",
  costCenter: "trainctl:cost-center",
  managedBy: "trainctl:managed-by",
  role: "trainctl:role",
  protected: "trainctl:protected",
  maxHours: "trainctl:max-hours",
  expectedGiB: "trainctl:expected-gib",
  incarnation: "trainctl:incarnation",
  /** The node index a recovery group's instances carry (propagated at launch). */
  nodeIndex: "trainctl:node-index",
  /** On a recovery group's root volumes: the group that launched them (the sweep's link to state). */
  nodeGroup: "trainctl:node-group",
  /** On a recovery group (not propagated): the cost estimate's interruption assumptions. */
  interruptionsPerDay: "trainctl:interruptions-per-day",
  restartMinutes: "trainctl:restart-minutes",
  /** When `trainctl sweep` made a snapshot or bucket (ISO 8601); buckets may carry it too. */
  createdAt: "trainctl:created-at",
  /** A Pulumi stack tag, not an AWS one: when `experiment gc` may tear the stack down. */
  expires: "trainctl:expires",
  /** The busy marker older bootstraps wrote before runtime tags had their prefix; still honoured. */
  legacyBusy: "trainctl:busy",
} as const;

/** The tag AWS itself puts on every instance an Auto Scaling group launches. */
export const AUTOSCALING_GROUP_TAG = "aws:autoscaling:groupName";

/** Tags the provider ignores, so runtime tags written on the instance survive `pulumi up`. */
export const RUNTIME_TAG_PREFIX = "trainctl:runtime:";

/** Tags the bootstrap scripts write on the instance at runtime (components/bootstrap/lib.sh `runtime_tag`). */
export const RUNTIME_TAG = {
  busy: `${RUNTIME_TAG_PREFIX}busy`,
  warmState: `${RUNTIME_TAG_PREFIX}warm-state`,
  staging: `${RUNTIME_TAG_PREFIX}staging`,
} as const;

/** The cost-allocation keys every tagged resource carries (the provider's default tags). */
export const COST_TAG_KEYS = [TAG.project, TAG.experiment, TAG.owner, TAG.costCenter, TAG.managedBy] as const;

/** Keys whose value `true` says a training process runs on the node, newest first. */
export const BUSY_TAGS = [RUNTIME_TAG.busy, TAG.legacyBusy] as const;

export interface CostTagInput {
  project: string;
  experiment: string;
  owner: string;
  costCenter: string;
  extra?: Record<string, string>;
}

/** The provider's default tags: the user's extra tags first, then the cost keys, which always win. */
export function costTags(input: CostTagInput): Record<string, string> {
  return {
    ...input.extra,
    [TAG.project]: input.project,
    [TAG.experiment]: input.experiment,
    [TAG.owner]: input.owner,
    [TAG.costCenter]: input.costCenter,
    [TAG.managedBy]: "pulumi",
  };
}

/** A resource's own tags: Name and role, plus the protection marker tools outside Pulumi can read. */
export function resourceTags(name: string, role: string, isProtected = false, extra: Record<string, string> = {}): Record<string, string> {
  return { ...extra, Name: name, [TAG.role]: role, ...(isProtected ? { [TAG.protected]: "true" } : {}) };
}

/** Effective tags as AWS would see them: defaults overlaid by the resource's own (the AWS provider's order). */
export function mergeTags(defaults: Record<string, string>, own: Record<string, string>): Record<string, string> {
  return { ...defaults, ...own };
}
