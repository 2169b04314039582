import { describe, expect, it } from "vitest";
import { dashboardBody, dashboardUrl } from "../../components/dashboard";
import { METRICS_NAMESPACE, NODE_METRICS } from "../../core/node-metrics";
import { dashboardName } from "../../components/naming";
import { priceResource } from "../../scripts/pricing/estimate";
import { stateRecord } from "../helpers/records";

const input = { experiment: "resnet", region: "eu-west-1", instanceIds: ["i-0aaaaaaaaaaaaaaa0", "i-0bbbbbbbbbbbbbbb1", "i-0ccccccccccccccc2"] };

/** Every metric line of a body: namespace, name, then dimension name/value pairs (options dropped). */
const lines = (body: ReturnType<typeof dashboardBody>) =>
  body.widgets.flatMap((w) => w.properties.metrics.map((m) => m.filter((part): part is string => typeof part === "string")));

describe("dashboardBody", () => {
  const body = dashboardBody(input);

  it("is JSON CloudWatch can take: metric widgets on a 24-column grid, none overlapping", () => {
    expect(JSON.parse(JSON.stringify(body))).toEqual(body);
    const cells = new Set<string>();
    for (const w of body.widgets) {
      expect(w.type).toBe("metric");
      expect(w.x + w.width).toBeLessThanOrEqual(24);
      expect(w.properties.region).toBe("eu-west-1");
      const cell = `${w.x},${w.y}`;
      expect(cells.has(cell), cell).toBe(false);
      cells.add(cell);
    }
  });

  it("has one widget set per node, each naming its node and only its instance", () => {
    expect(body.widgets).toHaveLength(3 * input.instanceIds.length);
    input.instanceIds.forEach((id, index) => {
      const row = body.widgets.filter((w) => w.y === index * 6);
      expect(row).toHaveLength(3);
      for (const w of row) {
        expect(w.properties.title).toMatch(new RegExp(`^node ${index} \\(${id}\\)`));
        for (const m of w.properties.metrics) expect(m.filter((p) => typeof p === "string")).toContain(id);
      }
    });
  });

  it("shows every published metric with the Experiment and InstanceId dimensions, plus EC2 CPU and EBS reads", () => {
    const own = lines(body).filter((l) => l[0] === METRICS_NAMESPACE);
    expect(new Set(own.map((l) => l[1]))).toEqual(new Set(Object.keys(NODE_METRICS).filter((m) => m !== "GPUMemoryUsed")));
    for (const l of own) expect(l.slice(2, 4)).toEqual(["Experiment", "resnet"]);
    for (const l of own) expect(l[4]).toBe("InstanceId");
    const ec2 = lines(body).filter((l) => l[0] === "AWS/EC2");
    expect(new Set(ec2.map((l) => l[1]))).toEqual(new Set(["CPUUtilization", "EBSReadBytes"]));
    for (const l of ec2) expect(l.slice(2, 3)).toEqual(["InstanceId"]);
  });

  it("no nodes, no widgets", () => {
    expect(dashboardBody({ ...input, instanceIds: [] }).widgets).toEqual([]);
  });
});

describe("dashboard name, URL and price", () => {
  it("names it project-stack with only the characters CloudWatch accepts", () => {
    expect(dashboardName("trainctl", "dev")).toBe("trainctl-dev");
    expect(dashboardName("trainctl", "resnet.lr_3e-4")).toBe("trainctl-resnet-lr_3e-4");
  });

  it("links to the console in the stack's region", () => {
    expect(dashboardUrl("us-west-2", "trainctl-dev")).toBe(
      "https://us-west-2.console.aws.amazon.com/cloudwatch/home?region=us-west-2#dashboards:name=trainctl-dev",
    );
  });

  it("is priced at $3/month, the price beyond the account's 3 free dashboards", () => {
    const record = stateRecord({ urn: "urn:d", type: "aws:cloudwatch/dashboard:Dashboard", name: "dev-dashboard" });
    const item = priceResource(record)!;
    expect(item.monthly).toBe(3);
    expect(item.hourly).toBeCloseTo(3 / 730, 6);
    expect(item.detail).toContain("at most 3");
  });
});
