import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { loadStackConfig, PROJECT_ROOT } from "../../scripts/state/offline-program";

const loader = path.join(__dirname, "..", "helpers", "pulumi-loader.cjs");

function loadLikePulumiUp(tsconfig: string): string {
  const config = loadStackConfig("dev");
  return execFileSync(process.execPath, [loader, path.join(PROJECT_ROOT, "infra", "index.ts"), tsconfig, "dev", JSON.stringify(config)], {
    cwd: PROJECT_ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

describe("infra/index.ts under Pulumi's own TypeScript loader", () => {
  it("type-checks and runs with the project's tsconfig, the way `pulumi up` compiles it", () => {
    const out = loadLikePulumiUp(path.join(PROJECT_ROOT, "tsconfig.json"));
    const registered = Number(/REGISTERED (\d+)/.exec(out)?.[1]);
    expect(registered).toBeGreaterThan(10);
  }, 120_000);
});
