import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkConstraints } from "../../core/aws-constraints";
import type { DataVolumeConfig } from "../../core/config";
import { ADOPTED_VOLUME_KEEPS, duplicateVolumeProblem, fsrTimeouts, volumeArgs } from "../../components/data-volume";
import { acceptedConfig } from "./stack-config";

const SNAPSHOT = "snap-0123456789abcdef0";
const parseVolume = (volume: Record<string, unknown>): DataVolumeConfig | undefined =>
  acceptedConfig({ "trainctl:dataVolume": volume, "trainctl:network": { availabilityZone: "us-east-1a" } })?.dataVolume;

describe("duplicateVolumeProblem", () => {
  it("no volume found, or only volumes the stack manages: no problem", () => {
    expect(duplicateVolumeProblem("p-dev-data-0", [], [])).toBeUndefined();
    expect(duplicateVolumeProblem("p-dev-data-0", ["vol-1", "vol-2"], ["vol-2", "vol-1"])).toBeUndefined();
  });

  it("a foreign volume of the same name names every foreign id and how to adopt the first", () => {
    const problem = duplicateVolumeProblem("p-dev-data-0", ["vol-1", "vol-2", "vol-3"], ["vol-2"]);
    expect(problem).toBe(
      "a data volume named p-dev-data-0 already exists outside this stack (vol-1, vol-3); adopt it with trainctl:dataVolume.adopt: vol-1 (and trainctl:dataVolume.availabilityZone), or delete it",
    );
  });
});

describe("fsrTimeouts", () => {
  it("about 60 minutes per TiB plus 15 minutes of margin, whole minutes rounded up", () => {
    expect(fsrTimeouts(1_024)).toEqual({ create: "75m", delete: "75m" });
    expect(fsrTimeouts(4_096)).toEqual({ create: "255m", delete: "255m" });
    expect(fsrTimeouts(1)).toEqual({ create: "16m", delete: "16m" });
  });

  it("an unknown size (restored without sizeGiB) counts as 1 TiB", () => {
    expect(fsrTimeouts(undefined)).toEqual(fsrTimeouts(1_024));
  });

  it("never below the provider's 10-minute default, and growing with size (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65_536 }), fc.integer({ min: 0, max: 10_000 }), (size, more) => {
        const minutes = (s: number) => Number(String(fsrTimeouts(s).create).slice(0, -1));
        expect(minutes(size)).toBeGreaterThan(10);
        expect(minutes(size + more)).toBeGreaterThanOrEqual(minutes(size));
      }),
    );
  });
});

describe("volumeArgs", () => {
  const volume = parseVolume({ snapshotId: SNAPSHOT, sizeGiB: 500, iops: 6_000, throughputMiBs: 500, warm: "rate", initRateMiBs: 200 })!;

  it("always encrypted with a final snapshot; the init rate only with warm: rate", () => {
    expect(volumeArgs(volume, "us-east-1a", {})).toEqual({
      availabilityZone: "us-east-1a",
      snapshotId: SNAPSHOT,
      size: 500,
      type: "gp3",
      iops: 6_000,
      throughput: 500,
      encrypted: true,
      finalSnapshot: true,
      volumeInitializationRate: 200,
      tags: {},
    });
    expect(volumeArgs({ ...volume, warm: "fio", initRateMiBs: undefined }, "us-east-1a", {}).volumeInitializationRate).toBeUndefined();
  });

  it("an adopted volume keeps its own zone; a created one follows the subnet's", () => {
    const adopted = parseVolume({ adopt: "vol-0123456789abcdef0", availabilityZone: "us-east-1a" })!;
    expect(volumeArgs(adopted, "us-east-1b", {}).availabilityZone).toBe("us-east-1a");
    expect(volumeArgs({ ...volume, availabilityZone: "us-east-1c" }, "us-east-1b", {}).availabilityZone).toBe("us-east-1b");
    expect(ADOPTED_VOLUME_KEEPS).toContain("availabilityZone");
  });

  it("io2 sends no throughput (EBS refuses it)", () => {
    const io2 = parseVolume({ sizeGiB: 100, type: "io2", iops: 10_000 })!;
    expect(volumeArgs(io2, "us-east-1a", {}).throughput).toBeUndefined();
  });

  it("every data volume the config accepts gives args the AWS guard accepts (property)", () => {
    // Mostly near or inside the limits, sometimes just past them: the boundaries are where the two rule sets could disagree.
    const near = (lo: number, hi: number) =>
      fc.oneof({ arbitrary: fc.integer({ min: lo, max: Math.max(lo, hi) }), weight: 4 }, { arbitrary: fc.constantFrom(lo, hi, lo - 1, hi + 1), weight: 1 });
    const mostlyIf = (allowed: boolean, value: fc.Arbitrary<number>) =>
      fc.oneof({ arbitrary: value, weight: allowed ? 4 : 1 }, { arbitrary: fc.constant(undefined), weight: allowed ? 1 : 6 });
    const raw = fc.constantFrom("gp3", "io2").chain((type) =>
      near(type === "gp3" ? 1 : 4, 65_536).chain((sizeGiB) =>
        (type === "gp3" ? near(3_000, Math.min(80_000, sizeGiB * 500)) : near(100, Math.min(256_000, sizeGiB * 1_000))).chain((iops) =>
          fc.constantFrom("none", "rate", "fio", "fsr").chain((warm) =>
            fc.record({
              type: fc.constant(type),
              sizeGiB: fc.constant(sizeGiB),
              iops: fc.constant(iops),
              snapshotId: fc.constant(SNAPSHOT),
              warm: fc.constant(warm),
              // Keys the rules allow only with gp3, or only with warm: rate; mostly given where allowed, sometimes where not.
              throughputMiBs: mostlyIf(type === "gp3", near(125, Math.min(2_000, Math.floor(iops / 4)))),
              initRateMiBs: mostlyIf(warm === "rate", near(100, 300)),
            }),
          ),
        ),
      ),
    );
    let accepted = 0;
    fc.assert(
      fc.property(raw, (input) => {
        const config = parseVolume(input);
        if (!config) return;
        accepted++;
        const violations = checkConstraints(
          [{ type: "aws:ebs/volume:Volume", name: "dev-data-0-volume", inputs: { ...volumeArgs(config, "us-east-1a", {}) }, tags: {} }],
          { region: "us-east-1" },
        );
        expect(violations, JSON.stringify(input)).toEqual([]);
      }),
      { numRuns: 400 },
    );
    expect(accepted).toBeGreaterThan(60);
  });
});
