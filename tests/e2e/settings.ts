/**
 * The real-AWS end-to-end suite's decisions, as pure functions: whether it may run, its settings,
 * the instance type, the throwaway stack's config, and the cost ceiling. The normal suite tests them.
 */
import { INSTANCE_PRICES } from "../../core/catalog";
import { instanceSpec } from "../../core/instance-specs";

export const E2E_REFUSAL = "set TRAINCTL_E2E=1 to run the real-AWS end-to-end suite: it creates billed AWS resources (see docs/e2e.md)";

export interface E2eSettings {
  region: string;
  instanceType: string;
  /** USD the run may cost at most: the plan's hourly burn × the deadline. */
  maxUsd: number;
  /** The whole run, cleanup included, must end within this. */
  deadlineMinutes: number;
  owner: string;
}

/** Why the suite must not run, or undefined when TRAINCTL_E2E=1. */
export function e2eRefusal(env: NodeJS.ProcessEnv): string | undefined {
  return env.TRAINCTL_E2E === "1" ? undefined : E2E_REFUSAL;
}

/** The cheapest NVIDIA GPU type in the price catalog (Trainium and Inferentia have no nvidia-smi). */
export function cheapestGpuType(): string {
  const gpuTypes = Object.keys(INSTANCE_PRICES).filter((type) => instanceSpec(type)?.gpuModel?.startsWith("NVIDIA"));
  return gpuTypes.sort((a, b) => INSTANCE_PRICES[a].usd - INSTANCE_PRICES[b].usd)[0];
}

const positive = (name: string, value: string | undefined, fallback: number): number => {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!(n > 0)) throw new Error(`${name}: expected a positive number, got ${JSON.stringify(value)}`);
  return n;
};

/** Settings from the environment (names and defaults in docs/e2e.md). */
export function e2eSettings(env: NodeJS.ProcessEnv): E2eSettings {
  return {
    region: env.TRAINCTL_E2E_REGION ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
    instanceType: env.TRAINCTL_E2E_INSTANCE_TYPE ?? cheapestGpuType(),
    maxUsd: positive("TRAINCTL_E2E_MAX_USD", env.TRAINCTL_E2E_MAX_USD, 2),
    deadlineMinutes: positive("TRAINCTL_E2E_DEADLINE_MINUTES", env.TRAINCTL_E2E_DEADLINE_MINUTES, 60),
    owner: (env.TRAINCTL_E2E_OWNER ?? env.USER ?? "e2e").replace(/[^A-Za-z0-9._@+-]/g, "-").slice(0, 128) || "e2e",
  };
}

/** A unique throwaway stack name. */
export function e2eStackName(now: Date): string {
  return `e2e-${now.toISOString().replace(/\D/g, "").slice(0, 14)}`;
}

/**
 * The throwaway experiment's `Pulumi.<stack>.yaml` config: on-demand, a 1 GiB empty volume, both
 * buckets, tagged trainctl:test=true. `protect: false` is the cleanup's second step. The node stops
 * itself when idle and at a hard lifetime, even if this process dies.
 */
export function e2eStackConfig(settings: E2eSettings, protect: boolean): Record<string, unknown> {
  return {
    "aws:region": settings.region,
    "trainctl:owner": settings.owner,
    "trainctl:costCenter": "trainctl-e2e",
    "trainctl:instance": {
      type: settings.instanceType,
      count: 1,
      market: "on-demand",
      autostop: { idleMinutes: 30, action: "terminate" },
      maxHours: Math.ceil(settings.deadlineMinutes / 60) + 1,
    },
    "trainctl:dataVolume": { sizeGiB: 1, type: "gp3", warm: "none", protect },
    "trainctl:buckets": { datasets: { protect }, checkpoints: { protect } },
    "trainctl:tags": { "trainctl:test": "true" },
  };
}

/** Refuses to start when the plan's burn rate over the whole deadline could exceed the ceiling. */
export function costCeilingProblem(hourlyUsd: number, settings: Pick<E2eSettings, "maxUsd" | "deadlineMinutes">): string | undefined {
  const worst = hourlyUsd * (settings.deadlineMinutes / 60);
  if (worst <= settings.maxUsd) return undefined;
  return `the plan burns $${hourlyUsd.toFixed(4)}/h; over the ${settings.deadlineMinutes}-minute deadline that is up to $${worst.toFixed(2)}, above TRAINCTL_E2E_MAX_USD=$${settings.maxUsd}`;
}
