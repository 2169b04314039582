import { beforeAll, describe, expect, it } from "vitest";
import { type CapturedResource, type OfflineRun, runOffline } from "../../scripts/state/offline-program";
import { RUNS_PREFIX, RUN_SPEC_KEY } from "../../core/names";
import { lifecycleRules } from "../../components/secure-bucket";
import { fixtureConfig } from "../fixtures/stacks";

const GROUP = "aws:autoscaling/group:Group";
const TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";
const ofType = (run: OfflineRun, type: string): CapturedResource[] => run.captured.filter((c) => c.record.type === type);
const byName = (run: OfflineRun, name: string): CapturedResource => {
  const found = run.captured.find((c) => c.record.name === name);
  expect(found, name).toBeDefined();
  return found!;
};
const inputs = (c: CapturedResource) => c.record.inputs as Record<string, any>;

/** The env file the user data writes: `KEY='value'` lines between the heredoc markers. */
function userDataEnv(base64: string): Record<string, string> {
  const text = Buffer.from(base64, "base64").toString("utf8");
  const body = text.split("<<'TRAINCTL_ENV'\n")[1].split("\nTRAINCTL_ENV")[0];
  return Object.fromEntries(body.split("\n").map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 2, -1)]));
}

describe("spot recovery under mocks (tests/fixtures/stacks/Pulumi.recovery.yaml: 2 nodes, g5.12xlarge then g6.12xlarge)", () => {
  let run: OfflineRun;
  beforeAll(async () => {
    run = await runOffline({ stack: "recovery", config: fixtureConfig("recovery") });
  });

  it("declares one launch template and one group per node, and no bare instance or volume attachment", () => {
    expect(ofType(run, TEMPLATE).map((c) => c.record.name)).toEqual(["recovery-training-node-0-template", "recovery-training-node-1-template"]);
    expect(ofType(run, GROUP).map((c) => inputs(c).name)).toEqual(["trainctl-recovery-node-0", "trainctl-recovery-node-1"]);
    expect(ofType(run, "aws:ec2/instance:Instance")).toEqual([]);
    expect(ofType(run, "aws:ec2/volumeAttachment:VolumeAttachment")).toEqual([]);
    expect(run.outputs.nodeGroupNames).toEqual(["trainctl-recovery-node-0", "trainctl-recovery-node-1"]);
    expect(run.outputs.instanceIds).toEqual([]);
  });

  it("the launch template: IMDSv2 required, encrypted gp3 root on the AMI's root device, the profile, the placement group, no spot request of its own", () => {
    const profile = inputs(byName(run, "recovery-training-profile"));
    const placement = byName(run, "recovery-training-placement");
    for (const template of ofType(run, TEMPLATE)) {
      const t = inputs(template);
      expect(t.metadataOptions).toMatchObject({ httpTokens: "required", httpEndpoint: "enabled", instanceMetadataTags: "enabled" });
      expect(t.blockDeviceMappings).toEqual([
        { deviceName: "/dev/sda1", ebs: { volumeSize: 100, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } },
      ]);
      expect(t.iamInstanceProfile).toEqual({ name: profile.name ?? expect.stringContaining("recovery-training-profile") });
      expect(t.placement).toEqual({ groupName: placement.record.id });
      expect(t.instanceMarketOptions).toBeUndefined();
      expect(t.instanceInitiatedShutdownBehavior).toBe("terminate");
      expect(t.name).toBe(`trainctl-recovery-node-${template.record.name.match(/node-(\d)/)![1]}`);
      expect(template.request.ignoreChanges).toEqual(expect.arrayContaining(["imageId", "userData"]));
    }
  });

  it("the root volumes carry the cost tags and name their group", () => {
    const t = inputs(byName(run, "recovery-training-node-1-template"));
    expect(t.tagSpecifications).toEqual([
      {
        resourceType: "volume",
        tags: expect.objectContaining({
          "trainctl:experiment": "recovery",
          "trainctl:cost-center": "ml-research",
          "trainctl:role": "root-volume",
          "trainctl:node-group": "trainctl-recovery-node-1",
        }),
      },
    ]);
  });

  it("each template's user data holds that node's own volume id, the group name and the restart limit", () => {
    const volumeIds = ["recovery-data-0-volume", "recovery-data-1-volume"].map((n) => byName(run, n).record.id);
    expect(new Set(volumeIds).size).toBe(2);
    [0, 1].forEach((i) => {
      const env = userDataEnv(inputs(byName(run, `recovery-training-node-${i}-template`)).userData);
      expect(env).toMatchObject({
        TRAINCTL_VOLUME_ID: volumeIds[i],
        TRAINCTL_NODE_INDEX: String(i),
        TRAINCTL_NODE_COUNT: "2",
        TRAINCTL_RECOVERY: "1",
        TRAINCTL_GROUP_NAME: `trainctl-recovery-node-${i}`,
        TRAINCTL_MAX_RESTARTS: "3",
        TRAINCTL_RUN_SPEC_KEY: "runs/current.json",
        TRAINCTL_SPOT: "1",
      });
    });
  });

  it("the group: size 0..1 starting at 1, spot only by price-capacity-optimized over the types in order, no Capacity Rebalance", () => {
    for (const group of ofType(run, GROUP)) {
      const g = inputs(group);
      expect([g.minSize, g.maxSize, g.desiredCapacity, g.capacityRebalance]).toEqual([0, 1, 1, false]);
      expect(g.mixedInstancesPolicy.instancesDistribution).toEqual({
        onDemandBaseCapacity: 0,
        onDemandPercentageAboveBaseCapacity: 0,
        spotAllocationStrategy: "price-capacity-optimized",
      });
      expect(g.mixedInstancesPolicy.launchTemplate.overrides).toEqual([{ instanceType: "g5.12xlarge" }, { instanceType: "g6.12xlarge" }]);
      expect(g.mixedInstancesPolicy.launchTemplate.launchTemplateSpecification).toEqual({
        launchTemplateId: byName(run, group.record.name.replace("-group", "-template")).record.id,
        version: "$Latest",
      });
      expect(group.request.ignoreChanges).toEqual(["desiredCapacity"]);
    }
  });

  it("the group runs in the subnet of the data volumes' zone", () => {
    const zone = inputs(byName(run, "recovery-data-0-volume")).availabilityZone;
    expect(zone).toBe("us-east-1a");
    for (const group of ofType(run, GROUP)) expect(inputs(group).vpcZoneIdentifiers).toEqual([`subnet-0000000000000000${zone.slice(-1)}`]);
  });

  it("propagates the cost tags, Name, role and node index to its instances; the estimate's assumptions stay on the group", () => {
    const tags = inputs(byName(run, "recovery-training-node-1-group")).tags as { key: string; value: string; propagateAtLaunch: boolean }[];
    const propagated = Object.fromEntries(tags.filter((t) => t.propagateAtLaunch).map((t) => [t.key, t.value]));
    expect(propagated).toEqual({
      "trainctl:project": "trainctl",
      "trainctl:experiment": "recovery",
      "trainctl:owner": "alice",
      "trainctl:cost-center": "ml-research",
      "trainctl:managed-by": "pulumi",
      Name: "recovery-training-node-1",
      "trainctl:role": "training-node",
      "trainctl:max-hours": "24",
      "trainctl:node-index": "1",
    });
    expect(tags.filter((t) => !t.propagateAtLaunch)).toEqual([
      { key: "trainctl:interruptions-per-day", value: "1", propagateAtLaunch: false },
      { key: "trainctl:restart-minutes", value: "15", propagateAtLaunch: false },
    ]);
  });

  it("the instance role may attach only this experiment's volumes and scale only its groups", () => {
    const policy = JSON.parse(inputs(byName(run, "recovery-training-experiment-access")).policy) as {
      Statement: { Sid: string; Action: string | string[]; Resource: string | string[]; Condition?: unknown }[];
    };
    const sid = (name: string) => policy.Statement.find((s) => s.Sid === name);
    const own = { StringEquals: { "aws:ResourceTag/trainctl:experiment": "recovery" } };
    expect(sid("RecoveryAttachOwnVolume")).toEqual({
      Sid: "RecoveryAttachOwnVolume",
      Effect: "Allow",
      Action: "ec2:AttachVolume",
      Resource: ["arn:aws:ec2:*:*:volume/*", "arn:aws:ec2:*:*:instance/*"],
      Condition: own,
    });
    expect(sid("RecoveryScaleOwnGroups")).toMatchObject({
      Action: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup", "autoscaling:UpdateAutoScalingGroup"],
      Resource: "arn:aws:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/*",
      Condition: own,
    });
    expect(sid("RecoveryDescribe")).toMatchObject({
      Action: ["ec2:DescribeVolumes", "ec2:DescribeInstances", "autoscaling:DescribeAutoScalingGroups"],
      Resource: "*",
    });
    expect(sid("RecoveryDescribe")?.Condition).toBeUndefined();
  });
});

describe("without recovery nothing changes", () => {
  it("the 2-node fixture keeps bare instances with attachments, recovery env off, no recovery statements", async () => {
    const run = await runOffline({ stack: "2-node", config: fixtureConfig("2-node") });
    expect(ofType(run, GROUP)).toEqual([]);
    expect(ofType(run, TEMPLATE)).toEqual([]);
    expect(ofType(run, "aws:ec2/instance:Instance")).toHaveLength(2);
    expect(ofType(run, "aws:ec2/volumeAttachment:VolumeAttachment")).toHaveLength(2);
    const userData = String(inputs(ofType(run, "aws:ec2/instance:Instance")[0]).userData);
    expect(userData).toContain("TRAINCTL_RECOVERY='0'\nTRAINCTL_GROUP_NAME=''\nTRAINCTL_MAX_RESTARTS=''");
    expect(inputs(byName(run, "2-node-training-experiment-access")).policy).not.toContain("Recovery");
    expect(run.outputs.nodeGroupNames).toEqual([]);
  });
});

describe("what a restart needs outlives the run", () => {
  it("no lifecycle rule of the checkpoints bucket expires the run spec or the runs prefix", () => {
    const expiring = lifecycleRules({ keepVersions: 5, expireDays: 90 }).filter((rule) => rule.expiration !== undefined);
    expect(expiring.length).toBeGreaterThan(0);
    for (const rule of expiring) {
      const prefix = String((rule.filter as { prefix?: string } | undefined)?.prefix ?? "");
      expect(RUN_SPEC_KEY.startsWith(prefix), `${rule.id as string} expires ${prefix}`).toBe(false);
      expect(RUNS_PREFIX.startsWith(prefix), `${rule.id as string} expires ${prefix}`).toBe(false);
    }
  });
});
