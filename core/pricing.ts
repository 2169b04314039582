import { CATALOG_DATE, CATALOG_REGION, CLOUDWATCH_PRICES, EBS_PRICES, HOURS_PER_MONTH, INSTANCE_PRICES, PUBLIC_IPV4_PRICE, S3_PRICES } from "./catalog";
import { NODE_METRICS } from "./node-metrics";
import { TAG } from "./tags";
import { asString } from "./text";

/**
 * The one pricing function of an experiment: `trainctl plan`/`cost` price the resource model's records
 * with it, and the Pulumi program prices the records it is about to declare with it for the
 * `estimatedHourlyUsd` stack output (components/hourly-estimate.ts). SDK-free and Pulumi-free.
 */

/** The parts of a resource record that pricing reads; scripts/state/model.ts's ResourceRecord has them. */
export interface PricedResource {
  urn: string;
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
  /** Effective tags. */
  tags: Record<string, string>;
  /** When Pulumi created the resource (state only). */
  created?: string;
}

/** The parts of a stack model that pricing reads; scripts/state/model.ts's StackModel has them. */
export interface PricedModel {
  source: string;
  resources: PricedResource[];
  /** Preview only: the resources it deletes. */
  deleted: PricedResource[];
}

/** Storage prices that override the catalog's (first-tier) figures, from live prices. */
export interface StoragePrices {
  gp3GBMonth?: number;
  gp3IopsMonth?: number;
  gp3ThroughputMiBsMonth?: number;
  io2GBMonth?: number;
  snapshotGBMonth?: number;
  fsrDsuHour?: number;
  s3StandardGBMonth?: number;
}

/** Where prices come from: the embedded catalog by default, live prices when asked for. */
export interface PriceBook {
  source: string;
  /** The region these prices are for (default: the catalog's, us-east-1). */
  region?: string;
  storage?: StoragePrices;
  onDemandHourly(instanceType: string): number | undefined;
  /** Where a type's on-demand price comes from when not `region` (a live book's catalog stand-in). */
  onDemandRegion?(instanceType: string): string;
  /** Current spot price for the type (in a zone when known); undefined without live prices. */
  spotHourly?(instanceType: string, availabilityZone?: string): number | undefined;
}

export const catalogPrices: PriceBook = {
  source: `catalog ${CATALOG_DATE} (us-east-1 list prices)`,
  region: CATALOG_REGION,
  onDemandHourly: (type) => INSTANCE_PRICES[type]?.usd,
};

/** The kinds of charge an estimate can include, in the order reports list them; anything else is not priced. */
export const COST_LINES = [
  "compute",
  "interruption overhead",
  "root volume",
  "public IPv4",
  "custom metrics",
  "EBS volume",
  "fast snapshot restore",
  "dashboard",
  "S3 storage (expected size)",
] as const;
export type CostLine = (typeof COST_LINES)[number];

/** A spot node's two prices side by side: what it pays at most, and what it is expected to pay. */
export interface SpotPrices {
  /** USD/h it pays at most: the max price, or the on-demand price without one. */
  cap: number;
  /** USD/h it is expected to pay now (live spot price), null when unknown. */
  expected: number | null;
  onDemand: number;
}

export interface CostItem {
  urn: string;
  type: string;
  name: string;
  /** The kinds of charge this item includes. */
  lines: CostLine[];
  spot?: SpotPrices;
  /** USD per hour; null when the resource could not be priced. */
  hourly: number | null;
  monthly: number | null;
  /** One-time charges such as volume initialization. */
  oneTime?: number;
  /** Monthly cost this resource leaves behind after a destroy (a final snapshot). */
  afterDeleteMonthly?: number;
  detail: string;
  unpriced?: true;
  /** Set when the price is another region's (the catalog's us-east-1) standing in for the stack's. */
  priceRegion?: string;
}

export interface CostReport {
  currency: "USD";
  hours: number;
  hourly: number;
  monthly: number;
  total: number;
  oneTime: number;
  priceSource: string;
  unpriced: number;
  /** Every kind of charge the items include, in COST_LINES order; anything else is not priced. */
  covers: CostLine[];
  items: CostItem[];
  /** Preview only: what the deletes save. */
  savings?: { hourly: number; monthly: number };
  warnings: string[];
}

export interface EstimateOptions {
  hours?: number;
  prices?: PriceBook;
  /** The stack's region; lines priced from another region's prices are marked and warned about. */
  region?: string;
}

const round = (value: number) => Math.round(value * 1e6) / 1e6;
const num = (value: unknown): number | undefined => {
  const n = typeof value === "string" ? Number(value) : value;
  return typeof n === "number" && Number.isFinite(n) ? n : undefined;
};
const prop = (r: PricedResource, key: string): unknown => r.inputs[key] ?? r.outputs[key];
const usd = (value: number) => `$${Number(value.toFixed(6))}`;

/** Prices `amount` through consecutive tiers, each priced up to its upper bound. */
export function tiered(amount: number, tiers: { upTo: number; usd: number }[]): number {
  let lower = 0;
  let total = 0;
  for (const tier of tiers) {
    total += Math.max(0, Math.min(amount, tier.upTo) - lower) * tier.usd;
    lower = tier.upTo;
  }
  return total;
}

/** Monthly USD of one EBS volume's storage, IOPS and throughput. */
export function volumeMonthly(
  volume: { type?: string; sizeGiB: number; iops?: number; throughputMiBs?: number },
  storage: StoragePrices = {},
): { monthly: number; detail: string } {
  const type = volume.type ?? "gp2";
  const size = volume.sizeGiB;
  if (type === "gp3") {
    const c = EBS_PRICES.gp3;
    const p = {
      ...c,
      storage: { usd: storage.gp3GBMonth ?? c.storage.usd },
      iops: { usd: storage.gp3IopsMonth ?? c.iops.usd },
      throughput: { usd: storage.gp3ThroughputMiBsMonth ?? c.throughput.usd },
    };
    const extraIops = Math.max(0, (volume.iops ?? p.freeIops) - p.freeIops);
    const extraThroughput = Math.max(0, (volume.throughputMiBs ?? p.freeThroughputMiBs) - p.freeThroughputMiBs);
    const monthly = size * p.storage.usd + extraIops * p.iops.usd + extraThroughput * p.throughput.usd;
    const parts = [`${size} GiB gp3 × $${p.storage.usd}`];
    if (extraIops) parts.push(`${extraIops} IOPS above ${p.freeIops} × $${p.iops.usd}`);
    if (extraThroughput) parts.push(`${extraThroughput} MiB/s above ${p.freeThroughputMiBs} × $${p.throughput.usd}`);
    return { monthly, detail: `${parts.join(" + ")} per month` };
  }
  if (type === "io2") {
    const p = { ...EBS_PRICES.io2, storage: { usd: storage.io2GBMonth ?? EBS_PRICES.io2.storage.usd } };
    const iopsMonthly = tiered(
      volume.iops ?? 0,
      p.iopsTiers.map((t) => ({ upTo: t.upTo, usd: t.price.usd })),
    );
    return { monthly: size * p.storage.usd + iopsMonthly, detail: `${size} GiB io2 × $${p.storage.usd} + ${volume.iops ?? 0} IOPS (tiered) per month` };
  }
  const perGB = (EBS_PRICES as Record<string, { storage?: { usd: number } }>)[type]?.storage?.usd ?? EBS_PRICES.gp2.storage.usd;
  return { monthly: size * perGB, detail: `${size} GiB ${type} × $${perGB} per month` };
}

/** Monthly USD of S3 Standard storage for `gib`, through the tiers. */
export function s3StorageMonthly(gib: number, storage: StoragePrices = {}): number {
  if (storage.s3StandardGBMonth !== undefined) return gib * storage.s3StandardGBMonth;
  return tiered(
    gib,
    S3_PRICES.storageTiers.map((t) => ({ upTo: t.upToGB, usd: t.price.usd })),
  );
}

/** The node's role tag: training nodes run the bootstrap, which publishes the node metrics. */
const TRAINING_NODE = { key: TAG.role, value: "training-node" } as const;

/** Custom metrics one training node publishes: each NODE_METRICS name with the node's own dimensions. */
export const METRICS_PER_NODE = Object.keys(NODE_METRICS).length;

/**
 * Whether a node gets a public IPv4 address: `associatePublicIpAddress` when set (inputs, or the
 * state's outputs), else a `publicIp` the state records, else the subnet's default, which for the
 * default VPC's subnets (the default placement) is to assign one; so an unknown counts as charged.
 */
export function publicIpv4(r: PricedResource): { charged: boolean; why: string } {
  const associate = prop(r, "associatePublicIpAddress");
  if (typeof associate === "boolean") return { charged: associate, why: `associatePublicIpAddress: ${associate}` };
  const ip = r.outputs.publicIp;
  if (typeof ip === "string") return { charged: ip !== "", why: ip ? "has a public IP" : "has no public IP" };
  return { charged: true, why: "the subnet decides; default subnets assign one" };
}

interface Part {
  line: CostLine;
  hourly: number;
  detail: string;
}

/** What a node costs besides its compute: root volume, public IPv4 address, custom metrics. */
function nodeParts(r: PricedResource, storage: StoragePrices): Part[] {
  const parts: Part[] = [];
  const root = prop(r, "rootBlockDevice") as { volumeSize?: number; volumeType?: string; iops?: number; throughput?: number } | undefined;
  const rootSize = num(root?.volumeSize) ?? 0;
  if (rootSize) {
    const hourly =
      volumeMonthly({ type: root?.volumeType ?? "gp3", sizeGiB: rootSize, iops: num(root?.iops), throughputMiBs: num(root?.throughput) }, storage).monthly /
      HOURS_PER_MONTH;
    parts.push({ line: "root volume", hourly, detail: `${rootSize} GiB root $${hourly.toFixed(4)}/h` });
  }
  const ip = publicIpv4(r);
  if (ip.charged) parts.push({ line: "public IPv4", hourly: PUBLIC_IPV4_PRICE.usd, detail: `public IPv4 ${usd(PUBLIC_IPV4_PRICE.usd)}/h (${ip.why})` });
  if (r.tags[TRAINING_NODE.key] === TRAINING_NODE.value) {
    const { customMetric, freeCustomMetrics } = CLOUDWATCH_PRICES;
    const hourly = (METRICS_PER_NODE * customMetric.usd) / HOURS_PER_MONTH;
    parts.push({
      line: "custom metrics",
      hourly,
      detail: `${METRICS_PER_NODE} custom metrics × ${usd(customMetric.usd)}/month $${hourly.toFixed(4)}/h (counted in full: the account's first ${freeCustomMetrics} are free)`,
    });
  }
  return parts;
}

/** Spot: the expected (live) price when known, never above the cap; else the cap, an upper bound. */
export function spotPrices(onDemand: number, maxPrice: number | undefined, expected: number | undefined): SpotPrices {
  const cap = Math.min(onDemand, maxPrice ?? onDemand);
  return { cap, expected: expected === undefined ? null : Math.min(expected, cap), onDemand };
}

function priceInstance(r: PricedResource, prices: PriceBook): Omit<CostItem, "urn" | "type" | "name"> {
  const instanceType = asString(prop(r, "instanceType")) ?? "";
  const market = prop(r, "instanceMarketOptions") as { marketType?: string; spotOptions?: { maxPrice?: string } } | undefined;
  const onDemand = prices.onDemandHourly(instanceType);
  const parts = nodeParts(r, prices.storage ?? {});
  const partsHourly = parts.reduce((total, p) => total + p.hourly, 0);
  const partsDetail = parts.map((p) => ` + ${p.detail}`).join("");
  const partLines = parts.map((p) => p.line);
  if (onDemand === undefined) {
    return { hourly: null, monthly: null, unpriced: true, lines: partLines, detail: `${instanceType || "unknown type"}: no price known${partsDetail}` };
  }
  if (market?.marketType === "spot") {
    const zone = asString(prop(r, "availabilityZone")) || undefined;
    const spot = spotPrices(onDemand, num(market.spotOptions?.maxPrice), prices.spotHourly?.(instanceType, zone));
    const capBasis = spot.cap < onDemand ? "the max price" : "the on-demand price";
    const basis =
      spot.expected !== null
        ? `spot expected ${usd(spot.expected)}/h${zone ? ` in ${zone}` : ""}, cap ${usd(spot.cap)}/h (${capBasis})`
        : `spot cap ${usd(spot.cap)}/h (${capBasis}); expected price unknown (--live-prices)`;
    const hourly = (spot.expected ?? spot.cap) + partsHourly;
    return {
      hourly,
      monthly: hourly * HOURS_PER_MONTH,
      spot,
      lines: ["compute", ...partLines],
      detail: `${instanceType} ${basis}, on-demand $${onDemand}/h${partsDetail}`,
    };
  }
  const hourly = onDemand + partsHourly;
  return { hourly, monthly: hourly * HOURS_PER_MONTH, lines: ["compute", ...partLines], detail: `${instanceType} on-demand $${onDemand}/h${partsDetail}` };
}

function priceVolume(r: PricedResource, storage: StoragePrices): Omit<CostItem, "urn" | "type" | "name"> {
  const size = num(prop(r, "size"));
  if (size === undefined)
    return { hourly: null, monthly: null, unpriced: true, lines: ["EBS volume"], detail: "size unknown (restored from a snapshot without sizeGiB)" };
  const { monthly, detail } = volumeMonthly(
    { type: asString(prop(r, "type")) ?? "gp2", sizeGiB: size, iops: num(prop(r, "iops")), throughputMiBs: num(prop(r, "throughput")) },
    storage,
  );
  const rate = num(prop(r, "volumeInitializationRate"));
  const oneTime = rate ? size * EBS_PRICES.volumeInitialization.usd : undefined;
  const afterDeleteMonthly = prop(r, "finalSnapshot") === true ? size * (storage.snapshotGBMonth ?? EBS_PRICES.snapshot.storage.usd) : undefined;
  const extras = [
    oneTime ? `initialization at ${rate} MiB/s: $${oneTime.toFixed(2)} once` : "",
    afterDeleteMonthly ? `final snapshot up to $${afterDeleteMonthly.toFixed(2)}/month after delete` : "",
  ].filter(Boolean);
  return { hourly: monthly / HOURS_PER_MONTH, monthly, oneTime, afterDeleteMonthly, lines: ["EBS volume"], detail: [detail, ...extras].join("; ") };
}

function priceBucket(r: PricedResource, storage: StoragePrices): Omit<CostItem, "urn" | "type" | "name"> {
  const gib = num(r.tags[TAG.expectedGiB]);
  if (gib === undefined) return { hourly: 0, monthly: 0, lines: [], detail: "usage-based: S3 storage and requests are not known from state" };
  const monthly = s3StorageMonthly(gib, storage);
  return {
    hourly: monthly / HOURS_PER_MONTH,
    monthly,
    lines: ["S3 storage (expected size)"],
    detail: `${gib} GiB expected in S3 Standard ($${storage.s3StandardGBMonth ?? S3_PRICES.storageTiers[0].price.usd}/GB-month)`,
  };
}

/** A recovery group's tags (`[{key, value, propagateAtLaunch}]`) as a map. */
export function groupTagMap(r: PricedResource): Record<string, string> {
  const list = prop(r, "tags");
  if (!Array.isArray(list)) return {};
  const isTag = (t: unknown): t is { key: string; value: string } =>
    typeof t === "object" && t !== null && typeof (t as { key?: unknown }).key === "string" && typeof (t as { value?: unknown }).value === "string";
  return Object.fromEntries((list as unknown[]).filter(isTag).map((t) => [t.key, t.value]));
}

/**
 * The share of a run's time lost to interruptions: each of `nodes` nodes is interrupted
 * `perDay` times a day and each interruption restarts the whole run, costing `restartMinutes`.
 */
export function interruptionOverhead(nodes: number, perDay: number, restartMinutes: number): number {
  return Math.min(1, (nodes * perDay * restartMinutes) / (24 * 60));
}

/** What a recovery group's pricing needs from the rest of the model. */
export interface GroupContext {
  /** Recovery groups in the model: an interruption of any restarts the whole run. */
  groups: number;
  /** The group's launch template (root volume), when the model holds it. */
  launchTemplate?: PricedResource;
}

const GROUP = "aws:autoscaling/group:Group";
const LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";

/**
 * A recovery group launches one spot node of its preferred type (the first override): priced as a bare
 * spot node of that type with the group's max price and the template's root volume, plus the
 * interruption overhead from the group's assumption tags.
 */
function priceGroup(r: PricedResource, prices: PriceBook, context: GroupContext): Omit<CostItem, "urn" | "type" | "name"> {
  const policy = prop(r, "mixedInstancesPolicy") as { instancesDistribution?: { spotMaxPrice?: string } } | undefined;
  const tags = groupTagMap(r);
  const root = (
    prop(context.launchTemplate ?? r, "blockDeviceMappings") as
      { ebs?: { volumeSize?: number; volumeType?: string; iops?: number; throughput?: number } }[] | undefined
  )?.[0]?.ebs;
  const node: PricedResource = {
    ...r,
    inputs: {
      instanceType: preferredGroupType(r),
      instanceMarketOptions: { marketType: "spot", spotOptions: { maxPrice: policy?.instancesDistribution?.spotMaxPrice } },
      rootBlockDevice: root,
      // The template sets no public address: the subnet decides, as for a bare node.
      associatePublicIpAddress: undefined,
    },
    outputs: {},
    tags: { ...r.tags, ...tags },
  };
  const priced = priceInstance(node, prices);
  const share = interruptionOverhead(context.groups, num(tags[TAG.interruptionsPerDay]) ?? 0, num(tags[TAG.restartMinutes]) ?? 0);
  if (priced.hourly === null || share === 0) return priced;
  const overhead = priced.hourly * share;
  const hourly = priced.hourly + overhead;
  const detail = `${priced.detail} + interruption overhead ${usd(round(overhead))}/h (${context.groups} node(s) × ${tags[TAG.interruptionsPerDay]}/day × ${tags[TAG.restartMinutes]} min lost per restart = ${(share * 100).toFixed(2)}%)`;
  return {
    ...priced,
    hourly,
    monthly: hourly * HOURS_PER_MONTH,
    lines: ["compute", "interruption overhead", ...priced.lines.filter((l) => l !== "compute")],
    detail,
  };
}

/** A group's preferred instance type: its first override. */
function preferredGroupType(r: PricedResource): string | undefined {
  return (prop(r, "mixedInstancesPolicy") as { launchTemplate?: { overrides?: { instanceType?: string }[] } } | undefined)?.launchTemplate?.overrides?.[0]
    ?.instanceType;
}

/** The launch template a group launches from: by id, else by name. */
function launchTemplateOf(group: PricedResource, resources: readonly PricedResource[]): PricedResource | undefined {
  const spec = (
    prop(group, "mixedInstancesPolicy") as
      { launchTemplate?: { launchTemplateSpecification?: { launchTemplateId?: string; launchTemplateName?: string } } } | undefined
  )?.launchTemplate?.launchTemplateSpecification;
  return resources.find(
    (t) =>
      t.type === LAUNCH_TEMPLATE &&
      ((spec?.launchTemplateId !== undefined && t.outputs.id === spec.launchTemplateId) ||
        (spec?.launchTemplateName !== undefined && prop(t, "name") === spec.launchTemplateName) ||
        prop(t, "name") === prop(group, "name")),
  );
}

/** The pricing context of each resource of a model: groups need their template and how many groups there are. */
export function groupContext(r: PricedResource, resources: readonly PricedResource[]): GroupContext | undefined {
  if (r.type !== GROUP) return undefined;
  return { groups: resources.filter((x) => x.type === GROUP).length, launchTemplate: launchTemplateOf(r, resources) };
}

/** One resource's price line, or undefined for resources that cost nothing by themselves. */
export function priceResource(r: PricedResource, prices: PriceBook = catalogPrices, context?: GroupContext): CostItem | undefined {
  let priced: Omit<CostItem, "urn" | "type" | "name">;
  switch (r.type) {
    case "aws:ec2/instance:Instance":
      priced = priceInstance(r, prices);
      break;
    case GROUP:
      priced = priceGroup(r, prices, context ?? { groups: 1 });
      break;
    case "aws:ebs/volume:Volume":
      priced = priceVolume(r, prices.storage ?? {});
      break;
    case "aws:ebs/fastSnapshotRestore:FastSnapshotRestore": {
      const hourly = prices.storage?.fsrDsuHour ?? EBS_PRICES.fastSnapshotRestore.usd;
      priced = {
        hourly,
        monthly: hourly * HOURS_PER_MONTH,
        lines: ["fast snapshot restore"],
        detail: `fast snapshot restore: $${hourly}/DSU-hour in one zone while enabled`,
      };
      break;
    }
    case "aws:cloudwatch/dashboard:Dashboard": {
      // Counted in full: whether this one falls in the account's free dashboards is not in state.
      const { dashboard, freeDashboards } = CLOUDWATCH_PRICES;
      priced = {
        hourly: dashboard.usd / HOURS_PER_MONTH,
        monthly: dashboard.usd,
        lines: ["dashboard"],
        detail: `CloudWatch dashboard $${dashboard.usd}/month (free while the account has at most ${freeDashboards})`,
      };
      break;
    }
    case "aws:s3/bucket:Bucket":
      priced = priceBucket(r, prices.storage ?? {});
      break;
    default:
      return undefined;
  }
  return {
    urn: r.urn,
    type: r.type,
    name: r.name,
    ...priced,
    hourly: priced.hourly === null ? null : round(priced.hourly),
    monthly: priced.monthly === null ? null : round(priced.monthly),
  };
}

/** Hours to price: explicit, else the largest `trainctl:max-hours` an instance carries, else a month. */
export function pricedHours(model: PricedModel, hours?: number): number {
  if (hours !== undefined) return hours;
  const limits = model.resources
    .filter((r) => r.type === "aws:ec2/instance:Instance" || r.type === GROUP)
    .map((r) => num(r.tags[TAG.maxHours] ?? groupTagMap(r)[TAG.maxHours]))
    .filter((h): h is number => h !== undefined);
  return limits.length ? Math.max(...limits) : HOURS_PER_MONTH;
}

/** The region an item's price comes from. */
function priceRegionOf(item: CostItem, model: PricedModel, prices: PriceBook): string {
  const bookRegion = prices.region ?? CATALOG_REGION;
  if ((item.type !== "aws:ec2/instance:Instance" && item.type !== GROUP) || !prices.onDemandRegion) return bookRegion;
  const r = model.resources.find((x) => x.urn === item.urn);
  return prices.onDemandRegion((r && (asString(prop(r, "instanceType")) ?? preferredGroupType(r))) ?? "");
}

/** Marks every priced line whose price is another region's: "(us-east-1 price)" in its detail. */
export function markBorrowedPrices(items: CostItem[], region: string, regionOf: (item: CostItem) => string): { items: CostItem[]; warning?: string } {
  let borrowed = 0;
  const from = new Set<string>();
  const marked = items.map((item) => {
    const source = regionOf(item);
    if (item.hourly === null || item.monthly === 0 || source === region) return item;
    borrowed++;
    from.add(source);
    return { ...item, priceRegion: source, detail: `${item.detail} (${source} price)` };
  });
  if (borrowed === 0) return { items: marked };
  const sources = [...from].join(", ");
  return {
    items: marked,
    warning: `${region} has no catalog prices: ${borrowed} line(s) use ${sources} prices, marked "${sources} price"; --live-prices prices ${region}`,
  };
}

const sum = (items: CostItem[], key: "monthly" | "oneTime" | "afterDeleteMonthly") => items.reduce((total, i) => total + (i[key] ?? 0), 0);

/** Prices every resource of a model: a pure function of the records and the price book. */
export function estimateCost(model: PricedModel, options: EstimateOptions = {}): CostReport {
  const prices = options.prices ?? catalogPrices;
  const priced = model.resources.map((r) => priceResource(r, prices, groupContext(r, model.resources))).filter((i): i is CostItem => i !== undefined);
  const borrowed = markBorrowedPrices(priced, options.region ?? prices.region ?? CATALOG_REGION, (item) => priceRegionOf(item, model, prices));
  const items = borrowed.items;
  const hours = pricedHours(model, options.hours);
  const monthly = sum(items, "monthly");
  const hourly = round(monthly / HOURS_PER_MONTH);
  const unpricedItems = items.filter((i) => i.unpriced);
  const warnings = unpricedItems
    .filter((i) => i.type === "aws:ec2/instance:Instance" || i.type === GROUP)
    .map((i) => `no price for ${i.detail.split(":")[0]} (${i.name}); it is listed as unpriced, not $0`);
  const report: CostReport = {
    currency: "USD",
    hours,
    hourly,
    monthly: round(monthly),
    total: round((monthly / HOURS_PER_MONTH) * hours),
    oneTime: round(sum(items, "oneTime")),
    priceSource: prices.source,
    unpriced: unpricedItems.length,
    covers: COST_LINES.filter((line) => items.some((i) => i.lines.includes(line))),
    items,
    warnings: borrowed.warning ? [...warnings, borrowed.warning] : warnings,
  };
  if (model.source === "preview" && model.deleted.length > 0) {
    const deleted = model.deleted.map((r) => priceResource(r, prices, groupContext(r, model.deleted))).filter((i): i is CostItem => i !== undefined);
    const saved = sum(deleted, "monthly");
    report.savings = { hourly: round(saved / HOURS_PER_MONTH), monthly: round(saved) };
  }
  return report;
}

export interface RunningCost {
  /** USD spent so far by the instances and recovery groups (one node each), since each was created. */
  soFar: number;
  /** USD per hour everything in the model burns now. */
  burnRate: number;
  instances: { urn: string; name: string; hourly: number | null; hours: number | null; soFar: number | null }[];
}

/**
 * Cost so far: each instance's hourly price × the hours since Pulumi created it (`created` in state); a recovery
 * group counts as its one node, running since the group was created.
 */
export function runningCost(model: PricedModel, now: Date, options: EstimateOptions = {}): RunningCost {
  const report = estimateCost(model, options);
  const byUrn = new Map(model.resources.map((r) => [r.urn, r]));
  const instances = report.items
    .filter((i) => i.type === "aws:ec2/instance:Instance" || i.type === GROUP)
    .map((i) => {
      const created = Date.parse(byUrn.get(i.urn)?.created ?? "");
      const hours = Number.isFinite(created) ? Math.max(0, (now.getTime() - created) / 3_600_000) : null;
      return {
        urn: i.urn,
        name: i.name,
        hourly: i.hourly,
        hours: hours === null ? null : round(hours),
        soFar: hours === null || i.hourly === null ? null : round(hours * i.hourly),
      };
    });
  return { soFar: round(instances.reduce((s, i) => s + (i.soFar ?? 0), 0)), burnRate: report.hourly, instances };
}
