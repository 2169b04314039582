import { existsSync, readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Issue #17 item 5: every exported function and class of components/ and core/ is imported by at
 * least one test, so a new helper without a test fails here. Imports are followed through
 * re-exports (`export * from`, `export { x } from`), so a test may import a helper wherever the
 * CLI re-exports it; a mere word match (a field that happens to share the name) does not count.
 */
const ROOT = path.join(__dirname, "..", "..");
const FOLDERS = ["core", "components"];

/** Not pure: Pulumi components and the invoke wiring, tested by whole-program runs under mocks (tests/components, tests/plan). */
const EXEMPT: Record<string, string> = {
  "components/budget.ts#Budget": "ComponentResource",
  "components/data-path.ts#DataPath": "ComponentResource",
  "components/data-volume.ts#DataVolume": "ComponentResource",
  "components/experiment.ts#Experiment": "ComponentResource",
  "components/secure-bucket.ts#SecureBucket": "ComponentResource",
  "components/training-instance.ts#TrainingInstance": "ComponentResource",
  "components/node-group.ts#NodeGroup": "ComponentResource",
  // Pulumi invokes only; its decisions (pickSubnet, subnetZoneProblem, chooseZone) have unit tests.
  "components/network.ts#resolvePlacement": "invokes",
};

const texts = new Map<string, string>();
const read = (file: string) => texts.get(file) ?? texts.set(file, readFileSync(file, "utf8")).get(file)!;

interface Callable {
  name: string;
  kind: "function" | "class";
  extendsComponent: boolean;
}

/** `export function f`, `export class C`, `export const f = (…) =>`, `= async (`, `= <T>(`, `= x =>`, `= function`. */
function exportedCallables(file: string): Callable[] {
  const text = read(file);
  const functions = [
    ...text.matchAll(/^export (?:async )?function\*? ?([\w$]+)/gm),
    ...text.matchAll(/^export const ([\w$]+)\s*(?::[^=]+)?=\s*(?:async\s*)?(?:\(|<|[\w$]+\s*=>|function\b)/gm),
  ];
  const classes = [...text.matchAll(/^export (?:abstract )?class ([\w$]+)(?:<[^>]*>)?(?: extends ([\w$.]+))?/gm)];
  return [
    ...functions.map((m) => ({ name: m[1], kind: "function" as const, extendsComponent: false })),
    ...classes.map((m) => ({ name: m[1], kind: "class" as const, extendsComponent: m[2] === "pulumi.ComponentResource" })),
  ];
}

function resolveModule(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  const base = path.resolve(path.dirname(from), specifier.replace(/\.js$/, ""));
  return [`${base}.ts`, path.join(base, "index.ts")].find((candidate) => existsSync(candidate));
}

/** `a, type b, c as d` → the exported names `a`, `b`, `c` (before any `as` or `:` rename). */
const bindingNames = (list: string) =>
  list
    .split(",")
    .map(
      (part) =>
        part
          .trim()
          .replace(/^type\s+/, "")
          .split(/\s+as\s+|\s*:\s*/)[0],
    )
    .filter(Boolean);

/** Where `name`, as exported by `file`, is defined: follows `export … from` chains. */
function definitionOf(file: string, name: string, seen = new Set<string>()): string | undefined {
  if (seen.has(file)) return undefined;
  seen.add(file);
  const text = read(file);
  for (const m of text.matchAll(/^export\s*\{([^}]*)\}\s*from\s*["']([^"']+)["']/gm)) {
    const target = resolveModule(file, m[2]);
    const spec = m[1]
      .split(",")
      .map((p) =>
        p
          .trim()
          .replace(/^type\s+/, "")
          .split(/\s+as\s+/),
      )
      .find((p) => (p[1] ?? p[0]) === name);
    if (target && spec) return definitionOf(target, spec[0], seen);
  }
  for (const m of text.matchAll(/^export \* from ["']([^"']+)["']/gm)) {
    const target = resolveModule(file, m[1]);
    const inner = target && definitionOf(target, name, seen);
    if (inner) return inner;
  }
  return exportedCallables(file).some((e) => e.name === name) ? file : undefined;
}

/** `file#name` for every export a test file imports: `import { … } from` or `const { … } = await import(…)`. */
function importedDefinitions(testFile: string): string[] {
  const text = read(testFile);
  const clauses = [
    ...text.matchAll(/import\s+(?:type\s+)?(?:[\w$]+\s*,\s*)?\{([^}]*)\}\s*from\s*["']([^"']+)["']/g),
    ...text.matchAll(/\{([^}]*)\}\s*=\s*await\s+import\(\s*["']([^"']+)["']\s*\)/g),
  ];
  return clauses.flatMap(([, names, specifier]) => {
    const target = resolveModule(testFile, specifier);
    if (!target) return [];
    return bindingNames(names).flatMap((name) => {
      const definition = definitionOf(target, name);
      return definition ? [`${path.relative(ROOT, definition)}#${name}`] : [];
    });
  });
}

function testFiles(dir = path.join(ROOT, "tests")): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === "fixtures" ? [] : testFiles(full);
    return e.name.endsWith(".ts") ? [full] : [];
  });
}

const helpers = FOLDERS.flatMap((folder) =>
  readdirSync(path.join(ROOT, folder))
    .filter((f) => f.endsWith(".ts"))
    .flatMap((f) => exportedCallables(path.join(ROOT, folder, f)).map((e) => ({ ...e, id: `${folder}/${f}#${e.name}` }))),
);

describe("every exported helper of components/ and core/ has a test", () => {
  it("finds the helpers: functions, arrow constants and classes", () => {
    const ids = helpers.map((h) => h.id);
    expect(ids).toContain("components/placement.ts#pickSubnet");
    expect(ids).toContain("components/bootstrap.ts#maxUptimeSeconds");
    expect(ids).toContain("core/errors.ts#ConfigError");
    expect(ids.length).toBeGreaterThan(80);
  });

  it("each is imported by a test file, directly or through a re-export", () => {
    const imported = new Set(testFiles().flatMap(importedDefinitions));
    const untested = helpers.filter((h) => !EXEMPT[h.id] && !imported.has(h.id)).map((h) => h.id);
    expect(untested, "add a unit test under tests/unit/<module>.test.ts").toEqual([]);
  });

  it("the exemptions are few, current, and only for what is not pure", () => {
    for (const [id, why] of Object.entries(EXEMPT)) {
      const helper = helpers.find((h) => h.id === id);
      expect(helper, `${id} no longer exists: drop it from EXEMPT`).toBeDefined();
      if (why === "ComponentResource") expect(helper!.extendsComponent, id).toBe(true);
    }
    expect(Object.keys(EXEMPT).length).toBeLessThanOrEqual(10);
  });
});
