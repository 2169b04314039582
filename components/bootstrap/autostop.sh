#!/usr/bin/env bash
# Run once a minute by a systemd timer. Counts idle minutes (GPU utilisation below the threshold, no
# SSM session, no training process, no dataset staging or fio warming) and stops or terminates the
# instance after autostop.idleMinutes. maxHours is a hard stop. Keeps the runtime busy tag
# in step with the training process.
set -euo pipefail
TRAINCTL_COMPONENT=autostop
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

idle_file="$TRAINCTL_STATE_DIR/idle-minutes"
busy_file="$TRAINCTL_STATE_DIR/busy"
shutdown_cmd="${TRAINCTL_SHUTDOWN:-shutdown -h now}"
threshold="${TRAINCTL_GPU_IDLE_PERCENT:-5}"

# maxHours arrives in whole seconds (TRAINCTL_MAX_SECONDS), so fractional hours compare exactly.
uptime_seconds="${TRAINCTL_UPTIME_SECONDS:-$(cut -d. -f1 /proc/uptime)}"
if [[ -n "${TRAINCTL_MAX_SECONDS:-}" ]] && ((uptime_seconds >= TRAINCTL_MAX_SECONDS)); then
  log "maxHours (${TRAINCTL_MAX_SECONDS}s) reached after ${uptime_seconds}s: shutting down"
  $shutdown_cmd
  exit 0
fi

training=0 staging=0 warming=0
if alive "$TRAINCTL_PID_FILE"; then training=1; fi
if alive "$TRAINCTL_RUN_DIR/staging.pid"; then staging=1; fi
if alive "$TRAINCTL_RUN_DIR/warming.pid"; then warming=1; fi
if [[ "$(cat "$busy_file" 2>/dev/null || echo 0)" != "$training" ]]; then
  echo "$training" >"$busy_file"
  runtime_tag "$TRAINCTL_TAG_BUSY" "$([[ $training == 1 ]] && echo true || echo false)"
fi

max_util=0
while IFS= read -r util; do
  util="${util//[^0-9]/}"
  [[ -n "$util" ]] && ((util > max_util)) && max_util="$util"
done < <(nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader,nounits 2>/dev/null || echo 0)

ssm_session=0
pgrep -f ssm-session-worker >/dev/null 2>&1 && ssm_session=1

idle="$(cat "$idle_file" 2>/dev/null || echo 0)"
if ((max_util < threshold && ssm_session == 0 && training == 0 && staging == 0 && warming == 0)); then
  idle=$((idle + 1))
else
  idle=0
fi
echo "$idle" >"$idle_file"
log "gpu ${max_util}% ssm=${ssm_session} training=${training} staging=${staging} warming=${warming} idle ${idle}/${TRAINCTL_IDLE_MINUTES:-30} min"

if [[ "${TRAINCTL_IDLE_ACTION:-terminate}" != "none" ]] && ((idle >= ${TRAINCTL_IDLE_MINUTES:-30})); then
  # The instance's shutdown behaviour (stop or terminate) is set from autostop.action by Pulumi.
  log "idle for ${idle} minutes: ${TRAINCTL_IDLE_ACTION:-terminate}"
  $shutdown_cmd
fi
