#!/usr/bin/env bash
# Finds the data volume by its EBS volume id (the NVMe serial), never by device order; mounts the
# filesystem blkid finds on it (or on its largest partition that holds one) by UUID with its real
# type and nofail. Formats only a volume the stack created empty (TRAINCTL_VOLUME_ORIGIN=empty), and
# only when `blkid -p` exits 2 (nothing found) and its first MiB reads back as zeros. A volume
# restored from a snapshot or adopted is never formatted; neither is one blkid cannot read.
set -euo pipefail
TRAINCTL_COMPONENT=mount
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

: "${TRAINCTL_VOLUME_ID:?}" "${TRAINCTL_MOUNT_POINT:?}"
origin="${TRAINCTL_VOLUME_ORIGIN:-unknown}"
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

# probe DEVICE: `blkid -p -o export` into the globals TYPE, UUID, USAGE, PTTYPE; returns blkid's exit code.
probe() {
  local output status=0 line
  TYPE="" UUID="" USAGE="" PTTYPE=""
  output="$(blkid -p -o export "$1")" || status=$?
  while IFS= read -r line; do
    case "$line" in TYPE=* | UUID=* | USAGE=* | PTTYPE=*) printf -v "${line%%=*}" '%s' "${line#*=}" ;; esac
  done <<<"$output"
  return "$status"
}

# The kernel names partition N of /dev/nvme1n1 /dev/nvme1n1pN, and of /dev/xvdf /dev/xvdfN.
partition_node() { if [[ "$1" == *[0-9] ]]; then echo "${1}p$2"; else echo "$1$2"; fi; }

# The volume is attached after the instance starts: wait for it.
device=""
for _ in $(seq 1 "${TRAINCTL_WAIT_SECONDS:-600}"); do
  device="$(find_device)" && break
  sleep 1
done
[[ -n "$device" ]] || { log "volume $TRAINCTL_VOLUME_ID never appeared"; exit 1; }
log "volume $TRAINCTL_VOLUME_ID ($origin) is $device"

status=0
probe "$device" || status=$?
if ((status == 2)); then
  if [[ "$origin" != "empty" ]]; then
    log "no filesystem found on $device, a volume $origin: not formatting a volume the stack did not create empty"
    exit 1
  fi
  if ! cmp -s -n 1048576 "$device" /dev/zero; then
    log "no filesystem found on $device, but its first MiB is not blank (or unreadable): not formatting"
    exit 1
  fi
  log "$device is blank and was created empty by the stack; formatting ext4"
  mkfs.ext4 -q -L trainctl-data "$device"
  probe "$device" || { log "blkid cannot read the filesystem just made on $device"; exit 1; }
elif ((status != 0)); then
  log "blkid -p $device exited $status (an I/O or probing error): not formatting, not mounting"
  exit 1
fi

fs_device="$device"
if [[ -n "$PTTYPE" && -z "$TYPE" ]]; then
  # A partitioned volume (a snapshot of a root or partitioned disk): mount its largest partition
  # that holds a filesystem.
  fs_device=""
  while read -r number _; do
    node="$(partition_node "$device" "$number")"
    for _ in 1 2 3 4 5; do [[ -e "$node" ]] && break; sleep 1; done
    if probe "$node" && [[ "$USAGE" == "filesystem" ]]; then fs_device="$node"; break; fi
  done < <(partx -g -b -o NR,SECTORS "$device" | sort -k2,2nr)
  [[ -n "$fs_device" ]] || { log "$device has a $PTTYPE partition table but no partition with a filesystem"; exit 1; }
  log "$device is partitioned ($PTTYPE): using $fs_device"
fi
if [[ "$USAGE" != "filesystem" || -z "$UUID" || -z "$TYPE" ]]; then
  log "$fs_device holds ${TYPE:-nothing mountable} (usage ${USAGE:-unknown}): not mounting"
  exit 1
fi

mkdir -p "$TRAINCTL_MOUNT_POINT"
fstab="${TRAINCTL_FSTAB:-/etc/fstab}"
pass=0
[[ "$TYPE" == ext* ]] && pass=2
grep -q "UUID=$UUID" "$fstab" 2>/dev/null || echo "UUID=$UUID $TRAINCTL_MOUNT_POINT $TYPE defaults,nofail,noatime 0 $pass" >>"$fstab"
if ! mountpoint -q "$TRAINCTL_MOUNT_POINT"; then
  ${TRAINCTL_MOUNT:-mount} "$TRAINCTL_MOUNT_POINT"
fi
# fio warms the whole volume, partition table and all.
echo "$device" >"$TRAINCTL_STATE_DIR/data-device"
log "mounted $fs_device ($TYPE, UUID=$UUID) at $TRAINCTL_MOUNT_POINT"
