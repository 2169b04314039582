import { describe, expect, it } from "vitest";
import { dashboardBody } from "../../components/dashboard";

const input = { experiment: "resnet", region: "eu-west-1", instanceIds: [], groupNames: ["trainctl-resnet-node-0", "trainctl-resnet-node-1"] };

describe("the dashboard of a recovery experiment", () => {
  const body = dashboardBody(input);

  it("has a row per group on EC2's AutoScalingGroupName dimension, then one experiment-wide SEARCH row, none overlapping", () => {
    const cells = body.widgets.map((w) => `${w.x},${w.y}`);
    expect(new Set(cells).size).toBe(cells.length);
    for (const w of body.widgets) expect(w.x + w.width).toBeLessThanOrEqual(24);
    input.groupNames.forEach((group, i) => {
      const row = body.widgets.filter((w) => w.y === i * 6);
      expect(row.map((w) => w.properties.title)).toEqual([`node ${i} (group ${group}): CPU % (AWS/EC2)`, `node ${i} (group ${group}): EBS read (AWS/EC2)`]);
      for (const w of row) for (const m of w.properties.metrics) expect(m.slice(0, 4)).toEqual(["AWS/EC2", m[1], "AutoScalingGroupName", group]);
    });
    const search = body.widgets.filter((w) => w.y === 2 * 6);
    expect(search.map((w) => w.properties.metrics[0][0])).toEqual([
      {
        expression: `SEARCH('{trainctl,Experiment,InstanceId} Experiment="resnet" MetricName="GPUUtilization"', 'Average', 60)`,
        label: "GPUUtilization",
        id: "gpu",
      },
      {
        expression: `SEARCH('{trainctl,Experiment,InstanceId} Experiment="resnet" MetricName="CPUUtilization"', 'Average', 60)`,
        label: "CPUUtilization",
        id: "cpu",
      },
      {
        expression: `SEARCH('{trainctl,Experiment,InstanceId} Experiment="resnet" MetricName="DiskReadBytesPerSecond"', 'Average', 60)`,
        label: "DiskReadBytesPerSecond",
        id: "disk",
      },
    ]);
    expect(body.widgets).toHaveLength(2 * 2 + 3);
  });

  it("without groups the body is the bare nodes' alone", () => {
    expect(dashboardBody({ ...input, groupNames: [] })).toEqual({ widgets: [] });
    expect(dashboardBody({ ...input, instanceIds: ["i-0aaaaaaaaaaaaaaa0"], groupNames: undefined }).widgets).toHaveLength(3);
  });
});
