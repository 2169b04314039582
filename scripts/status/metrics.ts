/**
 * Resource usage of training nodes over the last N minutes, from CloudWatch GetMetricData.
 * EC2's own metrics (AWS/EC2, by InstanceId) give CPU, network and disk; the instance's publisher
 * gives GPU and memory in the `trainctl` namespace (by Experiment and InstanceId).
 */
import { CloudWatchClient, GetMetricDataCommand, type MetricDataQuery, type MetricDataResult } from "@aws-sdk/client-cloudwatch";
import { METRIC_DIMENSIONS, METRICS_NAMESPACE, type NodeMetric } from "../../core/node-metrics";

/** The namespace the bootstrap's publisher writes to (node-metrics.ts holds its names). */
export const TRAINCTL_NAMESPACE = METRICS_NAMESPACE;

/** What `status` reports per node; every value is null when CloudWatch has no data for it. */
export interface NodeMetrics {
  cpuPercent: number | null;
  memoryPercent: number | null;
  gpuPercent: number | null;
  gpuMemoryPercent: number | null;
  networkInBytes: number | null;
  diskReadBytes: number | null;
}

/** A metric the publisher writes; typed against node-metrics.ts so a rename there fails here. */
const own = (name: NodeMetric) => ({ namespace: TRAINCTL_NAMESPACE, name });

/**
 * The one list of metrics `status` reads. Percentages are averaged over the window (for GPU
 * metrics, also over the node's GPUs: one value per GPU per datum); byte counts are summed.
 */
export const STATUS_METRICS: readonly { key: keyof NodeMetrics; namespace: string; name: string; stat: "Average" | "Sum" }[] = [
  { key: "cpuPercent", namespace: "AWS/EC2", name: "CPUUtilization", stat: "Average" },
  { key: "networkInBytes", namespace: "AWS/EC2", name: "NetworkIn", stat: "Sum" },
  { key: "diskReadBytes", namespace: "AWS/EC2", name: "EBSReadBytes", stat: "Sum" },
  { key: "memoryPercent", ...own("MemoryUtilization"), stat: "Average" },
  { key: "gpuPercent", ...own("GPUUtilization"), stat: "Average" },
  { key: "gpuMemoryPercent", ...own("GPUMemoryUtilization"), stat: "Average" },
];

/** GetMetricData takes at most 500 queries per call. */
export const MAX_QUERIES = 500;
/** One-minute datapoints: fine enough for detailed monitoring, and 5-minute data still lands in them. */
export const PERIOD_SECONDS = 60;

export interface MetricTarget {
  instanceId: string;
  /** The `Experiment` dimension: the instance's trainctl:experiment tag, else the stack's name. */
  experiment: string;
}

/** A query id back to its node and metric. */
export interface QueryKey {
  instanceId: string;
  key: keyof NodeMetrics;
  stat: "Average" | "Sum";
}

export interface MetricQueries {
  queries: MetricDataQuery[];
  keys: Map<string, QueryKey>;
  startTime: Date;
  endTime: Date;
}

export const emptyMetrics = (): NodeMetrics => ({
  cpuPercent: null,
  memoryPercent: null,
  gpuPercent: null,
  gpuMemoryPercent: null,
  networkInBytes: null,
  diskReadBytes: null,
});

/** Every node × every metric as GetMetricData queries over [now − minutes, now]. Ids are `m<node>_<metric>`. */
export function buildMetricQueries(targets: readonly MetricTarget[], minutes: number, now: Date): MetricQueries {
  const keys = new Map<string, QueryKey>();
  const queries: MetricDataQuery[] = [];
  targets.forEach((target, n) => {
    STATUS_METRICS.forEach((metric, m) => {
      const id = `m${n}_${m}`;
      const dimensions: { Name: string; Value: string }[] = [{ Name: METRIC_DIMENSIONS.instanceId, Value: target.instanceId }];
      if (metric.namespace === TRAINCTL_NAMESPACE) dimensions.unshift({ Name: METRIC_DIMENSIONS.experiment, Value: target.experiment });
      queries.push({
        Id: id,
        MetricStat: { Metric: { Namespace: metric.namespace, MetricName: metric.name, Dimensions: dimensions }, Period: PERIOD_SECONDS, Stat: metric.stat },
        ReturnData: true,
      });
      keys.set(id, { instanceId: target.instanceId, key: metric.key, stat: metric.stat });
    });
  });
  return { queries, keys, startTime: new Date(now.getTime() - minutes * 60_000), endTime: now };
}

const round = (value: number) => Math.round(value * 100) / 100;

/** Results → metrics per instance: the mean of the datapoints for averages, their total for sums. */
export function metricsFromResults(results: readonly MetricDataResult[], keys: Map<string, QueryKey>): Map<string, NodeMetrics> {
  const out = new Map<string, NodeMetrics>();
  for (const { instanceId } of keys.values()) if (!out.has(instanceId)) out.set(instanceId, emptyMetrics());
  const values = new Map<string, number[]>();
  for (const result of results) {
    if (!result.Id || !keys.has(result.Id)) continue;
    values.set(result.Id, [...(values.get(result.Id) ?? []), ...(result.Values ?? [])]);
  }
  for (const [id, list] of values) {
    const numbers = list.filter(Number.isFinite);
    if (numbers.length === 0) continue;
    const query = keys.get(id)!;
    const total = numbers.reduce((a, b) => a + b, 0);
    out.get(query.instanceId)![query.key] = round(query.stat === "Sum" ? total : total / numbers.length);
  }
  return out;
}

/** GetMetricData for the nodes, in batches of 500 queries, all pages. */
export async function fetchMetrics(
  client: CloudWatchClient,
  targets: readonly MetricTarget[],
  minutes: number,
  now = new Date(),
): Promise<Map<string, NodeMetrics>> {
  const { queries, keys, startTime, endTime } = buildMetricQueries(targets, minutes, now);
  const results: MetricDataResult[] = [];
  for (let start = 0; start < queries.length; start += MAX_QUERIES) {
    let NextToken: string | undefined;
    do {
      const page = await client.send(
        new GetMetricDataCommand({ MetricDataQueries: queries.slice(start, start + MAX_QUERIES), StartTime: startTime, EndTime: endTime, NextToken }),
      );
      results.push(...(page.MetricDataResults ?? []));
      NextToken = page.NextToken || undefined;
    } while (NextToken);
  }
  return metricsFromResults(results, keys);
}
