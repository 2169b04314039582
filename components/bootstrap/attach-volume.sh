#!/usr/bin/env bash
# Recovery mode, at boot: attaches this node's own data volume by id. The previous holder (the node
# this one replaces) may still be detaching: VolumeInUse and IncorrectState are retried every
# TRAINCTL_ATTACH_RETRY_SECONDS for up to TRAINCTL_ATTACH_WAIT_SECONDS (10 min). Any other error, or
# the wait running out, scales this node's group to 0 (never a GPU billing without its data) and fails.
# AttachVolumeRequest (client-ec2 models_0.d.ts) requires Device, InstanceId and VolumeId.
set -euo pipefail
TRAINCTL_COMPONENT=attach
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

: "${TRAINCTL_VOLUME_ID:?}" "${TRAINCTL_DEVICE_NAME:?}" "${TRAINCTL_GROUP_NAME:?}"
wait_seconds="${TRAINCTL_ATTACH_WAIT_SECONDS:-600}"
retry_seconds="${TRAINCTL_ATTACH_RETRY_SECONDS:-10}"

give_up() {
  log "$1"
  scale_to_zero "volume $TRAINCTL_VOLUME_ID is not attached" "$TRAINCTL_GROUP_NAME"
  exit 1
}

instance="$(imds meta-data/instance-id)" || give_up "no instance id from IMDS"
started="$(date +%s)"
while true; do
  if error="$(aws_ec2 attach-volume --volume-id "$TRAINCTL_VOLUME_ID" --instance-id "$instance" --device "$TRAINCTL_DEVICE_NAME" 2>&1 >/dev/null)"; then
    log "attached $TRAINCTL_VOLUME_ID to $instance as $TRAINCTL_DEVICE_NAME"
    exit 0
  fi
  error="$(tr -s '\n' ' ' <<<"$error")"
  case "$error" in
    *VolumeInUse* | *IncorrectState*) ;;
    *) give_up "attach-volume failed: $error" ;;
  esac
  (($(date +%s) - started + retry_seconds <= wait_seconds)) || give_up "$TRAINCTL_VOLUME_ID still busy after ${wait_seconds}s: $error"
  log "$TRAINCTL_VOLUME_ID is busy (the previous node is releasing it); retrying in ${retry_seconds}s"
  sleep "$retry_seconds"
done
