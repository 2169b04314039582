/**
 * The leak sweep's decisions, as pure functions: what a tagged cloud resource is, whether a stack
 * state knows it, whether it is old enough, what it costs, and what the sweep may do to it.
 */
import { UsageError } from "../../core/errors";
import { EBS_PRICES, HOURS_PER_MONTH, INSTANCE_PRICES } from "../../core/catalog";
import { volumeMonthly } from "../pricing/estimate";
import { hasProtectedTag, protectedTag, type StackModel } from "../state/model";
import { AUTOSCALING_GROUP_TAG, TAG } from "../../core/tags";

export type SweepKind = "instance" | "volume" | "snapshot" | "bucket" | "other";

/** A resource the Tagging API listed, with what EC2 or S3 told us about it. */
export interface CloudResource {
  arn: string;
  kind: SweepKind;
  /** `i-…`, `vol-…`, `snap-…`, a bucket name, or the ARN's resource part for other types. */
  id: string;
  /** `ec2:instance`, `s3:bucket`, `iam:role`, … */
  type: string;
  tags: Record<string, string>;
  createdAt?: Date;
  /** Instance state name, volume status or snapshot state. */
  state?: string;
  instanceType?: string;
  sizeGiB?: number;
  volumeType?: string;
  iops?: number;
  throughputMiBs?: number;
  /** Buckets: whether the bucket holds any object (undefined: not checked). */
  empty?: boolean;
  /** Why the describe step could not say more. */
  describeError?: string;
}

export type SweepAction = "terminate" | "snapshot-and-delete" | "delete" | "delete-bucket";

export interface Leak {
  resource: CloudResource;
  ageHours: number;
  /** USD per month it keeps costing; null when the catalog cannot price it. */
  monthly: number | null;
  /** What `--execute` does; undefined when the sweep only reports it. */
  action?: SweepAction;
  /** Why there is no action. */
  note?: string;
}

export interface Skipped {
  arn: string;
  reason: string;
}

/** Snapshots that hold data on purpose: final snapshots of data volumes, and the sweep's own. */
export const KEPT_SNAPSHOT_ROLES = ["data-volume", "sweep-snapshot"];
export const SWEEP_SNAPSHOT_ROLE = "sweep-snapshot";

/** `arn:aws:ec2:us-east-1:123:volume/vol-1` → kind volume, id vol-1; `arn:aws:s3:::bucket` → bucket. */
export function parseArn(arn: string): { service: string; region: string; account: string; type: string; kind: SweepKind; id: string } {
  const parts = arn.split(":");
  if (parts.length < 6 || parts[0] !== "arn") throw new Error(`not an ARN: ${arn}`);
  const [, , service, region, account] = parts;
  const resource = parts.slice(5).join(":");
  if (service === "s3" && !resource.includes("/")) return { service, region, account, type: "s3:bucket", kind: "bucket", id: resource };
  const cut = resource.search(/[/:]/);
  const resourceType = cut >= 0 ? resource.slice(0, cut) : resource;
  const id = cut >= 0 ? resource.slice(cut + 1) : resource;
  const kinds: Record<string, SweepKind> = { instance: "instance", volume: "volume", snapshot: "snapshot" };
  const kind = service === "ec2" ? (kinds[resourceType] ?? "other") : "other";
  return { service, region, account, type: `${service}:${resourceType}`, kind, id: kind === "other" ? resource : id };
}

const ID_LIKE = /^(arn:aws[\w-]*:|(i|vol|snap|sg|eni|ami|subnet|vpc|lt|pg|vpce|fs)-[0-9a-z]{8,})/;

/** Every cloud id, bucket name and ARN the states know: record ids plus id-like strings anywhere in outputs. */
export function knownIdentifiers(models: readonly StackModel[]): Set<string> {
  const known = new Set<string>();
  const visit = (value: unknown, depth: number) => {
    if (depth > 6 || value === null || value === undefined) return;
    if (typeof value === "string") {
      if (ID_LIKE.test(value)) known.add(value);
    } else if (Array.isArray(value)) {
      for (const v of value) visit(v, depth + 1);
    } else if (typeof value === "object") {
      for (const v of Object.values(value)) visit(v, depth + 1);
    }
  };
  for (const model of models) {
    for (const r of model.resources) {
      if (r.id) known.add(r.id);
      for (const key of ["bucket", "arn", "id"]) if (typeof r.outputs[key] === "string") known.add(r.outputs[key]);
      visit(r.outputs, 0);
    }
  }
  return known;
}

/** `90s`, `30m`, `1h`, `2d`, `1w` → milliseconds. */
export function parseDuration(text: string, flag = "--min-age"): number {
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(text.trim());
  if (!match)
    throw new UsageError(`${flag}: ${JSON.stringify(text)} is not a duration (accepted: a number with s, m, h, d or w, e.g. 1h, 30m, 2d)`, { subject: flag });
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[match[2] as "s" | "m" | "h" | "d" | "w"];
  return Number(match[1]) * unit * 1000;
}

/** USD per month the resource keeps costing while it exists. */
export function leakMonthly(r: CloudResource): number | null {
  switch (r.kind) {
    case "instance": {
      if (r.state && r.state !== "running" && r.state !== "pending") return 0;
      const price = r.instanceType ? INSTANCE_PRICES[r.instanceType]?.usd : undefined;
      return price === undefined ? null : price * HOURS_PER_MONTH;
    }
    case "volume":
      return r.sizeGiB === undefined ? null : volumeMonthly({ type: r.volumeType, sizeGiB: r.sizeGiB, iops: r.iops, throughputMiBs: r.throughputMiBs }).monthly;
    case "snapshot":
      // Upper bound: snapshots bill for changed blocks, at most the volume size.
      return r.sizeGiB === undefined ? null : r.sizeGiB * EBS_PRICES.snapshot.storage.usd;
    case "bucket":
      return r.empty ? 0 : null;
    default:
      return null;
  }
}

/** What `--execute` may do to a leak, or why it leaves it alone. */
export function sweepAction(r: CloudResource): { action?: SweepAction; note?: string } {
  switch (r.kind) {
    case "instance":
      return r.state === "terminated" || r.state === "shutting-down" ? { note: `already ${r.state}` } : { action: "terminate" };
    case "volume":
      return r.state === "available"
        ? { action: "snapshot-and-delete" }
        : { note: `volume is ${r.state ?? "in an unknown state"}; only available volumes are deleted` };
    case "snapshot":
      return KEPT_SNAPSHOT_ROLES.includes(r.tags[TAG.role]) ? { note: `kept: ${TAG.role}=${r.tags[TAG.role]} holds data on purpose` } : { action: "delete" };
    case "bucket":
      return r.empty === true
        ? { action: "delete-bucket" }
        : { note: r.empty === false ? "bucket is not empty; only empty buckets are deleted" : "bucket contents unknown" };
    default:
      return { note: `${r.type} is reported only; the sweep deletes instances, volumes, snapshots and empty buckets` };
  }
}

/**
 * The Auto Scaling group a resource belongs to: AWS tags a group's instances with the group's name,
 * and trainctl tags their root volumes (a group's id in state is its name).
 */
export function owningGroup(r: Pick<CloudResource, "tags">): string | undefined {
  return r.tags[AUTOSCALING_GROUP_TAG] ?? r.tags[TAG.nodeGroup];
}

/** Splits tagged resources into leaks and what is skipped (known to a state, protected, too young). */
export function findLeaks(
  resources: readonly CloudResource[],
  known: ReadonlySet<string>,
  options: { now: Date; minAgeMs: number },
): { leaks: Leak[]; skipped: Skipped[] } {
  const leaks: Leak[] = [];
  const skipped: Skipped[] = [];
  for (const r of resources) {
    const group = owningGroup(r);
    if (known.has(r.arn) || known.has(r.id)) {
      skipped.push({ arn: r.arn, reason: "known to a stack state" });
    } else if (group !== undefined && known.has(group)) {
      skipped.push({ arn: r.arn, reason: `launched by Auto Scaling group ${group}, known to a stack state` });
    } else if (hasProtectedTag(r.tags)) {
      skipped.push({ arn: r.arn, reason: `tagged ${protectedTag(r.tags)}` });
    } else if (!r.createdAt || Number.isNaN(r.createdAt.getTime())) {
      skipped.push({ arn: r.arn, reason: `age unknown${r.describeError ? ` (${r.describeError})` : ""}; treated as young` });
    } else if (options.now.getTime() - r.createdAt.getTime() < options.minAgeMs) {
      skipped.push({ arn: r.arn, reason: `younger than --min-age (created ${r.createdAt.toISOString()})` });
    } else {
      const ageHours = (options.now.getTime() - r.createdAt.getTime()) / 3_600_000;
      leaks.push({ resource: r, ageHours: Math.round(ageHours * 10) / 10, monthly: leakMonthly(r), ...sweepAction(r) });
    }
  }
  return { leaks, skipped };
}

/** The aws-nuke rule: the caller's account must be the one named, and never a blocklisted one. */
export function checkAccount(caller: string, options: { account?: string; blocklist: readonly string[] }): void {
  if (!options.account)
    throw new UsageError(`--execute needs --account ${caller} (the account to sweep, checked against STS GetCallerIdentity); nothing was deleted`, {
      subject: "--account",
    });
  if (options.blocklist.includes(caller))
    throw new UsageError(`--blocklist: account ${caller} is blocklisted; nothing was deleted`, { subject: "--blocklist" });
  if (options.account !== caller)
    throw new UsageError(`--account: ${options.account} is not the caller's account ${caller}; nothing was deleted`, { subject: "--account" });
}
