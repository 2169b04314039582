import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HOURS_PER_MONTH, INSTANCE_PRICES, PUBLIC_IPV4_PRICE } from "../../core/catalog";
import {
  type CostItem,
  type PricedModel,
  type PricedResource,
  estimateCost,
  groupContext,
  groupTagMap,
  markBorrowedPrices,
  pricedHours,
  publicIpv4,
  runningCost,
  s3StorageMonthly,
  tiered,
  volumeMonthly,
} from "../../core/pricing";

const INSTANCE = "aws:ec2/instance:Instance";
const resource = (type: string, inputs: Record<string, unknown>, extra: Partial<PricedResource> = {}): PricedResource => ({
  urn: `urn:${type}::${extra.name ?? "r"}`,
  type,
  name: "r",
  inputs,
  outputs: {},
  tags: {},
  ...extra,
});
const model = (resources: PricedResource[]): PricedModel => ({ source: "state", resources, deleted: [] });
const item = (over: Partial<CostItem>): CostItem => ({
  urn: "u",
  type: INSTANCE,
  name: "n",
  lines: ["compute"],
  hourly: 1,
  monthly: 730,
  detail: "d",
  ...over,
});

describe("tiered", () => {
  const tiers = [
    { upTo: 10, usd: 3 },
    { upTo: 20, usd: 2 },
    { upTo: Infinity, usd: 1 },
  ];

  it("prices each slice at its tier's rate", () => {
    expect(tiered(0, tiers)).toBe(0);
    expect(tiered(10, tiers)).toBe(30);
    expect(tiered(15, tiers)).toBe(40);
    expect(tiered(25, tiers)).toBe(55);
  });

  it("is monotone, continuous at the bounds, and never more than the first rate throughout (property)", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.double({ min: 0, max: 1e6, noNaN: true }), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(tiered(lo, tiers)).toBeLessThanOrEqual(tiered(hi, tiers));
        expect(tiered(hi, tiers)).toBeLessThanOrEqual(hi * 3 + 1e-6);
      }),
    );
    expect(tiered(10 + 1e-9, tiers) - tiered(10, tiers)).toBeLessThan(1e-6);
  });
});

describe("storage prices: monotone in size, IOPS and throughput, never NaN (property)", () => {
  const volume = fc.record({
    type: fc.constantFrom("gp3", "io2", "gp2", "io1", "st1", "sc1", "standard", undefined),
    sizeGiB: fc.integer({ min: 0, max: 65_536 }),
    iops: fc.option(fc.integer({ min: 0, max: 256_000 }), { nil: undefined }),
    throughputMiBs: fc.option(fc.integer({ min: 0, max: 2_000 }), { nil: undefined }),
  });

  it("volumeMonthly", () => {
    fc.assert(
      fc.property(
        volume,
        fc.integer({ min: 0, max: 1_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 500 }),
        (v, moreSize, moreIops, moreThroughput) => {
          const base = volumeMonthly(v).monthly;
          expect(Number.isFinite(base)).toBe(true);
          expect(base).toBeGreaterThanOrEqual(0);
          expect(volumeMonthly({ ...v, sizeGiB: v.sizeGiB + moreSize }).monthly).toBeGreaterThanOrEqual(base);
          expect(volumeMonthly({ ...v, iops: (v.iops ?? 0) + moreIops }).monthly).toBeGreaterThanOrEqual(volumeMonthly({ ...v, iops: v.iops ?? 0 }).monthly);
          expect(volumeMonthly({ ...v, throughputMiBs: (v.throughputMiBs ?? 0) + moreThroughput }).monthly).toBeGreaterThanOrEqual(
            volumeMonthly({ ...v, throughputMiBs: v.throughputMiBs ?? 0 }).monthly,
          );
        },
      ),
    );
  });

  it("s3StorageMonthly, also with a live price", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 2e6, noNaN: true }), fc.double({ min: 0, max: 1e5, noNaN: true }), (gib, more) => {
        expect(s3StorageMonthly(gib + more)).toBeGreaterThanOrEqual(s3StorageMonthly(gib));
        expect(s3StorageMonthly(gib + more, { s3StandardGBMonth: 0.025 })).toBeGreaterThanOrEqual(s3StorageMonthly(gib, { s3StandardGBMonth: 0.025 }));
      }),
    );
  });
});

describe("publicIpv4", () => {
  it("the resource's associatePublicIpAddress decides first, from inputs, else from the state's outputs", () => {
    expect(publicIpv4(resource(INSTANCE, { associatePublicIpAddress: false }, { outputs: { publicIp: "54.1.2.3" } })).charged).toBe(false);
    expect(publicIpv4(resource(INSTANCE, {}, { outputs: { associatePublicIpAddress: true, publicIp: "" } })).charged).toBe(true);
  });

  it("an unknown is charged: default subnets assign an address", () => {
    expect(publicIpv4(resource(INSTANCE, {}))).toEqual({ charged: true, why: "the subnet decides; default subnets assign one" });
    expect(publicIpv4(resource(INSTANCE, { associatePublicIpAddress: "false" })).charged).toBe(true);
  });
});

describe("pricedHours", () => {
  const node = (maxHours?: string, type = INSTANCE) => resource(type, {}, { tags: maxHours ? { "trainctl:max-hours": maxHours } : {} });

  it("an explicit figure wins, even 0", () => {
    expect(pricedHours(model([node("48")]), 0)).toBe(0);
  });

  it("else the largest max-hours tag among instances only; unreadable tags are ignored", () => {
    expect(pricedHours(model([node("12"), node("48"), node("not-a-number")]))).toBe(48);
    expect(pricedHours(model([node("1000", "aws:ebs/volume:Volume")]))).toBe(HOURS_PER_MONTH);
    expect(pricedHours(model([node("not-a-number")]))).toBe(HOURS_PER_MONTH);
    expect(pricedHours(model([node("1.5")]))).toBe(1.5);
  });
});

describe("markBorrowedPrices", () => {
  it("marks priced lines whose price is another region's, and says so once", () => {
    const out = markBorrowedPrices([item({ urn: "a" }), item({ urn: "b" })], "eu-west-1", () => "us-east-1");
    expect(out.items.map((i) => i.priceRegion)).toEqual(["us-east-1", "us-east-1"]);
    expect(out.items[0].detail).toBe("d (us-east-1 price)");
    expect(out.warning).toBe('eu-west-1 has no catalog prices: 2 line(s) use us-east-1 prices, marked "us-east-1 price"; --live-prices prices eu-west-1');
  });

  it("leaves alone lines priced in the stack's region, unpriced lines and free lines", () => {
    const items = [item({ urn: "same" }), item({ urn: "unpriced", hourly: null, monthly: null }), item({ urn: "free", hourly: 0, monthly: 0 })];
    const out = markBorrowedPrices(items, "eu-west-1", (i) => (i.urn === "same" ? "eu-west-1" : "us-east-1"));
    expect(out.items).toEqual(items);
    expect(out.warning).toBeUndefined();
  });

  it("names every source region once", () => {
    const out = markBorrowedPrices([item({ urn: "a" }), item({ urn: "b" }), item({ urn: "c" })], "ap-south-2", (i) =>
      i.urn === "c" ? "us-west-2" : "us-east-1",
    );
    expect(out.warning).toMatch(/3 line\(s\) use us-east-1, us-west-2 prices/);
  });
});

describe("estimateCost over hours (property)", () => {
  it("the total grows with the hours, is hourly × hours, and is never NaN", () => {
    const types = Object.keys(INSTANCE_PRICES);
    fc.assert(
      fc.property(
        fc.constantFrom(...types),
        fc.integer({ min: 1, max: 4 }),
        fc.double({ min: 0, max: 10_000, noNaN: true }),
        fc.double({ min: 0, max: 1_000, noNaN: true }),
        (type, count, hours, more) => {
          const m = model(
            Array.from({ length: count }, (_, i) =>
              resource(INSTANCE, { instanceType: type, rootBlockDevice: { volumeSize: 100 } }, { urn: `n${i}`, name: `n${i}` }),
            ),
          );
          const a = estimateCost(m, { hours });
          const b = estimateCost(m, { hours: hours + more });
          for (const value of [a.hourly, a.monthly, a.total, b.total]) expect(Number.isNaN(value)).toBe(false);
          expect(b.total).toBeGreaterThanOrEqual(a.total);
          expect(a.total).toBeCloseTo((a.monthly / HOURS_PER_MONTH) * hours, 4);
          expect(a.hourly).toBeGreaterThan(INSTANCE_PRICES[type].usd * count - 1e-6);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("runningCost", () => {
  const now = new Date("2026-12-02T12:00:00Z");
  const node = (name: string, created?: string) =>
    resource(INSTANCE, { instanceType: "t3.micro", associatePublicIpAddress: false }, { urn: `urn:${name}`, name, created });

  it("each instance's hourly price × hours since Pulumi created it; the burn rate is the whole model's", () => {
    const m = model([node("a", "2026-12-02T10:00:00Z"), node("b", "2026-12-02T11:30:00Z")]);
    const cost = runningCost(m, now);
    expect(cost.instances.map((i) => i.hours)).toEqual([2, 0.5]);
    expect(cost.instances[0].soFar).toBeCloseTo(2 * 0.0104, 9);
    expect(cost.soFar).toBeCloseTo(2.5 * 0.0104, 9);
    expect(cost.burnRate).toBeCloseTo(2 * 0.0104, 9);
  });

  it("no creation time: hours and cost so far unknown (null), not 0; a clock behind the state counts 0 hours", () => {
    const cost = runningCost(model([node("a"), node("b", "2026-12-02T13:00:00Z")]), now);
    expect(cost.instances[0]).toMatchObject({ hours: null, soFar: null });
    expect(cost.instances[1]).toMatchObject({ hours: 0, soFar: 0 });
    expect(cost.soFar).toBe(0);
  });

  it("an unpriced type has a known age but no cost so far", () => {
    const odd = resource(INSTANCE, { instanceType: "x9.mega" }, { urn: "urn:x", name: "x", created: "2026-12-02T11:00:00Z" });
    expect(runningCost(model([odd]), now).instances[0]).toMatchObject({ hourly: null, hours: 1, soFar: null });
  });

  it("public IPv4 is part of a node's price", () => {
    const withIp = resource(INSTANCE, { instanceType: "t3.micro" }, { urn: "urn:ip", name: "ip", created: "2026-12-02T11:00:00Z" });
    expect(runningCost(model([withIp]), now).instances[0].hourly).toBeCloseTo(0.0104 + PUBLIC_IPV4_PRICE.usd, 9);
  });
});

describe("recovery groups", () => {
  const GROUP = "aws:autoscaling/group:Group";
  const TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";
  const group = (name: string, spec: Record<string, string>) =>
    resource(GROUP, { name, mixedInstancesPolicy: { launchTemplate: { launchTemplateSpecification: spec } } }, { urn: `urn:g:${name}`, name });
  const template = (name: string, id?: string) => resource(TEMPLATE, { name }, { urn: `urn:t:${name}`, name, outputs: id ? { id } : {} });

  it("groupTagMap: the group's tag list as a map; malformed entries and a missing list give nothing", () => {
    const tagged = resource(GROUP, { tags: [{ key: "a", value: "1", propagateAtLaunch: true }, { key: "b", value: 2 }, null, { value: "x" }] });
    expect(groupTagMap(tagged)).toEqual({ a: "1" });
    expect(groupTagMap(resource(GROUP, {}))).toEqual({});
    expect(groupTagMap(resource(GROUP, { tags: { a: "1" } }))).toEqual({});
  });

  it("groupContext: how many groups the model holds, and each group's own template (by name)", () => {
    const resources = [group("n0", { launchTemplateName: "t0" }), group("n1", { launchTemplateName: "t1" }), template("t0"), template("t1")];
    const context = groupContext(resources[1], resources)!;
    expect(context.groups).toBe(2);
    expect(context.launchTemplate?.name).toBe("t1");
  });

  it("groupContext: none for what is not a group; no template when the model lacks it", () => {
    expect(groupContext(template("t0"), [template("t0")])).toBeUndefined();
    expect(groupContext(group("n0", { launchTemplateName: "gone" }), [group("n0", { launchTemplateName: "gone" })])).toEqual({
      groups: 1,
      launchTemplate: undefined,
    });
  });
});
