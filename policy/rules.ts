import { INSTANCE_PRICES } from "../core/catalog";
import { COST_TAG_KEYS } from "../core/tags";

/** What a rule sees of a resource: the same fields CrossGuard gives, as plain data. */
export interface PolicySubject {
  type: string;
  name: string;
  urn: string;
  props: Record<string, unknown>;
  protect: boolean;
}

/** The instance inputs the rules read. */
interface InstanceProps {
  instanceType?: string;
  rootBlockDevice?: { encrypted?: boolean };
  metadataOptions?: { httpTokens?: string };
  instanceMarketOptions?: { marketType?: string; spotOptions?: { maxPrice?: string | number } };
}

/** The Auto Scaling group inputs the rules read. */
interface GroupProps {
  maxSize?: number;
  capacityRebalance?: boolean;
  mixedInstancesPolicy?: {
    instancesDistribution?: { spotMaxPrice?: string; onDemandBaseCapacity?: number; onDemandPercentageAboveBaseCapacity?: number };
    launchTemplate?: { overrides?: { instanceType?: string }[] };
  };
}

/** A bucket policy statement, as far as the TLS rule reads it. */
interface PolicyStatement {
  Effect?: string;
  Condition?: { Bool?: Record<string, unknown> };
}

/** Types that carry tags in this stack and so must carry the cost keys. */
const TAGGED_TYPES = new Set([
  "aws:ec2/instance:Instance",
  "aws:ebs/volume:Volume",
  "aws:s3/bucket:Bucket",
  "aws:ec2/securityGroup:SecurityGroup",
  "aws:iam/role:Role",
  "aws:iam/instanceProfile:InstanceProfile",
  "aws:ec2/placementGroup:PlacementGroup",
]);

const GROUP = "aws:autoscaling/group:Group";
const LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";

/** A group's tags it propagates to its instances: provider default tags never reach them. */
function propagatedTags(r: PolicySubject): Record<string, string> {
  const list = (Array.isArray(r.props.tags) ? r.props.tags : []) as { key: string; value: string; propagateAtLaunch?: boolean }[];
  return Object.fromEntries(list.filter((t) => t.propagateAtLaunch).map((t) => [t.key, t.value]));
}

/**
 * Every tagged resource carries the cost-allocation keys in `tagsAll` (provider default tags
 * included); an Auto Scaling group propagates them to the instances it launches.
 */
export function missingCostTags(r: PolicySubject): string[] {
  if (r.type === GROUP) {
    const missing = COST_TAG_KEYS.filter((k) => !propagatedTags(r)[k]);
    return missing.length ? [`${r.name}: does not propagate cost tags ${missing.join(", ")} to its instances`] : [];
  }
  if (!TAGGED_TYPES.has(r.type)) return [];
  const tags = (r.props.tagsAll ?? r.props.tags ?? {}) as Record<string, string>;
  const missing = COST_TAG_KEYS.filter((k) => !tags[k]);
  return missing.length ? [`${r.name}: missing cost tags ${missing.join(", ")}`] : [];
}

const DATA_TYPES = new Set(["aws:ebs/volume:Volume", "aws:s3/bucket:Bucket"]);

/** Data-bearing volumes and buckets are protected. */
export function unprotectedData(r: PolicySubject): string[] {
  return DATA_TYPES.has(r.type) && !r.protect ? [`${r.name}: ${r.type.split(":").pop()} holds data and must be protected (protect: true)`] : [];
}

/** EBS volumes and instance root volumes are encrypted. */
export function unencryptedStorage(r: PolicySubject): string[] {
  if (r.type === "aws:ebs/volume:Volume" && r.props.encrypted !== true) return [`${r.name}: EBS volume is not encrypted`];
  if (r.type === "aws:ec2/instance:Instance" && (r.props as InstanceProps).rootBlockDevice?.encrypted !== true)
    return [`${r.name}: root volume is not encrypted`];
  if (r.type === LAUNCH_TEMPLATE) {
    // Template booleans are strings ("true").
    const mappings = (r.props.blockDeviceMappings ?? []) as { deviceName?: string; ebs?: { encrypted?: string | boolean } }[];
    if (mappings.length === 0) return [`${r.name}: launch template declares no root volume, so it is not encrypted`];
    return mappings.filter((m) => String(m.ebs?.encrypted) !== "true").map((m) => `${r.name}: volume ${m.deviceName ?? "?"} is not encrypted`);
  }
  return [];
}

/** Instances require IMDSv2 tokens. */
export function imdsV1Allowed(r: PolicySubject): string[] {
  return (r.type === "aws:ec2/instance:Instance" || r.type === LAUNCH_TEMPLATE) && (r.props as InstanceProps).metadataOptions?.httpTokens !== "required"
    ? [`${r.name}: IMDSv2 is not required (metadataOptions.httpTokens must be "required")`]
    : [];
}

interface IngressRule {
  fromPort?: number;
  toPort?: number;
  protocol?: string;
  cidrBlocks?: string[];
  ipv6CidrBlocks?: string[];
  cidrIpv4?: string;
  cidrIpv6?: string;
}

function openIngress(rule: IngressRule): string | undefined {
  const cidrs = [...(rule.cidrBlocks ?? []), ...(rule.ipv6CidrBlocks ?? []), rule.cidrIpv4, rule.cidrIpv6].filter(Boolean);
  if (cidrs.some((c) => c === "0.0.0.0/0" || c === "::/0")) return "opens inbound traffic to the internet";
  const all = rule.protocol === "-1" || rule.protocol === "all";
  const from = rule.fromPort ?? 0;
  const to = rule.toPort ?? 65535;
  if ((all && from === 0 && to === 0) || (from <= 22 && 22 <= to)) {
    if (cidrs.length > 0) return "opens port 22 inbound";
  }
  return undefined;
}

/** No security group opens port 22, or anything to 0.0.0.0/0, inbound. Self-referencing rules are fine. */
export function openSecurityGroups(r: PolicySubject): string[] {
  let rules: IngressRule[] = [];
  if (r.type === "aws:ec2/securityGroup:SecurityGroup") rules = (r.props.ingress ?? []) as IngressRule[];
  else if (r.type === "aws:ec2/securityGroupRule:SecurityGroupRule" && r.props.type === "ingress") rules = [r.props];
  else if (r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    rules = [{ ...(r.props as IngressRule), protocol: r.props.ipProtocol as string | undefined }];
  return rules
    .map(openIngress)
    .filter((p): p is string => Boolean(p))
    .map((p) => `${r.name}: ${p}`);
}

/** A spot max price at or above on-demand pays on-demand prices for interruptible capacity. */
export function spotPriceAboveOnDemand(r: PolicySubject): string[] {
  if (r.type === GROUP) {
    const policy = (r.props as GroupProps).mixedInstancesPolicy;
    const max = Number(policy?.instancesDistribution?.spotMaxPrice);
    const types = (policy?.launchTemplate?.overrides ?? []).map((o) => o.instanceType).filter((t): t is string => t !== undefined);
    if (!Number.isFinite(max)) return [];
    return types
      .filter((t) => INSTANCE_PRICES[t] !== undefined && max >= INSTANCE_PRICES[t].usd)
      .map((t) => `${r.name}: spotMaxPrice $${max}/h is not below the on-demand $${INSTANCE_PRICES[t].usd}/h of ${t}`);
  }
  if (r.type !== "aws:ec2/instance:Instance") return [];
  const props = r.props as InstanceProps;
  const max = Number(props.instanceMarketOptions?.spotOptions?.maxPrice);
  const onDemand = props.instanceType === undefined ? undefined : INSTANCE_PRICES[props.instanceType]?.usd;
  if (props.instanceMarketOptions?.marketType !== "spot" || !Number.isFinite(max) || onDemand === undefined) return [];
  return max >= onDemand ? [`${r.name}: spot maxPrice $${max}/h is not below the on-demand $${onDemand}/h of ${props.instanceType}`] : [];
}

/**
 * A recovery group holds one spot node: at most one instance, no on-demand base or share (a group
 * has no on-demand fallback for spot capacity), and no Capacity Rebalance (docs/spot.md).
 */
export function recoveryGroupShape(r: PolicySubject): string[] {
  const props = r.props as GroupProps;
  if (r.type !== GROUP || !props.mixedInstancesPolicy) return [];
  const distribution = props.mixedInstancesPolicy.instancesDistribution ?? {};
  const problems: string[] = [];
  if (Number(props.maxSize) > 1) problems.push(`maxSize is ${props.maxSize}, not 1`);
  if (Number(distribution.onDemandBaseCapacity ?? 0) !== 0) problems.push(`onDemandBaseCapacity is ${distribution.onDemandBaseCapacity}, not 0`);
  // AWS's default share above the base is 100% on-demand: it must be given as 0.
  if (Number(distribution.onDemandPercentageAboveBaseCapacity ?? 100) !== 0)
    problems.push(`onDemandPercentageAboveBaseCapacity is ${distribution.onDemandPercentageAboveBaseCapacity ?? "unset (100)"}, not 0`);
  if (props.capacityRebalance === true) problems.push("capacityRebalance is on");
  return problems.map((p) => `${r.name}: ${p}`);
}

export const RESOURCE_RULES = {
  "cost-tags": missingCostTags,
  "data-protected": unprotectedData,
  "storage-encrypted": unencryptedStorage,
  "imdsv2-required": imdsV1Allowed,
  "no-open-ingress": openSecurityGroups,
  "spot-below-on-demand": spotPriceAboveOnDemand,
  "recovery-group-shape": recoveryGroupShape,
} as const;

/** Every bucket has a full public access block and a TLS-only policy, matched by bucket name. */
export function bucketsWithoutGuards(resources: PolicySubject[]): string[] {
  const buckets = resources.filter((r) => r.type === "aws:s3/bucket:Bucket");
  const blocked = new Set(
    resources
      .filter((r) => r.type === "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
      .filter((r) => r.props.blockPublicAcls && r.props.blockPublicPolicy && r.props.ignorePublicAcls && r.props.restrictPublicBuckets)
      .map((r) => r.props.bucket),
  );
  const tlsOnly = new Set(
    resources
      .filter((r) => r.type === "aws:s3/bucketPolicy:BucketPolicy")
      .filter((r) => {
        const policy = (typeof r.props.policy === "string" ? JSON.parse(r.props.policy) : r.props.policy) as { Statement?: PolicyStatement[] } | undefined;
        return (policy?.Statement ?? []).some((s) => s.Effect === "Deny" && String(s.Condition?.Bool?.["aws:SecureTransport"]) === "false");
      })
      .map((r) => r.props.bucket),
  );
  const problems: string[] = [];
  for (const b of buckets) {
    const name = b.props.bucket;
    if (!blocked.has(name)) problems.push(`${b.name}: no public access block with all four settings on`);
    if (!tlsOnly.has(name)) problems.push(`${b.name}: no bucket policy denying requests without TLS`);
  }
  return problems;
}

/** A budget exists when the stack asks for one. */
export function budgetMissing(resources: PolicySubject[], required: boolean): string[] {
  return required && !resources.some((r) => r.type === "aws:budgets/budget:Budget")
    ? ["trainctl:budget is set but the stack declares no aws.budgets.Budget"]
    : [];
}
