import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkConstraints } from "../../core/aws-constraints";
import type { InstanceConfig } from "../../core/config";
import { detachBehavior, marketOptions, shutdownBehavior } from "../../components/training-instance";
import { acceptedConfig, stackConfig } from "./stack-config";

const parseInstance = (instance: Record<string, unknown>): InstanceConfig | undefined => acceptedConfig({ "trainctl:instance": instance })?.instance;
const instance = (raw: Record<string, unknown>) => stackConfig({ "trainctl:instance": raw }).instance;

describe("marketOptions", () => {
  it("on-demand: none", () => {
    expect(marketOptions(instance({ market: "on-demand" }))).toBeUndefined();
  });

  it("one-time spot terminates on interruption; the max price is sent as a string", () => {
    expect(marketOptions(instance({ market: "spot", maxPrice: 0.75 }))).toEqual({
      marketType: "spot",
      spotOptions: { maxPrice: "0.75", spotInstanceType: "one-time", instanceInterruptionBehavior: "terminate" },
    });
  });

  it("persistent spot stops on interruption; without a max price none is sent (the on-demand price caps it)", () => {
    expect(marketOptions(instance({ market: "spot", spot: { persistent: true } }))).toEqual({
      marketType: "spot",
      spotOptions: { maxPrice: undefined, spotInstanceType: "persistent", instanceInterruptionBehavior: "stop" },
    });
  });
});

describe("shutdownBehavior and detachBehavior", () => {
  it("one-time spot can only terminate, whatever autostop says", () => {
    const oneTime = instance({ market: "spot", autostop: { action: "none" } });
    expect(shutdownBehavior(oneTime)).toBe("terminate");
    expect(detachBehavior(oneTime)).toEqual({ skipDestroy: true });
  });

  it("otherwise the autostop action decides: terminate terminates, stop and none stop", () => {
    expect(shutdownBehavior(instance({ autostop: { action: "terminate" } }))).toBe("terminate");
    expect(shutdownBehavior(instance({ autostop: { action: "stop" } }))).toBe("stop");
    expect(shutdownBehavior(instance({ autostop: { action: "none" } }))).toBe("stop");
    expect(shutdownBehavior(instance({ market: "spot", spot: { persistent: true }, autostop: { action: "stop" } }))).toBe("stop");
  });

  it("a node that only ever stops is stopped before the detach; one that may terminate is only dropped from state", () => {
    expect(detachBehavior(instance({ autostop: { action: "stop" } }))).toEqual({ stopInstanceBeforeDetaching: true });
    expect(detachBehavior(instance({ autostop: { action: "terminate" } }))).toEqual({ skipDestroy: true });
  });

  it("every instance the config accepts launches with options the AWS guard accepts (property)", () => {
    const raw = fc.record(
      {
        market: fc.constantFrom("spot", "on-demand"),
        maxPrice: fc.constantFrom(0.3, 1.5),
        spot: fc.record({ persistent: fc.boolean() }),
        autostop: fc.record({ action: fc.constantFrom("stop", "terminate", "none") }, { requiredKeys: [] }),
        maxHours: fc.constantFrom(0.5, 72),
      },
      { requiredKeys: [] },
    );
    let accepted = 0;
    fc.assert(
      fc.property(raw, (input) => {
        const config = parseInstance(input);
        if (!config) return;
        accepted++;
        const inputs = { instanceType: config.type, instanceMarketOptions: marketOptions(config), instanceInitiatedShutdownBehavior: shutdownBehavior(config) };
        expect(
          checkConstraints([{ type: "aws:ec2/instance:Instance", name: "dev-training-node-0", inputs, tags: {} }], { region: "us-east-1" }),
          JSON.stringify(input),
        ).toEqual([]);
        // Stopping before the detach is only asked of a node that can be stopped.
        if ("stopInstanceBeforeDetaching" in detachBehavior(config)) expect(JSON.stringify(inputs.instanceMarketOptions ?? {})).not.toContain('"one-time"');
      }),
      { numRuns: 200 },
    );
    expect(accepted).toBeGreaterThan(20);
  });
});
