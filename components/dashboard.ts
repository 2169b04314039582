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
  /** Spot recovery: node N's Auto Scaling group; its instances come and go, so none is named. */
  groupNames?: string[];
}

/** A `metrics` array entry: namespace, metric name, dimension pairs, then rendering options. */
type MetricLine = (string | { label: string; stat?: string; period?: number; yAxis?: "left" | "right"; expression?: string; id?: string })[];

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
  const ec2 = (metric: string, label: string, options: object = {}): MetricLine => [
    "AWS/EC2",
    metric,
    "InstanceId",
    instanceId,
    { label, period: 300, ...options },
  ];
  const widget = (column: number, title: string, metrics: MetricLine[], yAxis?: object): Widget => ({
    type: "metric",
    x: column * WIDTH,
    y: index * HEIGHT,
    width: WIDTH,
    height: HEIGHT,
    properties: {
      title: `node ${index} (${instanceId}): ${title}`,
      region: input.region,
      view: "timeSeries",
      stat: "Average",
      period: PUBLISH_INTERVAL_SECONDS,
      metrics,
      ...(yAxis ? { yAxis } : {}),
    },
  });
  const percent = { left: { min: 0, max: 100 } };
  return [
    widget(0, "CPU and memory %", [own("CPUUtilization", "CPU"), own("MemoryUtilization", "memory"), ec2("CPUUtilization", "CPU (AWS/EC2)")], percent),
    widget(
      1,
      "GPU %",
      [own("GPUUtilization", "GPU mean"), own("GPUUtilization", "busiest GPU", "Maximum"), own("GPUMemoryUtilization", "GPU memory mean")],
      percent,
    ),
    widget(2, "disk read and network", [
      own("DiskReadBytesPerSecond", "disk read B/s"),
      own("NetworkInBytesPerSecond", "network in B/s"),
      own("NetworkOutBytesPerSecond", "network out B/s"),
      ec2("EBSReadBytes", "EBS read bytes per 5 min (AWS/EC2)", { stat: "Sum", yAxis: "right" }),
    ]),
  ];
}

/**
 * Spot recovery: node N's row follows its group, not an instance. EC2 aggregates its metrics by
 * `AutoScalingGroupName`; the bootstrap's own metrics carry only the instance id, so one
 * experiment-wide row finds them with a SEARCH over every instance of the experiment.
 */
export function groupWidgets(input: DashboardInput, groupName: string, index: number, row: number): Widget[] {
  const ec2 = (metric: string, label: string, options: object = {}): MetricLine => [
    "AWS/EC2",
    metric,
    "AutoScalingGroupName",
    groupName,
    { label, period: 300, ...options },
  ];
  const widget = (column: number, title: string, metrics: MetricLine[]): Widget => ({
    type: "metric",
    x: column * WIDTH,
    y: row * HEIGHT,
    width: WIDTH,
    height: HEIGHT,
    properties: { title: `node ${index} (group ${groupName}): ${title}`, region: input.region, view: "timeSeries", stat: "Average", period: 300, metrics },
  });
  return [
    widget(0, "CPU % (AWS/EC2)", [ec2("CPUUtilization", "CPU")]),
    widget(1, "EBS read (AWS/EC2)", [ec2("EBSReadBytes", "EBS read bytes per 5 min", { stat: "Sum" })]),
  ];
}

/** Every instance of the experiment, one line each, for the metrics the bootstrap publishes. */
export function experimentSearchWidgets(input: DashboardInput, row: number): Widget[] {
  const search = (metric: NodeMetric, id: string): MetricLine => [
    {
      expression: `SEARCH('{${METRICS_NAMESPACE},${METRIC_DIMENSIONS.experiment},${METRIC_DIMENSIONS.instanceId}} ${METRIC_DIMENSIONS.experiment}="${input.experiment}" MetricName="${metric}"', 'Average', ${PUBLISH_INTERVAL_SECONDS})`,
      label: metric,
      id,
    },
  ];
  const widget = (column: number, metric: NodeMetric, id: string): Widget => ({
    type: "metric",
    x: column * WIDTH,
    y: row * HEIGHT,
    width: WIDTH,
    height: HEIGHT,
    properties: {
      title: `every node by instance: ${metric}`,
      region: input.region,
      view: "timeSeries",
      stat: "Average",
      period: PUBLISH_INTERVAL_SECONDS,
      metrics: [search(metric, id)],
    },
  });
  return [widget(0, "GPUUtilization", "gpu"), widget(1, "CPUUtilization", "cpu"), widget(2, "DiskReadBytesPerSecond", "disk")];
}

/** The dashboard body CloudWatch's PutDashboard takes (serialize with JSON.stringify). */
export function dashboardBody(input: DashboardInput): { widgets: Widget[] } {
  const groups = input.groupNames ?? [];
  const nodes = input.instanceIds.flatMap((_, i) => nodeWidgets(input, i));
  if (groups.length === 0) return { widgets: nodes };
  const first = input.instanceIds.length;
  return {
    widgets: [...nodes, ...groups.flatMap((name, i) => groupWidgets(input, name, i, first + i)), ...experimentSearchWidgets(input, first + groups.length)],
  };
}
