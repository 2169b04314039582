import { describe, expect, it } from "vitest";
import { METRICS_NAMESPACE, PUBLISH_INTERVAL_SECONDS } from "../../core/node-metrics";
import { dashboardBody, experimentSearchWidgets, groupWidgets, nodeWidgets } from "../../components/dashboard";

const input = { experiment: "dev", region: "eu-west-1", instanceIds: ["i-0aaa", "i-0bbb", "i-0ccc"] };

describe("nodeWidgets", () => {
  it("one row of three 8×6 widgets filling the 24-column grid, at the node's row", () => {
    const row = nodeWidgets(input, 2);
    expect(row.map((w) => [w.x, w.y, w.width, w.height])).toEqual([
      [0, 12, 8, 6],
      [8, 12, 8, 6],
      [16, 12, 8, 6],
    ]);
  });

  it("each widget is in the stack's region, averages over the publish interval, and names node and instance", () => {
    for (const w of nodeWidgets(input, 1)) {
      expect(w.properties).toMatchObject({ region: "eu-west-1", view: "timeSeries", stat: "Average", period: PUBLISH_INTERVAL_SECONDS });
      expect(w.properties.title.startsWith("node 1 (i-0bbb): ")).toBe(true);
    }
  });

  it("the GPU widget shows the mean and the busiest GPU (Maximum over a node's per-GPU values)", () => {
    const gpu = nodeWidgets(input, 0)[1];
    const options = gpu.properties.metrics.map((m) => m[m.length - 1]);
    expect(options).toContainEqual({ label: "busiest GPU", stat: "Maximum" });
    expect(gpu.properties.yAxis).toEqual({ left: { min: 0, max: 100 } });
  });

  it("EC2's own metrics are read at their 5-minute period", () => {
    const ec2 = nodeWidgets(input, 0)
      .flatMap((w) => w.properties.metrics)
      .filter((m) => m[0] === "AWS/EC2");
    expect(ec2.length).toBe(2);
    for (const m of ec2) expect(m[m.length - 1]).toMatchObject({ period: 300 });
  });

  it("dashboardBody is every node's row in node order", () => {
    expect(dashboardBody(input).widgets).toEqual([0, 1, 2].flatMap((i) => nodeWidgets(input, i)));
  });

  // CloudWatch service quotas (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html):
  // 500 widgets per dashboard, 500 metrics per widget, 2,500 metrics per dashboard.
  it("64 nodes (the config's maximum) stay within CloudWatch's widget and metric quotas", () => {
    const many = { ...input, instanceIds: Array.from({ length: 64 }, (_, i) => `i-${i}`) };
    const widgets = dashboardBody(many).widgets;
    expect(widgets.length).toBeLessThanOrEqual(500);
    expect(Math.max(...widgets.map((w) => w.properties.metrics.length))).toBeLessThanOrEqual(500);
    expect(widgets.reduce((n, w) => n + w.properties.metrics.length, 0)).toBeLessThanOrEqual(2_500);
  });
});

describe("spot recovery rows", () => {
  const recovering = { ...input, instanceIds: [], groupNames: ["p-dev-node-0", "p-dev-node-1"] };

  it("groupWidgets: EC2's CPU and EBS reads aggregated by the group, at the given row, naming node and group", () => {
    const row = groupWidgets(recovering, "p-dev-node-1", 1, 4);
    expect(row.map((w) => [w.x, w.y])).toEqual([
      [0, 24],
      [8, 24],
    ]);
    for (const w of row) {
      expect(w.properties.title.startsWith("node 1 (group p-dev-node-1): ")).toBe(true);
      for (const m of w.properties.metrics) expect(m.slice(0, 4)).toEqual(["AWS/EC2", m[1], "AutoScalingGroupName", "p-dev-node-1"]);
    }
  });

  it("experimentSearchWidgets: one SEARCH per metric over every instance of this experiment, in the trainctl namespace", () => {
    const row = experimentSearchWidgets(recovering, 2);
    expect(row.map((w) => w.y)).toEqual([12, 12, 12]);
    const expressions = row.map((w) => (w.properties.metrics[0][0] as { expression: string }).expression);
    for (const e of expressions) {
      expect(e).toMatch(
        new RegExp(
          `^SEARCH\\('\\{${METRICS_NAMESPACE},Experiment,InstanceId\\} Experiment="dev" MetricName="\\w+"', 'Average', ${PUBLISH_INTERVAL_SECONDS}\\)$`,
        ),
      );
    }
    const ids = row.map((w) => (w.properties.metrics[0][0] as { id: string }).id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("dashboardBody: bare nodes first, then one row per group, then the search row, none overlapping", () => {
    const body = dashboardBody({ ...input, instanceIds: ["i-0aaa"], groupNames: ["g0"] });
    expect(body.widgets.map((w) => w.y)).toEqual([0, 0, 0, 6, 6, 12, 12, 12]);
    const cells = body.widgets.map((w) => `${w.x},${w.y}`);
    expect(new Set(cells).size).toBe(cells.length);
  });
});
