#!/usr/bin/env bash
# Shared by the bootstrap scripts: environment, logging to journald and one log file, runtime tags.
# shellcheck source=/dev/null
source "${TRAINCTL_ENV_FILE:-/etc/trainctl/env}"
TRAINCTL_LOG="${TRAINCTL_LOG:-/var/log/trainctl/bootstrap.log}"
TRAINCTL_STATE_DIR="${TRAINCTL_STATE_DIR:-/var/lib/trainctl}"
TRAINCTL_RUN_DIR="${TRAINCTL_RUN_DIR:-/run/trainctl}"
TRAINCTL_PID_FILE="${TRAINCTL_PID_FILE:-$TRAINCTL_RUN_DIR/train.pid}"
TRAINCTL_AWS="${TRAINCTL_AWS:-aws}"
# Runtime tag keys; empty (no tagging) when the env file does not name them.
TRAINCTL_TAG_BUSY="${TRAINCTL_TAG_BUSY:-}"
TRAINCTL_TAG_WARM_STATE="${TRAINCTL_TAG_WARM_STATE:-}"
TRAINCTL_TAG_STAGING="${TRAINCTL_TAG_STAGING:-}"
mkdir -p "$(dirname "$TRAINCTL_LOG")" "$TRAINCTL_STATE_DIR" "$TRAINCTL_RUN_DIR"

log() {
  local line
  line="$(date -u +%FT%TZ) ${TRAINCTL_COMPONENT:-bootstrap}: $*"
  echo "$line" >>"$TRAINCTL_LOG"
  logger -t trainctl -- "$line" 2>/dev/null || echo "$line" >&2
}

# IMDSv2: a session token first, then the path.
imds() {
  local base="${TRAINCTL_IMDS:-http://169.254.169.254}" token
  token="$(curl -sf -X PUT "$base/latest/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 300")" || return 1
  curl -sf -H "X-aws-ec2-metadata-token: $token" "$base/latest/$1"
}

# Runtime tag keys come from the env file (TRAINCTL_TAG_*, rendered from core/tags.ts RUNTIME_TAG);
# their prefix is one the Pulumi provider ignores. Usage: runtime_tag "$TRAINCTL_TAG_BUSY" true
runtime_tag() {
  local key="$1" value="$2" instance
  [[ -n $key ]] || return 0
  instance="$(imds meta-data/instance-id)" || return 0
  "$TRAINCTL_AWS" ec2 create-tags --region "${TRAINCTL_REGION:-us-east-1}" --resources "$instance" \
    --tags "Key=$key,Value=$value" >/dev/null 2>&1 || log "could not tag $instance $key=$value"
}

# Busy duties (staging, warming) hold a pid file in the run folder while they work; the autostop
# counts a live one as busy. /run is emptied at boot, and a dead pid is not busy.
hold_busy() {
  echo $$ >"$TRAINCTL_RUN_DIR/$1.pid"
  # shellcheck disable=SC2064 # expand the path now
  trap "rm -f '$TRAINCTL_RUN_DIR/$1.pid'" EXIT
}
alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# `aws s3 … "${S3_ENDPOINT_ARGS[@]}"` reaches TRAINCTL_S3_ENDPOINT when set (S3-compatible stores, tests).
# shellcheck disable=SC2034 # used by the scripts that source this file
{
  S3_ENDPOINT_ARGS=()
  if [[ -n "${TRAINCTL_S3_ENDPOINT:-}" ]]; then S3_ENDPOINT_ARGS=(--endpoint-url "$TRAINCTL_S3_ENDPOINT"); fi
}
