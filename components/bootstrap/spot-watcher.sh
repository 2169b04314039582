#!/usr/bin/env bash
# Polls IMDSv2 for a spot interruption notice. On notice: SIGTERM to the training process group,
# the user's hook, then the checkpoint folder to S3, all inside the two-minute window.
set -uo pipefail
TRAINCTL_COMPONENT=spot-watcher
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

interval="${TRAINCTL_SPOT_POLL_SECONDS:-5}"
checkpoints="${TRAINCTL_CHECKPOINT_DIR:-${TRAINCTL_MOUNT_POINT:-/mnt/data}/checkpoints}"
hook="${TRAINCTL_SPOT_HOOK:-/etc/trainctl/on-interruption}"

log "watching for spot interruption every ${interval}s"
while true; do
  if notice="$(imds meta-data/spot/instance-action)"; then
    log "interruption notice: $notice"
    if [[ -f "$TRAINCTL_PID_FILE" ]] && pid="$(cat "$TRAINCTL_PID_FILE")" && kill -0 "$pid" 2>/dev/null; then
      pgid="$(ps -o pgid= -p "$pid" | tr -d ' ')"
      kill -TERM -- "-${pgid:-$pid}" 2>/dev/null || kill -TERM "$pid"
      log "sent SIGTERM to process group ${pgid:-$pid} (pid $pid)"
    else
      log "no training process running"
    fi
    if [[ -x "$hook" ]]; then
      if timeout 60 "$hook"; then log "ran $hook"; else log "$hook failed"; fi
    fi
    if [[ -n "${TRAINCTL_CHECKPOINT_BUCKET:-}" && -d "$checkpoints" ]]; then
      sleep "${TRAINCTL_SPOT_GRACE_SECONDS:-10}"
      if timeout 90 "$TRAINCTL_AWS" s3 sync --only-show-errors "$checkpoints" "s3://$TRAINCTL_CHECKPOINT_BUCKET/${TRAINCTL_CHECKPOINT_PREFIX:-checkpoints/}" "${S3_ENDPOINT_ARGS[@]}"; then
        log "synced $checkpoints to s3://$TRAINCTL_CHECKPOINT_BUCKET/${TRAINCTL_CHECKPOINT_PREFIX:-checkpoints/}"
      else
        log "checkpoint sync failed"
      fi
    fi
    exit 0
  fi
  sleep "$interval"
done
