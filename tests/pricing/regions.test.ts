import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { AWS_REGIONS } from "../../core/regions";
import { INSTANCE_PRICES } from "../../core/catalog";
import { estimateCost, knownRegion } from "../../scripts/pricing/estimate";
import { UsageError } from "../../core/errors";
import { readStackExport } from "../../scripts/state/readers";
import { expectUsageError, trainctl } from "../helpers/cli";

const STATE = path.join(__dirname, "..", "fixtures", "dev.state.json");

/** The dev fixture's state with every `us-east-1` replaced by `region`. */
function stateIn(region: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "region-state-")), `${region}.state.json`);
  writeFileSync(file, readFileSync(STATE, "utf8").replaceAll("us-east-1", region));
  return file;
}

describe("known regions", () => {
  it("are exactly the SDK endpoint rules' regions", async () => {
    // @ts-expect-error: an ESM data module of the SDK without its own declaration path here.
    const { partitionsInfo } = await import("../../node_modules/@aws-sdk/core/dist-es/submodules/client/util-endpoints/lib/aws/partitions.js");
    const sdk = (partitionsInfo.partitions as { regions: Record<string, unknown> }[])
      .flatMap((p) => Object.keys(p.regions))
      .filter((r) => !r.endsWith("-global"));
    expect([...AWS_REGIONS].sort()).toEqual(sdk.sort());
  });

  it("an unknown region is a usage error naming aws:region and where to find valid ones", () => {
    expect(() => knownRegion("xx-nowhere-1")).toThrow(UsageError);
    expect(() => knownRegion("xx-nowhere-1")).toThrow(/aws:region.*"xx-nowhere-1".*describe-regions/);
    expect(knownRegion("eu-west-1")).toBe("eu-west-1");
  });
});

describe("a region without catalog prices", () => {
  const model = readStackExport(STATE);

  it("offline: every priced line is marked as a us-east-1 price, with one warning", () => {
    const report = estimateCost(model, { region: "eu-west-1" });
    const priced = report.items.filter((i) => i.hourly !== null && i.monthly !== 0);
    expect(priced.length).toBeGreaterThan(1);
    for (const item of priced) {
      expect(item.priceRegion).toBe("us-east-1");
      expect(item.detail).toMatch(/\(us-east-1 price\)$/);
    }
    const warnings = report.warnings.filter((w) => w.includes("us-east-1 price"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^eu-west-1 has no catalog prices: \d+ line\(s\).*--live-prices/);
  });

  it("in us-east-1 nothing is marked", () => {
    const report = estimateCost(model, { region: "us-east-1" });
    expect(report.items.some((i) => i.priceRegion || i.detail.includes("us-east-1 price"))).toBe(false);
    expect(report.warnings.some((w) => w.includes("us-east-1 price"))).toBe(false);
  });

  it("live prices for the region are not marked; a type the API missed keeps its catalog price, marked", () => {
    const live = {
      source: "live",
      region: "eu-west-1",
      storage: {},
      onDemandHourly: (t: string) => (t === "g5.xlarge" ? 1.123 : INSTANCE_PRICES[t]?.usd),
      onDemandRegion: (t: string) => (t === "g5.xlarge" ? "eu-west-1" : "us-east-1"),
    };
    const instances = (report: ReturnType<typeof estimateCost>) => report.items.filter((i) => i.type === "aws:ec2/instance:Instance");
    const answered = estimateCost(model, { region: "eu-west-1", prices: live });
    expect(instances(answered).length).toBeGreaterThan(0);
    for (const i of instances(answered)) expect(i.priceRegion).toBeUndefined();
    const missed = estimateCost(model, { region: "eu-west-1", prices: { ...live, onDemandRegion: () => "us-east-1" } });
    for (const i of instances(missed)) expect(i.detail).toMatch(/us-east-1 price/);
  });
});

describe("trainctl cost in other regions", () => {
  it("a state in an unknown region is exit 2 naming aws:region", () => {
    expectUsageError(trainctl(["cost", "--state", stateIn("xx-nowhere-1")]), /^error: aws:region: unknown AWS region "xx-nowhere-1"/);
  });

  it("a state in eu-west-1 is priced from us-east-1, each line marked, one warning", () => {
    const result = trainctl(["cost", "--state", stateIn("eu-west-1"), "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { items: { detail: string; priceRegion?: string }[] };
    expect(report.items.filter((i) => i.priceRegion === "us-east-1").length).toBeGreaterThan(1);
    expect(result.stderr.match(/no catalog prices/g)).toHaveLength(1);
  });

  it("--max-monthly fails (exit 3) when a line is unpriced, however high the threshold", () => {
    const file = stateIn("us-east-1");
    writeFileSync(file, readFileSync(file, "utf8").replaceAll('"g5.xlarge"', '"x9.mega"'));
    const result = trainctl(["cost", "--state", file, "--max-monthly", "1000000"]);
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toMatch(/error: --max-monthly: \d+ resource\(s\) unpriced/);
  });
});
