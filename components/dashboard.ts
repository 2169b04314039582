/**
 * The experiment's CloudWatch dashboard body, as a pure function of the nodes: one row of widgets per
 * node with the metrics the bootstrap publishes, beside EC2's own CPU and EBS read figures.
 */
import { METRICS_NAMESPACE, METRIC_DIMENSIONS, type NodeMetric, PUBLISH_INTERVAL_SECONDS } from "../core/node-metrics";

export interface DashboardInput {
  experiment: string;
  region: string;
  /** Instance ids in node order. */
  instanceIds: string[];
}

/** A `metrics` array entry: namespace, metric name, dimension pairs, then rendering options. */
type MetricLine = (string | { label: string; stat?: string; period?: number; yAxis?: "left" | "right" })[];

export interface Widget {
  type: "metric";
  x: number;
  y: number;
  width: number;
  height: number;
  properties: { title: string; region: string; view: "timeSeries"; stat: string; period: number; metrics: MetricLine[]; yAxis?: object };
}

const WIDTH = 8;
const HEIGHT = 6;

/** The console address of a dashboard. */
export function dashboardUrl(region: string, name: string): string {
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${name}`;
}

/** The widget set of one node: CPU and memory, GPUs, disk read and network. */
export function nodeWidgets(input: DashboardInput, index: number): Widget[] {
  const instanceId = input.instanceIds[index];
  const own = (metric: NodeMetric, label: string, stat?: string): MetricLine => [
    METRICS_NAMESPACE,
    metric,
    METRIC_DIMENSIONS.experiment,
    input.experiment,
    METRIC_DIMENSIONS.instanceId,
    instanceId,
    { label, ...(stat ? { stat } : {}) },
  ];
  // EC2's own metrics come every 5 minutes with basic monitoring.
  const ec2 = (metric: string, label: string, options: object = {}): MetricLine => ["AWS/EC2", metric, "InstanceId", instanceId, { label, period: 300, ...options }];
  const widget = (column: number, title: string, metrics: MetricLine[], yAxis?: object): Widget => ({
    type: "metric",
    x: column * WIDTH,
    y: index * HEIGHT,
    width: WIDTH,
    height: HEIGHT,
    properties: { title: `node ${index} (${instanceId}): ${title}`, region: input.region, view: "timeSeries", stat: "Average", period: PUBLISH_INTERVAL_SECONDS, metrics, ...(yAxis ? { yAxis } : {}) },
  });
  const percent = { left: { min: 0, max: 100 } };
  return [
    widget(0, "CPU and memory %", [own("CPUUtilization", "CPU"), own("MemoryUtilization", "memory"), ec2("CPUUtilization", "CPU (AWS/EC2)")], percent),
    widget(1, "GPU %", [own("GPUUtilization", "GPU mean"), own("GPUUtilization", "busiest GPU", "Maximum"), own("GPUMemoryUtilization", "GPU memory mean")], percent),
    widget(2, "disk read and network", [
      own("DiskReadBytesPerSecond", "disk read B/s"),
      own("NetworkInBytesPerSecond", "network in B/s"),
      own("NetworkOutBytesPerSecond", "network out B/s"),
      ec2("EBSReadBytes", "EBS read bytes per 5 min (AWS/EC2)", { stat: "Sum", yAxis: "right" }),
    ]),
  ];
}

/** The dashboard body CloudWatch's PutDashboard takes (serialize with JSON.stringify). */
export function dashboardBody(input: DashboardInput): { widgets: Widget[] } {
  return { widgets: input.instanceIds.flatMap((_, i) => nodeWidgets(input, i)) };
}
