import { describe, expect, it } from "vitest";
import { TAG } from "../../core/tags";
import { groupTags, instancesDistribution, launchTemplateOverrides, nodeGroupTags, rootDeviceMapping } from "../../components/node-group";

describe("instancesDistribution", () => {
  it("spot only: no on-demand base or share, price-capacity-optimized", () => {
    expect(instancesDistribution({})).toEqual({
      onDemandBaseCapacity: 0,
      onDemandPercentageAboveBaseCapacity: 0,
      spotAllocationStrategy: "price-capacity-optimized",
    });
  });

  it("a max price is sent as a string, as the API takes it", () => {
    expect(instancesDistribution({ maxPrice: 0.75 }).spotMaxPrice).toBe("0.75");
  });
});

describe("rootDeviceMapping", () => {
  it("an encrypted gp3 root of the configured size on the AMI's own root device; the template's booleans are strings", () => {
    expect(rootDeviceMapping({ rootVolumeGiB: 200 }, "/dev/sda1")).toEqual({
      deviceName: "/dev/sda1",
      ebs: { volumeSize: 200, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" },
    });
  });
});

describe("launchTemplateOverrides", () => {
  it("one override per allowed type, preferred first; without types, the one type", () => {
    expect(launchTemplateOverrides({ type: "g5.xlarge", types: ["g5.xlarge", "g6.xlarge"] })).toEqual([
      { instanceType: "g5.xlarge" },
      { instanceType: "g6.xlarge" },
    ]);
    expect(launchTemplateOverrides({ type: "g5.xlarge" })).toEqual([{ instanceType: "g5.xlarge" }]);
  });
});

describe("groupTags", () => {
  const cost = { [TAG.experiment]: "dev", [TAG.owner]: "alice", Name: "from-defaults" };
  const node = { Name: "dev-training-node-0", [TAG.role]: "training-node" };
  const tags = groupTags(cost, node, { perDay: 0.5, restartMinutes: 12 });

  it("cost and node tags reach each launched instance; the node's own win over the defaults", () => {
    const propagated = tags.filter((t) => t.propagateAtLaunch === true);
    expect(Object.fromEntries(propagated.map((t) => [t.key, t.value]))).toEqual({
      [TAG.experiment]: "dev",
      [TAG.owner]: "alice",
      Name: "dev-training-node-0",
      [TAG.role]: "training-node",
    });
  });

  it("the interruption assumptions stay on the group, for the cost estimate", () => {
    expect(tags.filter((t) => !t.propagateAtLaunch)).toEqual([
      { key: TAG.interruptionsPerDay, value: "0.5", propagateAtLaunch: false },
      { key: TAG.restartMinutes, value: "12", propagateAtLaunch: false },
    ]);
  });

  it("each key once", () => {
    const keys = tags.map((t) => t.key);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe("nodeGroupTags", () => {
  it("adds the node index, which wins over a stale one", () => {
    expect(nodeGroupTags({ Name: "n", [TAG.nodeIndex]: "9" }, 3)).toEqual({ Name: "n", [TAG.nodeIndex]: "3" });
  });
});
