import { readFileSync } from "node:fs";
import * as path from "node:path";
import { PACKAGE_ROOT, findUp } from "../package-root";

export { PACKAGE_ROOT, findUp };

/** The repository's own Pulumi project, which `npm start` plans: the package root. */
export const PROJECT_ROOT = PACKAGE_ROOT;

/**
 * Where stack files are read and the Pulumi CLI runs: TRAINCTL_PROJECT_DIR, else the nearest folder
 * above the working directory with a Pulumi.yaml, else this package.
 */
export const projectDir = (): string => process.env.TRAINCTL_PROJECT_DIR ?? findUp("Pulumi.yaml", process.cwd()) ?? PROJECT_ROOT;

/** The project's name, from `Pulumi.yaml` in `dir` (the first key Pulumi reads). */
export function projectNameIn(dir: string): string {
  // yaml loads here, not with the module: projectDir() is on every command's path, --help included.
  const { parse: parseYaml } = require("yaml") as typeof import("yaml");
  const doc = parseYaml(readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")) as { name?: unknown } | null;
  return typeof doc?.name === "string" ? doc.name : "trainctl";
}
