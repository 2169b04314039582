/** The throwaway stack through the Automation API: its config file, up, destroy and removal. */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { stackFile } from "../../scripts/experiments/config-file";
import { ROOT } from "../helpers/cli";

/** Writes `Pulumi.<stack>.yaml`'s `config:`, keeping what Pulumi added (such as `encryptionsalt`). */
export function writeStackConfig(stack: string, config: Record<string, unknown>): void {
  const file = stackFile(ROOT, stack);
  const existing = existsSync(file) ? ((parseYaml(readFileSync(file, "utf8")) as Record<string, unknown> | null) ?? {}) : {};
  writeFileSync(file, stringifyYaml({ ...existing, config }));
}

/** `pulumi stack init` in this project, with the current backend (`pulumi login`). */
export async function createStack(stack: string): Promise<Stack> {
  return LocalWorkspace.createStack({ stackName: stack, workDir: ROOT });
}

/** URNs of the resources the state holds as protected. */
export async function protectedUrns(stack: Stack): Promise<string[]> {
  const deployment = await stack.exportStack();
  const resources = (deployment.deployment?.resources ?? []) as { urn: string; protect?: boolean }[];
  return resources.filter((r) => r.protect).map((r) => r.urn);
}

/** The progress of Pulumi operations, on stderr so vitest's report stays readable. */
export const onOutput = (text: string) => process.stderr.write(text);
