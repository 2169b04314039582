import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chooseZone } from "../../core/zones";

const zone = fc.constantFrom("a", "b", "c", "d", "e", "f").map((letter) => `us-east-1${letter}`);
const offered = fc.array(zone, { minLength: 1, maxLength: 8 });

describe("chooseZone", () => {
  it("always picks an offered zone, the same whatever the order or repeats of the offer (property)", () => {
    fc.assert(
      fc.property(offered, (zones) => {
        const choice = chooseZone("g5.xlarge", "us-east-1", zones);
        expect(zones).toContain(choice.zone);
        expect(chooseZone("g5.xlarge", "us-east-1", [...zones].reverse()).zone).toBe(choice.zone);
        expect(chooseZone("g5.xlarge", "us-east-1", [...zones, ...zones]).zone).toBe(choice.zone);
        expect(choice.zone).toBe([...zones].sort()[0]);
      }),
    );
  });

  it("a deployed experiment never moves, even to a zone no longer offered (property)", () => {
    fc.assert(
      fc.property(fc.array(zone), zone, (zones, deployed) => {
        const choice = chooseZone("g5.xlarge", "us-east-1", zones, deployed);
        expect(choice.zone).toBe(deployed);
        expect(choice.reason).toMatch(/deployed/);
      }),
    );
  });

  it("the reason lists the zones considered and the type", () => {
    expect(chooseZone("p4d.24xlarge", "us-east-1", ["us-east-1c", "us-east-1b"]).reason).toBe(
      "the first of us-east-1b, us-east-1c (the zones offering p4d.24xlarge)",
    );
  });

  it("an empty deployed zone counts as not deployed", () => {
    expect(chooseZone("g5.xlarge", "us-east-1", ["us-east-1b"], "").zone).toBe("us-east-1b");
  });
});
