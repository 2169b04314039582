import { describe, expect, it } from "vitest";
import { PUBLISH_INTERVAL_SECONDS } from "../../core/node-metrics";
import { dashboardBody, nodeWidgets } from "../../components/dashboard";

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
    const ec2 = nodeWidgets(input, 0).flatMap((w) => w.properties.metrics).filter((m) => m[0] === "AWS/EC2");
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
