/**
 * Embedded instance specs for every type in the price catalog: vCPUs, GPUs, memory, network
 * bandwidth (the "up to" figure for burstable network, flagged) and local NVMe instance store.
 * Transcribed from the AWS instance-type pages named in `source`, with the catalog's first prices.
 */
export interface InstanceSpec {
  vcpus: number;
  gpus: number;
  gpuModel?: string;
  gpuMemoryGiB?: number;
  memoryGiB: number;
  networkGbps: number;
  /** True when `networkGbps` is a burst ("up to") figure rather than a sustained one. */
  networkBurst: boolean;
  /** Local NVMe instance store, in GB (0 when EBS only). */
  instanceStoreGB: number;
  /** Dedicated EBS bandwidth the type sustains, in Mbps (the baseline, not the 30-minute burst): EBS_SOURCE. */
  ebsBaselineMbps: number;
  source: string;
}

/** Where `ebsBaselineMbps` comes from: the baseline column of the EC2 docs' EBS-optimized table. */
export const EBS_SOURCE = "https://docs.aws.amazon.com/ec2/latest/instancetypes/ebs-optimized.html (Amazon EBS-optimized instance types, baseline bandwidth)";

/**
 * Baseline EBS bandwidth in Mbps per type, from EBS_SOURCE; types that do not burst have one figure.
 * g4dn, p3, p3dn, t3, m5, m6i, c5 and r5 were checked against the awsdocs/amazon-ec2-user-guide copy of
 * the page; g5, g6, g6e, p4d, p4de, p5, trn1, inf2 and c6i were transcribed without that offline check.
 */
const EBS_BASELINE_MBPS: Readonly<Record<string, number>> = {
  "g4dn.xlarge": 950,
  "g4dn.2xlarge": 1150,
  "g4dn.4xlarge": 4750,
  "g4dn.8xlarge": 9500,
  "g4dn.12xlarge": 9500,
  "g4dn.16xlarge": 9500,
  "g4dn.metal": 19000,
  "g5.xlarge": 700,
  "g5.2xlarge": 850,
  "g5.4xlarge": 4750,
  "g5.8xlarge": 16000,
  "g5.12xlarge": 16000,
  "g5.16xlarge": 16000,
  "g5.24xlarge": 19000,
  "g5.48xlarge": 19000,
  "g6.xlarge": 1000,
  "g6.2xlarge": 2000,
  "g6.4xlarge": 8000,
  "g6.8xlarge": 16000,
  "g6.12xlarge": 20000,
  "g6.16xlarge": 20000,
  "g6.24xlarge": 30000,
  "g6.48xlarge": 60000,
  "g6e.xlarge": 1000,
  "g6e.2xlarge": 2000,
  "g6e.4xlarge": 8000,
  "g6e.8xlarge": 16000,
  "g6e.12xlarge": 20000,
  "g6e.16xlarge": 20000,
  "g6e.24xlarge": 30000,
  "g6e.48xlarge": 60000,
  "p3.2xlarge": 1750,
  "p3.8xlarge": 7000,
  "p3.16xlarge": 14000,
  "p3dn.24xlarge": 19000,
  "p4d.24xlarge": 19000,
  "p4de.24xlarge": 19000,
  "p5.48xlarge": 80000,
  "trn1.2xlarge": 5000,
  "trn1.32xlarge": 80000,
  "inf2.xlarge": 1250,
  "inf2.8xlarge": 10000,
  "inf2.24xlarge": 30000,
  "inf2.48xlarge": 60000,
  "t3.micro": 87,
  "t3.small": 174,
  "t3.medium": 347,
  "t3.large": 695,
  "m5.large": 650,
  "m5.xlarge": 1150,
  "m5.2xlarge": 2300,
  "m6i.large": 650,
  "m6i.xlarge": 1250,
  "m6i.2xlarge": 2500,
  "c5.xlarge": 1150,
  "c5.2xlarge": 2300,
  "c6i.xlarge": 1250,
  "c6i.2xlarge": 2500,
  "r5.xlarge": 1150,
};

const page = (family: string) => `https://aws.amazon.com/ec2/instance-types/${family}/`;
type Row = [vcpus: number, gpus: number, memoryGiB: number, networkGbps: number, burst: boolean, instanceStoreGB: number];

function family(
  name: string,
  gpuModel: string | undefined,
  gpuMemoryGiB: number | undefined,
  source: string,
  rows: Record<string, Row>,
): Record<string, InstanceSpec> {
  return Object.fromEntries(
    Object.entries(rows).map(([size, [vcpus, gpus, memoryGiB, networkGbps, networkBurst, instanceStoreGB]]) => [
      `${name}.${size}`,
      {
        vcpus,
        gpus,
        ...(gpus ? { gpuModel, gpuMemoryGiB } : {}),
        memoryGiB,
        networkGbps,
        networkBurst,
        instanceStoreGB,
        ebsBaselineMbps: EBS_BASELINE_MBPS[`${name}.${size}`],
        source,
      },
    ]),
  );
}

export const INSTANCE_SPECS: Readonly<Record<string, InstanceSpec>> = {
  ...family("g4dn", "NVIDIA T4", 16, page("g4"), {
    xlarge: [4, 1, 16, 25, true, 125],
    "2xlarge": [8, 1, 32, 25, true, 225],
    "4xlarge": [16, 1, 64, 25, true, 225],
    "8xlarge": [32, 1, 128, 50, false, 900],
    "12xlarge": [48, 4, 192, 50, false, 900],
    "16xlarge": [64, 1, 256, 50, false, 900],
    metal: [96, 8, 384, 100, false, 1800],
  }),
  ...family("g5", "NVIDIA A10G", 24, page("g5"), {
    xlarge: [4, 1, 16, 10, true, 250],
    "2xlarge": [8, 1, 32, 10, true, 450],
    "4xlarge": [16, 1, 64, 25, true, 600],
    "8xlarge": [32, 1, 128, 25, false, 900],
    "12xlarge": [48, 4, 192, 40, false, 3800],
    "16xlarge": [64, 1, 256, 25, false, 1900],
    "24xlarge": [96, 4, 384, 50, false, 3800],
    "48xlarge": [192, 8, 768, 100, false, 7600],
  }),
  ...family("g6", "NVIDIA L4", 24, page("g6"), {
    xlarge: [4, 1, 16, 10, true, 250],
    "2xlarge": [8, 1, 32, 10, true, 450],
    "4xlarge": [16, 1, 64, 25, true, 600],
    "8xlarge": [32, 1, 128, 25, false, 900],
    "12xlarge": [48, 4, 192, 40, false, 3760],
    "16xlarge": [64, 1, 256, 25, false, 1880],
    "24xlarge": [96, 4, 384, 50, false, 3760],
    "48xlarge": [192, 8, 768, 100, false, 7520],
  }),
  ...family("g6e", "NVIDIA L40S", 48, page("g6e"), {
    xlarge: [4, 1, 32, 20, true, 250],
    "2xlarge": [8, 1, 64, 20, true, 450],
    "4xlarge": [16, 1, 128, 20, false, 600],
    "8xlarge": [32, 1, 256, 25, false, 900],
    "12xlarge": [48, 4, 384, 100, false, 3800],
    "16xlarge": [64, 1, 512, 35, false, 1900],
    "24xlarge": [96, 4, 768, 200, false, 3800],
    "48xlarge": [192, 8, 1536, 400, false, 7600],
  }),
  ...family("p3", "NVIDIA V100", 16, page("p3"), {
    "2xlarge": [8, 1, 61, 10, true, 0],
    "8xlarge": [32, 4, 244, 10, false, 0],
    "16xlarge": [64, 8, 488, 25, false, 0],
  }),
  ...family("p3dn", "NVIDIA V100", 32, page("p3"), { "24xlarge": [96, 8, 768, 100, false, 1800] }),
  ...family("p4d", "NVIDIA A100", 40, page("p4"), { "24xlarge": [96, 8, 1152, 400, false, 8000] }),
  ...family("p4de", "NVIDIA A100", 80, page("p4"), { "24xlarge": [96, 8, 1152, 400, false, 8000] }),
  ...family("p5", "NVIDIA H100", 80, page("p5"), { "48xlarge": [192, 8, 2048, 3200, false, 30400] }),
  ...family("trn1", "AWS Trainium", 32, page("trn1"), { "2xlarge": [8, 1, 32, 12.5, true, 474], "32xlarge": [128, 16, 512, 800, false, 7600] }),
  ...family("inf2", "AWS Inferentia2", 32, page("inf2"), {
    xlarge: [4, 1, 16, 15, true, 0],
    "8xlarge": [32, 1, 128, 25, true, 0],
    "24xlarge": [96, 6, 384, 50, false, 0],
    "48xlarge": [192, 12, 768, 100, false, 0],
  }),
  ...family("t3", undefined, undefined, page("t3"), {
    micro: [2, 0, 1, 5, true, 0],
    small: [2, 0, 2, 5, true, 0],
    medium: [2, 0, 4, 5, true, 0],
    large: [2, 0, 8, 5, true, 0],
  }),
  ...family("m5", undefined, undefined, page("m5"), { large: [2, 0, 8, 10, true, 0], xlarge: [4, 0, 16, 10, true, 0], "2xlarge": [8, 0, 32, 10, true, 0] }),
  ...family("m6i", undefined, undefined, page("m6i"), {
    large: [2, 0, 8, 12.5, true, 0],
    xlarge: [4, 0, 16, 12.5, true, 0],
    "2xlarge": [8, 0, 32, 12.5, true, 0],
  }),
  ...family("c5", undefined, undefined, page("c5"), { xlarge: [4, 0, 8, 10, true, 0], "2xlarge": [8, 0, 16, 10, true, 0] }),
  ...family("c6i", undefined, undefined, page("c6i"), { xlarge: [4, 0, 8, 12.5, true, 0], "2xlarge": [8, 0, 16, 12.5, true, 0] }),
  ...family("r5", undefined, undefined, page("r5"), { xlarge: [4, 0, 32, 10, true, 0] }),
};

export function instanceSpec(type: string): InstanceSpec | undefined {
  return Object.hasOwn(INSTANCE_SPECS, type) ? INSTANCE_SPECS[type] : undefined;
}
