import { HOURS_PER_MONTH, INSTANCE_PRICES } from "../scripts/pricing/catalog";
import { volumeMonthly } from "../scripts/pricing/estimate";
import type { StackConfig } from "../infra/config";

/**
 * The experiment's burn rate from the embedded catalog, for the `estimatedHourlyUsd` stack output:
 * every node (spot at most its max price, else at most on-demand), its root volume and its data volume.
 * `trainctl cost` prices the real state in detail; this is the number to glance at.
 */
export function estimatedHourlyUsd(config: Pick<StackConfig, "instance" | "dataVolume">): number {
  const { instance, dataVolume } = config;
  const onDemand = INSTANCE_PRICES[instance.type]?.usd ?? 0;
  const compute = instance.market === "spot" ? Math.min(onDemand, instance.maxPrice ?? onDemand) : onDemand;
  const root = volumeMonthly({ type: "gp3", sizeGiB: instance.rootVolumeGiB }).monthly;
  const data = dataVolume?.sizeGiB ? volumeMonthly({ type: dataVolume.type, sizeGiB: dataVolume.sizeGiB, iops: dataVolume.iops, throughputMiBs: dataVolume.throughputMiBs }).monthly : 0;
  return Math.round(instance.count * (compute + (root + data) / HOURS_PER_MONTH) * 10_000) / 10_000;
}
