/**
 * The CloudWatch metrics each node publishes (components/bootstrap/publish-metrics.sh); components import it from here, in one place:
 * the dashboard, the instance role and `trainctl status` read the names from here.
 */

/** Custom metric namespace; the instance role may publish only to it. */
export const METRICS_NAMESPACE = "trainctl";

/** Every datum carries both dimensions: the stack name and the node's instance id. */
export const METRIC_DIMENSIONS = { experiment: "Experiment", instanceId: "InstanceId" } as const;

export type MetricUnit = "Percent" | "Megabytes" | "Bytes/Second";

/**
 * Name → unit. GPU metrics carry one value per GPU in the same datum, so CloudWatch's `Average` is
 * the mean over a node's GPUs, `Maximum` the busiest GPU and `SampleCount` the GPU count.
 * Rates are averaged over the minute between two publisher runs.
 */
export const NODE_METRICS = {
  CPUUtilization: "Percent",
  MemoryUtilization: "Percent",
  GPUUtilization: "Percent",
  GPUMemoryUtilization: "Percent",
  GPUMemoryUsed: "Megabytes",
  DiskReadBytesPerSecond: "Bytes/Second",
  NetworkInBytesPerSecond: "Bytes/Second",
  NetworkOutBytesPerSecond: "Bytes/Second",
} as const satisfies Record<string, MetricUnit>;

export type NodeMetric = keyof typeof NODE_METRICS;

/** How often the publisher runs (a systemd timer). */
export const PUBLISH_INTERVAL_SECONDS = 60;
