/**
 * The choices preflight must make exactly as the program does, in one swappable place: which
 * zone is pinned, and where the AMI comes from.
 */
import { pinnedZone } from "../../components/placement";
import { DEFAULT_AMI_PARAMETER } from "../../components/training-instance";
import type { StackConfig } from "../../infra/config";
import type { AmiSource } from "./checks";

/** The zone the config pins (adopted volume, then dataVolume, then network), as the program places nodes. */
export const pinnedZoneOf = (config: StackConfig): string | undefined => pinnedZone(config)?.zone;

/** The AMI the training instance resolves: `instance.ami`, else the SSM parameter (training-instance.ts). */
export function amiSource(config: StackConfig): AmiSource {
  const { ami, amiParameter } = config.instance;
  return ami ? { kind: "image", id: ami } : { kind: "parameter", name: amiParameter ?? DEFAULT_AMI_PARAMETER };
}
