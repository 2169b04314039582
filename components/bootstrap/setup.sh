#!/usr/bin/env bash
# Runs once at boot from user data. First hands the stops and the other long-running duties (autostop
# with maxHours, metrics, spot watcher) to systemd, so that nothing failing later (mount, warming,
# staging) can leave a billing GPU without a stop; then (in recovery mode, after attaching the node's
# own volume by id) mounts and warms the data volume and stages the dataset; in recovery mode it last
# starts the run watcher, which resumes a stored run.
set -euo pipefail
TRAINCTL_COMPONENT=setup
bin="$(dirname "$0")"
# shellcheck source=lib.sh
source "$bin/lib.sh"
units="${TRAINCTL_SYSTEMD_DIR:-/etc/systemd/system}"
systemctl="${TRAINCTL_SYSTEMCTL:-systemctl}"

# every_minute NAME SCRIPT DESCRIPTION FIRST: a oneshot service and the timer that runs it each minute.
every_minute() {
  cat >"$units/$1.service" <<UNIT
[Unit]
Description=$3
[Service]
Type=oneshot
ExecStart=$bin/$2
UNIT
  cat >"$units/$1.timer" <<UNIT
[Unit]
Description=$3, every minute
[Timer]
OnBootSec=$4
OnUnitActiveSec=1min
[Install]
WantedBy=timers.target
UNIT
}
every_minute trainctl-autostop autostop.sh "trainctl idle autostop" 5min
every_minute trainctl-metrics publish-metrics.sh "trainctl CloudWatch metrics" 1min
enable=(trainctl-autostop.timer trainctl-metrics.timer)
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

if [[ -n "${TRAINCTL_VOLUME_ID:-}" ]]; then
  if recovery && ! "$bin/attach-volume.sh"; then
    log "the data volume is not attached (see above); the group is scaled to 0"
    exit 1
  fi
  if ! "$bin/mount-data-volume.sh"; then
    log "the data volume is not mounted (see above); the stops are in place, nothing is staged"
    exit 1
  fi
  if [[ "${TRAINCTL_WARM:-none}" == "fio" ]]; then
    # In the background: the volume is usable while it warms.
    nohup "$bin/warm-fio.sh" >/dev/null 2>&1 &
  fi
fi

if [[ -n "${TRAINCTL_DATASET_SOURCE:-}" && "${TRAINCTL_DATASET_STRATEGY:-}" != "direct-s3" ]]; then
  "$bin/stage-dataset.sh"
fi
if recovery; then
  cat >"$units/trainctl-run-watcher.service" <<UNIT
[Unit]
Description=trainctl run watcher (spot recovery)
After=network-online.target
[Service]
ExecStart=$bin/run-watcher.sh
Restart=always
RestartSec=10
[Install]
WantedBy=multi-user.target
UNIT
  "$systemctl" daemon-reload
  "$systemctl" enable --now trainctl-run-watcher.service
  log "enabled trainctl-run-watcher.service"
fi
log "ready"
