#!/usr/bin/env bash
# Run once a minute by a systemd timer. Publishes this node's CPU, memory, GPU utilisation and GPU
# memory (nvidia-smi, one value per GPU), disk read and network rates to CloudWatch: namespace
# trainctl, dimensions Experiment and InstanceId. Names and units: core/node-metrics.ts.
# Rates are deltas since the previous run, so the first run after boot only records the counters.
set -euo pipefail
TRAINCTL_COMPONENT=metrics
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

proc="${TRAINCTL_PROC:-/proc}"
now="${TRAINCTL_NOW:-$(date +%s)}"
sample_file="$TRAINCTL_STATE_DIR/metrics-sample"

instance="$(imds meta-data/instance-id)" || { log "no instance id from IMDS; nothing published"; exit 1; }
dimensions="[{\"Name\":\"Experiment\",\"Value\":\"${TRAINCTL_EXPERIMENT:?}\"},{\"Name\":\"InstanceId\",\"Value\":\"$instance\"}]"
data=()
# datum NAME UNIT VALUE…: one metric with one value per GPU (or one value); no values, no datum.
datum() {
  local name="$1" unit="$2"
  shift 2
  (($#)) || return 0
  local IFS=,
  data+=("{\"MetricName\":\"$name\",\"Unit\":\"$unit\",\"Dimensions\":$dimensions,\"Values\":[$*]}")
}

# Counters: CPU total and idle jiffies, bytes read from whole disks, bytes received and sent (not lo).
cpu="$(awk '$1 == "cpu" { printf "%.0f %.0f", $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $5 + $6 }' "$proc/stat")"
disk="$(awk '$3 ~ /^(nvme[0-9]+n[0-9]+|xvd[a-z]+|sd[a-z]+|vd[a-z]+)$/ { s += $6 * 512 } END { printf "%.0f", s }' "$proc/diskstats")"
net="$(awk -F: 'NR > 2 { gsub(/ /, "", $1); split($2, f, " "); if ($1 != "lo") { rx += f[1]; tx += f[9] } } END { printf "%.0f %.0f", rx, tx }' "$proc/net/dev")"
sample="$now $cpu $disk $net"

if [[ -f "$sample_file" ]]; then
  # A negative delta means a reboot reset the counters: skip the rates this once.
  read -r cpu_pct disk_rate rx_rate tx_rate < <(awk -v cur="$sample" -v prev="$(cat "$sample_file")" 'BEGIN {
    split(cur, c, " "); split(prev, p, " "); dt = c[1] - p[1]; dtotal = c[2] - p[2]
    for (i = 2; i <= 6; i++) if (c[i] < p[i]) exit
    if (dt <= 0 || dtotal <= 0) exit
    printf "%.1f %.0f %.0f %.0f\n", 100 * (dtotal - (c[3] - p[3])) / dtotal, (c[4] - p[4]) / dt, (c[5] - p[5]) / dt, (c[6] - p[6]) / dt
  }') || true
fi
echo "$sample" >"$sample_file"
if [[ -n "${cpu_pct:-}" ]]; then
  datum CPUUtilization Percent "$cpu_pct"
  datum DiskReadBytesPerSecond Bytes/Second "$disk_rate"
  datum NetworkInBytesPerSecond Bytes/Second "$rx_rate"
  datum NetworkOutBytesPerSecond Bytes/Second "$tx_rate"
fi
datum MemoryUtilization Percent "$(awk '/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 } END { if (t > 0) printf "%.1f", 100 * (t - a) / t }' "$proc/meminfo")"

# GPU: "utilization, memory.used, memory.total" per line; non-numeric fields ([N/A]) are skipped.
gpu_util=() gpu_mem_pct=() gpu_mem=()
if gpus="$(nvidia-smi --query-gpu=utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits 2>/dev/null)"; then
  number='^[0-9]+(\.[0-9]+)?$'
  while IFS=', ' read -r util used total; do
    if [[ "$util" =~ $number ]]; then gpu_util+=("$util"); fi
    if [[ "$used" =~ $number ]]; then gpu_mem+=("$used"); fi
    if [[ "$used" =~ $number && "$total" =~ $number ]] && ((${total%.*} > 0)); then
      gpu_mem_pct+=("$(awk -v u="$used" -v t="$total" 'BEGIN { printf "%.1f", 100 * u / t }')")
    fi
  done <<<"$gpus"
elif [[ ! -f "$TRAINCTL_STATE_DIR/metrics-no-gpu" ]]; then
  touch "$TRAINCTL_STATE_DIR/metrics-no-gpu"
  log "nvidia-smi unavailable: publishing without GPU metrics"
fi
datum GPUUtilization Percent "${gpu_util[@]}"
datum GPUMemoryUtilization Percent "${gpu_mem_pct[@]}"
datum GPUMemoryUsed Megabytes "${gpu_mem[@]}"

endpoint=()
if [[ -n "${TRAINCTL_CLOUDWATCH_ENDPOINT:-}" ]]; then endpoint=(--endpoint-url "$TRAINCTL_CLOUDWATCH_ENDPOINT"); fi
if ! error="$("$TRAINCTL_AWS" cloudwatch put-metric-data --region "${TRAINCTL_REGION:-us-east-1}" --namespace "${TRAINCTL_METRICS_NAMESPACE:-trainctl}" \
  --metric-data "[$(IFS=,; echo "${data[*]}")]" "${endpoint[@]}" 2>&1 >/dev/null)"; then
  log "put-metric-data failed: $(tr -s '\n' ' ' <<<"$error")"
  exit 1
fi
