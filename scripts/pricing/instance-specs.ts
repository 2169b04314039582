/**
 * Embedded instance specs for every type in the price catalog: vCPUs, GPUs, memory, network
 * bandwidth (the "up to" figure for burstable network, flagged) and local NVMe instance store.
 * Transcribed from the AWS instance-type pages named in `source`, with the catalog's first prices.
 */
import { TRANSCRIBED_DATE } from "./catalog";

export const SPECS_DATE = TRANSCRIBED_DATE;

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
  source: string;
}

const page = (family: string) => `https://aws.amazon.com/ec2/instance-types/${family}/`;
type Row = [vcpus: number, gpus: number, memoryGiB: number, networkGbps: number, burst: boolean, instanceStoreGB: number];

function family(name: string, gpuModel: string | undefined, gpuMemoryGiB: number | undefined, source: string, rows: Record<string, Row>): Record<string, InstanceSpec> {
  return Object.fromEntries(
    Object.entries(rows).map(([size, [vcpus, gpus, memoryGiB, networkGbps, networkBurst, instanceStoreGB]]) => [
      `${name}.${size}`,
      { vcpus, gpus, ...(gpus ? { gpuModel, gpuMemoryGiB } : {}), memoryGiB, networkGbps, networkBurst, instanceStoreGB, source },
    ]),
  );
}

export const INSTANCE_SPECS: Readonly<Record<string, InstanceSpec>> = {
  ...family("g4dn", "NVIDIA T4", 16, page("g4"), {
    xlarge: [4, 1, 16, 25, true, 125], "2xlarge": [8, 1, 32, 25, true, 225], "4xlarge": [16, 1, 64, 25, true, 225],
    "8xlarge": [32, 1, 128, 50, false, 900], "12xlarge": [48, 4, 192, 50, false, 900], "16xlarge": [64, 1, 256, 50, false, 900], metal: [96, 8, 384, 100, false, 1800],
  }),
  ...family("g5", "NVIDIA A10G", 24, page("g5"), {
    xlarge: [4, 1, 16, 10, true, 250], "2xlarge": [8, 1, 32, 10, true, 450], "4xlarge": [16, 1, 64, 25, true, 600], "8xlarge": [32, 1, 128, 25, false, 900],
    "12xlarge": [48, 4, 192, 40, false, 3800], "16xlarge": [64, 1, 256, 25, false, 1900], "24xlarge": [96, 4, 384, 50, false, 3800], "48xlarge": [192, 8, 768, 100, false, 7600],
  }),
  ...family("g6", "NVIDIA L4", 24, page("g6"), {
    xlarge: [4, 1, 16, 10, true, 250], "2xlarge": [8, 1, 32, 10, true, 450], "4xlarge": [16, 1, 64, 25, true, 600], "8xlarge": [32, 1, 128, 25, false, 900],
    "12xlarge": [48, 4, 192, 40, false, 3760], "16xlarge": [64, 1, 256, 25, false, 1880], "24xlarge": [96, 4, 384, 50, false, 3760], "48xlarge": [192, 8, 768, 100, false, 7520],
  }),
  ...family("g6e", "NVIDIA L40S", 48, page("g6e"), {
    xlarge: [4, 1, 32, 20, true, 250], "2xlarge": [8, 1, 64, 20, true, 450], "4xlarge": [16, 1, 128, 20, false, 600], "8xlarge": [32, 1, 256, 25, false, 900],
    "12xlarge": [48, 4, 384, 100, false, 3800], "16xlarge": [64, 1, 512, 35, false, 1900], "24xlarge": [96, 4, 768, 200, false, 3800], "48xlarge": [192, 8, 1536, 400, false, 7600],
  }),
  ...family("p3", "NVIDIA V100", 16, page("p3"), { "2xlarge": [8, 1, 61, 10, true, 0], "8xlarge": [32, 4, 244, 10, false, 0], "16xlarge": [64, 8, 488, 25, false, 0] }),
  ...family("p3dn", "NVIDIA V100", 32, page("p3"), { "24xlarge": [96, 8, 768, 100, false, 1800] }),
  ...family("p4d", "NVIDIA A100", 40, page("p4"), { "24xlarge": [96, 8, 1152, 400, false, 8000] }),
  ...family("p4de", "NVIDIA A100", 80, page("p4"), { "24xlarge": [96, 8, 1152, 400, false, 8000] }),
  ...family("p5", "NVIDIA H100", 80, page("p5"), { "48xlarge": [192, 8, 2048, 3200, false, 30400] }),
  ...family("trn1", "AWS Trainium", 32, page("trn1"), { "2xlarge": [8, 1, 32, 12.5, true, 474], "32xlarge": [128, 16, 512, 800, false, 7600] }),
  ...family("inf2", "AWS Inferentia2", 32, page("inf2"), { xlarge: [4, 1, 16, 15, true, 0], "8xlarge": [32, 1, 128, 25, true, 0], "24xlarge": [96, 6, 384, 50, false, 0], "48xlarge": [192, 12, 768, 100, false, 0] }),
  ...family("t3", undefined, undefined, page("t3"), { micro: [2, 0, 1, 5, true, 0], small: [2, 0, 2, 5, true, 0], medium: [2, 0, 4, 5, true, 0], large: [2, 0, 8, 5, true, 0] }),
  ...family("m5", undefined, undefined, page("m5"), { large: [2, 0, 8, 10, true, 0], xlarge: [4, 0, 16, 10, true, 0], "2xlarge": [8, 0, 32, 10, true, 0] }),
  ...family("m6i", undefined, undefined, page("m6i"), { large: [2, 0, 8, 12.5, true, 0], xlarge: [4, 0, 16, 12.5, true, 0], "2xlarge": [8, 0, 32, 12.5, true, 0] }),
  ...family("c5", undefined, undefined, page("c5"), { xlarge: [4, 0, 8, 10, true, 0], "2xlarge": [8, 0, 16, 10, true, 0] }),
  ...family("c6i", undefined, undefined, page("c6i"), { xlarge: [4, 0, 8, 12.5, true, 0], "2xlarge": [8, 0, 16, 12.5, true, 0] }),
  ...family("r5", undefined, undefined, page("r5"), { xlarge: [4, 0, 32, 10, true, 0] }),
};

export function instanceSpec(type: string): InstanceSpec | undefined {
  return Object.hasOwn(INSTANCE_SPECS, type) ? INSTANCE_SPECS[type] : undefined;
}
