/**
 * The choices preflight must make exactly as the program does, in one swappable place: which
 * zone is pinned, and where the AMI comes from.
 */
import { pinnedZone } from "../../components/placement";
import type { StackConfig } from "../../core/config";
import { type AmiSource, amiSource as nodeAmiSource } from "../../core/ami";

/** The zone the config pins (adopted volume, then dataVolume, then network), as the program places nodes. */
export const pinnedZoneOf = (config: StackConfig): string | undefined => pinnedZone(config)?.zone;

/** The AMI the training instance resolves: the program's own choice (core/ami.ts). */
export const amiSource = (config: StackConfig): AmiSource => nodeAmiSource(config.instance);
