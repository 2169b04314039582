import { describe, expect, it } from "vitest";
import { AWS_REGIONS, isKnownRegion } from "../../core/regions";

describe("isKnownRegion", () => {
  it("knows every listed region, commercial and partitioned", () => {
    for (const region of ["us-east-1", "eu-central-2", "cn-north-1", "us-gov-west-1", "us-isob-east-1"]) expect(isKnownRegion(region), region).toBe(true);
    expect(AWS_REGIONS.every(isKnownRegion)).toBe(true);
  });

  it("refuses zones, typos, case slips and the empty string", () => {
    for (const region of ["us-east-1a", "us-east-7", "US-EAST-1", "useast1", "", " us-east-1"]) expect(isKnownRegion(region), region).toBe(false);
  });

  it("lists each region once", () => {
    expect(new Set(AWS_REGIONS).size).toBe(AWS_REGIONS.length);
  });
});
