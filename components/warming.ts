import { type DataVolumeConfig, type WarmSetting, volumePerformance } from "../core/config";
import { EBS_PRICES, HOURS_PER_MONTH } from "../core/catalog";
import { instanceSpec } from "../core/instance-specs";

export interface WarmEstimate {
  mode: DataVolumeConfig["warm"];
  /** Seconds until every block is local; 0 when warm at creation; null when unknown (lazy loading). */
  secondsToWarm: number | null;
  /** MiB/s the estimate assumes. */
  rateMiBs: number | null;
  /** One-time USD cost of warming (provisioned rate); FSR bills per hour instead. */
  oneTimeUsd: number;
  /** USD per hour while warming is enabled (FSR), else 0. */
  hourlyUsd: number;
  detail: string;
}

/** The instance type's sustained (baseline) EBS bandwidth in MiB/s; undefined for an unknown type. */
export function instanceEbsMiBs(instanceType: string): number | undefined {
  const mbps = instanceSpec(instanceType)?.ebsBaselineMbps;
  return mbps === undefined ? undefined : (mbps * 1e6) / 8 / 2 ** 20;
}

/**
 * Time and cost until a volume restored from a snapshot is fully warm. Rates (AWS EBS documentation,
 * "Initialize Amazon EBS volumes"): provisioned rate 100–300 MiB/s, charged per GiB; fast snapshot
 * restore is warm at creation and billed per DSU-hour per zone; fio reads at the lower of the volume's
 * throughput and the instance's baseline EBS bandwidth (a full read outlasts the 30-minute burst).
 */
export function estimateWarm(
  volume: Pick<DataVolumeConfig, "sizeGiB" | "type" | "iops" | "throughputMiBs" | "snapshotId"> & WarmSetting,
  instanceType: string,
): WarmEstimate {
  const size = volume.sizeGiB;
  const secondsAt = (rate: number) => (size === undefined ? null : Math.round((size * 1024) / rate));
  switch (volume.warm) {
    case "rate": {
      const rate = volume.initRateMiBs;
      const oneTimeUsd = size === undefined ? 0 : size * EBS_PRICES.volumeInitialization.usd;
      return {
        mode: "rate",
        secondsToWarm: secondsAt(rate),
        rateMiBs: rate,
        oneTimeUsd,
        hourlyUsd: 0,
        detail: `provisioned initialization rate ${rate} MiB/s at $${EBS_PRICES.volumeInitialization.usd}/GiB`,
      };
    }
    case "fsr": {
      const hourly = EBS_PRICES.fastSnapshotRestore.usd;
      return {
        mode: "fsr",
        secondsToWarm: 0,
        rateMiBs: null,
        oneTimeUsd: 0,
        hourlyUsd: hourly,
        detail: `$${hourly}/DSU-hour per zone while fast snapshot restore stays enabled ($${(hourly * HOURS_PER_MONTH).toFixed(2)}/month)`,
      };
    }
    case "fio": {
      const volumeRate = volumePerformance(volume).throughputMiBs;
      const instanceRate = instanceEbsMiBs(instanceType) ?? Infinity;
      const rate = Math.min(volumeRate, instanceRate);
      const limit = instanceRate < volumeRate ? `${instanceType}'s baseline EBS bandwidth` : "volume's throughput";
      return {
        mode: "fio",
        secondsToWarm: secondsAt(rate),
        rateMiBs: rate,
        oneTimeUsd: 0,
        hourlyUsd: 0,
        detail: `fio reads every block at up to the ${limit}, ${Number(rate.toFixed(1))} MiB/s (no extra charge)`,
      };
    }
    default:
      return {
        mode: "none",
        secondsToWarm: volume.snapshotId ? null : 0,
        rateMiBs: null,
        oneTimeUsd: 0,
        hourlyUsd: 0,
        detail: volume.snapshotId ? "blocks load lazily from S3 on first read (slow first epoch)" : "empty volume: full performance at creation",
      };
  }
}
