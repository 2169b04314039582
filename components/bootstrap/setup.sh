#!/usr/bin/env bash
# Runs once at boot from user data: mount, then hand the long-running work to systemd.
set -euo pipefail
# shellcheck source=/dev/null
source "${TRAINCTL_ENV_FILE:-/etc/trainctl/env}"
bin="${TRAINCTL_BIN:-/opt/trainctl}"
state="${TRAINCTL_STATE_DIR:-/var/lib/trainctl}"
mkdir -p "$state" "$(dirname "${TRAINCTL_LOG:-/var/log/trainctl/bootstrap.log}")"

if [[ -n "${TRAINCTL_VOLUME_ID:-}" ]]; then
  "$bin/mount-data-volume.sh"
fi
