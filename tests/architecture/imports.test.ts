import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

/** DESIGN.md's floors: core → components → infra, and core → libraries → commands; nothing points back up. */
const ROOT = path.join(__dirname, "..", "..");
const sources = (folder: string) => readdirSync(path.join(ROOT, folder)).filter((f) => f.endsWith(".ts")).map((f) => path.join(folder, f));
const specifiers = (file: string) => [...readFileSync(path.join(ROOT, file), "utf8").matchAll(/^\s*(?:import|export)[^"';]*from\s+["']([^"']+)["']/gm)].map((m) => m[1]);

describe("the import graph", () => {
  it("core/ imports only core/, Node built-ins and zod: no SDK, no Pulumi", () => {
    for (const file of sources("core")) {
      const outside = specifiers(file).filter((s) => !s.startsWith("./") && !s.startsWith("node:") && s !== "zod");
      expect(outside, file).toEqual([]);
    }
  });

  it("components/, infra/ and policy/ never import scripts/ (the CLI)", () => {
    for (const file of [...sources("components"), ...sources("infra"), ...sources("policy")]) {
      expect(specifiers(file).filter((s) => s.includes("scripts/")), file).toEqual([]);
    }
  });

  it("the stack output's estimate is priced by core/", () => {
    expect(specifiers("components/hourly-estimate.ts")).toContain("../core/pricing");
  });
});
