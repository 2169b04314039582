import { describe, expect, it } from "vitest";
import { INSTANCE_PRICES, isKnownInstanceType, knownInstanceTypes } from "../../core/catalog";

describe("isKnownInstanceType", () => {
  it("knows exactly the catalog's types", () => {
    for (const type of knownInstanceTypes()) expect(isKnownInstanceType(type), type).toBe(true);
    expect(knownInstanceTypes()).toEqual(Object.keys(INSTANCE_PRICES));
  });

  it("refuses unknown sizes, case slips and object keys that are not types", () => {
    for (const type of ["g5.3xlarge", "G5.xlarge", "g5", "", "toString", "constructor", "__proto__", "hasOwnProperty"])
      expect(isKnownInstanceType(type), type).toBe(false);
  });

  it("every known type has a positive, finite price with a source", () => {
    for (const type of knownInstanceTypes()) {
      expect(INSTANCE_PRICES[type].usd, type).toBeGreaterThan(0);
      expect(Number.isFinite(INSTANCE_PRICES[type].usd), type).toBe(true);
      expect(INSTANCE_PRICES[type].source, type).not.toBe("");
    }
  });
});
