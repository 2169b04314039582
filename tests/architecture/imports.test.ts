import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

/** DESIGN.md's floors: core → components → infra, and core → libraries → commands; nothing points back up. */
const ROOT = path.join(__dirname, "..", "..");
const sources = (folder: string) =>
  readdirSync(path.join(ROOT, folder))
    .filter((f) => f.endsWith(".ts"))
    .map((f) => path.join(folder, f));
const specifiers = (file: string) =>
  [...readFileSync(path.join(ROOT, file), "utf8").matchAll(/^\s*(?:import|export)[^"';]*from\s+["']([^"']+)["']/gm)].map((m) => m[1]);

describe("the import graph", () => {
  it("core/ imports only core/, Node built-ins and zod: no SDK, no Pulumi", () => {
    for (const file of sources("core")) {
      const outside = specifiers(file).filter((s) => !s.startsWith("./") && !s.startsWith("node:") && s !== "zod");
      expect(outside, file).toEqual([]);
    }
  });

  it("components/ import only core/, each other, Pulumi and Node built-ins", () => {
    for (const file of sources("components")) {
      const outside = specifiers(file).filter((s) => !/^(\.\/|\.\.\/core\/|node:|@pulumi\/)/.test(s));
      expect(outside, file).toEqual([]);
    }
  });

  it("infra/ and policy/ never import scripts/ (the CLI); core/ and components/ never import infra/", () => {
    for (const file of [...sources("infra"), ...sources("policy")]) {
      expect(
        specifiers(file).filter((s) => s.includes("scripts/")),
        file,
      ).toEqual([]);
    }
    for (const file of [...sources("core"), ...sources("components")]) {
      expect(
        specifiers(file).filter((s) => s.includes("infra/")),
        file,
      ).toEqual([]);
    }
  });

  it("no two source files in scripts/ share a base name", () => {
    const walk = (dir: string): string[] =>
      readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [e.name] : [],
      );
    const names = walk("scripts");
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  it("the stack output's estimate is priced by core/", () => {
    expect(specifiers("components/hourly-estimate.ts")).toContain("../core/pricing");
  });
});
