#!/usr/bin/env bash
# Finds the data volume by its EBS volume id (the NVMe serial), formats it only when it holds no
# filesystem, and mounts it by UUID with nofail. Never guesses a device by order.
set -euo pipefail
# shellcheck source=/dev/null
source "${TRAINCTL_ENV_FILE:-/etc/trainctl/env}"
log() { echo "$(date -u +%FT%TZ) mount: $*" | tee -a "${TRAINCTL_LOG:-/var/log/trainctl/bootstrap.log}" | logger -t trainctl 2>/dev/null || true; }

: "${TRAINCTL_VOLUME_ID:?}" "${TRAINCTL_MOUNT_POINT:?}"
by_id="${TRAINCTL_DEV_BY_ID:-/dev/disk/by-id}"
serial="${TRAINCTL_VOLUME_ID//-/}"

# The attachment happens after boot starts: wait for the device to appear.
find_device() {
  local candidate
  for candidate in "$by_id/nvme-Amazon_Elastic_Block_Store_${serial}" "$by_id/nvme-Amazon_Elastic_Block_Store_${serial}-ns-1"; do
    [[ -e "$candidate" ]] && { readlink -f "$candidate"; return 0; }
  done
  # Xen instances name the device as attached: /dev/sdf appears as /dev/xvdf.
  if [[ -n "${TRAINCTL_DEVICE_NAME:-}" ]]; then
    candidate="/dev/xvd${TRAINCTL_DEVICE_NAME: -1}"
    [[ -b "$candidate" ]] && { echo "$candidate"; return 0; }
  fi
  return 1
}

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
  mkfs.ext4 -q -L trainctl-data "$device"
fi

uuid="$(blkid -s UUID -o value "$device")"
mkdir -p "$TRAINCTL_MOUNT_POINT"
fstab="${TRAINCTL_FSTAB:-/etc/fstab}"
if ! grep -q "UUID=$uuid" "$fstab"; then
  echo "UUID=$uuid $TRAINCTL_MOUNT_POINT ext4 defaults,nofail,noatime 0 2" >>"$fstab"
fi
mountpoint -q "$TRAINCTL_MOUNT_POINT" || mount "$TRAINCTL_MOUNT_POINT"
echo "$device" >"${TRAINCTL_STATE_DIR:-/var/lib/trainctl}/data-device"
log "mounted $device (UUID=$uuid) at $TRAINCTL_MOUNT_POINT"
