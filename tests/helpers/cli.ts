import { spawn, spawnSync } from "node:child_process";
import * as path from "node:path";
import { expect } from "vitest";

export const ROOT = path.resolve(__dirname, "..", "..");
/** The compiled executable (vitest's global setup builds it), as installed: one node process, so a signal reaches the CLI itself. */
export const COMPILED_CLI = path.join(ROOT, "dist", "scripts", "trainctl.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `trainctl ARGS…` as a user would (`npx trainctl`), in a child process. */
export function trainctl(args: string[], options: { cwd?: string; env?: Record<string, string | undefined>; input?: string } = {}): CliResult {
  const result = spawnSync(process.execPath, [COMPILED_CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, FORCE_COLOR: "0", ...options.env },
    input: options.input,
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Like trainctl(), without blocking this process: needed when the test itself serves the CLI's endpoints. */
export function trainctlAsync(args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [COMPILED_CLI, ...args], { cwd: options.cwd ?? ROOT, env: { ...process.env, FORCE_COLOR: "0", ...options.env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** What bad input must get: exit code 2 and exactly one line on stderr, matching `message`. */
export function expectUsageError(result: CliResult, message: RegExp): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr.trim().split("\n")).toHaveLength(1);
  expect(result.stderr).toMatch(message);
}
