import type { CommandModule } from "yargs";
import { parseStackConfig } from "../../infra/config";
import { TrainctlError, UsageError } from "../errors";
import { printJson, say } from "../output";
import { type Check, exitCodeFor } from "../preflight/checks";
import { loadStackConfig } from "../state/plan";
import { projectDir } from "../state/project";

interface PreflightArgs {
  stack: string;
  json?: boolean;
}

/** The `preflight --json` contract (DESIGN.md). */
export interface PreflightReport {
  stack: string;
  checks: Check[];
}

const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Reads `Pulumi.<stack>.yaml` with the one config parser (usage errors before any AWS call), then asks the account. */
export async function preflightStack(stack: string): Promise<PreflightReport> {
  if (!STACK_NAME.test(stack)) throw new UsageError(`--stack: ${JSON.stringify(stack)} is not a stack name (accepted: letters, digits, . _ -)`, { subject: "--stack" });
  const dir = projectDir();
  const config = parseStackConfig(loadStackConfig(stack, dir), { projectDir: dir });
  // Loaded only now: bad input answers before the SDKs and the program's AMI choice load.
  const { preflightClients, runPreflight } = require("../preflight/account") as typeof import("../preflight/account");
  return { stack, checks: await runPreflight(config, preflightClients(config.region)) };
}

const MARK = { ok: "ok  ", warn: "WARN", fail: "FAIL" } as const;

/** The human view: one line per check, the fix indented under it. */
export function renderChecks(checks: readonly Check[]): string[] {
  return checks.flatMap((c) => [`${MARK[c.status]} ${c.id.padEnd(16)} ${c.detail}`, ...(c.fix && c.status !== "ok" ? [`     ${"".padEnd(16)} → ${c.fix}`] : [])]);
}

/** Run before `experiment up`: prints the rows that are not ok, and stops on a failed one. */
export async function preflightGate(stack: string): Promise<void> {
  const { checks } = await preflightStack(stack);
  for (const line of renderChecks(checks.filter((c) => c.status !== "ok"))) say(line);
  const failed = checks.filter((c) => c.status === "fail").length;
  if (failed > 0) throw new TrainctlError(`preflight: ${failed} check(s) failed for ${stack}; fix them, or pass --skip-preflight`, { subject: "--skip-preflight" });
}

const command: CommandModule<object, PreflightArgs> = {
  command: "preflight",
  describe: "read-only checks against the AWS account that the first pulumi up would trip on (quota, capacity, snapshot, permissions, …)",
  builder: (y) =>
    y
      .option("stack", { alias: "s", type: "string", default: "dev", describe: "stack name; reads Pulumi.<stack>.yaml" })
      .option("json", { type: "boolean", describe: "print {stack, checks: [{id, status, detail, fix}]} on stdout" }) as never,
  handler: async (args) => {
    const report = await preflightStack(args.stack);
    if (args.json) printJson(report);
    else {
      say(`Preflight for stack ${report.stack}`);
      for (const line of renderChecks(report.checks)) say(line);
      const count = (s: Check["status"]) => report.checks.filter((c) => c.status === s).length;
      say(`${count("ok")} ok, ${count("warn")} warn, ${count("fail")} fail`);
    }
    process.exitCode = exitCodeFor(report.checks);
  },
};

export default command;
