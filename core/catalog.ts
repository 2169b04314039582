/**
 * Embedded price catalog: us-east-1, Linux, shared tenancy, on-demand list prices in USD.
 * Used whenever `--live-prices` is off or unreachable. Refresh by running with `--live-prices`
 * and comparing; every figure names the public page it was transcribed from. Figures without an
 * `asOf` were transcribed on TRANSCRIBED_DATE; later ones carry their own date and source.
 */
/** When the catalog was last revised (the P4/P5 price cut, public IPv4 and custom metric prices). */
export const CATALOG_DATE = "2026-12-02";
/** When the figures without their own `asOf` were transcribed. */
export const TRANSCRIBED_DATE = "2025-05-15";
export const CATALOG_REGION = "us-east-1";
export const HOURS_PER_MONTH = 730;

const EC2_SOURCE = "https://aws.amazon.com/ec2/pricing/on-demand/ (us-east-1, Linux)";
const EBS_SOURCE = "https://aws.amazon.com/ebs/pricing/ (us-east-1)";
const S3_SOURCE = "https://aws.amazon.com/s3/pricing/ (us-east-1, S3 Standard)";

export interface PriceEntry {
  usd: number;
  unit: string;
  source: string;
  /** When the figure was taken from its source, if later than the first transcription. */
  asOf?: string;
}

const hourly = (usd: number): PriceEntry => ({ usd, unit: "Hrs", source: EC2_SOURCE });

/**
 * The June 2025 P4/P5 on-demand price cut (P5 up to 45%, P4 up to 33%). AWS's own announcement and
 * price page were not in the offline search corpus used on 2026-12-02, so each figure below names
 * where it was confirmed instead; replace them with the Pricing API's answer (`--live-prices`).
 */
const JUNE_2025_CUT = "2025-06";
const P5_SOURCE =
  "not confirmed on an AWS page offline. P5 on-demand cut up to 45% in June 2025: usage.ai 'LLM Cost Optimization on AWS' (updated 2026-06-30); " +
  "costnimbus.com 'GPU cost management' (H100 cut ≈44% in June 2025); $55.04 in public price tables (e.g. p5.48xlarge 55.04 beside p5en.48xlarge 63.296)";
const P4_SOURCE =
  "not confirmed on an AWS page offline. P4 on-demand cut up to 33% in June 2025 (issue #16); " +
  "public price tables list p4d.24xlarge 21.957642 and p4de.24xlarge 27.44705 (one 'verified against Cost Explorer actuals', us-east-2)";
const cut = (usd: number, source: string): PriceEntry => ({ usd, unit: "Hrs", source, asOf: JUNE_2025_CUT });

/** On-demand $/hour by instance type. */
export const INSTANCE_PRICES: Readonly<Record<string, PriceEntry>> = {
  "g4dn.xlarge": hourly(0.526),
  "g4dn.2xlarge": hourly(0.752),
  "g4dn.4xlarge": hourly(1.204),
  "g4dn.8xlarge": hourly(2.176),
  "g4dn.12xlarge": hourly(3.912),
  "g4dn.16xlarge": hourly(4.352),
  "g4dn.metal": hourly(7.824),
  "g5.xlarge": hourly(1.006),
  "g5.2xlarge": hourly(1.212),
  "g5.4xlarge": hourly(1.624),
  "g5.8xlarge": hourly(2.448),
  "g5.12xlarge": hourly(5.672),
  "g5.16xlarge": hourly(4.096),
  "g5.24xlarge": hourly(8.144),
  "g5.48xlarge": hourly(16.288),
  "g6.xlarge": hourly(0.8048),
  "g6.2xlarge": hourly(0.9776),
  "g6.4xlarge": hourly(1.3232),
  "g6.8xlarge": hourly(2.0144),
  "g6.12xlarge": hourly(4.6016),
  "g6.16xlarge": hourly(3.3968),
  "g6.24xlarge": hourly(6.6752),
  "g6.48xlarge": hourly(13.3504),
  "g6e.xlarge": hourly(1.861),
  "g6e.2xlarge": hourly(2.24208),
  "g6e.4xlarge": hourly(3.00424),
  "g6e.8xlarge": hourly(4.52856),
  "g6e.12xlarge": hourly(10.49264),
  "g6e.16xlarge": hourly(7.57719),
  "g6e.24xlarge": hourly(15.06559),
  "g6e.48xlarge": hourly(30.13118),
  "p3.2xlarge": hourly(3.06),
  "p3.8xlarge": hourly(12.24),
  "p3.16xlarge": hourly(24.48),
  "p3dn.24xlarge": hourly(31.212),
  // Before the June 2025 cut: p4d 32.7726, p4de 40.9657, p5 98.32.
  "p4d.24xlarge": cut(21.957642, P4_SOURCE),
  "p4de.24xlarge": cut(27.44705, P4_SOURCE),
  "p5.48xlarge": cut(55.04, P5_SOURCE),
  "trn1.2xlarge": hourly(1.34375),
  "trn1.32xlarge": hourly(21.5),
  "inf2.xlarge": hourly(0.75818),
  "inf2.8xlarge": hourly(1.96786),
  "inf2.24xlarge": hourly(6.49063),
  "inf2.48xlarge": hourly(12.98127),
  "t3.micro": hourly(0.0104),
  "t3.small": hourly(0.0208),
  "t3.medium": hourly(0.0416),
  "t3.large": hourly(0.0832),
  "m5.large": hourly(0.096),
  "m5.xlarge": hourly(0.192),
  "m5.2xlarge": hourly(0.384),
  "m6i.large": hourly(0.096),
  "m6i.xlarge": hourly(0.192),
  "m6i.2xlarge": hourly(0.384),
  "c5.xlarge": hourly(0.17),
  "c5.2xlarge": hourly(0.34),
  "c6i.xlarge": hourly(0.17),
  "c6i.2xlarge": hourly(0.34),
  "r5.xlarge": hourly(0.252),
};

const ebs = (usd: number, unit: string): PriceEntry => ({ usd, unit, source: EBS_SOURCE });

/** EBS prices; `free*` are the baselines included in the gp3 storage price. */
export const EBS_PRICES = {
  gp3: { storage: ebs(0.08, "GB-Mo"), iops: ebs(0.005, "IOPS-Mo"), throughput: ebs(0.04, "MiBps-Mo"), freeIops: 3000, freeThroughputMiBs: 125 },
  gp2: { storage: ebs(0.1, "GB-Mo") },
  io1: { storage: ebs(0.125, "GB-Mo"), iops: ebs(0.065, "IOPS-Mo") },
  /** io2 IOPS are tiered: first 32,000, next 32,000, then the rest. */
  io2: {
    storage: ebs(0.125, "GB-Mo"),
    iopsTiers: [
      { upTo: 32_000, price: ebs(0.065, "IOPS-Mo") },
      { upTo: 64_000, price: ebs(0.0455, "IOPS-Mo") },
      { upTo: Infinity, price: ebs(0.03185, "IOPS-Mo") },
    ],
  },
  st1: { storage: ebs(0.045, "GB-Mo") },
  sc1: { storage: ebs(0.015, "GB-Mo") },
  snapshot: { storage: ebs(0.05, "GB-Mo") },
  /** Fast Snapshot Restore: per snapshot, per availability zone, per hour enabled. */
  fastSnapshotRestore: ebs(0.75, "DSU-Hrs"),
  /** Provisioned Rate for Volume Initialization, charged per GiB initialized. */
  volumeInitialization: ebs(0.0024, "GiB"),
} as const;

const s3 = (usd: number, unit: string): PriceEntry => ({ usd, unit, source: S3_SOURCE });

export const S3_PRICES = {
  /** Tiered by monthly volume: first 50 TB, next 450 TB, then the rest (in GB). */
  storageTiers: [
    { upToGB: 51_200, price: s3(0.023, "GB-Mo") },
    { upToGB: 512_000, price: s3(0.022, "GB-Mo") },
    { upToGB: Infinity, price: s3(0.021, "GB-Mo") },
  ],
  /** PUT, COPY, POST, LIST per 1,000 requests. */
  putPer1000: s3(0.005, "Requests"),
  /** GET, SELECT and others per 1,000 requests. */
  getPer1000: s3(0.0004, "Requests"),
} as const;

const CLOUDWATCH_SOURCE = "https://aws.amazon.com/cloudwatch/pricing/";

/**
 * CloudWatch: a dashboard per month (an account's first 3 are free); a custom metric per month,
 * prorated by the hour, first tier up to 10,000 metrics (an account's first 10 are free).
 * Metric figures confirmed 2026-12-02 on cal53.calculator.city's CloudWatch custom metrics calculator
 * ($0.30 per metric-month, first 10,000) and hub.pointfive.co CER-0302 (free tier: 10 custom metrics
 * and 1 million API requests a month).
 */
export const CLOUDWATCH_PRICES = {
  dashboard: { usd: 3, unit: "Dashboard-Mo", source: `${CLOUDWATCH_SOURCE} (dashboards)` } satisfies PriceEntry,
  freeDashboards: 3,
  customMetric: { usd: 0.3, unit: "Metric-Mo", source: `${CLOUDWATCH_SOURCE} (metrics, first 10,000)`, asOf: "2026-12-02" } satisfies PriceEntry,
  freeCustomMetrics: 10,
} as const;

/**
 * Every public IPv4 address, in use or idle, per hour since 2024-02-01 (an EC2 free-tier account
 * gets 750 hours a month for 12 months). Confirmed 2026-12-02 on repost.aws 'Public IPv4 Addresses
 * Cost Projection' (announced 2023-07-28, effective 2024-02-01) and the $0.005/h figure on
 * besthub.dev and vishalvyas.com.
 */
export const PUBLIC_IPV4_PRICE: PriceEntry = {
  usd: 0.005,
  unit: "IP-Hrs",
  source: "https://aws.amazon.com/vpc/pricing/ (public IPv4 addresses)",
  asOf: "2026-12-02",
};

export function isKnownInstanceType(type: string): boolean {
  return Object.hasOwn(INSTANCE_PRICES, type);
}

export function knownInstanceTypes(): string[] {
  return Object.keys(INSTANCE_PRICES);
}
