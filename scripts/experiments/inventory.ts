import { estimateCost } from "../pricing/estimate";
import { loadStackConfig, runOffline, stackFiles } from "../state/offline-program";
import { parseStackConfig } from "../../core/config";
import { TAG } from "../../core/tags";

export interface ExperimentRow {
  name: string;
  owner?: string;
  instance?: string;
  market?: string;
  strategy?: string;
  hourlyUsd?: number | null;
  expires?: string;
  expired: boolean;
  hasConfig: boolean;
  /** True or false when the Pulumi CLI answered; undefined when it is not installed. */
  hasStack?: boolean;
  error?: string;
}

/** When a stack expires: `maxHours` after its first successful up. */
export function expiryAfter(maxHours: number | undefined, upAt: Date): string | undefined {
  return maxHours === undefined ? undefined : new Date(upAt.getTime() + maxHours * 3_600_000).toISOString();
}

export function isExpired(expires: string | undefined, now: Date): boolean {
  const at = expires ? Date.parse(expires) : NaN;
  return Number.isFinite(at) && at <= now.getTime();
}

/** One row per experiment from its config file (planned offline for $/h), merged with backend stacks and tags. */
export async function inventory(
  projectDir: string,
  backend: { stacks: string[]; tags: Record<string, Record<string, string>> } | undefined,
  now = new Date(),
): Promise<ExperimentRow[]> {
  const rows = new Map<string, ExperimentRow>();
  for (const name of stackFiles(projectDir)) {
    const row: ExperimentRow = { name, expired: false, hasConfig: true };
    try {
      const raw = loadStackConfig(name, projectDir);
      const config = parseStackConfig(raw, { projectDir });
      Object.assign(row, {
        owner: config.owner,
        instance: `${config.instance.type} × ${config.instance.count}`,
        market: config.instance.market,
        strategy: config.dataset?.strategy ?? (config.dataVolume ? "prewarmed-ebs" : "none"),
      });
      const { model } = await runOffline({ stack: name, config: raw });
      row.hourlyUsd = estimateCost(model).hourly;
    } catch (error) {
      row.error = (error as Error).message.split("\n")[0];
    }
    rows.set(name, row);
  }
  if (backend) {
    for (const row of rows.values()) row.hasStack = backend.stacks.includes(row.name);
    for (const name of backend.stacks) {
      const row = rows.get(name) ?? { name, expired: false, hasConfig: false, hasStack: true };
      const tags = backend.tags[name] ?? {};
      row.owner ??= tags[TAG.owner];
      row.expires = tags[TAG.expires];
      row.expired = isExpired(row.expires, now);
      rows.set(name, row);
    }
  }
  return [...rows.values()].sort((a, b) => a.name.localeCompare(b.name));
}
