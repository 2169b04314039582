/**
 * One status row per training node, built from what EC2, EBS and CloudWatch said. Pure: every
 * decision (uptime, price basis, cost so far, volume initialization, staging and run state) is here.
 */
import type { VolumeStatusItem } from "@aws-sdk/client-ec2";
import { catalogPrices, type PriceBook } from "../pricing/estimate";
import type { NodeState } from "../remote/ec2";
import { isBusy } from "../teardown/teardown-plan";
import { emptyMetrics, type NodeMetrics } from "./metrics";
import { RUNTIME_TAG } from "../../core/tags";

/**
 * How the hourly price was found: the catalog's on-demand price; for spot, that price as the cap
 * (a spot instance never pays more); a live spot price when one was given; or the stack's
 * `estimatedHourlyUsd` output ÷ nodes when the catalog does not know the type.
 */
export type PriceBasis = "on-demand" | "spot-cap" | "spot-live" | "stack-estimate";

export interface VolumeInit {
  /** EC2's `initialization-state` (`initializing`, `completed`), else `initializing`/`completed` from the progress. */
  state: string;
  progressPercent: number | null;
  etaSeconds: number | null;
}

export interface NodeRow {
  index: number;
  instanceId: string;
  /** EC2's instance state, or `not-found` when EC2 no longer knows the id. */
  state: string;
  lifecycle: "spot" | "on-demand" | null;
  instanceType: string | null;
  /** Seconds since the last start (EC2 LaunchTime); null unless running. */
  uptimeSeconds: number | null;
  hourlyUsd: number | null;
  priceBasis: PriceBasis | null;
  /** hourlyUsd × uptime: the compute cost of the current run of the instance; null unless running. */
  costSoFarUsd: number | null;
  volumeId: string | null;
  volumeInit: VolumeInit | null;
  /** The bootstrap's fio warm-up (`warming`, `warm`, `failed`), null when it never ran. */
  warmState: string | null;
  /** Dataset staging (`copying`, `complete`), null when nothing was staged. */
  staging: string | null;
  /** `running` while a training process lives, `idle` otherwise; null when the instance is not running. */
  run: "running" | "idle" | null;
  metrics: NodeMetrics;
}

export interface NodeRowInput {
  node: { index: number; instanceId: string };
  ec2?: NodeState;
  volumeId?: string;
  volume?: VolumeStatusItem;
  metrics?: NodeMetrics;
  /** The stack's estimatedHourlyUsd ÷ its node count, used when the catalog has no price. */
  estimatedHourlyUsd?: number;
  /** A live spot price for this node's type and zone, when one is at hand. */
  spotHourlyUsd?: number;
  prices?: PriceBook;
  now: Date;
}

/** The node's hourly price and where it came from. */
export function nodeHourly(input: Pick<NodeRowInput, "ec2" | "estimatedHourlyUsd" | "spotHourlyUsd" | "prices">): {
  hourlyUsd: number | null;
  priceBasis: PriceBasis | null;
} {
  const { ec2, estimatedHourlyUsd, spotHourlyUsd } = input;
  if (ec2?.lifecycle === "spot" && spotHourlyUsd !== undefined) return { hourlyUsd: spotHourlyUsd, priceBasis: "spot-live" };
  const onDemand = ec2?.instanceType ? (input.prices ?? catalogPrices).onDemandHourly(ec2.instanceType) : undefined;
  if (onDemand !== undefined) return { hourlyUsd: onDemand, priceBasis: ec2?.lifecycle === "spot" ? "spot-cap" : "on-demand" };
  if (estimatedHourlyUsd !== undefined) return { hourlyUsd: estimatedHourlyUsd, priceBasis: "stack-estimate" };
  return { hourlyUsd: null, priceBasis: null };
}

/** The volume's initialization from DescribeVolumeStatus: the status detail and, when EC2 gives them, progress and ETA. */
export function volumeInitFrom(item: VolumeStatusItem | undefined): VolumeInit | null {
  if (!item) return null;
  const detail = item.VolumeStatus?.Details?.find((d) => d.Name === "initialization-state")?.Status;
  const progress = item.InitializationStatusDetails?.Progress;
  const eta = item.InitializationStatusDetails?.EstimatedTimeToCompleteInSeconds;
  const state = detail ?? (progress === undefined ? "unknown" : progress >= 100 ? "completed" : "initializing");
  const done = state === "completed";
  return { state, progressPercent: progress ?? (done ? 100 : null), etaSeconds: eta ?? (done ? 0 : null) };
}

/** The run state from the busy tag teardown also reads; absent means no training process was ever seen. */
function runState(ec2: NodeState | undefined): NodeRow["run"] {
  if (ec2?.state !== "running") return null;
  return isBusy(ec2.tags) ? "running" : "idle";
}

/** One node's row. */
export function buildNodeRow(input: NodeRowInput): NodeRow {
  const { node, ec2, now } = input;
  const launched = ec2?.launchTime?.getTime();
  const uptimeSeconds = ec2?.state === "running" && launched !== undefined ? Math.max(0, Math.floor((now.getTime() - launched) / 1000)) : null;
  const { hourlyUsd, priceBasis } = nodeHourly(input);
  const costSoFarUsd = uptimeSeconds !== null && hourlyUsd !== null ? Math.round(((hourlyUsd * uptimeSeconds) / 3600) * 10_000) / 10_000 : null;
  return {
    index: node.index,
    instanceId: node.instanceId,
    state: ec2?.state ?? "not-found",
    lifecycle: ec2?.lifecycle ?? null,
    instanceType: ec2?.instanceType ?? null,
    uptimeSeconds,
    hourlyUsd,
    priceBasis,
    costSoFarUsd,
    volumeId: input.volumeId ?? null,
    volumeInit: volumeInitFrom(input.volume),
    warmState: ec2?.tags[RUNTIME_TAG.warmState] ?? null,
    staging: ec2?.tags[RUNTIME_TAG.staging] ?? null,
    run: runState(ec2),
    metrics: input.metrics ?? emptyMetrics(),
  };
}

/** `k=v` → [k, v]; anything else is bad input naming --tag. */
export function parseTagFilter(text: string): [string, string] | undefined {
  const at = text.indexOf("=");
  if (at <= 0) return undefined;
  return [text.slice(0, at), text.slice(at + 1)];
}

/** Whether tags carry every wanted k=v. */
export function matchesTags(tags: Record<string, string>, wanted: readonly [string, string][]): boolean {
  return wanted.every(([key, value]) => tags[key] === value);
}

/** A node's index from its Name tag (`…-node-3`), for instances known only by their tags. */
export function nodeIndexFromName(name: string | undefined): number | undefined {
  const match = /-node-(\d+)$/.exec(name ?? "");
  return match ? Number(match[1]) : undefined;
}
