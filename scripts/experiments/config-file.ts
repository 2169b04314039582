import { existsSync, linkSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { type Document, parse as parseYaml, parseDocument } from "yaml";
import { parseStackConfig } from "../../core/config";
import { experimentNameProblem, newIncarnation } from "../../core/names";
import { UsageError } from "../../core/errors";
import { projectName } from "../state/offline-program";

/** Pulumi's rule for stack names: letters, digits, `-`, `_`, `.`, at most 100 characters. */
export const STACK_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

export function assertStackName(name: string): void {
  if (!STACK_NAME.test(name))
    throw new UsageError(
      `experiment name ${JSON.stringify(name)} is not a valid Pulumi stack name (accepted: letters, digits, -, _ and ., at most 100 characters)`,
      { subject: "NAME" },
    );
}

export const stackFile = (projectDir: string, stack: string) => path.join(projectDir, `Pulumi.${stack}.yaml`);

/** `instance.type` → ["trainctl:instance", "type"]; `region` → ["aws:region"]; `aws:region` stays. */
export function overridePath(key: string): string[] {
  const [head, ...rest] = key.split(".");
  if (!head || rest.some((s) => s === "")) throw new UsageError(`--set ${key}: expected a dotted key such as instance.type`, { subject: "--set" });
  const root = head.includes(":") ? head : head === "region" ? "aws:region" : `trainctl:${head}`;
  return [root, ...rest];
}

/** Applies `key=value` overrides (values read as YAML scalars; `null` removes the key) to a config document. */
export function applyOverrides(doc: Document, sets: readonly string[]): Document {
  for (const set of sets) {
    const eq = set.indexOf("=");
    if (eq <= 0) throw new UsageError(`--set ${set}: expected key=value, e.g. --set instance.type=g6.xlarge`, { subject: "--set" });
    const value: unknown = parseYaml(set.slice(eq + 1));
    const where = ["config", ...overridePath(set.slice(0, eq))];
    if (value === null) doc.deleteIn(where);
    else doc.setIn(where, value);
  }
  return doc;
}

/**
 * Writes `Pulumi.<name>.yaml` from another stack's file plus overrides. The result is validated with
 * the one config schema first; an invalid result, an existing file or a bad name writes nothing.
 */
export function newExperimentFile(options: { projectDir: string; name: string; from: string; sets: readonly string[] }): string {
  assertStackName(options.name);
  const nameProblem = experimentNameProblem(options.name, projectName(options.projectDir));
  if (nameProblem) throw new UsageError(nameProblem, { subject: "NAME" });
  const target = stackFile(options.projectDir, options.name);
  if (existsSync(target)) throw new UsageError(`${path.basename(target)} already exists; pick another name or edit it`, { subject: "NAME" });
  const source = stackFile(options.projectDir, options.from);
  if (!existsSync(source)) throw new UsageError(`--from: ${path.basename(source)} does not exist`, { subject: "--from" });
  const doc = applyOverrides(parseDocument(readFileSync(source, "utf8")), options.sets);
  // A new experiment is a new incarnation: never the source's id.
  doc.setIn(["config", "trainctl:incarnation"], newIncarnation());
  const config = (doc.toJS() as { config?: Record<string, unknown> })?.config ?? {};
  parseStackConfig(config, { projectDir: options.projectDir });
  doc.commentBefore = ` Experiment ${options.name}, made from ${options.from} by trainctl experiment new.`;
  // Written beside the target, then linked into place: never a half-written file, never an overwrite.
  const temp = `${target}.${process.pid}.tmp`;
  writeFileSync(temp, doc.toString());
  try {
    linkSync(temp, target);
  } catch {
    throw new UsageError(`${path.basename(target)} already exists; pick another name or edit it`, { subject: "NAME" });
  } finally {
    unlinkSync(temp);
  }
  return target;
}
