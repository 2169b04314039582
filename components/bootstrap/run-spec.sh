#!/usr/bin/env bash
# Sourced after lib.sh: reads and edits the run spec that `trainctl run` stores at
# s3://<checkpoints bucket>/<TRAINCTL_RUN_SPEC_KEY> (JSON; python3 parses it).

# Each script edits its own copy: one's download never lands between another's edit and upload.
# shellcheck disable=SC2034 # used by the scripts that source this file
spec_file="$TRAINCTL_STATE_DIR/run-spec.${TRAINCTL_COMPONENT:-bootstrap}.json"
spec_url() { echo "s3://${TRAINCTL_CHECKPOINT_BUCKET:?}/${TRAINCTL_RUN_SPEC_KEY:?}"; }

# spec_fetch FILE: the spec into FILE; fails when there is none (or S3 cannot be read).
spec_fetch() {
  "$TRAINCTL_AWS" s3 cp --only-show-errors --region "${TRAINCTL_REGION:-us-east-1}" "$(spec_url)" "$1" "${S3_ENDPOINT_ARGS[@]}" >/dev/null 2>&1
}

# spec_fields FILE: "runId generation status restarts startedAt(epoch s) interruptions" on one line.
spec_fields() {
  python3 - "$1" <<'PY'
import json, sys, datetime
s = json.load(open(sys.argv[1]))
at = datetime.datetime.fromisoformat(s.get("startedAt", s["updatedAt"]).replace("Z", "+00:00"))
print(s["runId"], s["generation"], s["status"], s["restarts"], int(at.timestamp()), len(s.get("interruptions", [])))
PY
}

# spec_update FILE PYTHON: runs the statement on `spec` (with `now`, an ISO time, and `env`), sets
# updatedAt and stores the result. Last writer wins: S3 has no compare-and-swap that s3rver knows.
spec_update() {
  python3 - "$1" "$2" <<'PY' || return 1
import json, os, sys, datetime
spec = json.load(open(sys.argv[1]))
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
env = os.environ
exec(sys.argv[2])
spec["updatedAt"] = now
json.dump(spec, open(sys.argv[1], "w"), indent=2)
PY
  "$TRAINCTL_AWS" s3 cp --only-show-errors --region "${TRAINCTL_REGION:-us-east-1}" --content-type application/json "$1" "$(spec_url)" "${S3_ENDPOINT_ARGS[@]}" >/dev/null
}

# spec_mark_running_as STATUS: a running spec becomes STATUS (stopped, failed, finished).
spec_mark_running_as() {
  spec_fetch "$spec_file" || return 0
  STATUS="$1" spec_update "$spec_file" 'spec["status"] = env["STATUS"] if spec["status"] == "running" else spec["status"]' && log "run spec marked $1"
}
