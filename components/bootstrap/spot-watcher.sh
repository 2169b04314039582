#!/usr/bin/env bash
# Polls IMDSv2 for a spot interruption notice. On notice: SIGTERM to the training process group, the
# user's hook, a grace period for the trainer to exit, then the checkpoint folder to S3. Each step has
# its budget in seconds (TRAINCTL_SPOT_*_SECONDS, from components/bootstrap.ts) and is killed when it
# runs over, so poll + hook + grace + sync fit inside the two-minute notice. In recovery mode it then
# records the interruption in the run spec and lets EC2 reclaim the node; its group replaces it.
set -uo pipefail
TRAINCTL_COMPONENT=spot-watcher
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=run-spec.sh
source "$(dirname "$0")/run-spec.sh"

interval="${TRAINCTL_SPOT_POLL_SECONDS:?}"
hook_seconds="${TRAINCTL_SPOT_HOOK_SECONDS:?}"
grace_seconds="${TRAINCTL_SPOT_GRACE_SECONDS:?}"
sync_seconds="${TRAINCTL_SPOT_SYNC_SECONDS:?}"
checkpoints="${TRAINCTL_CHECKPOINT_DIR:-${TRAINCTL_MOUNT_POINT:-/mnt/data}/checkpoints}"
hook="${TRAINCTL_SPOT_HOOK:-/etc/trainctl/on-interruption}"

# within SECONDS COMMAND…: runs the command, killed after SECONDS; logs when it ran over.
within() {
  local seconds="$1" status=0
  shift
  timeout -s KILL "$seconds" "$@" || status=$?
  ((status == 124 || status == 137)) && log "$1 ran over its ${seconds}s budget and was killed"
  return "$status"
}

log "watching for spot interruption every ${interval}s"
while true; do
  if notice="$(imds meta-data/spot/instance-action)"; then
    log "interruption notice: $notice"
    pid=""
    if signal_run "interruption notice"; then pid="$(cat "$TRAINCTL_PID_FILE")"; else log "no training process running"; fi
    if [[ -x "$hook" ]]; then
      if within "$hook_seconds" "$hook"; then log "ran $hook"; else log "$hook failed"; fi
    fi
    # The grace period ends early once the trainer has exited.
    waited=0
    while [[ -n "$pid" ]] && ((waited < grace_seconds)) && kill -0 "$pid" 2>/dev/null; do
      sleep 1
      waited=$((waited + 1))
    done
    if [[ -n "${TRAINCTL_CHECKPOINT_BUCKET:-}" && -d "$checkpoints" ]]; then
      destination="s3://$TRAINCTL_CHECKPOINT_BUCKET/${TRAINCTL_CHECKPOINT_PREFIX:-checkpoints/}"
      if within "$sync_seconds" "$TRAINCTL_AWS" s3 sync --only-show-errors "$checkpoints" "$destination" "${S3_ENDPOINT_ARGS[@]}"; then
        log "synced $checkpoints to $destination"
      else
        log "checkpoint sync failed"
      fi
    fi
    if recovery && spec_fetch "$spec_file"; then
      INSTANCE="$(imds meta-data/instance-id || true)" spec_update "$spec_file" '
if spec["status"] == "running":
    spec.setdefault("interruptions", []).append({"at": now, "node": int(env.get("TRAINCTL_NODE_INDEX", "0")), "instanceId": env["INSTANCE"]})' &&
        log "recorded the interruption in $(spec_url); the group replaces this node"
    fi
    exit 0
  fi
  sleep "$interval"
done
