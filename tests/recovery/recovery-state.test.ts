import { copyFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { INSTANCE_PRICES } from "../../core/catalog";
import { type PriceBook, catalogPrices, estimateCost, interruptionOverhead, pricedHours, runningCost } from "../../core/pricing";
import { parseStackConfig } from "../../core/config";
import { hourlyEstimate } from "../../components/hourly-estimate";
import { type PolicySubject, RESOURCE_RULES } from "../../policy/rules";
import { type OfflineRun, runOffline } from "../../scripts/state/offline-program";
import { type CloudResource, findLeaks, knownIdentifiers } from "../../scripts/teardown/leak-rules";
import { planTeardown } from "../../scripts/teardown/teardown-plan";
import { parseStackExport } from "../../scripts/state/readers";
import { stateExport } from "./state-export";
import { fixtureConfig } from "../fixtures/stacks";
import { ROOT, trainctl } from "../helpers/cli";

const GROUP = "aws:autoscaling/group:Group";
const TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";
const config = fixtureConfig("recovery");
const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);

let run: OfflineRun;
beforeAll(async () => {
  run = await runOffline({ stack: "recovery", config });
});

describe("interruptionOverhead", () => {
  it("is the share of a day the whole run loses: nodes × interruptions × minutes, capped at all of it", () => {
    expect(interruptionOverhead(1, 1, 15)).toBeCloseTo(15 / 1440);
    expect(interruptionOverhead(2, 1, 15)).toBeCloseTo(30 / 1440);
    expect(interruptionOverhead(4, 0.5, 30)).toBeCloseTo(60 / 1440);
    expect(interruptionOverhead(3, 0, 15)).toBe(0);
    expect(interruptionOverhead(64, 100, 1440)).toBe(1);
  });
});

describe("cost of a recovery experiment", () => {
  it("prices each group as one spot node of its preferred type, with the template's root volume and the interruption overhead line", () => {
    const report = estimateCost(run.model);
    const groups = report.items.filter((i) => i.type === GROUP);
    expect(groups).toHaveLength(2);
    const share = interruptionOverhead(2, 1, 15);
    for (const item of groups) {
      expect(item.lines).toEqual(["compute", "interruption overhead", "root volume", "public IPv4", "custom metrics"]);
      expect(item.spot).toEqual({ cap: INSTANCE_PRICES["g5.12xlarge"].usd, expected: null, onDemand: INSTANCE_PRICES["g5.12xlarge"].usd });
      expect(item.detail).toMatch(
        /^g5\.12xlarge spot cap .*100 GiB root .* interruption overhead \$[\d.]+\/h \(2 node\(s\) × 1\/day × 15 min lost per restart = 2\.08%\)$/,
      );
      const before = item.hourly! / (1 + share);
      expect(before).toBeGreaterThan(INSTANCE_PRICES["g5.12xlarge"].usd);
    }
    expect(report.covers).toContain("interruption overhead");
    expect(report.items.filter((i) => i.type === TEMPLATE)).toEqual([]);
    // maxHours: 24 travels on the groups' tags.
    expect(pricedHours(run.model)).toBe(24);
  });

  it("with live prices, a group pays the spot price of its first type, not a cheaper later one", () => {
    const live: PriceBook = { ...catalogPrices, source: "live", spotHourly: (type) => ({ "g5.12xlarge": 2, "g6.12xlarge": 1 })[type] };
    const item = estimateCost(run.model, { prices: live }).items.find((i) => i.type === GROUP)!;
    expect(item.spot?.expected).toBe(2);
  });

  it("no overhead line when the assumed rate is 0; the max price caps the spot price", async () => {
    const instance = { ...(config["trainctl:instance"] as object), interruptionsPerDay: 0, maxPrice: 3 };
    const calm = await runOffline({ stack: "recovery", config: { ...config, "trainctl:instance": instance } });
    const item = estimateCost(calm.model).items.find((i) => i.type === GROUP)!;
    expect(item.lines).not.toContain("interruption overhead");
    expect(item.spot?.cap).toBe(3);
  });

  it("cost --running counts each group's node since the group was created (a recovery stack has no instance resource)", () => {
    const created = "2026-12-02T09:00:00Z";
    const resources = run.model.resources.map((r) => (r.type === GROUP ? { ...r, created } : r));
    const cost = runningCost({ ...run.model, resources }, new Date("2026-12-02T12:00:00Z"));
    const groups = estimateCost(run.model).items.filter((i) => i.type === GROUP);
    expect(cost.instances.map((i) => i.name)).toEqual(groups.map((g) => g.name));
    expect(cost.instances.map((i) => i.hours)).toEqual([3, 3]);
    expect(cost.soFar).toBeCloseTo(3 * groups.reduce((sum, g) => sum + g.hourly!, 0), 2);
  });

  it("the program's estimatedHourlyUsd output is the plan's burn rate", () => {
    expect(run.outputs.estimatedHourlyUsd).toBeCloseTo(estimateCost(run.model).hourly, 6);
    const parsed = parseStackConfig(config);
    expect(hourlyEstimate(parsed).covers).toContain("interruption overhead");
  });
});

describe("teardown of a recovery experiment", () => {
  it("deletes the groups and their templates, keeps the protected volumes, and warns that a group's node goes with it", () => {
    const plan = planTeardown(run.model);
    const deleted = plan.delete.map(nameOf);
    expect(deleted).toEqual(
      expect.arrayContaining([
        "recovery-training-node-0-group",
        "recovery-training-node-1-group",
        "recovery-training-node-0-template",
        "recovery-training-node-1-template",
      ]),
    );
    expect(plan.retain.filter((r) => r.reason === "protected").map((r) => nameOf(r.urn))).toEqual(
      expect.arrayContaining(["recovery-data-0-volume", "recovery-data-1-volume"]),
    );
    expect(plan.warnings.filter((w) => w.includes("Auto Scaling group"))).toEqual([
      "recovery-training-node-0-group (trainctl-recovery-node-0) is an Auto Scaling group: deleting it terminates the node it runs, which state does not show (trainctl status does)",
      "recovery-training-node-1-group (trainctl-recovery-node-1) is an Auto Scaling group: deleting it terminates the node it runs, which state does not show (trainctl status does)",
    ]);
    // Nothing of the groups stays, so nothing of them stays billed.
    expect(plan.retain.map((r) => nameOf(r.urn)).filter((n) => /-(group|template)$/.test(n))).toEqual([]);
    const retained = new Set(plan.retain.map((r) => r.urn));
    const retainedMonthly = estimateCost({ ...run.model, resources: run.model.resources.filter((r) => retained.has(r.urn)) }).monthly;
    const snapshots = plan.finalSnapshots.reduce((s, f) => s + f.monthly, 0);
    expect(plan.monthlyCostAfter).toBeCloseTo(retainedMonthly + snapshots, 1);
  });
});

describe("leak sweep and group-owned nodes", () => {
  const old = new Date("2026-11-01T00:00:00Z");
  const now = new Date("2026-12-01T00:00:00Z");
  const resource = (id: string, kind: CloudResource["kind"], tags: Record<string, string>): CloudResource => ({
    arn: `arn:aws:ec2:us-east-1:123456789012:${kind}/${id}`,
    kind,
    id,
    type: `ec2:${kind}`,
    tags: { "trainctl:experiment": "recovery", ...tags },
    createdAt: old,
    state: kind === "instance" ? "running" : "in-use",
    instanceType: "g5.12xlarge",
    sizeGiB: 100,
  });

  it("an instance or root volume of a group in state is not a leak; one of an unknown group is", () => {
    const known = knownIdentifiers([run.model]);
    const { leaks, skipped } = findLeaks(
      [
        resource("i-0000000000000000a", "instance", { "aws:autoscaling:groupName": "trainctl-recovery-node-0" }),
        resource("vol-0000000000000000a", "volume", { "trainctl:node-group": "trainctl-recovery-node-1", "trainctl:role": "root-volume" }),
        resource("i-0000000000000000b", "instance", { "aws:autoscaling:groupName": "trainctl-gone-node-0" }),
      ],
      known,
      { now, minAgeMs: 3_600_000 },
    );
    expect(skipped.map((s) => s.reason)).toEqual([
      "launched by Auto Scaling group trainctl-recovery-node-0, known to a stack state",
      "launched by Auto Scaling group trainctl-recovery-node-1, known to a stack state",
    ]);
    expect(leaks.map((l) => [l.resource.id, l.action])).toEqual([["i-0000000000000000b", "terminate"]]);
  });
});

describe("the policy pack on groups and templates", () => {
  let subjects: PolicySubject[];
  beforeAll(() => {
    subjects = run.captured.map(({ record, request }) => ({
      type: record.type,
      name: record.name,
      urn: record.urn,
      props: { ...record.outputs, ...record.inputs, tagsAll: record.tags },
      protect: request.protect,
    }));
  });
  const violations = (list: PolicySubject[]) => list.flatMap((s) => Object.values(RESOURCE_RULES).flatMap((rule) => rule(s)));

  it("the recovery plan passes every resource rule", () => {
    expect(subjects.filter((s) => s.type === GROUP)).toHaveLength(2);
    expect(violations(subjects)).toEqual([]);
  });

  it("flags a group that could hold two nodes, buy on-demand, rebalance, or not propagate cost tags; a template without IMDSv2 or encryption", () => {
    const group = subjects.find((s) => s.type === GROUP)! as PolicySubject & { props: Record<string, any> };
    const template = subjects.find((s) => s.type === TEMPLATE)!;
    const distribution = group.props.mixedInstancesPolicy.instancesDistribution;
    const broken: PolicySubject[] = [
      { ...group, props: { ...group.props, maxSize: 2 } },
      {
        ...group,
        props: {
          ...group.props,
          mixedInstancesPolicy: {
            ...group.props.mixedInstancesPolicy,
            instancesDistribution: { ...distribution, onDemandPercentageAboveBaseCapacity: undefined },
          },
        },
      },
      { ...group, props: { ...group.props, capacityRebalance: true } },
      { ...group, props: { ...group.props, tags: group.props.tags.map((t: object) => ({ ...t, propagateAtLaunch: false })) } },
      {
        ...group,
        props: { ...group.props, mixedInstancesPolicy: { ...group.props.mixedInstancesPolicy, instancesDistribution: { ...distribution, spotMaxPrice: "5" } } },
      },
      { ...template, props: { ...template.props, metadataOptions: { httpTokens: "optional" } } },
      { ...template, props: { ...template.props, blockDeviceMappings: [{ deviceName: "/dev/sda1", ebs: { encrypted: "false" } }] } },
    ];
    expect(broken.map((s) => violations([s]))).toEqual([
      [`${group.name}: maxSize is 2, not 1`],
      [`${group.name}: onDemandPercentageAboveBaseCapacity is unset (100), not 0`],
      [`${group.name}: capacityRebalance is on`],
      [
        `${group.name}: does not propagate cost tags trainctl:project, trainctl:experiment, trainctl:owner, trainctl:cost-center, trainctl:managed-by to its instances`,
      ],
      [`${group.name}: spotMaxPrice $5/h is not below the on-demand $4.6016/h of g6.12xlarge`],
      [`${template.name}: IMDSv2 is not required (metadataOptions.httpTokens must be "required")`],
      [`${template.name}: volume /dev/sda1 is not encrypted`],
    ]);
  });
});

describe("trainctl plan of a recovery stack", () => {
  it("plans offline, with both groups priced and the interruption overhead covered", () => {
    const file = path.join(ROOT, "Pulumi.test-recovery.yaml");
    copyFileSync(path.join(ROOT, "tests", "fixtures", "stacks", "Pulumi.recovery.yaml"), file);
    try {
      const result = trainctl(["plan", "--stack", "test-recovery", "--json"]);
      expect(result.code, result.stderr).toBe(0);
      const plan = JSON.parse(result.stdout);
      expect(plan.resources.filter((r: { type: string }) => r.type === GROUP).map((r: { inputs: { name: string } }) => r.inputs.name)).toEqual([
        "trainctl-test-recovery-node-0",
        "trainctl-test-recovery-node-1",
      ]);
      expect(plan.cost.items.filter((i: { type: string }) => i.type === GROUP)).toHaveLength(2);
      expect(plan.cost.covers).toContain("interruption overhead");
    } finally {
      rmSync(file);
    }
  });
});

describe("a recovery stack's state export", () => {
  it("prices as the plan does", () => {
    const model = parseStackExport(stateExport(run.model.resources));
    expect(estimateCost(model).hourly).toBeCloseTo(estimateCost(run.model).hourly, 6);
    expect(estimateCost(model).items.filter((i) => i.type === GROUP)).toHaveLength(2);
  });

  it("refuses a negative interruption assumption on a group, naming the group and the tag", () => {
    const resources = run.model.resources.map((r) =>
      r.name === "recovery-training-node-0-group"
        ? {
            ...r,
            inputs: { ...r.inputs, tags: (r.inputs.tags as { key: string }[]).map((t) => (t.key === "trainctl:restart-minutes" ? { ...t, value: "-15" } : t)) },
          }
        : r,
    );
    expect(() => parseStackExport(stateExport(resources))).toThrow(
      /recovery-training-node-0-group: tag trainctl:restart-minutes must be a finite number >= 0 \(got "-15"\)/,
    );
  });
});
