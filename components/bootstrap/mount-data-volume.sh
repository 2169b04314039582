#!/usr/bin/env bash
# Finds the data volume by its EBS volume id (the NVMe serial), formats it only when it holds no
# filesystem, and mounts it by UUID with nofail. Never guesses a device by order.
set -euo pipefail
TRAINCTL_COMPONENT=mount
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

: "${TRAINCTL_VOLUME_ID:?}" "${TRAINCTL_MOUNT_POINT:?}"
by_id="${TRAINCTL_DEV_BY_ID:-/dev/disk/by-id}"
serial="${TRAINCTL_VOLUME_ID//-/}"

find_device() {
  local candidate
  for candidate in "$by_id/nvme-Amazon_Elastic_Block_Store_${serial}" "$by_id/nvme-Amazon_Elastic_Block_Store_${serial}-ns-1"; do
    [[ -e "$candidate" ]] && { readlink -f "$candidate"; return 0; }
  done
  # Xen instances show the attachment's device name: /dev/sdf appears as /dev/xvdf.
  if [[ -n "${TRAINCTL_DEVICE_NAME:-}" ]]; then
    candidate="/dev/xvd${TRAINCTL_DEVICE_NAME: -1}"
    [[ -b "$candidate" ]] && { echo "$candidate"; return 0; }
  fi
  return 1
}

# The volume is attached after the instance starts: wait for it.
device=""
for _ in $(seq 1 "${TRAINCTL_WAIT_SECONDS:-600}"); do
  device="$(find_device)" && break
  sleep 1
done
[[ -n "$device" ]] || { log "volume $TRAINCTL_VOLUME_ID never appeared"; exit 1; }
log "volume $TRAINCTL_VOLUME_ID is $device"

if blkid "$device" >/dev/null 2>&1; then
  log "$device already has a filesystem; not formatting"
else
  log "$device is blank; formatting ext4"
  mkfs.ext4 -q -F -L trainctl-data "$device"
fi

uuid="$(blkid -s UUID -o value "$device")"
mkdir -p "$TRAINCTL_MOUNT_POINT"
fstab="${TRAINCTL_FSTAB:-/etc/fstab}"
grep -q "UUID=$uuid" "$fstab" 2>/dev/null || echo "UUID=$uuid $TRAINCTL_MOUNT_POINT ext4 defaults,nofail,noatime 0 2" >>"$fstab"
if ! mountpoint -q "$TRAINCTL_MOUNT_POINT"; then
  ${TRAINCTL_MOUNT:-mount} "$TRAINCTL_MOUNT_POINT"
fi
echo "$device" >"$TRAINCTL_STATE_DIR/data-device"
log "mounted $device (UUID=$uuid) at $TRAINCTL_MOUNT_POINT"
