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

# Recovery mode (TRAINCTL_RECOVERY=1): each node is a size-1 Auto Scaling group. `aws ec2` and
# `aws autoscaling` reach TRAINCTL_EC2_ENDPOINT / TRAINCTL_AUTOSCALING_ENDPOINT when set (tests).
recovery() { [[ "${TRAINCTL_RECOVERY:-0}" == "1" ]]; }
aws_ec2() {
  local endpoint=()
  if [[ -n "${TRAINCTL_EC2_ENDPOINT:-}" ]]; then endpoint=(--endpoint-url "$TRAINCTL_EC2_ENDPOINT"); fi
  "$TRAINCTL_AWS" ec2 "$@" --region "${TRAINCTL_REGION:-us-east-1}" "${endpoint[@]}"
}
aws_asg() {
  local endpoint=()
  if [[ -n "${TRAINCTL_AUTOSCALING_ENDPOINT:-}" ]]; then endpoint=(--endpoint-url "$TRAINCTL_AUTOSCALING_ENDPOINT"); fi
  "$TRAINCTL_AWS" autoscaling "$@" --region "${TRAINCTL_REGION:-us-east-1}" "${endpoint[@]}"
}

# Every group of the experiment, <prefix>-node-0 … -node-<count-1>, from this node's own group name.
group_names() {
  local prefix="${TRAINCTL_GROUP_NAME%-node-*}" i
  for ((i = 0; i < ${TRAINCTL_NODE_COUNT:-1}; i++)); do echo "$prefix-node-$i"; done
}

# scale_to_zero REASON GROUP…: desired capacity 0 on each group; the groups then terminate their nodes.
# UpdateAutoScalingGroupType (client-auto-scaling models_0.d.ts): AutoScalingGroupName required;
# DesiredCapacity must lie within min..max, and every trainctl group has min 0, max 1.
scale_to_zero() {
  local reason="$1" group
  shift
  log "$reason: scaling $* to 0"
  for group in "$@"; do
    aws_asg update-auto-scaling-group --auto-scaling-group-name "$group" --desired-capacity 0 >/dev/null || log "could not scale $group to 0"
  done
}
# shellcheck disable=SC2046 # group names hold no spaces
scale_all_to_zero() { scale_to_zero "$1" $(group_names); }

# leave_group REASON: terminate this node and decrement its group's desired capacity, so the group
# launches no replacement (a plain shutdown would make it launch a fresh, billing GPU).
# TerminateInstanceInAutoScalingGroupType: InstanceId, and ShouldDecrementDesiredCapacity (required).
leave_group() {
  local instance
  instance="$(imds meta-data/instance-id)" || { scale_to_zero "$1 (no instance id from IMDS)" "$TRAINCTL_GROUP_NAME"; return; }
  log "$1: terminating $instance and decrementing ${TRAINCTL_GROUP_NAME}'s desired capacity"
  aws_asg terminate-instance-in-auto-scaling-group --instance-id "$instance" --should-decrement-desired-capacity >/dev/null
}

# signal_run REASON: SIGTERM to the training process group (the pid file names its leader).
signal_run() {
  local pid pgid
  alive "$TRAINCTL_PID_FILE" || return 1
  pid="$(cat "$TRAINCTL_PID_FILE")"
  pgid="$(ps -o pgid= -p "$pid" | tr -d ' ')"
  kill -TERM -- "-${pgid:-$pid}" 2>/dev/null || kill -TERM "$pid"
  log "$1: sent SIGTERM to process group ${pgid:-$pid} (pid $pid)"
}
