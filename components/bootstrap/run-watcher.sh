#!/usr/bin/env bash
# Recovery mode: a service that reads the run spec every TRAINCTL_RUN_POLL_SECONDS and keeps this
# node's run unit on the spec's run and generation. A node that booted after the current generation
# began, into a run that was interrupted, replaces a lost member: it starts the next generation
# (restarts + 1), or past TRAINCTL_MAX_RESTARTS marks the run failed and scales every group to 0.
# Every other node follows a new generation by restarting its unit, so torchrun restarts together.
# Each start syncs the code down, and for a resumed run the checkpoints, then starts CMD with
# TRAINCTL_RESUMED=1 and TRAINCTL_RESTARTS=N.
set -uo pipefail
TRAINCTL_COMPONENT=run-watcher
bin="$(dirname "$0")"
# shellcheck source=lib.sh
source "$bin/lib.sh"
# shellcheck source=run-spec.sh
source "$bin/run-spec.sh"

poll="${TRAINCTL_RUN_POLL_SECONDS:-15}"
systemctl="${TRAINCTL_SYSTEMCTL:-systemctl}"
spec="$spec_file"
current="$TRAINCTL_STATE_DIR/run-current"
exit_file="$TRAINCTL_RUN_DIR/run-exit"
checkpoints="${TRAINCTL_CHECKPOINT_DIR:-$TRAINCTL_MOUNT_POINT/checkpoints}"
checkpoint_url="s3://$TRAINCTL_CHECKPOINT_BUCKET/${TRAINCTL_CHECKPOINT_PREFIX:-checkpoints/}"
# The run log lives on the data volume, so it follows the node index across replacements.
run_log="${TRAINCTL_RUN_LOG:-$TRAINCTL_MOUNT_POINT/trainctl/run.log}"
log_link="${TRAINCTL_RUN_LOG_LINK:-/var/log/trainctl/run.log}"
booted_at="${TRAINCTL_BOOTED_AT:-$(($(date +%s) - $(cut -d. -f1 /proc/uptime)))}"
s3_sync() { "$TRAINCTL_AWS" s3 sync --only-show-errors --region "${TRAINCTL_REGION:-us-east-1}" "$@" "${S3_ENDPOINT_ARGS[@]}"; }

stop_run() {
  signal_run "$1" || return 0
  "$systemctl" stop trainctl-run >/dev/null 2>&1 || true
  for _ in $(seq 60); do alive "$TRAINCTL_PID_FILE" || return 0; sleep 0.5; done
  log "the run did not stop within 30 s"
}

# node 0's private address: its own, or from EC2 by its group's name (it changes with each replacement).
master_addr() {
  if [[ "${TRAINCTL_NODE_INDEX:-0}" == 0 ]]; then imds meta-data/local-ipv4; return; fi
  local group
  group="$(group_names | head -n 1)"
  aws_ec2 describe-instances --filters "Name=tag:aws:autoscaling:groupName,Values=$group" "Name=instance-state-name,Values=running" \
    --query 'Reservations[].Instances[].PrivateIpAddress' --output text | awk 'NF { print $1; exit }'
}

# start_run RUN_ID GENERATION RESTARTS: (re)starts this node's unit on that generation of the spec's run.
start_run() {
  local run_id="$1" generation="$2" restarts="$3" code_dir="${TRAINCTL_BIN:-/opt/trainctl}/runs/$1" master secrets_file setenv=() command=() port key name value
  stop_run "generation $generation of run $run_id starts"
  rm -f "$exit_file"
  mkdir -p "$code_dir" "$checkpoints" "$(dirname "$run_log")" "$(dirname "$log_link")" "$TRAINCTL_RUN_DIR/secrets"
  s3_sync "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["codeUrl"])' "$spec")" "$code_dir" || { log "cannot fetch the code of run $run_id"; return 1; }
  if ((generation > 0)); then
    if s3_sync "$checkpoint_url" "$checkpoints"; then log "synced $checkpoint_url to $checkpoints"; else log "checkpoint sync down failed; resuming from what $checkpoints holds"; fi
  fi
  master="$(master_addr)" || master=""
  [[ -n "$master" ]] || { log "no address for node 0 yet; trying again"; return 1; }
  secrets_file="$TRAINCTL_RUN_DIR/secrets/$run_id.env"
  (umask 077 && : >"$secrets_file")
  while IFS=$'\t' read -r key name; do
    [[ -n "$key" ]] || continue
    value="$("$TRAINCTL_AWS" ssm get-parameter --region "${TRAINCTL_REGION:-us-east-1}" --with-decryption --name "$name" --query Parameter.Value --output text)" || { log "cannot read SSM parameter $name for $key"; rm -f "$secrets_file"; return 1; }
    printf 'export %s=%q\n' "$key" "$value" >>"$secrets_file"
  done < <(python3 -c 'import json,sys; [print(k, v, sep="\t") for k, v in json.load(open(sys.argv[1])).get("secrets", {}).items()]' "$spec")
  while IFS= read -r -d '' value; do setenv+=("--setenv=$value"); done < <(python3 -c 'import json,sys; [print(f"{k}={v}", end="\0") for k, v in json.load(open(sys.argv[1])).get("env", {}).items()]' "$spec")
  mapfile -d '' -t command < <(python3 -c 'import json,sys; [print(w, end="\0") for w in json.load(open(sys.argv[1]))["command"]]' "$spec")
  port="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("port", 29500))' "$spec")"
  ln -sfn "$run_log" "$log_link"
  echo "=== trainctl run $run_id generation $generation (restarts $restarts) on node ${TRAINCTL_NODE_INDEX:-0} ===" >>"$run_log"
  # shellcheck disable=SC2016 # $$, $0, $1, $2 and $@ belong to the unit's own bash
  systemd-run --unit=trainctl-run --collect --working-directory="$code_dir" \
    --property=StandardOutput="append:$run_log" --property=StandardError="append:$run_log" \
    --property=ExecStopPost="/bin/rm -f $TRAINCTL_PID_FILE" \
    "${setenv[@]}" \
    --setenv="TRAINCTL_RUN_ID=$run_id" --setenv="TRAINCTL_CHECKPOINT_DIR=$checkpoints" \
    --setenv="TRAINCTL_CHECKPOINT_BUCKET=$TRAINCTL_CHECKPOINT_BUCKET" --setenv="TRAINCTL_CHECKPOINT_URL=$checkpoint_url" \
    --setenv="TRAINCTL_RESUMED=$((generation > 0 ? 1 : 0))" --setenv="TRAINCTL_RESTARTS=$restarts" \
    --setenv="MASTER_ADDR=$master" --setenv="MASTER_PORT=$port" \
    --setenv="NODE_RANK=${TRAINCTL_NODE_INDEX:-0}" --setenv="WORLD_SIZE=${TRAINCTL_NODE_COUNT:-1}" \
    /bin/bash -c 'echo $$ >"$0"; . "$1"; rm -f "$1"; exit_file="$2"; shift 2; "$@"; echo $? >"$exit_file"' \
    "$TRAINCTL_PID_FILE" "$secrets_file" "$exit_file" "${command[@]}" || { log "systemd-run failed"; return 1; }
  echo "$run_id $generation" >"$current"
  log "started run $run_id generation $generation (restarts $restarts, TRAINCTL_RESUMED=$((generation > 0 ? 1 : 0))), master $master:$port"
}

check() {
  local run_id generation status restarts started_at interruptions mine
  spec_fetch "$spec" || return 0
  read -r run_id generation status restarts started_at interruptions < <(spec_fields "$spec") || { log "unreadable run spec"; return 0; }
  mine="$(cat "$current" 2>/dev/null || true)"
  if [[ "$status" != "running" ]]; then
    [[ "${mine%% *}" == "$run_id" ]] && stop_run "run $run_id is $status"
    return 0
  fi
  if [[ "$mine" == "$run_id $generation" ]]; then
    # Node 0's command exiting 0 finishes the run.
    if [[ "${TRAINCTL_NODE_INDEX:-0}" == 0 && "$(cat "$exit_file" 2>/dev/null)" == 0 ]]; then
      spec_update "$spec" 'spec["status"] = "finished"' && log "run $run_id finished"
    fi
    return 0
  fi
  if [[ "${mine%% *}" != "$run_id" ]] && ((booted_at > started_at && (generation > 0 || interruptions > 0))); then
    if ((restarts >= ${TRAINCTL_MAX_RESTARTS:-3})); then
      spec_update "$spec" 'spec["status"] = "failed"' && log "run $run_id reached its restart limit (${TRAINCTL_MAX_RESTARTS:-3}): marked failed"
      scale_all_to_zero "restart limit of run $run_id"
      return 0
    fi
    INSTANCE="$(imds meta-data/instance-id || true)" spec_update "$spec" '
spec["generation"] += 1
spec["restarts"] += 1
spec["startedAt"] = now
spec.setdefault("restartLog", []).append({"at": now, "generation": spec["generation"], "node": int(env.get("TRAINCTL_NODE_INDEX", "0")), "instanceId": env["INSTANCE"]})' || { log "could not record the restart"; return 0; }
    generation=$((generation + 1)) restarts=$((restarts + 1))
    log "replacing a lost node of run $run_id: generation $generation (restart $restarts of ${TRAINCTL_MAX_RESTARTS:-3})"
  fi
  start_run "$run_id" "$generation" "$restarts"
}

log "watching $(spec_url) every ${poll}s"
while true; do
  check
  sleep "$poll"
done
