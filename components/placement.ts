import type { StackConfig } from "../core/config";

/** A zone the config pins, and the key that pins it (for error messages). */
export interface PinnedZone {
  zone: string;
  key: string;
}

/**
 * Which availability zone the config pins, if any. An adopted volume cannot move, so its zone
 * wins; otherwise `dataVolume.availabilityZone`, then `network.availabilityZone`. Without a pin
 * the nodes go where the subnet is, and new volumes follow the subnet's zone.
 */
export function pinnedZone(config: Pick<StackConfig, "dataVolume" | "network">): PinnedZone | undefined {
  const volumeZone = config.dataVolume?.availabilityZone;
  if (volumeZone) return { zone: volumeZone, key: "trainctl:dataVolume.availabilityZone" };
  const networkZone = config.network.availabilityZone;
  if (networkZone) return { zone: networkZone, key: "trainctl:network.availabilityZone" };
  return undefined;
}

/** Why a configured subnet cannot hold the nodes (its zone differs from the pinned one), or undefined. */
export function subnetZoneProblem(subnetId: string, subnetZone: string, pin: PinnedZone | undefined): string | undefined {
  if (!pin || pin.zone === subnetZone) return undefined;
  return `trainctl:network.subnetId: ${subnetId} is in ${subnetZone}, but ${pin.key} is ${pin.zone}; volume and nodes must share a zone (pick a subnet in ${pin.zone})`;
}

/** First subnet id in a stable order (so the choice never flips between runs), or a clear error naming trainctl:network. */
export function pickSubnet(ids: string[], zone: string | undefined, vpcId: string): string {
  const sorted = [...ids].sort();
  if (sorted.length === 0) {
    throw new Error(`trainctl:network: no default subnet in ${vpcId}${zone ? ` for zone ${zone}` : ""}; set trainctl:network.subnetId`);
  }
  return sorted[0];
}
