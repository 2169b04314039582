/**
 * The decisions behind `trainctl preflight`: plain functions from what the account said to one
 * row each. No SDK here; scripts/preflight/account.ts asks AWS and calls these.
 */
import type { StackConfig } from "../../core/config";

export type CheckStatus = "ok" | "warn" | "fail";

/** One row of the report (DESIGN.md: `{id, status, detail, fix}`). */
export interface Check {
  id: string;
  status: CheckStatus;
  detail: string;
  fix: string;
}

const row = (id: string, status: CheckStatus, detail: string, fix = ""): Check => ({ id, status, detail, fix });

/** Exit code of a report: 1 when any row fails, else 0. */
export const exitCodeFor = (checks: readonly Check[]): number => (checks.some((c) => c.status === "fail") ? 1 : 0);

/** Errors that mean "this identity may not make the call" (query, JSON and REST spellings). */
export function isDenied(error: unknown): boolean {
  const name = (error as { name?: string; Code?: string })?.name ?? "";
  return /^(AccessDenied|AccessDeniedException|UnauthorizedOperation|UnauthorizedAccess|Forbidden|AuthorizationError)$/.test(name);
}

/** The row for a call the identity may not make: never a failure (the PR workflow's role is read-only). */
export const notChecked = (id: string, call: string, error: unknown): Check =>
  row(
    id,
    "warn",
    `not checked: ${call} was denied (${(error as Error)?.message ?? String(error)})`,
    `allow ${call} to the identity that runs preflight (docs/preflight.md lists them)`,
  );

/** The row for a call that failed for another reason: preflight could not vouch for it. */
export const callFailed = (id: string, call: string, error: unknown): Check => {
  const e = error as { name?: string; message?: string };
  return row(
    id,
    "fail",
    `${call} failed: ${e?.name ?? "Error"}: ${e?.message ?? String(error)}`,
    "check the credentials, region and network, then run preflight again",
  );
};

// --- 1. Identity and region -------------------------------------------------------------------

export function identityCheck(account: string, arn: string, allowed: readonly string[] | undefined): Check {
  if (allowed && allowed.length > 0 && !allowed.includes(account)) {
    return row(
      "identity",
      "fail",
      `account ${account} (${arn}) is not in trainctl:allowedAccounts (${allowed.join(", ")})`,
      "switch AWS_PROFILE or credentials to an allowed account, or add this account to trainctl:allowedAccounts",
    );
  }
  return row("identity", "ok", `account ${account} as ${arn}${allowed?.length ? " (allowed)" : ""}`);
}

/** `opt-in-not-required` and `opted-in` regions can be used; `not-opted-in` cannot; undefined: unknown region. */
export function regionCheck(region: string, optInStatus: string | undefined): Check {
  if (optInStatus === undefined)
    return row("region", "fail", `region ${region} is not known to this account`, "set aws:region to an AWS region, like us-east-1");
  if (optInStatus === "not-opted-in") {
    return row(
      "region",
      "fail",
      `region ${region} is not enabled for this account`,
      `enable it: aws account enable-region --region-name ${region} (or the console's Account page)`,
    );
  }
  return row("region", "ok", `region ${region} is enabled (${optInStatus})`);
}

// --- 2. Quotas --------------------------------------------------------------------------------

export interface QuotaRef {
  code: string;
  name: string;
}

/**
 * EC2 vCPU quotas by family letter and market (Service Quotas, service code `ec2`). Codes as
 * AWS's Service Quotas console lists them ("Running On-Demand G and VT instances" is L-DB2E81BA, …).
 */
const QUOTAS: readonly { families: RegExp; onDemand: QuotaRef; spot: QuotaRef }[] = [
  {
    families: /^(g|vt)\d/,
    onDemand: { code: "L-DB2E81BA", name: "Running On-Demand G and VT instances" },
    spot: { code: "L-3819A6DF", name: "All G and VT Spot Instance Requests" },
  },
  {
    families: /^p\d/,
    onDemand: { code: "L-417A185B", name: "Running On-Demand P instances" },
    spot: { code: "L-7212CCBC", name: "All P Spot Instance Requests" },
  },
  {
    families: /^inf\d/,
    onDemand: { code: "L-1945791B", name: "Running On-Demand Inf instances" },
    spot: { code: "L-B5D1601B", name: "All Inf Spot Instance Requests" },
  },
  {
    families: /^trn\d/,
    onDemand: { code: "L-2C3B7624", name: "Running On-Demand Trn instances" },
    spot: { code: "L-6B0D517C", name: "All Trn Spot Instance Requests" },
  },
  {
    families: /^[acdhimrtz]\d/,
    onDemand: { code: "L-1216C47A", name: "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances" },
    spot: { code: "L-34B43A08", name: "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests" },
  },
];

/** The vCPU quota an instance type counts against in a market, or undefined for families not mapped. */
export function quotaFor(type: string, market: StackConfig["instance"]["market"]): QuotaRef | undefined {
  const entry = QUOTAS.find((q) => q.families.test(type));
  return entry && (market === "spot" ? entry.spot : entry.onDemand);
}

/** The console page where a quota increase is requested. */
export const quotaIncreaseUrl = (region: string, code: string): string =>
  `https://${region}.console.aws.amazon.com/servicequotas/home/services/ec2/quotas/${code}`;

export interface QuotaFacts {
  region: string;
  type: string;
  count: number;
  vcpusPerNode: number;
  quota: QuotaRef;
  /** The quota's value in vCPUs. */
  limit: number;
  /** vCPUs already running (or pending) in the same quota. */
  inUse: number;
}

export function quotaCheck(f: QuotaFacts): Check {
  const needed = f.count * f.vcpusPerNode;
  const total = needed + f.inUse;
  const figure = `${f.quota.name} (${f.quota.code}): ${f.limit} vCPUs; needs ${needed} (${f.count} × ${f.type} at ${f.vcpusPerNode}) + ${f.inUse} in use = ${total}`;
  if (total <= f.limit) return row("quota", "ok", figure);
  const ask = Math.max(total, f.limit);
  return row(
    "quota",
    "fail",
    figure,
    `request at least ${ask} vCPUs for ${f.quota.code} in ${f.region}: ${quotaIncreaseUrl(f.region, f.quota.code)}${f.inUse > 0 ? ", or stop the instances already using it" : ""}`,
  );
}

// --- 3. Offerings and spot capacity -----------------------------------------------------------

function typeOffering(region: string, type: string, zone: string | undefined, offeredZones: readonly string[]): Check {
  const offered = [...offeredZones].sort();
  if (offered.length === 0)
    return row("offering", "fail", `${type} is not offered in any zone of ${region}`, "choose another trainctl:instance.type or aws:region");
  if (zone && !offered.includes(zone)) {
    return row(
      "offering",
      "fail",
      `${type} is not offered in ${zone} (offered in ${offered.join(", ")})`,
      `set the pinned zone to one of ${offered.join(", ")}`,
    );
  }
  return row("offering", "ok", zone ? `${type} is offered in ${zone}` : `${type} is offered in ${offered.join(", ")}`);
}

/** Whether the node's types are offered where the program places nodes (one row for all of them: see typesRow). */
export function offeringCheck(
  region: string,
  types: readonly string[],
  zone: string | undefined,
  offeredZones: Readonly<Record<string, readonly string[]>>,
): Check {
  return typesRow(
    types,
    types.map((type) => typeOffering(region, type, zone, offeredZones[type] ?? [])),
  );
}

/**
 * One row from one row per type. With several (a recovery group's `instance.types`) a type that fails is a warning,
 * since the group launches the others; every type failing, a failure.
 */
export function typesRow(types: readonly string[], rows: readonly Check[]): Check {
  if (rows.length === 1) return rows[0];
  const { id } = rows[0];
  const details = rows.map((r) => r.detail).join("; ");
  const fixes = [...new Set(rows.map((r) => r.fix).filter(Boolean))].join("; ");
  const failing = types.filter((_, i) => rows[i].status === "fail");
  if (failing.length === types.length) return row(id, "fail", details, fixes);
  if (failing.length > 0)
    return row(
      id,
      "warn",
      `${details}: the group can launch only ${types.filter((t) => !failing.includes(t)).join(", ")}`,
      `remove ${failing.join(", ")} from trainctl:instance.types, or ${fixes}`,
    );
  return row(id, rows.some((r) => r.status === "warn") ? "warn" : "ok", details, fixes);
}

export interface ZoneScore {
  zone: string;
  score: number;
}

/** Scores 1..10 (GetSpotPlacementScores); below this, a request is unlikely to be fulfilled soon. */
export const LOW_SPOT_SCORE = 5;

export function spotScoreCheck(type: string, count: number, zone: string | undefined, scores: readonly ZoneScore[]): Check {
  const ranked = [...scores].sort((a, b) => b.score - a.score || a.zone.localeCompare(b.zone));
  const best = ranked[0];
  if (!best) return row("spot-score", "warn", `no spot placement score for ${count} × ${type}`, "consider market: on-demand, or another type or region");
  const mine = zone ? ranked.find((s) => s.zone === zone) : best;
  const score = mine?.score ?? 0;
  const where = zone ?? best.zone;
  const figure = `spot placement score for ${count} × ${type} in ${where}: ${mine ? `${score}/10` : "none"}`;
  if (zone && best.score > score) {
    const status = score < LOW_SPOT_SCORE ? "warn" : "ok";
    return row(
      "spot-score",
      status,
      `${figure}; ${best.zone} scores ${best.score}/10`,
      `pin ${best.zone} (trainctl:network.availabilityZone) for a better chance of spot capacity`,
    );
  }
  if (score < LOW_SPOT_SCORE)
    return row("spot-score", "warn", figure, "spot capacity is scarce: consider market: on-demand, another type (instance.types) or another region");
  return row("spot-score", "ok", figure);
}

export interface ZonePrice {
  zone: string;
  price: number;
}

export function spotPriceCheck(type: string, maxPrice: number | undefined, zone: string | undefined, prices: readonly ZonePrice[]): Check {
  const candidates = zone ? prices.filter((p) => p.zone === zone) : prices;
  const cheapest = [...candidates].sort((a, b) => a.price - b.price)[0];
  if (!cheapest)
    return row(
      "spot-price",
      "warn",
      `no current spot price for ${type}${zone ? ` in ${zone}` : ""}`,
      "spot may not be offered there: consider market: on-demand",
    );
  const figure = `spot price of ${type} in ${cheapest.zone}: $${cheapest.price.toFixed(4)}/h`;
  if (maxPrice === undefined) return row("spot-price", "ok", `${figure} (no maxPrice: capped at the on-demand price)`);
  if (cheapest.price > maxPrice) {
    return row(
      "spot-price",
      "fail",
      `${figure} is above maxPrice $${maxPrice.toFixed(4)}/h`,
      `raise trainctl:instance.maxPrice above ${cheapest.price.toFixed(4)}, or remove it`,
    );
  }
  return row("spot-price", "ok", `${figure}, under maxPrice $${maxPrice.toFixed(4)}/h`);
}

// --- 4. Data ----------------------------------------------------------------------------------

export interface SnapshotFacts {
  state: string;
  sizeGiB: number;
  encrypted: boolean;
  kmsKeyId?: string;
}

/** `snapshot` undefined means the region has no such snapshot. */
export function snapshotCheck(region: string, id: string, sizeGiB: number | undefined, snapshot: SnapshotFacts | undefined): Check {
  if (!snapshot) {
    return row(
      "snapshot",
      "fail",
      `${id} does not exist in ${region} (or is not shared with this account)`,
      `copy it into ${region}: aws ec2 copy-snapshot --source-region <its region> --source-snapshot-id ${id} --region ${region}`,
    );
  }
  const figure = `${id}: ${snapshot.state}, ${snapshot.sizeGiB} GiB${snapshot.encrypted ? `, encrypted${snapshot.kmsKeyId ? ` with ${snapshot.kmsKeyId}` : ""}` : ""}`;
  if (snapshot.state !== "completed") return row("snapshot", "fail", figure, "wait until the snapshot is completed");
  if (sizeGiB !== undefined && snapshot.sizeGiB > sizeGiB) {
    return row(
      "snapshot",
      "fail",
      `${figure}, larger than trainctl:dataVolume.sizeGiB ${sizeGiB}`,
      `set trainctl:dataVolume.sizeGiB to at least ${snapshot.sizeGiB}, or remove it`,
    );
  }
  return row("snapshot", "ok", figure);
}

export interface VolumeFacts {
  state: string;
  zone: string;
}

export function volumeCheck(id: string, zone: string | undefined, volume: VolumeFacts | undefined): Check {
  if (!volume) return row("volume", "fail", `${id} does not exist in this region`, "check trainctl:dataVolume.adopt and aws:region");
  const figure = `${id}: ${volume.state} in ${volume.zone}`;
  if (zone && volume.zone !== zone)
    return row("volume", "fail", `${figure}, but trainctl:dataVolume.availabilityZone is ${zone}`, `set trainctl:dataVolume.availabilityZone: ${volume.zone}`);
  if (volume.state !== "available") return row("volume", "fail", `${figure}; it must be available (detached) to adopt`, "detach it from its instance first");
  return row("volume", "ok", figure);
}

/** Sizes within this factor of `dataset.sizeGiB` count as matching. */
const SIZE_SLACK = 1.5;

export interface DatasetListing {
  objects: number;
  bytes: number;
  /** False when the listing stopped after the sampled pages. */
  complete: boolean;
}

export function datasetCheck(source: string, sizeGiB: number | undefined, listing: DatasetListing | "no-bucket"): Check {
  if (listing === "no-bucket") return row("dataset", "fail", `${source}: the bucket does not exist`, "check trainctl:dataset.source");
  const gib = listing.bytes / 2 ** 30;
  const figure = `${source}: ${listing.complete ? "" : "at least "}${listing.objects} objects, ${gib.toFixed(2)} GiB${listing.complete ? "" : " in the sampled pages"}`;
  if (listing.objects === 0)
    return row("dataset", "fail", `${source} is empty`, "upload the dataset first (trainctl transfer DIR s3://…), or fix trainctl:dataset.source");
  if (sizeGiB !== undefined) {
    const tooBig = gib > sizeGiB * SIZE_SLACK;
    const tooSmall = listing.complete && gib * SIZE_SLACK < sizeGiB;
    if (tooBig || tooSmall)
      return row(
        "dataset",
        "warn",
        `${figure}; trainctl:dataset.sizeGiB says ${sizeGiB}`,
        "set trainctl:dataset.sizeGiB to the real size: the volume, the warm-up and the cost follow it",
      );
  }
  return row("dataset", "ok", figure);
}

// --- 5. Buckets -------------------------------------------------------------------------------

/** `own-elsewhere`: this account's, in another region. `taken`: exists, not this account's. */
export type BucketOwnership = { kind: "own"; region: string } | { kind: "missing" } | { kind: "taken" };

export function adoptedBucketCheck(role: string, bucket: string, region: string, found: BucketOwnership): Check {
  const id = `bucket:${role}`;
  const key = `trainctl:buckets.${role}.adopt`;
  if (found.kind === "missing") return row(id, "fail", `${bucket} does not exist`, `create it first, or remove ${key} to let the stack create one`);
  if (found.kind === "taken") return row(id, "fail", `${bucket} exists but is not in this account`, `adopt a bucket of this account in ${key}`);
  if (found.region !== region)
    return row(id, "fail", `${bucket} is in ${found.region}, the stack in ${region}`, `adopt a bucket in ${region}, or set aws:region: ${found.region}`);
  return row(id, "ok", `${bucket} is this account's, in ${region}; adopting replaces its policy and lifecycle rules`);
}

// --- 6. AMI -----------------------------------------------------------------------------------

/** Where the instance's AMI comes from: an explicit id, or an SSM public parameter. */
import type { AmiSource } from "../../core/ami";
export type { AmiSource };

export function amiCheck(source: AmiSource, resolved: { id: string; state?: string } | undefined): Check {
  const what = source.kind === "image" ? source.id : `SSM parameter ${source.name}`;
  if (!resolved) {
    return row(
      "ami",
      "fail",
      `${what} does not resolve in this region`,
      source.kind === "image"
        ? "AMIs are per region: set trainctl:instance.ami to an id of this region"
        : "set trainctl:instance.amiParameter to a parameter that exists in this region",
    );
  }
  if (resolved.state && resolved.state !== "available") return row("ami", "fail", `${what}: ${resolved.id} is ${resolved.state}`, "pick an available AMI");
  return row("ami", "ok", source.kind === "image" ? `${resolved.id} is available` : `${what} → ${resolved.id}`);
}

// --- 7. Permissions ---------------------------------------------------------------------------

/**
 * The IAM principal to simulate for a caller ARN: an assumed-role session maps to its role (the
 * role's path is not in the session ARN; `/` is assumed), a user to itself; root cannot be simulated.
 */
export function principalArn(callerArn: string): string | undefined {
  const session = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(callerArn);
  if (session) return `arn:${session[1]}:iam::${session[2]}:role/${session[3]}`;
  if (/^arn:aws[a-z-]*:iam::\d{12}:(user|role)\/.+$/.test(callerArn)) return callerArn;
  return undefined;
}

/** The API actions `pulumi up` makes for this stack's resources (create, tag, attach, read back). */
export function deployActions(config: StackConfig): string[] {
  const actions = [
    "ec2:RunInstances",
    "ec2:CreateTags",
    "ec2:DescribeInstances",
    "ec2:DescribeImages",
    "ec2:CreateSecurityGroup",
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
    "ssm:GetParameter",
    "iam:CreateRole",
    "iam:PutRolePolicy",
    "iam:AttachRolePolicy",
    "iam:CreateInstanceProfile",
    "iam:AddRoleToInstanceProfile",
    "iam:PassRole",
    "s3:CreateBucket",
    "s3:PutBucketPolicy",
    "s3:PutBucketVersioning",
    "s3:PutEncryptionConfiguration",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketTagging",
  ];
  const volume = config.dataVolume;
  if (volume) actions.push(volume.adopt ? "ec2:DescribeVolumes" : "ec2:CreateVolume", "ec2:AttachVolume");
  if (volume?.snapshotId) actions.push("ec2:DescribeSnapshots");
  if (volume?.warm === "fsr") actions.push("ec2:EnableFastSnapshotRestores");
  if (config.instance.count > 1) actions.push("ec2:CreatePlacementGroup", "ec2:AuthorizeSecurityGroupIngress");
  if (config.instance.market === "spot") actions.push("ec2:CreateSpotInstanceRequest");
  if (config.budget) actions.push("budgets:ModifyBudget");
  return [...new Set(actions)].sort();
}

export function permissionsCheck(principal: string, checked: number, denied: readonly string[]): Check {
  if (denied.length === 0) return row("permissions", "ok", `${principal} may make all ${checked} actions pulumi up needs`);
  return row(
    "permissions",
    "fail",
    `${principal} is denied ${denied.length} of ${checked} actions: ${denied.join(", ")}`,
    `grant ${denied.join(", ")} to ${principal}`,
  );
}

// --- 8. Budget --------------------------------------------------------------------------------

/** The budget filters on `user:<tag>`; a tag that is not Active in Cost Explorer tracks $0. */
export function costTagsCheck(tag: string, status: string | undefined): Check {
  if (status === "Active") return row("cost-tags", "ok", `cost-allocation tag ${tag} is Active`);
  const figure = `cost-allocation tag ${tag} is ${status ?? "not known to Cost Explorer yet"}`;
  return row(
    "cost-tags",
    "warn",
    `${figure}: the budget would track $0`,
    `activate it once per account in Billing → Cost allocation tags (docs/configuration.md, Cost-allocation tags)`,
  );
}
