import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { EC2Client } from "@aws-sdk/client-ec2";
import { PricingClient } from "@aws-sdk/client-pricing";
import { afterEach, describe, expect, it } from "vitest";
import { TERM_FILTERS, getProducts, hourlyFrom, livePriceBook, parsePriceList, spotQuote } from "../../scripts/pricing/live";
import { type AwsServerHandle, loopbackClientConfig, startAwsServer } from "../helpers/aws-server";
import { trainctlAsync } from "../helpers/cli";

/** A PriceList document shaped like the real ones: product attributes, OnDemand and Reserved terms. */
function ec2Product(sku: string, instanceType: string, usd: string, extra: Record<string, string> = {}): string {
  return JSON.stringify({
    product: {
      productFamily: "Compute Instance",
      sku,
      attributes: {
        instanceType,
        regionCode: "us-east-1",
        operatingSystem: "Linux",
        tenancy: "Shared",
        preInstalledSw: "NA",
        capacitystatus: "Used",
        ...extra,
      },
    },
    serviceCode: "AmazonEC2",
    terms: {
      OnDemand: {
        [`${sku}.JRTCKXETXF`]: {
          priceDimensions: {
            [`${sku}.JRTCKXETXF.6YS6EN2CT7`]: {
              unit: "Hrs",
              beginRange: "0",
              endRange: "Inf",
              pricePerUnit: { USD: usd },
              description: `$${usd} per On Demand Linux ${instanceType} Instance Hour`,
            },
          },
          sku,
          effectiveDate: "2025-05-01T00:00:00Z",
        },
      },
      Reserved: {
        [`${sku}.4NA7Y494T4`]: {
          priceDimensions: { [`${sku}.4NA7Y494T4.6YS6EN2CT7`]: { unit: "Hrs", beginRange: "0", endRange: "Inf", pricePerUnit: { USD: "0.6360" } } },
        },
      },
    },
    version: "20250501000000",
  });
}

const gp3Tiered = JSON.stringify({
  product: { sku: "EBS1", attributes: { volumeApiName: "gp3", regionCode: "us-east-1" } },
  terms: {
    OnDemand: {
      "EBS1.T": {
        priceDimensions: {
          a: { unit: "GB-Mo", beginRange: "0", endRange: "51200", pricePerUnit: { USD: "0.0800000000" } },
          b: { unit: "GB-Mo", beginRange: "51200", endRange: "Inf", pricePerUnit: { USD: "0.0760000000" } },
        },
      },
    },
  },
});

describe("parsePriceList", () => {
  it("reads every on-demand dimension with its unit and tier, and ignores reserved terms", () => {
    const points = parsePriceList([ec2Product("SKU1", "g5.xlarge", "1.0060000000"), gp3Tiered]);
    expect(points.map((p) => [p.sku, p.unit, p.usd, p.beginRange, p.endRange])).toEqual([
      ["SKU1", "Hrs", 1.006, 0, Infinity],
      ["EBS1", "GB-Mo", 0.08, 0, 51200],
      ["EBS1", "GB-Mo", 0.076, 51200, Infinity],
    ]);
  });

  it("picks the hourly price of the right type and skips irrelevant SKUs ($0 reservations, other types)", () => {
    const points = parsePriceList([
      ec2Product("R", "g5.xlarge", "0.0000000000", { capacitystatus: "UnusedCapacityReservation" }),
      ec2Product("O", "g5.2xlarge", "1.2120000000"),
      ec2Product("G", "g5.xlarge", "1.0060000000"),
    ]);
    expect(hourlyFrom(points, "g5.xlarge")).toBe(1.006);
    expect(hourlyFrom(points, "p5.48xlarge")).toBeUndefined();
  });
});

describe("the real PricingClient against a loopback Pricing endpoint", () => {
  let server: AwsServerHandle | undefined;
  afterEach(async () => server?.stop());

  it("pages through NextToken, survives a throttle through the SDK's retry, and caches on disk", async () => {
    let throttled = false;
    server = await startAwsServer((request) => {
      const body = JSON.parse(request.body);
      if (!throttled) {
        throttled = true;
        return { status: 400, body: { __type: "ThrottlingException", message: "Rate exceeded" } };
      }
      expect(request.target).toBe("AWSPriceListService.GetProducts");
      expect(body.Filters).toEqual(TERM_FILTERS("g5.xlarge", "us-east-1"));
      return body.NextToken === "page-2"
        ? { body: { FormatVersion: "aws_v1", PriceList: [ec2Product("G", "g5.xlarge", "1.0060000000")] } }
        : {
            body: {
              FormatVersion: "aws_v1",
              PriceList: [ec2Product("R", "g5.xlarge", "0.0000000000", { capacitystatus: "UnusedCapacityReservation" })],
              NextToken: "page-2",
            },
          };
    });
    const client = new PricingClient({ ...loopbackClientConfig(server.endpoint), maxAttempts: 3 });
    const cache = { dir: mkdtempSync(path.join(tmpdir(), "trainctl-prices-")), ttlMs: 3_600_000 };
    const documents = await getProducts(client, "AmazonEC2", TERM_FILTERS("g5.xlarge", "us-east-1"), cache);
    expect(documents).toHaveLength(2);
    expect(hourlyFrom(parsePriceList(documents), "g5.xlarge")).toBe(1.006);
    expect(server.requests.map((r) => r.operation)).toEqual(["GetProducts", "GetProducts", "GetProducts"]);
    // A second run while the cache is fresh makes no request at all.
    expect(await getProducts(client, "AmazonEC2", TERM_FILTERS("g5.xlarge", "us-east-1"), cache)).toEqual(documents);
    expect(server.requests).toHaveLength(3);
    // An expired cache asks again.
    await getProducts(client, "AmazonEC2", TERM_FILTERS("g5.xlarge", "us-east-1"), { ...cache, ttlMs: 0 });
    expect(server.requests.length).toBeGreaterThan(3);
  });
});

const spotXml = (items: [string, string, string][], next = "") => `<?xml version="1.0" encoding="UTF-8"?>
<DescribeSpotPriceHistoryResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
  <spotPriceHistorySet>${items
    .map(
      ([zone, price, at]) =>
        `<item><instanceType>g5.xlarge</instanceType><productDescription>Linux/UNIX</productDescription><spotPrice>${price}</spotPrice><timestamp>${at}</timestamp><availabilityZone>${zone}</availabilityZone></item>`,
    )
    .join("")}</spotPriceHistorySet>
  <nextToken>${next}</nextToken>
</DescribeSpotPriceHistoryResponse>`;

describe("spot prices through the real EC2Client", () => {
  let server: AwsServerHandle | undefined;
  afterEach(async () => server?.stop());

  it("latest per zone and the 24-hour median, across pages", async () => {
    server = await startAwsServer((request) => {
      expect(request.form?.Action).toBe("DescribeSpotPriceHistory");
      expect(request.form?.["InstanceType.1"]).toBe("g5.xlarge");
      return request.form?.NextToken
        ? {
            body: spotXml([
              ["us-east-1a", "0.40", "2026-11-28T09:00:00.000Z"],
              ["us-east-1b", "0.50", "2026-11-28T08:00:00.000Z"],
            ]),
          }
        : {
            body: spotXml(
              [
                ["us-east-1a", "0.36", "2026-11-28T10:00:00.000Z"],
                ["us-east-1a", "0.30", "2026-11-28T01:00:00.000Z"],
              ],
              "more",
            ),
          };
    });
    const quote = await spotQuote(new EC2Client(loopbackClientConfig(server.endpoint)), "g5.xlarge", new Date("2026-11-28T11:00:00Z"));
    expect(quote.latestByZone).toEqual({ "us-east-1a": 0.36, "us-east-1b": 0.5 });
    // us-east-1a saw 0.30, 0.36 and 0.40: the median is 0.36.
    expect(quote.median24hByZone["us-east-1a"]).toBe(0.36);
  });
});

describe("livePriceBook", () => {
  it("falls back to the catalog, once, when the API cannot be reached", async () => {
    const reasons: string[] = [];
    const unreachable = { ...loopbackClientConfig("http://127.0.0.1:9"), maxAttempts: 1 };
    const book = await livePriceBook({
      region: "us-east-1",
      instanceTypes: ["g5.xlarge", "p5.48xlarge"],
      pricing: new PricingClient(unreachable),
      ec2: new EC2Client(unreachable),
      cache: { dir: mkdtempSync(path.join(tmpdir(), "p-")), ttlMs: 0 },
      onFallback: (r) => reasons.push(r),
    });
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/live prices unavailable .*; using the catalog of \d{4}-\d{2}-\d{2}/);
    expect(book.onDemandHourly("g5.xlarge")).toBe(1.006);
  });
});

describe("trainctl cost --live-prices", () => {
  let server: AwsServerHandle | undefined;
  afterEach(async () => server?.stop());

  it("prices spot from live history; a second run makes zero Pricing API calls while the cache is fresh", async () => {
    const liveGp3 = JSON.stringify({
      product: { sku: "GP3", attributes: { volumeApiName: "gp3", productFamily: "Storage" } },
      terms: { OnDemand: { "GP3.T": { priceDimensions: { d: { unit: "GB-Mo", beginRange: "0", endRange: "Inf", pricePerUnit: { USD: "0.0880000000" } } } } } },
    });
    server = await startAwsServer((request) => {
      if (!request.target) return { body: spotXml([["us-east-1a", "0.3621", new Date().toISOString()]]) };
      const filters = Object.fromEntries((JSON.parse(request.body).Filters as { Field: string; Value: string }[]).map((f) => [f.Field, f.Value]));
      if (filters.instanceType === "g5.xlarge") return { body: { FormatVersion: "aws_v1", PriceList: [ec2Product("G", "g5.xlarge", "1.0060000000")] } };
      if (filters.productFamily === "Storage" && filters.volumeApiName === "gp3") return { body: { FormatVersion: "aws_v1", PriceList: [liveGp3] } };
      return { body: { FormatVersion: "aws_v1", PriceList: [] } };
    });
    const env = {
      AWS_ACCESS_KEY_ID: "AKIDTEST",
      AWS_SECRET_ACCESS_KEY: "secret",
      AWS_REGION: "us-east-1",
      AWS_ENDPOINT_URL_PRICING: server.endpoint,
      AWS_ENDPOINT_URL_EC2: server.endpoint,
      TRAINCTL_CACHE_DIR: mkdtempSync(path.join(tmpdir(), "trainctl-cache-")),
    };
    const state = path.join(__dirname, "..", "fixtures", "dev.state.json");
    const first = await trainctlAsync(["cost", "--state", state, "--live-prices", "--json"], { env });
    expect(first.code, first.stderr).toBe(0);
    const report = JSON.parse(first.stdout);
    expect(report.priceSource).toMatch(/^live/);
    const node = report.items.find((i: { type: string }) => i.type === "aws:ec2/instance:Instance");
    // The expected (live) price and the cap side by side; the root volume at the live gp3 price too.
    expect(node.detail).toContain("spot expected $0.3621/h in us-east-1a, cap $0.75/h (the max price), on-demand $1.006/h + 100 GiB root $0.0121/h");
    expect(node.spot).toEqual({ cap: 0.75, expected: 0.3621, onDemand: 1.006 });
    // The data volume's storage at the live $0.088/GB-month: 500 × 0.088 + 15 + 15 (IOPS and throughput from the catalog).
    expect(report.items.find((i: { type: string }) => i.type === "aws:ebs/volume:Volume").monthly).toBeCloseTo(74, 6);
    const pricingCalls = () => server!.requests.filter((r) => r.target).length;
    const firstRun = pricingCalls();
    expect(firstRun).toBe(8); // seven storage queries and one instance type
    expect((await trainctlAsync(["cost", "--state", state, "--live-prices", "--json"], { env })).code).toBe(0);
    expect(pricingCalls()).toBe(firstRun);
  });
});
