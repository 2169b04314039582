import { UsageError } from "./errors";
import { EBS_PRICES, HOURS_PER_MONTH, INSTANCE_PRICES, S3_PRICES } from "./catalog";
import { type InstanceSpec, instanceSpec } from "./instance-specs";
import { DEFAULT_DATA_VOLUME, type DataVolumeConfig, INIT_RATE_MIBS, type Strategy, volumePerformance } from "./config";
import { volumeMonthly } from "./pricing";

/**
 * The documented rates the model uses (docs/dataloader.md names the source of each).
 * Network: instances with burstable ("up to") networking sustain about half the burst figure.
 */
export const RATES = {
  /** S3: 5,500 GET/HEAD requests per second per prefix (S3 performance guidelines). */
  s3GetsPerSecondPerPrefix: 5_500,
  /** Objects in flight a loader keeps open, and first-byte latency per GET: bounds small-object rate. */
  s3Concurrency: 64,
  s3FirstByteSeconds: 0.03,
  /** Fraction of the instance's network bandwidth S3 reads reach with many connections. */
  networkEfficiency: 0.8,
  burstSustainedFraction: 0.5,
  /** Time to create, attach and mount a volume restored from a snapshot. */
  volumeReadySeconds: 60,
  /** Sequential read of local NVMe instance store, per instance (conservative across families). */
  nvmeReadMiBs: 2_000,
  /** Shards are read with ranged GETs of this size. */
  rangedGetBytes: 8 * 1024 * 1024,
  /** Snapshot kept for reuse across runs: billed this many months. */
  snapshotMonths: 1,
} as const;

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: MiB, gib: GiB, tib: 1024 * GiB };

/** `500GiB`, `3TiB`, `1.5TB`, `1048576B` → bytes; zero, negative, unknown and missing units are rejected. */
export function parseSize(text: string, flag = "--size"): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = match?.[2].toLowerCase() ?? "";
  if (!match || !(unit in UNITS))
    throw new UsageError(`${flag}: ${JSON.stringify(text)} is not a size (accepted: a number with B, KB, MB, GB, TB, KiB, MiB, GiB or TiB, e.g. 500GiB)`, {
      subject: flag,
    });
  const bytes = Number(match[1]) * UNITS[unit];
  if (!(bytes > 0)) throw new UsageError(`${flag}: the size must be greater than zero (got ${JSON.stringify(text)})`, { subject: flag });
  return Math.round(bytes);
}

export interface RecommendInput {
  sizeBytes: number;
  files: number;
  epochs: number;
  runs: number;
  instanceType: string;
  source?: string;
  /** The data volume the stack provisions; without one, the volume a config gets by default (gp3 baseline). */
  volume?: Pick<DataVolumeConfig, "type" | "iops" | "throughputMiBs">;
}

export interface StrategyEstimate {
  strategy: Strategy;
  timeToFirstBatchS: number;
  timeToReadyS: number;
  /** Lower bound on one epoch's read time. */
  epochReadS: number;
  /** Extra USD over all runs (requests, EBS, warming, snapshot storage). */
  extraCostUsd: number;
  /** False when the strategy cannot hold the data (local cache larger than the instance store). */
  feasible: boolean;
  /** Data-wait hours over all runs priced at the instance's on-demand rate, plus the extra cost. */
  scoreUsd: number;
  notes: string[];
}

export interface Recommendation {
  recommended: Strategy;
  reason: string;
  strategies: StrategyEstimate[];
}

/** MiB/s the instance reaches to S3: network bandwidth × efficiency (burstable networks at half the burst). */
export function s3ThroughputMiBs(spec: InstanceSpec): number {
  const gbps = spec.networkGbps * (spec.networkBurst ? RATES.burstSustainedFraction : 1);
  return ((gbps * 1e9) / 8 / MiB) * RATES.networkEfficiency;
}

/** Objects per second a loader reaches: bounded by in-flight GETs over latency and the per-prefix limit. */
export function s3ObjectsPerSecond(): number {
  return Math.min(RATES.s3GetsPerSecondPerPrefix, RATES.s3Concurrency / RATES.s3FirstByteSeconds);
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
const getCost = (requests: number) => (requests / 1000) * S3_PRICES.getPer1000.usd;

/** Estimates each strategy for the dataset and instance; pure arithmetic over the documented rates. */
export function estimateStrategies(input: RecommendInput): StrategyEstimate[] {
  const spec = instanceSpec(input.instanceType);
  if (!spec)
    throw new UsageError(`--instance-type: ${input.instanceType} is not in the instance catalog (see core/instance-specs.ts)`, { subject: "--instance-type" });
  const hourly = INSTANCE_PRICES[input.instanceType].usd;
  const sizeMiB = input.sizeBytes / MiB;
  const sizeGiB = input.sizeBytes / GiB;
  const s3Seconds = Math.max(sizeMiB / s3ThroughputMiBs(spec), input.files / s3ObjectsPerSecond());
  const score = (waitS: number, extra: number) => (waitS / 3600) * hourly + extra;

  // Direct from S3: nothing to stage; every epoch of every run reads S3 again.
  const getsPerEpoch = Math.max(input.files, Math.ceil(input.sizeBytes / RATES.rangedGetBytes));
  const directExtra = getCost(getsPerEpoch * input.epochs * input.runs);
  const direct: StrategyEstimate = {
    strategy: "direct-s3",
    timeToFirstBatchS: round(RATES.s3FirstByteSeconds * 10),
    timeToReadyS: 0,
    epochReadS: round(s3Seconds),
    extraCostUsd: round(directExtra, 4),
    feasible: true,
    scoreUsd: round(score(s3Seconds * input.epochs * input.runs, directExtra), 4),
    notes: input.files / input.sizeBytes > 1 / MiB && input.files > 100_000 ? ["per-object GETs dominate: pack small files into shards"] : [],
  };

  // Local cache: stage once per run onto NVMe, then read locally.
  const fits = input.sizeBytes <= spec.instanceStoreGB * 1e9 * 0.9;
  const localEpoch = sizeMiB / RATES.nvmeReadMiBs;
  const localExtra = getCost(input.files * input.runs);
  const local: StrategyEstimate = {
    strategy: "local-cache",
    timeToFirstBatchS: round(s3Seconds),
    timeToReadyS: round(s3Seconds),
    epochReadS: round(localEpoch),
    extraCostUsd: round(localExtra, 4),
    feasible: fits,
    scoreUsd: round(score((s3Seconds + localEpoch * input.epochs) * input.runs, localExtra), 4),
    notes: fits ? [] : [`${round(sizeGiB)} GiB does not fit the ${spec.instanceStoreGB} GB instance store`],
  };

  // Pre-warmed EBS from a dataset snapshot: warm at the provisioned rate each run, read at the speed
  // and price of the volume the config provisions.
  const volume = input.volume ?? DEFAULT_DATA_VOLUME;
  const performance = volumePerformance(volume);
  const warmS = sizeMiB / INIT_RATE_MIBS.max;
  const ebsEpoch = Math.max(sizeMiB / performance.throughputMiBs, input.files / performance.iops);
  const runHours = (warmS + ebsEpoch * input.epochs) / 3600;
  const { monthly } = volumeMonthly({ type: volume.type, sizeGiB, iops: performance.iops, throughputMiBs: performance.throughputMiBs });
  const ebsExtra =
    (monthly / HOURS_PER_MONTH) * runHours * input.runs +
    sizeGiB * EBS_PRICES.volumeInitialization.usd * input.runs +
    sizeGiB * EBS_PRICES.snapshot.storage.usd * RATES.snapshotMonths;
  const ebs: StrategyEstimate = {
    strategy: "prewarmed-ebs",
    timeToFirstBatchS: RATES.volumeReadySeconds,
    timeToReadyS: round(RATES.volumeReadySeconds + warmS),
    epochReadS: round(ebsEpoch),
    extraCostUsd: round(ebsExtra, 4),
    feasible: sizeGiB <= 64 * 1024,
    scoreUsd: round(score((RATES.volumeReadySeconds + warmS + ebsEpoch * input.epochs) * input.runs, ebsExtra), 4),
    notes: [
      "assumes a dataset snapshot exists; creating it is a one-time upload",
      `reads at ${volume.type} ${performance.throughputMiBs} MiB/s and ${performance.iops} IOPS${input.volume ? "" : " (the default volume; provision more with trainctl:dataVolume.iops and throughputMiBs)"}`,
    ],
  };
  return [ebs, direct, local];
}

/** The cheapest feasible strategy once waiting GPU time is priced, with a one-line reason. */
export function recommend(input: RecommendInput): Recommendation {
  for (const [key, value] of [
    ["--files", input.files],
    ["--epochs", input.epochs],
    ["--runs", input.runs],
  ] as const) {
    if (!(value > 0)) throw new UsageError(`${key} must be greater than zero (got ${value})`, { subject: key });
  }
  if (!(input.sizeBytes > 0)) throw new UsageError(`--size must be greater than zero (got ${input.sizeBytes})`, { subject: "--size" });
  const strategies = estimateStrategies(input);
  const best = strategies.filter((s) => s.feasible).sort((a, b) => a.scoreUsd - b.scoreUsd)[0];
  const smallFiles = input.files > 100_000 && input.sizeBytes / input.files < MiB;
  const others = strategies.filter((s) => s !== best && s.feasible).map((s) => `${s.strategy} $${s.scoreUsd.toFixed(2)}`);
  const reason = [
    `${best.strategy}: lowest cost of waiting GPU time plus extras ($${best.scoreUsd.toFixed(2)} over ${input.runs} run(s) × ${input.epochs} epoch(s)${others.length ? `; ${others.join(", ")}` : ""})`,
    smallFiles ? "; many small files: pack them into shards (webdataset) to avoid per-object GETs" : "",
    strategies.some((s) => !s.feasible)
      ? `; ${strategies
          .filter((s) => !s.feasible)
          .map((s) => s.notes[0])
          .join("; ")}`
      : "",
  ].join("");
  return { recommended: best.strategy, reason, strategies };
}
