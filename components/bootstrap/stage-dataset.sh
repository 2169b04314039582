#!/usr/bin/env bash
# Copies the dataset from S3 onto the volume (or instance-store NVMe) once; a marker makes reboots skip it.
set -euo pipefail
TRAINCTL_COMPONENT=stage
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

source_url="${TRAINCTL_DATASET_SOURCE:?}"
target="${TRAINCTL_DATASET_TARGET:?}"
marker="$target/.trainctl-staged"
if [[ -f "$marker" ]] && [[ "$(cat "$marker")" == "$source_url" ]]; then
  log "dataset already staged at $target; nothing to copy"
  exit 0
fi
mkdir -p "$target"
hold_busy staging
runtime_tag "$TRAINCTL_TAG_STAGING" copying
log "staging $source_url to $target"
if command -v s5cmd >/dev/null 2>&1; then
  s5cmd sync "${source_url%/}/*" "$target/"
else
  "$TRAINCTL_AWS" s3 sync --only-show-errors "$source_url" "$target" "${S3_ENDPOINT_ARGS[@]}"
fi
echo "$source_url" >"$marker"
runtime_tag "$TRAINCTL_TAG_STAGING" complete
log "staged $source_url"
