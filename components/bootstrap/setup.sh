#!/usr/bin/env bash
# Runs once at boot from user data: mount and warm the data volume, stage the dataset, and hand the
# long-running duties (spot watcher, autostop timer) to systemd.
set -euo pipefail
TRAINCTL_COMPONENT=setup
bin="$(dirname "$0")"
# shellcheck source=lib.sh
source "$bin/lib.sh"
units="${TRAINCTL_SYSTEMD_DIR:-/etc/systemd/system}"
systemctl="${TRAINCTL_SYSTEMCTL:-systemctl}"

if [[ -n "${TRAINCTL_VOLUME_ID:-}" ]]; then
  "$bin/mount-data-volume.sh"
  if [[ "${TRAINCTL_WARM:-none}" == "fio" ]]; then
    # In the background: the volume is usable while it warms.
    nohup "$bin/warm-fio.sh" >/dev/null 2>&1 &
  fi
fi

cat >"$units/trainctl-autostop.service" <<UNIT
[Unit]
Description=trainctl idle autostop check
[Service]
Type=oneshot
ExecStart=$bin/autostop.sh
UNIT
cat >"$units/trainctl-autostop.timer" <<UNIT
[Unit]
Description=trainctl idle autostop, every minute
[Timer]
OnBootSec=5min
OnUnitActiveSec=1min
[Install]
WantedBy=timers.target
UNIT
enable=(trainctl-autostop.timer)
if [[ "${TRAINCTL_SPOT:-0}" == "1" ]]; then
  cat >"$units/trainctl-spot-watcher.service" <<UNIT
[Unit]
Description=trainctl spot interruption watcher
After=network-online.target
[Service]
ExecStart=$bin/spot-watcher.sh
Restart=on-failure
[Install]
WantedBy=multi-user.target
UNIT
  enable+=(trainctl-spot-watcher.service)
fi
"$systemctl" daemon-reload
"$systemctl" enable --now "${enable[@]}"
log "enabled ${enable[*]}"

if [[ -n "${TRAINCTL_DATASET_SOURCE:-}" && "${TRAINCTL_DATASET_STRATEGY:-}" != "direct-s3" ]]; then
  "$bin/stage-dataset.sh"
fi
log "ready"
