import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";
import type * as Ec2 from "@aws-sdk/client-ec2";
import type { EC2Client } from "@aws-sdk/client-ec2";
import type * as Pricing from "@aws-sdk/client-pricing";
import type { Filter, PricingClient } from "@aws-sdk/client-pricing";
// The SDK clients load when prices are fetched, not when a command that might fetch them starts.
const ec2Sdk = () => require("@aws-sdk/client-ec2") as typeof Ec2;
const pricingSdk = () => require("@aws-sdk/client-pricing") as typeof Pricing;
import { CATALOG_DATE, CATALOG_REGION, INSTANCE_PRICES } from "../../core/catalog";
import type { PriceBook, StoragePrices } from "../../core/pricing";

/** One price dimension of a PriceList product. */
export interface PricePoint {
  sku: string;
  attributes: Record<string, string>;
  usd: number;
  unit: string;
  beginRange: number;
  endRange: number;
}

/**
 * Parses `GetProducts` PriceList documents (JSON strings): every on-demand price dimension with its
 * unit and tier range. Products without on-demand terms, and non-USD or zero dimensions of tiers that
 * do not apply, are kept as they are; filtering is the caller's choice.
 */
export function parsePriceList(documents: readonly string[]): PricePoint[] {
  const points: PricePoint[] = [];
  for (const text of documents) {
    const doc = JSON.parse(text) as {
      product?: { sku?: string; attributes?: Record<string, string> };
      terms?: {
        OnDemand?: Record<
          string,
          { priceDimensions?: Record<string, { unit?: string; beginRange?: string; endRange?: string; pricePerUnit?: { USD?: string } }> }
        >;
      };
    };
    for (const term of Object.values(doc.terms?.OnDemand ?? {})) {
      for (const dimension of Object.values(term.priceDimensions ?? {})) {
        const usd = Number(dimension.pricePerUnit?.USD);
        if (!Number.isFinite(usd)) continue;
        points.push({
          sku: doc.product?.sku ?? "",
          attributes: doc.product?.attributes ?? {},
          usd,
          unit: dimension.unit ?? "",
          beginRange: Number(dimension.beginRange ?? 0),
          endRange: dimension.endRange === "Inf" || dimension.endRange === undefined ? Infinity : Number(dimension.endRange),
        });
      }
    }
  }
  return points;
}

/** The hourly on-demand price of a Linux instance among price points (the `Hrs` dimension of the first tier). */
export function hourlyFrom(points: readonly PricePoint[], instanceType: string): number | undefined {
  const match = points.find((p) => p.unit === "Hrs" && p.beginRange === 0 && p.attributes.instanceType === instanceType && p.usd > 0);
  return match?.usd;
}

export const TERM_FILTERS = (instanceType: string, regionCode: string): Filter[] =>
  [
    ["instanceType", instanceType],
    ["regionCode", regionCode],
    ["operatingSystem", "Linux"],
    ["tenancy", "Shared"],
    ["preInstalledSw", "NA"],
    ["capacitystatus", "Used"],
  ].map(([Field, Value]) => ({ Type: "TERM_MATCH", Field, Value }));

const match = (pairs: Record<string, string>): Filter[] => Object.entries(pairs).map(([Field, Value]) => ({ Type: "TERM_MATCH", Field, Value }));

/** The storage prices trainctl uses, each with its documented filters and how to read its unit. */
export const STORAGE_QUERIES: {
  key: keyof StoragePrices;
  serviceCode: string;
  filters: (region: string) => Filter[];
  pick: (p: PricePoint) => number | undefined;
}[] = [
  {
    key: "gp3GBMonth",
    serviceCode: "AmazonEC2",
    filters: (r) => match({ regionCode: r, productFamily: "Storage", volumeApiName: "gp3" }),
    pick: (p) => (p.unit === "GB-Mo" ? p.usd : undefined),
  },
  {
    key: "gp3IopsMonth",
    serviceCode: "AmazonEC2",
    filters: (r) => match({ regionCode: r, productFamily: "System Operation", volumeApiName: "gp3", group: "EBS IOPS" }),
    pick: (p) => (/IOPS-Mo/i.test(p.unit) ? p.usd : undefined),
  },
  {
    key: "gp3ThroughputMiBsMonth",
    serviceCode: "AmazonEC2",
    filters: (r) => match({ regionCode: r, productFamily: "Provisioned Throughput", volumeApiName: "gp3" }),
    pick: (p) => (/^GiBps/i.test(p.unit) ? p.usd / 1024 : /^(MiBps|MBps)/i.test(p.unit) ? p.usd : undefined),
  },
  {
    key: "io2GBMonth",
    serviceCode: "AmazonEC2",
    filters: (r) => match({ regionCode: r, productFamily: "Storage", volumeApiName: "io2" }),
    pick: (p) => (p.unit === "GB-Mo" ? p.usd : undefined),
  },
  {
    key: "snapshotGBMonth",
    serviceCode: "AmazonEC2",
    filters: (r) => match({ regionCode: r, productFamily: "Storage Snapshot" }),
    pick: (p) => (p.unit === "GB-Mo" && /EBS:SnapshotUsage$/.test(p.attributes.usagetype ?? "") ? p.usd : undefined),
  },
  {
    key: "fsrDsuHour",
    serviceCode: "AmazonEC2",
    filters: (r) => match({ regionCode: r, productFamily: "Fast Snapshot Restore" }),
    pick: (p) => (/Hrs|Hours/i.test(p.unit) ? p.usd : undefined),
  },
  {
    key: "s3StandardGBMonth",
    serviceCode: "AmazonS3",
    filters: (r) => match({ regionCode: r, storageClass: "General Purpose", volumeType: "Standard" }),
    pick: (p) => (p.unit === "GB-Mo" && p.beginRange === 0 ? p.usd : undefined),
  },
];

/** Storage prices from the Pricing API; a price the API does not answer stays on the catalog. */
export async function storagePrices(client: PricingClient, region: string, cache: PriceCache): Promise<StoragePrices> {
  const prices: StoragePrices = {};
  for (const query of STORAGE_QUERIES) {
    const points = parsePriceList(await getProducts(client, query.serviceCode, query.filters(region), cache));
    const value = points.map(query.pick).find((v): v is number => v !== undefined && v > 0);
    if (value !== undefined) prices[query.key] = value;
  }
  return prices;
}

export interface PriceCache {
  dir: string;
  ttlMs: number;
}

export function defaultCache(env: NodeJS.ProcessEnv = process.env): PriceCache {
  const dir = env.TRAINCTL_CACHE_DIR ? path.join(env.TRAINCTL_CACHE_DIR, "prices") : path.join(homedir(), ".cache", "trainctl", "prices");
  return { dir, ttlMs: Number(env.TRAINCTL_PRICE_TTL_HOURS ?? 24) * 3_600_000 };
}

/** PriceList documents for a service and filters, from the on-disk cache while fresh, else from the API (all pages). */
export async function getProducts(client: PricingClient, serviceCode: string, filters: Filter[], cache: PriceCache, now = Date.now()): Promise<string[]> {
  const key = createHash("sha256").update(JSON.stringify({ serviceCode, filters })).digest("hex");
  const file = path.join(cache.dir, `${key}.json`);
  if (existsSync(file) && now - statSync(file).mtimeMs < cache.ttlMs) return JSON.parse(readFileSync(file, "utf8")) as string[];
  const documents: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await client.send(
      new (pricingSdk().GetProductsCommand)({ ServiceCode: serviceCode, Filters: filters, FormatVersion: "aws_v1", MaxResults: 100, NextToken }),
    );
    // Typed as string[] or the SDK's lazy JSON string, a type whose module does not resolve here (it reads as any).
    const priceList = page.PriceList as unknown[] | undefined;
    documents.push(...(priceList ?? []).map(String));
    NextToken = page.NextToken;
  } while (NextToken);
  mkdirSync(cache.dir, { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(documents));
  renameSync(`${file}.tmp`, file);
  return documents;
}

export interface SpotQuote {
  /** Latest price per availability zone. */
  latestByZone: Record<string, number>;
  /** Median over the last 24 hours, per zone. */
  median24hByZone: Record<string, number>;
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Latest spot price per zone and the 24-hour median, from DescribeSpotPriceHistory (all pages). */
export async function spotQuote(ec2: EC2Client, instanceType: string, now = new Date()): Promise<SpotQuote> {
  const byZone = new Map<string, { at: number; usd: number }[]>();
  let NextToken: string | undefined;
  do {
    const page = await ec2.send(
      new (ec2Sdk().DescribeSpotPriceHistoryCommand)({
        InstanceTypes: [instanceType as Ec2._InstanceType],
        ProductDescriptions: ["Linux/UNIX"],
        StartTime: new Date(now.getTime() - 24 * 3_600_000),
        EndTime: now,
        NextToken,
      }),
    );
    for (const entry of page.SpotPriceHistory ?? []) {
      if (!entry.AvailabilityZone || entry.SpotPrice === undefined) continue;
      const list = byZone.get(entry.AvailabilityZone) ?? [];
      list.push({ at: entry.Timestamp?.getTime() ?? 0, usd: Number(entry.SpotPrice) });
      byZone.set(entry.AvailabilityZone, list);
    }
    NextToken = page.NextToken || undefined;
  } while (NextToken);
  const latestByZone: Record<string, number> = {};
  const median24hByZone: Record<string, number> = {};
  for (const [zone, entries] of byZone) {
    latestByZone[zone] = entries.reduce((a, b) => (b.at > a.at ? b : a)).usd;
    median24hByZone[zone] = median(entries.map((e) => e.usd));
  }
  return { latestByZone, median24hByZone };
}

export interface LivePriceOptions {
  region: string;
  instanceTypes: string[];
  pricing?: PricingClient;
  ec2?: EC2Client;
  cache?: PriceCache;
  /** Told once when live prices cannot be had and the catalog stands in. */
  onFallback?: (reason: string) => void;
}

/**
 * A price book from the AWS Pricing API (on-demand) and EC2 spot history. Types the API does not
 * answer for keep their catalog price; with no network or credentials the whole book is the catalog.
 */
export async function livePriceBook(options: LivePriceOptions): Promise<PriceBook> {
  const env = process.env;
  const pricing = options.pricing ?? new (pricingSdk().PricingClient)({ region: "us-east-1", endpoint: env.AWS_ENDPOINT_URL_PRICING, maxAttempts: 5 });
  const ec2 = options.ec2 ?? new (ec2Sdk().EC2Client)({ region: options.region, endpoint: env.AWS_ENDPOINT_URL_EC2, maxAttempts: 5 });
  const cache = options.cache ?? defaultCache();
  const onDemand = new Map<string, number>();
  const spot = new Map<string, SpotQuote>();
  let storage: StoragePrices = {};
  try {
    storage = await storagePrices(pricing, options.region, cache);
    for (const type of options.instanceTypes) {
      const hourly = hourlyFrom(parsePriceList(await getProducts(pricing, "AmazonEC2", TERM_FILTERS(type, options.region), cache)), type);
      if (hourly !== undefined) onDemand.set(type, hourly);
      spot.set(type, await spotQuote(ec2, type));
    }
  } catch (error) {
    options.onFallback?.(
      `live prices unavailable (${(error as Error).name}: ${(error as Error).message.split("\n")[0]}); using the catalog of ${CATALOG_DATE}`,
    );
    return { source: `catalog ${CATALOG_DATE} (live prices unavailable)`, region: CATALOG_REGION, onDemandHourly: (type) => INSTANCE_PRICES[type]?.usd };
  }
  return {
    source: `live (AWS Pricing API and spot history, ${options.region}; cached ${Math.round(cache.ttlMs / 3_600_000)} h in ${cache.dir})`,
    region: options.region,
    storage,
    onDemandHourly: (type) => onDemand.get(type) ?? INSTANCE_PRICES[type]?.usd,
    onDemandRegion: (type) => (onDemand.has(type) ? options.region : CATALOG_REGION),
    spotHourly: (type, zone) => {
      const quote = spot.get(type);
      if (!quote) return undefined;
      if (zone && quote.latestByZone[zone] !== undefined) return quote.latestByZone[zone];
      const prices = Object.values(quote.latestByZone);
      return prices.length ? Math.min(...prices) : undefined;
    },
  };
}
