import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { DATA_DEVICE_NAME } from "./data-volume";
import { METRICS_NAMESPACE } from "../core/node-metrics";
import { RUN_SPEC_KEY } from "../core/names";
import { RUNTIME_TAG } from "../core/tags";
import type { InstanceConfig, Strategy, WarmMode } from "../core/config";

export interface BootstrapOptions {
  experiment: string;
  region: string;
  nodeIndex: number;
  nodeCount: number;
  /** Resolved id of this node's data volume. */
  volumeId?: string;
  /** How the volume came to be; only an `empty` one may ever be formatted (see `volumeOrigin`). */
  volumeOrigin: VolumeOrigin | undefined;
  /** Where the data volume mounts; only with a volume. */
  mountPoint?: string;
  warm: WarmMode;
  dataset?: { source: string; strategy: Strategy; target: string };
  checkpointBucket?: string;
  checkpointPrefix: string;
  autostop: InstanceConfig["autostop"];
  maxHours?: number;
  spot: boolean;
  /** Spot recovery: this node is the only instance of Auto Scaling group `groupName`. */
  recovery?: { groupName: string; maxRestarts: number };
}

/** `empty`: created by the stack with no snapshot; `snapshot`: restored from one; `adopted`: someone else's. */
export type VolumeOrigin = "empty" | "snapshot" | "adopted";

/** Pure: the origin of a configured data volume. */
export function volumeOrigin(volume: { snapshotId?: string; adopt?: string }): VolumeOrigin {
  if (volume.adopt) return "adopted";
  return volume.snapshotId ? "snapshot" : "empty";
}

/**
 * The spot watcher's budget, in seconds, for each step after an interruption notice: the poll
 * interval (the notice may wait that long to be seen), the user's hook, the grace for the trainer to
 * exit, the checkpoint sync. Steps that run over are killed. EC2 gives two minutes' notice
 * ("Spot Instance interruption notices", EC2 user guide); the steps together fit in
 * SPOT_BUDGET_LIMIT_SECONDS, leaving the rest of the two minutes for the shutdown itself.
 */
export const SPOT_WATCH_SECONDS = { poll: 5, hook: 30, grace: 10, sync: 60 } as const;
export const SPOT_BUDGET_LIMIT_SECONDS = 110;

/** Pure: maxHours as whole seconds of uptime, so the shell compares fractional hours exactly. */
export const maxUptimeSeconds = (maxHours: number) => Math.round(maxHours * 3600);

/** Where the scripts land on the instance. */
export const BOOTSTRAP_PATHS = {
  bin: "/opt/trainctl",
  envFile: "/etc/trainctl/env",
  log: "/var/log/trainctl/bootstrap.log",
  state: "/var/lib/trainctl",
} as const;

const SCRIPT_DIR = path.join(__dirname, "bootstrap");

/** The bootstrap scripts, by file name. */
export function bootstrapScripts(): Record<string, string> {
  return Object.fromEntries(
    readdirSync(SCRIPT_DIR)
      .filter((f) => f.endsWith(".sh"))
      .sort()
      .map((f) => [f, readFileSync(path.join(SCRIPT_DIR, f), "utf8")]),
  );
}

/** The environment file every script sources. */
export function bootstrapEnv(options: BootstrapOptions): Record<string, string> {
  return {
    TRAINCTL_EXPERIMENT: options.experiment,
    TRAINCTL_REGION: options.region,
    TRAINCTL_NODE_INDEX: String(options.nodeIndex),
    TRAINCTL_NODE_COUNT: String(options.nodeCount),
    TRAINCTL_VOLUME_ID: options.volumeId ?? "",
    TRAINCTL_VOLUME_ORIGIN: options.volumeOrigin ?? "",
    TRAINCTL_DEVICE_NAME: DATA_DEVICE_NAME,
    TRAINCTL_MOUNT_POINT: options.mountPoint ?? "",
    TRAINCTL_WARM: options.warm,
    TRAINCTL_DATASET_SOURCE: options.dataset?.source ?? "",
    TRAINCTL_DATASET_STRATEGY: options.dataset?.strategy ?? "",
    TRAINCTL_DATASET_TARGET: options.dataset?.target ?? "",
    TRAINCTL_CHECKPOINT_BUCKET: options.checkpointBucket ?? "",
    TRAINCTL_CHECKPOINT_PREFIX: options.checkpointPrefix,
    TRAINCTL_IDLE_MINUTES: String(options.autostop.idleMinutes),
    TRAINCTL_IDLE_ACTION: options.autostop.action,
    TRAINCTL_GPU_IDLE_PERCENT: String(options.autostop.gpuThresholdPercent),
    TRAINCTL_MAX_SECONDS: options.maxHours === undefined ? "" : String(maxUptimeSeconds(options.maxHours)),
    TRAINCTL_SPOT: options.spot ? "1" : "0",
    TRAINCTL_RECOVERY: options.recovery ? "1" : "0",
    TRAINCTL_GROUP_NAME: options.recovery?.groupName ?? "",
    TRAINCTL_MAX_RESTARTS: options.recovery ? String(options.recovery.maxRestarts) : "",
    TRAINCTL_RUN_SPEC_KEY: RUN_SPEC_KEY,
    TRAINCTL_SPOT_POLL_SECONDS: String(SPOT_WATCH_SECONDS.poll),
    TRAINCTL_SPOT_HOOK_SECONDS: String(SPOT_WATCH_SECONDS.hook),
    TRAINCTL_SPOT_GRACE_SECONDS: String(SPOT_WATCH_SECONDS.grace),
    TRAINCTL_SPOT_SYNC_SECONDS: String(SPOT_WATCH_SECONDS.sync),
    TRAINCTL_METRICS_NAMESPACE: METRICS_NAMESPACE,
    TRAINCTL_TAG_BUSY: RUNTIME_TAG.busy,
    TRAINCTL_TAG_WARM_STATE: RUNTIME_TAG.warmState,
    TRAINCTL_TAG_STAGING: RUNTIME_TAG.staging,
    TRAINCTL_LOG: BOOTSTRAP_PATHS.log,
    TRAINCTL_STATE_DIR: BOOTSTRAP_PATHS.state,
    TRAINCTL_BIN: BOOTSTRAP_PATHS.bin,
  };
}

const shellQuote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/** EC2's limit on user data. */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

/**
 * Pure: a script as the node gets it. Comment lines go (the shebang stays): every script in one
 * gzip stream no longer fits EC2's 16 KB with them; docs/bootstrap.md says what they said.
 */
export function shippedScript(body: string): string {
  return body
    .split("\n")
    .filter((line, i) => i === 0 || !/^\s*#/.test(line))
    .join("\n");
}

/** Pure: the user-data script that writes the env file and the scripts, then runs setup. */
export function renderUserData(options: BootstrapOptions): string {
  const env = Object.entries(bootstrapEnv(options))
    .map(([k, v]) => `${k}=${shellQuote(v)}`)
    .join("\n");
  // One gzip stream for all scripts (they share most of their words): EC2 user data is limited to 16 KB.
  const payload = [
    "set -euo pipefail",
    ...Object.entries(bootstrapScripts()).map(
      ([name, body]) => `cat > "$bin/${name}" <<'TRAINCTL_SCRIPT'\n${shippedScript(body)}TRAINCTL_SCRIPT\nchmod 0755 "$bin/${name}"`,
    ),
    "",
  ].join("\n");
  return [
    "#!/bin/bash",
    "# trainctl bootstrap: rendered by components/bootstrap.ts",
    "set -euo pipefail",
    `mkdir -p ${BOOTSTRAP_PATHS.bin} ${path.posix.dirname(BOOTSTRAP_PATHS.envFile)} ${path.posix.dirname(BOOTSTRAP_PATHS.log)} ${BOOTSTRAP_PATHS.state}`,
    `cat > ${BOOTSTRAP_PATHS.envFile} <<'TRAINCTL_ENV'`,
    env,
    "TRAINCTL_ENV",
    `echo ${gzipSync(payload, { level: 9 }).toString("base64")} | base64 -d | gunzip | bin=${BOOTSTRAP_PATHS.bin} bash`,
    `exec ${BOOTSTRAP_PATHS.bin}/setup.sh >> ${BOOTSTRAP_PATHS.log} 2>&1`,
    "",
  ].join("\n");
}
