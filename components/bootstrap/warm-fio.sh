#!/usr/bin/env bash
# Reads every block of the data volume once (sequential, direct I/O, libaio, 1 MiB, queue depth 32)
# so a volume restored from a snapshot is warm. Progress goes to a status file and a runtime tag.
set -euo pipefail
TRAINCTL_COMPONENT=warm
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

device="${1:-$(cat "$TRAINCTL_STATE_DIR/data-device")}"
status="${TRAINCTL_WARM_STATUS:-$TRAINCTL_STATE_DIR/warm-state}"
echo "warming 0" >"$status"
runtime_tag warm-state warming
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
  echo "failed" >"$status"
  runtime_tag warm-state failed
  log "fio failed on $device"
  exit 1
fi
echo "warm 100" >"$status"
runtime_tag warm-state warm
log "$device is warm"
