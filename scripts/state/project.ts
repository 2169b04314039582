import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";

/** This package's root: `Pulumi.yaml`, `Pulumi.<stack>.yaml` and `infra/` live here. */
export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

/** Where the Pulumi CLI runs and stack files are read: TRAINCTL_PROJECT_DIR, else this package. */
export const projectDir = (): string => process.env.TRAINCTL_PROJECT_DIR ?? PROJECT_ROOT;

/** The project's name, from `Pulumi.yaml` in `dir` (the first key Pulumi reads). */
export function projectNameIn(dir: string): string {
  const doc = parseYaml(readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")) as { name?: unknown } | null;
  return typeof doc?.name === "string" ? doc.name : "trainctl";
}
