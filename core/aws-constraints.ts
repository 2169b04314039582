/**
 * The guard: AWS's input rules, checked over every resource the program registers. Pulumi's mocks
 * accept any input; AWS does not. Each rule names its source: an SDK model doc (paths under
 * node_modules/@aws-sdk/) or an AWS documentation page. Pure data and functions: no SDK, no Pulumi.
 */
import { autoName } from "./names";

/** A registered resource as the guard sees it: type token, logical name, inputs and effective tags. */
export interface GuardedResource {
  type: string;
  name: string;
  urn?: string;
  inputs: Record<string, unknown>;
  tags: Record<string, string>;
}

export interface GuardContext {
  region: string;
}

export interface ConstraintRule {
  id: string;
  /** Resource type tokens the rule applies to; `*` for every AWS resource. */
  types: readonly string[];
  /** The property checked, as a path in the inputs. */
  property: string;
  /** What AWS requires, in words. */
  rule: string;
  source: string;
  /** The values to check on one resource (none: nothing to check). */
  values: (r: GuardedResource, ctx: GuardContext) => unknown[];
  ok: (value: unknown, r: GuardedResource, ctx: GuardContext) => boolean;
}

export interface Violation {
  resource: string;
  type: string;
  property: string;
  rule: string;
  value: string;
  source: string;
}

const EC2_MODELS = "@aws-sdk/client-ec2/dist-types/models";
const SRC = {
  createSecurityGroup: `${EC2_MODELS}/models_2.d.ts (CreateSecurityGroupRequest: Description, GroupName)`,
  ipRange: `${EC2_MODELS}/models_0.d.ts (IpRange.Description)`,
  ec2Tag: `${EC2_MODELS}/models_0.d.ts (Tag.Key, Tag.Value)`,
  createVolume: `${EC2_MODELS}/models_2.d.ts (CreateVolumeRequest: Size, Iops, Throughput, VolumeInitializationRate)`,
  placementGroup: `${EC2_MODELS}/models_2.d.ts (CreatePlacementGroupRequest.GroupName)`,
  userData: `${EC2_MODELS}/models_1.d.ts (RunInstances UserData: "limited to 16 KB, in raw form, before it is base64-encoded")`,
  spotType: `${EC2_MODELS}/models_8.d.ts (SpotMarketOptions.SpotInstanceType) and https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/how-spot-instances-work.html`,
  imdsTags: "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/work-with-tags-in-IMDS.html",
  tagging: "https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html (tag naming limits and requirements)",
  bucketNaming:
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html (linked from @aws-sdk/client-s3/dist-types/models/models_0.d.ts CreateBucketRequest.Bucket)",
  lifecycleId: "@aws-sdk/client-s3/dist-types/models/models_0.d.ts (LifecycleRule.ID: at most 255 characters)",
  bucketKey: "@aws-sdk/client-s3/dist-types/models/models_0.d.ts (ServerSideEncryptionRule.BucketKeyEnabled: an S3 Bucket Key is for SSE-KMS)",
  iamNames:
    "@aws-sdk/client-iam/dist-types/models/models_0.d.ts (CreateRoleRequest.RoleName, CreateInstanceProfileRequest.InstanceProfileName, PutRolePolicyRequest.PolicyName: [\\w+=,.@-])",
  iamQuotas:
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html (role name 64, instance profile and inline policy names 128, role description 1000)",
  roleDescription:
    "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html (Description: 0..1000, [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*)",
  arns: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html (the partition: aws, aws-cn, aws-us-gov)",
  budgetName: "https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_Budget.html (BudgetName: 1..100, no : or \\)",
  groupName:
    "@aws-sdk/client-auto-scaling/dist-types/models/models_0.d.ts (CreateAutoScalingGroupType.AutoScalingGroupName: ASCII 33 to 126, no colon) and https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_CreateAutoScalingGroup.html (length 1..255)",
  launchTemplateName: `${EC2_MODELS}/models_1.d.ts (CreateLaunchTemplateRequest.LaunchTemplateName) and https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateLaunchTemplate.html (3..128 of [a-zA-Z0-9().-/_])`,
  overrides: "@aws-sdk/client-auto-scaling/dist-types/models/models_0.d.ts (LaunchTemplateOverrides: up to 20 launch templates per Auto Scaling group)",
  launchTemplateUserData: `${EC2_MODELS}/models_1.d.ts (RequestLaunchTemplateData.UserData: base64-encoded, limited to 16 KB before encoding, as for RunInstances)`,
  dashboardName: "@aws-sdk/client-cloudwatch/dist-types/models/models_0.d.ts (PutDashboardInput.DashboardName: at most 255, A-Z a-z 0-9 - _)",
} as const;

const SG = "aws:ec2/securityGroup:SecurityGroup";
const SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";
const BUCKET = "aws:s3/bucket:Bucket";
const INSTANCE = "aws:ec2/instance:Instance";
const VOLUME = "aws:ebs/volume:Volume";
const ROLE = "aws:iam/role:Role";
const PROFILE = "aws:iam/instanceProfile:InstanceProfile";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const GROUP = "aws:autoscaling/group:Group";
const LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const defined = (...values: unknown[]): unknown[] => values.filter((v) => v !== undefined && v !== null);
const str = (v: unknown): string => String(v);

/** The name AWS will see: the explicit input, else Pulumi's autoname from the logical name. */
const physical = (property: string) => (r: GuardedResource) => [r.inputs[property] ?? autoName(r.name)];

/** `a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*` (EC2 security group text). */
const EC2_GROUP_TEXT = /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]*$/;
const IAM_NAME = /^[\w+=,.@-]+$/;
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const IMDS_TAG_KEY = /^[a-zA-Z0-9+\-=.,_:@]+$/;

/** An Auto Scaling group's tag list (`[{key, value, propagateAtLaunch}]`) as a map; it gets no provider defaults. */
const groupTags = (r: GuardedResource): Record<string, string> => Object.fromEntries(list(r.inputs.tags).map((t) => [str(obj(t).key), str(obj(t).value)]));

/** Every tag map a resource sends: its effective tags, plus the root volume's on an instance and a template's tag specifications. */
function tagMaps(r: GuardedResource): Record<string, string>[] {
  if (r.type === GROUP) return r.inputs.tags === undefined ? [] : [groupTags(r)];
  // Only resources that take tags send them (the provider's defaults reach those alone).
  const maps = r.inputs.tags === undefined ? [] : [r.tags];
  const root = obj(r.inputs.rootBlockDevice).tags;
  if (root && typeof root === "object") maps.push(root as Record<string, string>);
  for (const spec of list(r.inputs.tagSpecifications)) {
    const tags = obj(spec).tags;
    if (tags && typeof tags === "object") maps.push(tags as Record<string, string>);
  }
  return maps;
}
const tagKeys = (r: GuardedResource) => tagMaps(r).flatMap((m) => Object.keys(m));
const tagValues = (r: GuardedResource) => tagMaps(r).flatMap((m) => Object.values(m));
const chars = (v: unknown) => [...str(v)].length;

/** Inline rules of a security group, and a separate rule resource: their descriptions. */
function ruleDescriptions(r: GuardedResource): unknown[] {
  if (r.type === SG_RULE) return defined(r.inputs.description);
  return [...list(r.inputs.ingress), ...list(r.inputs.egress)].flatMap((rule) => defined(obj(rule).description));
}

/** The ARN partition of a region. */
export function arnPartition(region: string): string {
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  if (region.startsWith("cn-")) return "aws-cn";
  return "aws";
}

/** Every string inside a value, depth first (policy documents arrive as JSON strings). */
function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === "object") return Object.values(value).flatMap(strings);
  return [];
}

const volumeLimits = {
  gp3: { size: [1, 65_536], iops: [3_000, 80_000], iopsPerGiB: 500 },
  io2: { size: [4, 65_536], iops: [100, 256_000], iopsPerGiB: 1_000 },
} as const;
const limitsOf = (r: GuardedResource) => volumeLimits[r.inputs.type === "io2" ? "io2" : "gp3"];
const inRange = (v: unknown, [lo, hi]: readonly [number, number]) => typeof v === "number" && v >= lo && v <= hi;

const BUCKET_RESERVED_PREFIXES = ["xn--", "sthree-", "amzn-s3-demo-"];
const BUCKET_RESERVED_SUFFIXES = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

export const CONSTRAINT_RULES: readonly ConstraintRule[] = [
  // EC2 security groups
  {
    id: "sg-description-length",
    types: [SG],
    property: "description",
    rule: "at most 255 characters",
    source: SRC.createSecurityGroup,
    values: (r) => defined(r.inputs.description),
    ok: (v) => chars(v) <= 255,
  },
  {
    id: "sg-description-charset",
    types: [SG],
    property: "description",
    rule: "only a-z A-Z 0-9 spaces and ._-:/()#,@[]+=&;{}!$*",
    source: SRC.createSecurityGroup,
    values: (r) => defined(r.inputs.description),
    ok: (v) => EC2_GROUP_TEXT.test(str(v)),
  },
  {
    id: "sg-name-length",
    types: [SG],
    property: "name",
    rule: "at most 255 characters",
    source: SRC.createSecurityGroup,
    values: physical("name"),
    ok: (v) => chars(v) <= 255,
  },
  {
    id: "sg-name-charset",
    types: [SG],
    property: "name",
    rule: "only a-z A-Z 0-9 spaces and ._-:/()#,@[]+=&;{}!$*, not starting with sg-",
    source: SRC.createSecurityGroup,
    values: physical("name"),
    ok: (v) => EC2_GROUP_TEXT.test(str(v)) && !str(v).startsWith("sg-"),
  },
  {
    id: "sg-rule-description-length",
    types: [SG, SG_RULE],
    property: "description",
    rule: "rule descriptions: at most 255 characters",
    source: SRC.ipRange,
    values: ruleDescriptions,
    ok: (v) => chars(v) <= 255,
  },
  {
    id: "sg-rule-description-charset",
    types: [SG, SG_RULE],
    property: "description",
    rule: "rule descriptions: only a-z A-Z 0-9 spaces and ._-:/()#,@[]+=&;{}!$*",
    source: SRC.ipRange,
    values: ruleDescriptions,
    ok: (v) => EC2_GROUP_TEXT.test(str(v)),
  },
  // S3 bucket names
  {
    id: "bucket-name-length",
    types: [BUCKET],
    property: "bucket",
    rule: "3 to 63 characters",
    source: SRC.bucketNaming,
    values: physical("bucket"),
    ok: (v) => str(v).length >= 3 && str(v).length <= 63,
  },
  {
    id: "bucket-name-charset",
    types: [BUCKET],
    property: "bucket",
    rule: "only lowercase letters, digits, . and -",
    source: SRC.bucketNaming,
    values: physical("bucket"),
    ok: (v) => /^[a-z0-9.-]+$/.test(str(v)),
  },
  {
    id: "bucket-name-ends",
    types: [BUCKET],
    property: "bucket",
    rule: "begins and ends with a letter or digit",
    source: SRC.bucketNaming,
    values: physical("bucket"),
    ok: (v) => /^[a-z0-9](.*[a-z0-9])?$/.test(str(v)),
  },
  {
    id: "bucket-name-periods",
    types: [BUCKET],
    property: "bucket",
    rule: "no two adjacent periods",
    source: SRC.bucketNaming,
    values: physical("bucket"),
    ok: (v) => !str(v).includes(".."),
  },
  {
    id: "bucket-name-ip",
    types: [BUCKET],
    property: "bucket",
    rule: "not formatted as an IP address",
    source: SRC.bucketNaming,
    values: physical("bucket"),
    ok: (v) => !/^\d+\.\d+\.\d+\.\d+$/.test(str(v)),
  },
  {
    id: "bucket-name-prefix",
    types: [BUCKET],
    property: "bucket",
    rule: `no reserved prefix (${BUCKET_RESERVED_PREFIXES.join(", ")})`,
    source: SRC.bucketNaming,
    values: physical("bucket"),
    ok: (v) => !BUCKET_RESERVED_PREFIXES.some((p) => str(v).startsWith(p)),
  },
  {
    id: "bucket-name-suffix",
    types: [BUCKET],
    property: "bucket",
    rule: `no reserved suffix (${BUCKET_RESERVED_SUFFIXES.join(", ")})`,
    source: SRC.bucketNaming,
    values: physical("bucket"),
    ok: (v) => !BUCKET_RESERVED_SUFFIXES.some((s) => str(v).endsWith(s)),
  },
  {
    id: "lifecycle-rule-id",
    types: ["aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"],
    property: "rules[].id",
    rule: "at most 255 characters",
    source: SRC.lifecycleId,
    values: (r) => list(r.inputs.rules).flatMap((rule) => defined(obj(rule).id)),
    ok: (v) => chars(v) <= 255,
  },
  {
    id: "bucket-key-needs-kms",
    types: ["aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"],
    property: "rules[].bucketKeyEnabled",
    rule: "an S3 Bucket Key applies to SSE-KMS only (with AES256 it does nothing)",
    source: SRC.bucketKey,
    values: (r) =>
      list(r.inputs.rules)
        .filter((rule) => obj(rule).bucketKeyEnabled === true)
        .map((rule) => obj(obj(rule).applyServerSideEncryptionByDefault).sseAlgorithm),
    ok: (v) => str(v).startsWith("aws:kms"),
  },
  // IAM
  {
    id: "iam-role-name-length",
    types: [ROLE],
    property: "name",
    rule: "at most 64 characters",
    source: SRC.iamQuotas,
    values: physical("name"),
    ok: (v) => str(v).length <= 64,
  },
  {
    id: "iam-role-name-charset",
    types: [ROLE],
    property: "name",
    rule: "only letters, digits and _+=,.@-",
    source: SRC.iamNames,
    values: physical("name"),
    ok: (v) => IAM_NAME.test(str(v)),
  },
  {
    id: "iam-role-description",
    types: [ROLE],
    property: "description",
    rule: "at most 1000 characters of tab, newline, printable ASCII and Latin-1",
    source: SRC.roleDescription,
    values: (r) => defined(r.inputs.description),
    // eslint-disable-next-line no-control-regex -- tab, newline and carriage return are the allowed controls
    ok: (v) => /^[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]{0,1000}$/.test(str(v)),
  },
  {
    id: "iam-profile-name",
    types: [PROFILE],
    property: "name",
    rule: "at most 128 characters: letters, digits and _+=,.@-",
    source: `${SRC.iamNames}; ${SRC.iamQuotas}`,
    values: physical("name"),
    ok: (v) => str(v).length <= 128 && IAM_NAME.test(str(v)),
  },
  {
    id: "iam-role-policy-name",
    types: [ROLE_POLICY],
    property: "name",
    rule: "at most 128 characters: letters, digits and _+=,.@-",
    source: `${SRC.iamNames}; ${SRC.iamQuotas}`,
    values: physical("name"),
    ok: (v) => str(v).length <= 128 && IAM_NAME.test(str(v)),
  },
  {
    id: "arn-partition",
    types: ["*"],
    property: "(any ARN)",
    rule: "ARNs name the region's partition",
    source: SRC.arns,
    values: (r) => strings(r.inputs).flatMap((s) => s.match(/arn:[a-z-]+:/g) ?? []),
    ok: (v, _r, ctx) => v === `arn:${arnPartition(ctx.region)}:`,
  },
  // Tags
  {
    id: "tag-key-length",
    types: ["*"],
    property: "tags",
    rule: "tag keys: 1 to 127 characters",
    source: SRC.ec2Tag,
    values: tagKeys,
    ok: (v) => chars(v) >= 1 && chars(v) <= 127,
  },
  {
    id: "tag-value-length",
    types: ["*"],
    property: "tags",
    rule: "tag values: at most 256 characters",
    source: SRC.ec2Tag,
    values: tagValues,
    ok: (v) => chars(v) <= 256,
  },
  {
    id: "tag-key-aws-prefix",
    types: ["*"],
    property: "tags",
    rule: "tag keys may not begin with aws:",
    source: SRC.ec2Tag,
    values: tagKeys,
    ok: (v) => !str(v).toLowerCase().startsWith("aws:"),
  },
  {
    id: "tag-charset",
    types: ["*"],
    property: "tags",
    rule: "tag keys and values: letters, digits, spaces and _ . : / = + - @ (the rule every tagging service shares)",
    source: SRC.tagging,
    values: (r) => [...tagKeys(r), ...tagValues(r)],
    ok: (v) => TAG_TEXT.test(str(v)),
  },
  {
    id: "tag-count",
    types: ["*"],
    property: "tags",
    rule: "at most 50 tags per resource",
    source: SRC.tagging,
    values: (r) => tagMaps(r).map((m) => Object.keys(m).length),
    ok: (v) => Number(v) <= 50,
  },
  {
    id: "imds-tag-key",
    types: [INSTANCE],
    property: "tags",
    rule: "with instanceMetadataTags enabled, tag keys use only a-z A-Z 0-9 + - = . , _ : @ (no space or /) and are not ., .. or _index",
    source: SRC.imdsTags,
    values: (r) => (obj(r.inputs.metadataOptions).instanceMetadataTags === "enabled" ? Object.keys(r.tags) : []),
    ok: (v) => IMDS_TAG_KEY.test(str(v)) && ![".", "..", "_index"].includes(str(v)),
  },
  {
    // Recovery groups launch from templates with instance metadata tags enabled: what they propagate lands there.
    id: "imds-tag-key-propagated",
    types: [GROUP],
    property: "tags",
    rule: "tags propagated to instances whose metadata tags are enabled use only a-z A-Z 0-9 + - = . , _ : @ and are not ., .. or _index",
    source: SRC.imdsTags,
    values: (r) =>
      list(r.inputs.tags)
        .filter((t) => obj(t).propagateAtLaunch === true)
        .map((t) => obj(t).key),
    ok: (v) => IMDS_TAG_KEY.test(str(v)) && ![".", "..", "_index"].includes(str(v)),
  },
  // Spot recovery: Auto Scaling groups and their launch templates
  {
    id: "group-name",
    types: [GROUP],
    property: "name",
    rule: "1 to 255 ASCII characters 33..126, no colon",
    source: SRC.groupName,
    values: physical("name"),
    ok: (v) => /^[\x21-\x39\x3B-\x7E]{1,255}$/.test(str(v)),
  },
  {
    id: "launch-template-name",
    types: [LAUNCH_TEMPLATE],
    property: "name",
    rule: "3 to 128 characters of a-z A-Z 0-9 ( ) . - / _",
    source: SRC.launchTemplateName,
    values: physical("name"),
    ok: (v) => /^[a-zA-Z0-9().\-/_]{3,128}$/.test(str(v)),
  },
  {
    id: "group-overrides-count",
    types: [GROUP],
    property: "mixedInstancesPolicy.launchTemplate.overrides",
    rule: "at most 20 overrides",
    source: SRC.overrides,
    values: (r) => defined(obj(obj(r.inputs.mixedInstancesPolicy).launchTemplate).overrides).map((o) => list(o).length),
    ok: (v) => Number(v) <= 20,
  },
  {
    id: "launch-template-user-data-size",
    types: [LAUNCH_TEMPLATE],
    property: "userData",
    rule: "base64 of at most 16 KB (16384 bytes)",
    source: SRC.launchTemplateUserData,
    values: (r) => defined(r.inputs.userData),
    ok: (v) => /^[A-Za-z0-9+/]*={0,2}$/.test(str(v)) && Buffer.from(str(v), "base64").length <= 16_384,
  },
  // EC2 instances
  {
    id: "user-data-size",
    types: [INSTANCE],
    property: "userData",
    rule: "at most 16 KB (16384 bytes) before base64",
    source: SRC.userData,
    values: (r) => defined(r.inputs.userData),
    ok: (v) => Buffer.byteLength(str(v), "utf8") <= 16_384,
  },
  {
    id: "one-time-spot-no-stop",
    types: [INSTANCE],
    property: "instanceInitiatedShutdownBehavior",
    rule: "a one-time spot instance cannot stop: shutdown behaviour must be terminate",
    source: SRC.spotType,
    values: (r) => {
      const spot = obj(obj(r.inputs.instanceMarketOptions).spotOptions);
      return obj(r.inputs.instanceMarketOptions).marketType === "spot" && spot.spotInstanceType !== "persistent"
        ? defined(r.inputs.instanceInitiatedShutdownBehavior)
        : [];
    },
    ok: (v) => v === "terminate",
  },
  {
    id: "persistent-spot-interruption",
    types: [INSTANCE],
    property: "instanceMarketOptions.spotOptions.instanceInterruptionBehavior",
    rule: "persistent spot requests need interruption behaviour stop or hibernate",
    source: SRC.spotType,
    values: (r) => {
      const spot = obj(obj(r.inputs.instanceMarketOptions).spotOptions);
      return spot.spotInstanceType === "persistent" ? [spot.instanceInterruptionBehavior] : [];
    },
    ok: (v) => v === "stop" || v === "hibernate",
  },
  // EBS volumes
  {
    id: "volume-size",
    types: [VOLUME],
    property: "size",
    rule: "gp3: 1..65536 GiB; io2: 4..65536 GiB",
    source: SRC.createVolume,
    values: (r) => defined(r.inputs.size),
    ok: (v, r) => inRange(v, limitsOf(r).size),
  },
  {
    id: "volume-iops",
    types: [VOLUME],
    property: "iops",
    rule: "gp3: 3000..80000; io2: 100..256000",
    source: SRC.createVolume,
    values: (r) => defined(r.inputs.iops),
    ok: (v, r) => inRange(v, limitsOf(r).iops),
  },
  {
    id: "volume-iops-per-gib",
    types: [VOLUME],
    property: "iops",
    rule: "gp3: at most 500 IOPS per GiB; io2: at most 1000",
    source: SRC.createVolume,
    values: (r) => (typeof r.inputs.size === "number" ? defined(r.inputs.iops) : []),
    ok: (v, r) => Number(v) <= Number(r.inputs.size) * limitsOf(r).iopsPerGiB,
  },
  {
    id: "volume-throughput",
    types: [VOLUME],
    property: "throughput",
    rule: "gp3 only, 125..2000 MiB/s",
    source: SRC.createVolume,
    values: (r) => defined(r.inputs.throughput),
    ok: (v, r) => r.inputs.type === "gp3" && inRange(v, [125, 2_000]),
  },
  {
    id: "volume-throughput-per-iops",
    types: [VOLUME],
    property: "throughput",
    rule: "gp3: at most 0.25 MiB/s per provisioned IOPS",
    source: SRC.createVolume,
    values: (r) => defined(r.inputs.throughput),
    ok: (v, r) => Number(v) <= Number(r.inputs.iops ?? 3_000) * 0.25,
  },
  {
    id: "volume-init-rate",
    types: [VOLUME],
    property: "volumeInitializationRate",
    rule: "100..300 MiB/s",
    source: SRC.createVolume,
    values: (r) => defined(r.inputs.volumeInitializationRate),
    ok: (v) => inRange(v, [100, 300]),
  },
  // Placement groups, budgets, dashboards
  {
    id: "placement-group-name",
    types: ["aws:ec2/placementGroup:PlacementGroup"],
    property: "name",
    rule: "at most 255 ASCII characters",
    source: SRC.placementGroup,
    values: physical("name"),
    ok: (v) => /^[\x20-\x7E]{1,255}$/.test(str(v)),
  },
  {
    id: "budget-name",
    types: ["aws:budgets/budget:Budget"],
    property: "name",
    rule: "1 to 100 characters, no : or \\",
    source: SRC.budgetName,
    values: physical("name"),
    ok: (v) => /^[^:\\]{1,100}$/.test(str(v)),
  },
  {
    id: "dashboard-name",
    types: ["aws:cloudwatch/dashboard:Dashboard"],
    property: "dashboardName",
    rule: "1 to 255 characters: A-Z a-z 0-9 - _",
    source: SRC.dashboardName,
    values: (r) => [r.inputs.dashboardName],
    ok: (v) => /^[A-Za-z0-9_-]{1,255}$/.test(str(v)),
  },
];

const isAws = (type: string) => type.startsWith("aws:");

/** Every rule a set of resources breaks, one violation per value. */
export function checkConstraints(resources: readonly GuardedResource[], ctx: GuardContext, rules: readonly ConstraintRule[] = CONSTRAINT_RULES): Violation[] {
  const violations: Violation[] = [];
  for (const r of resources) {
    if (!isAws(r.type)) continue;
    for (const rule of rules) {
      if (!rule.types.includes("*") && !rule.types.includes(r.type)) continue;
      for (const value of rule.values(r, ctx)) {
        if (rule.ok(value, r, ctx)) continue;
        const shown = typeof value === "string" ? value : JSON.stringify(value);
        violations.push({
          resource: r.name,
          type: r.type,
          property: rule.property,
          rule: `${rule.id}: ${rule.rule}`,
          value: shown.length > 80 ? `${shown.slice(0, 77)}...` : shown,
          source: rule.source,
        });
      }
    }
  }
  return violations;
}

/** One line per violation: resource, property, rule and the offending value. */
export function describeViolation(v: Violation): string {
  return `${v.resource} (${v.type}) ${v.property}: ${v.rule} (got ${JSON.stringify(v.value)}; source: ${v.source})`;
}
