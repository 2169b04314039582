#!/usr/bin/env bash
# Reads every block of the data volume once (sequential, direct I/O, libaio, 1 MiB, queue depth 32)
# so a volume restored from a snapshot is warm. Installs fio first when the AMI lacks it. Progress goes
# to a status file and a runtime tag; the autostop counts the node busy while this runs.
set -euo pipefail
TRAINCTL_COMPONENT=warm
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

device="${1:-$(cat "$TRAINCTL_STATE_DIR/data-device")}"
status="${TRAINCTL_WARM_STATUS:-$TRAINCTL_STATE_DIR/warm-state}"
hold_busy warming
echo "warming 0" >"$status"
runtime_tag "$TRAINCTL_TAG_WARM_STATE" warming

failed() {
  echo "failed" >"$status"
  runtime_tag "$TRAINCTL_TAG_WARM_STATE" failed
  log "$1"
  exit 1
}

# apt waits for the dpkg lock (first-boot upgrades hold it) and refreshes stale package lists once.
install_fio() {
  if command -v apt-get >/dev/null 2>&1; then
    local apt=(apt-get -q -y -o DPkg::Lock::Timeout=600)
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" install fio || { "${apt[@]}" update && DEBIAN_FRONTEND=noninteractive "${apt[@]}" install fio; }
  else
    dnf -q -y install fio
  fi
}
if ! command -v fio >/dev/null 2>&1; then
  log "installing fio"
  install_fio >>"$TRAINCTL_LOG" 2>&1 || failed "could not install fio; $device stays cold (blocks load on first read)"
fi

log "fio warming $device"
report_progress() {
  local line percent
  while IFS= read -r line; do
    percent="$(grep -o '\[[0-9.]*%\]' <<<"$line" | tr -d '[]%' | tail -n 1)" || true
    if [[ -n "$percent" ]]; then echo "warming ${percent%.*}" >"$status"; fi
  done
}
if ! fio --name=trainctl-warm --filename="$device" --rw=read --bs=1M --iodepth=32 --ioengine=libaio --direct=1 \
  --eta=always --eta-newline=1 --eta-interval=1s 2>&1 | report_progress; then
  failed "fio failed on $device"
fi
echo "warm 100" >"$status"
runtime_tag "$TRAINCTL_TAG_WARM_STATE" warm
log "$device is warm"
