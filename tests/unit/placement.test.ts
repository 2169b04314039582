import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pickSubnet, pinnedZone, subnetZoneProblem } from "../../components/placement";

const subnetId = fc.stringMatching(/^subnet-[0-9a-f]{8}$/);

describe("pickSubnet", () => {
  it("is the same subnet whatever order the invoke returns them in, and one of them (property)", () => {
    fc.assert(
      fc.property(
        fc.array(subnetId, { minLength: 1, maxLength: 6 }).chain((ids) => fc.tuple(fc.constant(ids), fc.shuffledSubarray(ids, { minLength: ids.length }))),
        ([ids, shuffled]) => {
          expect(ids).toContain(pickSubnet(ids, "us-east-1a", "vpc-1"));
          expect(pickSubnet(shuffled, "us-east-1a", "vpc-1")).toBe(pickSubnet(ids, "us-east-1a", "vpc-1"));
        },
      ),
    );
  });

  it("does not reorder the caller's list", () => {
    const ids = ["subnet-b", "subnet-a"];
    expect(pickSubnet(ids, undefined, "vpc-1")).toBe("subnet-a");
    expect(ids).toEqual(["subnet-b", "subnet-a"]);
  });

  it("no subnet: an error naming trainctl:network, the VPC and the zone", () => {
    expect(() => pickSubnet([], "us-east-1a", "the default VPC")).toThrow(
      "trainctl:network: no default subnet in the default VPC for zone us-east-1a; set trainctl:network.subnetId",
    );
    expect(() => pickSubnet([], undefined, "vpc-1")).toThrow("trainctl:network: no default subnet in vpc-1; set trainctl:network.subnetId");
  });
});

describe("pinnedZone", () => {
  const network = (availabilityZone?: string) => ({ availabilityZone });
  const volume = (availabilityZone?: string) => ({ type: "gp3" as const, mountPoint: "/mnt/data", protect: true, warm: "none" as const, availabilityZone });

  it("the data volume's zone wins over the network's (an adopted volume cannot move)", () => {
    expect(pinnedZone({ dataVolume: volume("us-east-1c"), network: network("us-east-1a") })).toEqual({
      zone: "us-east-1c",
      key: "trainctl:dataVolume.availabilityZone",
    });
  });

  it("else the network's zone; else nothing is pinned", () => {
    expect(pinnedZone({ dataVolume: volume(), network: network("us-east-1a") })).toEqual({ zone: "us-east-1a", key: "trainctl:network.availabilityZone" });
    expect(pinnedZone({ network: network() })).toBeUndefined();
    expect(pinnedZone({ dataVolume: volume(""), network: network("") })).toBeUndefined();
  });
});

describe("subnetZoneProblem", () => {
  it("no pin, or the subnet in the pinned zone: no problem", () => {
    expect(subnetZoneProblem("subnet-1", "us-east-1a", undefined)).toBeUndefined();
    expect(subnetZoneProblem("subnet-1", "us-east-1a", { zone: "us-east-1a", key: "trainctl:network.availabilityZone" })).toBeUndefined();
  });

  it("a subnet elsewhere names the subnet, both zones and the key that pins", () => {
    expect(subnetZoneProblem("subnet-1", "us-east-1b", { zone: "us-east-1a", key: "trainctl:dataVolume.availabilityZone" })).toBe(
      "trainctl:network.subnetId: subnet-1 is in us-east-1b, but trainctl:dataVolume.availabilityZone is us-east-1a; volume and nodes must share a zone (pick a subnet in us-east-1a)",
    );
  });
});
