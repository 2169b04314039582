import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.join(__dirname, "..", "..");
const specifiers = (file: string) => [...readFileSync(file, "utf8").matchAll(/^\s*(?:import|export)[^"']*from\s+["']([^"']+)["']/gm)].map((m) => m[1]);

describe("the pricing floor (DESIGN.md: core is SDK-free and Pulumi-free; components never import scripts/)", () => {
  it("the pricing modules in core/ import only each other", () => {
    for (const name of ["catalog.ts", "pricing.ts", "node-metrics.ts"]) {
      expect(specifiers(path.join(ROOT, "core", name)).filter((s) => !s.startsWith("./")), name).toEqual([]);
    }
  });

  it("the stack output's estimate imports core/, not scripts/", () => {
    const imports = specifiers(path.join(ROOT, "components", "hourly-estimate.ts"));
    expect(imports).toContain("../core/pricing");
    expect(imports.filter((s) => s.includes("scripts/"))).toEqual([]);
  });
});
