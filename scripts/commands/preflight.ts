import type { TypedCommand } from "../command-args";
import { TrainctlError, UsageError } from "../../core/errors";
import { printJson, say } from "../output";
import { type Check, exitCodeFor } from "../preflight/checks";
import { projectDir } from "../state/project";

interface PreflightArgs {
  stack: string;
  json?: boolean;
  deployRole?: string;
}

/** The `preflight --json` contract (DESIGN.md). */
export interface PreflightReport {
  stack: string;
  checks: Check[];
}

const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** An IAM role ARN (IAM role names: `[\w+=,.@-]`, paths of `/`-separated segments). */
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

/** Reads `Pulumi.<stack>.yaml` with the one config parser (usage errors before any AWS call), then asks the account. */
export async function preflightStack(stack: string, deployRole?: string): Promise<PreflightReport> {
  if (!STACK_NAME.test(stack))
    throw new UsageError(`--stack: ${JSON.stringify(stack)} is not a stack name (accepted: letters, digits, . _ -)`, { subject: "--stack" });
  if (deployRole !== undefined && !ROLE_ARN.test(deployRole)) {
    throw new UsageError(`--deploy-role: ${JSON.stringify(deployRole)} is not an IAM role ARN (accepted: arn:aws:iam::123456789012:role/NAME)`, {
      subject: "--deploy-role",
    });
  }
  const dir = projectDir();
  const { parseStackConfig } = require("../../core/config") as typeof import("../../core/config");
  const { loadStackConfig } = require("../state/offline-program") as typeof import("../state/offline-program");
  const config = parseStackConfig(loadStackConfig(stack, dir), { projectDir: dir });
  // Loaded only now: bad input answers before the SDKs and the program's AMI choice load.
  const { preflightClients, runPreflight } = require("../preflight/account") as typeof import("../preflight/account");
  return { stack, checks: await runPreflight(config, preflightClients(config.region), { deployRole }) };
}

const MARK = { ok: "ok  ", warn: "WARN", fail: "FAIL" } as const;

/** The human view: one line per check, the fix indented under it. */
export function renderChecks(checks: readonly Check[]): string[] {
  return checks.flatMap((c) => [
    `${MARK[c.status]} ${c.id.padEnd(16)} ${c.detail}`,
    ...(c.fix && c.status !== "ok" ? [`     ${"".padEnd(16)} → ${c.fix}`] : []),
  ]);
}

/** Run before `experiment up`: prints the rows that are not ok, and stops on a failed one. */
export async function preflightGate(stack: string): Promise<void> {
  const { checks } = await preflightStack(stack);
  for (const line of renderChecks(checks.filter((c) => c.status !== "ok"))) say(line);
  const failed = checks.filter((c) => c.status === "fail").length;
  if (failed > 0)
    throw new TrainctlError(`preflight: ${failed} check(s) failed for ${stack}; fix them, or pass --skip-preflight`, { subject: "--skip-preflight" });
}

const command: TypedCommand<PreflightArgs> = {
  command: "preflight",
  describe: "read-only checks against the AWS account that the first pulumi up would trip on (quota, capacity, snapshot, permissions, …)",
  builder: (y) =>
    y
      .option("stack", { alias: "s", type: "string", default: "dev", describe: "stack name; reads Pulumi.<stack>.yaml" })
      .option("json", { type: "boolean", describe: "print {stack, checks: [{id, status, detail, fix}]} on stdout" })
      .option("deploy-role", { type: "string", describe: "IAM role ARN that runs pulumi up, simulated instead of the caller (for a read-only CI role)" }),
  handler: async (args) => {
    const report = await preflightStack(args.stack, args.deployRole);
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
