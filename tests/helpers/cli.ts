import { spawnSync } from "node:child_process";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "..", "..");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `trainctl ARGS…` as a user would (`npm run -s trainctl`), in a child process. */
export function trainctl(args: string[], options: { cwd?: string; env?: Record<string, string | undefined>; input?: string } = {}): CliResult {
  const result = spawnSync(TSX, [path.join(ROOT, "scripts", "cli.ts"), ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, FORCE_COLOR: "0", ...options.env },
    input: options.input,
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}
