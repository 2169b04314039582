import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { UsageError } from "../errors";
import type { StackModel } from "./model";
import { parseStackExport } from "./readers";

export const INSTALL_PULUMI = "install it with `curl -fsSL https://get.pulumi.com | sh` (https://www.pulumi.com/docs/install/)";

/** The `pulumi` executable on PATH (or TRAINCTL_PULUMI), if any. */
export function findPulumi(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TRAINCTL_PULUMI) return existsSync(env.TRAINCTL_PULUMI) ? env.TRAINCTL_PULUMI : undefined;
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    const candidate = path.join(dir, "pulumi");
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function requirePulumi(why: string): string {
  const pulumi = findPulumi();
  if (!pulumi) throw new UsageError(`${why} needs the Pulumi CLI, which is not on PATH; ${INSTALL_PULUMI}`, { subject: "pulumi" });
  return pulumi;
}

export interface PulumiResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the Pulumi CLI; `inherit` streams its output to the user's terminal (on stderr). */
export function runPulumi(args: string[], options: { cwd?: string; inherit?: boolean } = {}): PulumiResult {
  const pulumi = requirePulumi(`pulumi ${args[0]}`);
  const result = spawnSync(pulumi, args, {
    cwd: options.cwd,
    encoding: "utf8",
    stdio: options.inherit ? ["inherit", process.stderr, process.stderr] : ["ignore", "pipe", "pipe"],
    maxBuffer: 512 * 1024 * 1024,
  });
  return { code: result.status ?? 1, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

/** The stack's state through `pulumi stack export`. */
export function exportStack(stack: string, cwd?: string): StackModel {
  if (!findPulumi()) {
    throw new UsageError(`--stack needs the Pulumi CLI, which is not on PATH; run 'pulumi stack export --stack ${stack} --file state.json' where it is and pass --state state.json`, { subject: "--stack" });
  }
  const result = runPulumi(["stack", "export", "--stack", stack], { cwd });
  if (result.code !== 0) throw new UsageError(`--stack: pulumi stack export --stack ${stack} failed: ${result.stderr.trim().split("\n").pop()}`, { subject: "--stack" });
  return parseStackExport(JSON.parse(result.stdout), `pulumi stack export --stack ${stack}`);
}
