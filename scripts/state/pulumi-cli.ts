import { spawnSync } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import * as path from "node:path";
import { UsageError } from "../../core/errors";
import type { StackModel } from "./model";
import { parseStackExport } from "./readers";

export const INSTALL_PULUMI = "install it with `curl -fsSL https://get.pulumi.com | sh` (or see https://www.pulumi.com/docs/install/) and run again";
export const PULUMI_MISSING = `the Pulumi CLI is not installed; ${INSTALL_PULUMI}`;

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The `pulumi` executable: TRAINCTL_PULUMI when set, else the first on PATH; undefined when there is none. */
export function findPulumi(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TRAINCTL_PULUMI) return isExecutable(env.TRAINCTL_PULUMI) ? env.TRAINCTL_PULUMI : undefined;
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, "pulumi");
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** The Pulumi CLI, or a UsageError (exit 2) saying how to install it. */
export function requirePulumi(env: NodeJS.ProcessEnv = process.env): string {
  const pulumi = findPulumi(env);
  if (!pulumi) throw new UsageError(PULUMI_MISSING, { subject: "pulumi" });
  return pulumi;
}

export interface PulumiResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunPulumiOptions {
  cwd?: string;
  /** Extra environment variables (merged over process.env). */
  env?: Record<string, string | undefined>;
  /** Send the CLI's output to our stderr as it runs (not captured: stdout and stderr come back empty). */
  stream?: boolean;
  /** Text for the CLI's stdin. */
  input?: string;
}

/** Runs the Pulumi CLI and waits for it. Throws UsageError when the CLI is not installed. */
export function runPulumi(args: string[], options: RunPulumiOptions = {}): PulumiResult {
  const env = { ...process.env, ...options.env };
  const pulumi = requirePulumi(env);
  const result = spawnSync(pulumi, args, {
    cwd: options.cwd,
    env,
    input: options.input,
    encoding: "utf8",
    stdio: options.stream ? [options.input === undefined ? "inherit" : "pipe", process.stderr, process.stderr] : ["pipe", "pipe", "pipe"],
    maxBuffer: 512 * 1024 * 1024,
  });
  if (result.error) throw new UsageError(`pulumi ${args[0] ?? ""}: cannot run ${pulumi}: ${result.error.message}`, { subject: "pulumi" });
  return { code: result.status ?? 1, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

function lastLine(text: string): string {
  return text.trim().split("\n").pop() ?? "";
}

/** Runs the CLI and parses its stdout as JSON; a failure names the command and the CLI's last error line. */
function pulumiJson(args: string[], cwd: string | undefined, subject: string): unknown {
  const result = runPulumi(args, { cwd });
  if (result.code !== 0) throw new UsageError(`${subject}: pulumi ${args.join(" ")} failed (exit ${result.code}): ${lastLine(result.stderr)}`, { subject });
  try {
    return JSON.parse(result.stdout);
  } catch {
    throw new UsageError(`${subject}: pulumi ${args.join(" ")} printed no JSON`, { subject });
  }
}

/**
 * Pulumi's stack name rule (tokens.ValidateStackName): 1-100 of A-Z a-z 0-9 _ . -, optionally
 * `org/` or `org/project/` first; a leading `-` is refused too, so a name is never read as a flag.
 */
const STACK_NAME = /^([A-Za-z0-9_.][A-Za-z0-9_.-]{0,99}\/){0,2}[A-Za-z0-9_.][A-Za-z0-9_.-]{0,99}$/;

/** The name itself, or a UsageError naming the flag: nothing else reaches the Pulumi CLI as a stack. */
export function checkStackName(stack: string, flag = "--stack"): string {
  if (typeof stack !== "string" || !STACK_NAME.test(stack)) {
    throw new UsageError(
      `${flag}: ${JSON.stringify(stack)} is not a Pulumi stack name (accepted: letters, digits, _ . - up to 100, not starting with -, optionally org/ or org/project/ first)`,
      { subject: flag },
    );
  }
  return stack;
}

/** The stack's state through `pulumi stack export --stack NAME`. */
export function exportStack(stack: string, cwd?: string): StackModel {
  checkStackName(stack);
  const json = pulumiJson(["stack", "export", "--stack", stack], cwd, "--stack");
  return parseStackExport(json, `pulumi stack export --stack ${stack}`);
}

/** The stack's outputs (secrets stay masked) through `pulumi stack output --json`. */
export function stackOutputs(stack: string, cwd?: string): Record<string, unknown> {
  const json = pulumiJson(["stack", "output", "--json", "--show-secrets=false", "--stack", stack], cwd, "--stack");
  return json && typeof json === "object" && !Array.isArray(json) ? (json as Record<string, unknown>) : {};
}

/** One entry of `pulumi stack ls --json`. */
export interface StackSummary {
  name: string;
  current: boolean;
  lastUpdate?: string;
  updateInProgress?: boolean;
  resourceCount?: number;
  url?: string;
}

/** The project's stacks through `pulumi stack ls --json` (run in the project folder). */
export function listStacks(cwd?: string, options: { all?: boolean } = {}): StackSummary[] {
  const json = pulumiJson(["stack", "ls", "--json", ...(options.all ? ["--all"] : [])], cwd, "pulumi stack ls");
  if (!Array.isArray(json)) throw new UsageError("pulumi stack ls --json did not print a list", { subject: "pulumi stack ls" });
  return json.filter((s): s is StackSummary => Boolean(s) && typeof (s as StackSummary).name === "string");
}

/** The stack's tags through `pulumi stack tag ls --json --stack NAME`. */
export function stackTags(stack: string, cwd?: string): Record<string, string> {
  const json = pulumiJson(["stack", "tag", "ls", "--json", "--stack", stack], cwd, "--stack");
  const tags: Record<string, string> = {};
  for (const [key, value] of Object.entries((json as Record<string, unknown>) ?? {})) if (typeof value === "string") tags[key] = value;
  return tags;
}
