import { type CostLine, type PriceBook, type PricedResource, catalogPrices, estimateCost } from "../core/pricing";
import type { StackConfig } from "../core/config";
import { volumeArgs } from "./data-volume";
import { TAG, resourceTags } from "../core/tags";
import { marketOptions } from "./training-instance";
import { groupTags, instancesDistribution, launchTemplateOverrides, nodeGroupTags, rootDeviceMapping } from "./node-group";

type EstimatedConfig = Pick<StackConfig, "instance" | "dataVolume" | "dataset">;

const record = (type: string, name: string, inputs: object, tags: Record<string, string> = {}): PricedResource => ({
  urn: `${type}::${name}`,
  type,
  name,
  inputs: inputs as Record<string, unknown>,
  outputs: {},
  tags,
});

/**
 * The priced resources the experiment declares, as records with the inputs the components give them
 * (the same market options, volume args and tags): per node an instance (in recovery mode its group and
 * launch template) and a data volume, one fast
 * snapshot restore per snapshot and zone, the dashboard, and the datasets bucket's expected size.
 * Resources that cost nothing by themselves are left out, as `trainctl cost` leaves them out.
 */
export function pricedResources(config: EstimatedConfig): PricedResource[] {
  const { instance, dataVolume } = config;
  const resources: PricedResource[] = [];
  for (let i = 0; i < instance.count; i++) {
    const maxHours: Record<string, string> = instance.maxHours !== undefined ? { [TAG.maxHours]: String(instance.maxHours) } : {};
    if (instance.recovery) {
      const nodeTags = nodeGroupTags(resourceTags(`node-${i}`, "training-node", false, maxHours), i);
      const interruptions = { perDay: instance.interruptionsPerDay, restartMinutes: instance.restartMinutes };
      resources.push(
        record("aws:ec2/launchTemplate:LaunchTemplate", `node-${i}-template`, {
          name: `node-${i}`,
          blockDeviceMappings: [rootDeviceMapping(instance, "/dev/sda1")],
        }),
        record("aws:autoscaling/group:Group", `node-${i}-group`, {
          name: `node-${i}`,
          mixedInstancesPolicy: { instancesDistribution: instancesDistribution(instance), launchTemplate: { overrides: launchTemplateOverrides(instance) } },
          tags: groupTags({}, nodeTags, interruptions),
        }),
      );
    } else
      resources.push(
        record(
          "aws:ec2/instance:Instance",
          `node-${i}`,
          {
            instanceType: instance.type,
            instanceMarketOptions: marketOptions(instance),
            rootBlockDevice: { volumeSize: instance.rootVolumeGiB, volumeType: "gp3" },
          },
          resourceTags(`node-${i}`, "training-node", false, maxHours),
        ),
      );
    if (dataVolume) resources.push(record("aws:ebs/volume:Volume", `data-${i}`, volumeArgs(dataVolume, "", {})));
  }
  if (dataVolume?.warm === "fsr" && dataVolume.snapshotId)
    resources.push(record("aws:ebs/fastSnapshotRestore:FastSnapshotRestore", "fsr", { snapshotId: dataVolume.snapshotId }));
  resources.push(record("aws:cloudwatch/dashboard:Dashboard", "dashboard", {}));
  const expectedGiB = config.dataset?.sizeGiB;
  if (expectedGiB) resources.push(record("aws:s3/bucket:Bucket", "datasets", {}, { [TAG.expectedGiB]: String(expectedGiB) }));
  return resources;
}

export interface HourlyEstimate {
  /** USD per hour, the same figure `trainctl cost` gives the deployed stack with the same prices. */
  hourly: number;
  /** The kinds of charge included; anything else (requests, data transfer, …) is not. */
  covers: CostLine[];
  priceSource: string;
}

/**
 * The experiment's burn rate for the `estimatedHourlyUsd` stack output, priced by core/pricing's
 * estimateCost, the function `trainctl plan` and `trainctl cost` use. Spot nodes count at their cap:
 * the program does not know the current spot price.
 */
export function hourlyEstimate(config: EstimatedConfig, prices: PriceBook = catalogPrices): HourlyEstimate {
  const report = estimateCost({ source: "plan", resources: pricedResources(config), deleted: [] }, { prices });
  return { hourly: report.hourly, covers: report.covers, priceSource: report.priceSource };
}
