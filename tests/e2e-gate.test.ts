import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { INSTANCE_PRICES } from "../core/catalog";
import { parseStackConfig } from "../core/config";
import { costCeilingProblem, cheapestGpuType, e2eSettings, e2eStackConfig, e2eStackName } from "./e2e/settings";

const root = path.resolve(__dirname, "..");

// The real-AWS suite (tests/e2e, docs/e2e.md) cannot run here; its gate and its decisions can.
describe("the real-AWS e2e suite", () => {
  it("refuses to run without TRAINCTL_E2E=1: non-zero exit and the reason", () => {
    const env = { ...process.env };
    delete env.TRAINCTL_E2E;
    const result = spawnSync(process.execPath, [path.join(root, "node_modules", "vitest", "vitest.mjs"), "run", "--config", "tests/e2e/vitest.config.ts"], {
      cwd: root,
      env,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toContain("set TRAINCTL_E2E=1");
  });

  it("picks the cheapest NVIDIA GPU type in the catalog, unless told otherwise", () => {
    const type = cheapestGpuType();
    expect(type).toBe("g4dn.xlarge");
    expect(INSTANCE_PRICES[type].usd).toBeLessThan(INSTANCE_PRICES["g5.xlarge"].usd);
    expect(e2eSettings({ TRAINCTL_E2E_INSTANCE_TYPE: "g6.xlarge" }).instanceType).toBe("g6.xlarge");
    expect(() => e2eSettings({ TRAINCTL_E2E_MAX_USD: "free" })).toThrow(/TRAINCTL_E2E_MAX_USD/);
  });

  it("declares a valid throwaway experiment: 1 GiB empty volume, tagged trainctl:test=true, protect switchable", () => {
    const settings = e2eSettings({ TRAINCTL_E2E_REGION: "eu-west-1", USER: "ci bot" });
    const config = parseStackConfig(e2eStackConfig(settings, true), { projectDir: root });
    expect(config).toMatchObject({
      region: "eu-west-1",
      owner: "ci-bot",
      tags: { "trainctl:test": "true" },
      dataVolume: { sizeGiB: 1, warm: "none", protect: true },
    });
    expect(config.instance).toMatchObject({ type: "g4dn.xlarge", market: "on-demand", maxHours: 2, autostop: { action: "terminate" } });
    const unprotected = parseStackConfig(e2eStackConfig(settings, false), { projectDir: root });
    expect([unprotected.dataVolume?.protect, unprotected.buckets.datasets.protect, unprotected.buckets.checkpoints.protect]).toEqual([false, false, false]);
    expect(e2eStackName(new Date("2026-03-04T05:06:07Z"))).toBe("e2e-20260304050607");
  });

  it("checks the cost ceiling: the hourly burn over the whole deadline", () => {
    expect(costCeilingProblem(0.55, { maxUsd: 2, deadlineMinutes: 60 })).toBeUndefined();
    expect(costCeilingProblem(1.1, { maxUsd: 2, deadlineMinutes: 120 })).toMatch(/up to \$2\.20, above TRAINCTL_E2E_MAX_USD=\$2/);
  });
});
