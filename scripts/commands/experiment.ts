import type * as Automation from "@pulumi/pulumi/automation";
import type { Argv, CommandModule } from "yargs";
import { TrainctlError, UsageError } from "../../core/errors";
import type { ExperimentRow } from "../experiments/inventory";
import { printJson, say, usd } from "../output";
import type { StackModel } from "../state/model";
import { projectDir } from "../state/project";
import { preflightGate } from "./preflight";
import { exportStack, findPulumi, listStacks, requirePulumi, runPulumi, stackTags } from "../state/pulumi-cli";
import { destroyStack } from "../teardown/destroy";
import { planTeardown } from "../teardown/teardown-plan";
import { TAG } from "../../core/tags";

const shortName = (name: string) => name.split("/").pop() ?? name;

/** A stack through the Automation API, with the CLI found on PATH (a clear error without it). */
async function selectStack(name: string): Promise<Automation.Stack> {
  const { LocalWorkspace, PulumiCommand, Stack } = require("@pulumi/pulumi/automation") as typeof Automation;
  requirePulumi();
  const pulumiCommand = await PulumiCommand.get({ skipVersionCheck: true });
  const workspace = await LocalWorkspace.create({ workDir: projectDir(), pulumiCommand });
  return Stack.select(name, workspace);
}

const progress = (text: string) => process.stderr.write(text);

function backendStacks(): { stacks: string[]; tags: Record<string, Record<string, string>> } | undefined {
  if (!findPulumi()) return undefined;
  const stacks = listStacks(projectDir()).map((s) => shortName(s.name));
  return { stacks, tags: Object.fromEntries(stacks.map((s) => [s, stackTags(s, projectDir())])) };
}

function printTeardown(stack: string): StackModel {
  const model = exportStack(stack, projectDir());
  const plan = planTeardown(model);
  say(
    `${stack}: delete ${plan.delete.length}, keep ${plan.retain.length} (${plan.retain.map((r) => `${r.urn.split("::").pop()} [${r.reason}]`).join(", ")}); still billed ${usd(plan.monthlyCostAfter)}/month`,
  );
  return model;
}

function destroyExcludingProtected(stack: string): void {
  destroyStack(stack, printTeardown(stack), { cwd: projectDir() });
  say(`${stack}: destroyed; protected data stays`);
}

/** Column widths of `experiment list`'s table; the last columns (expires, notes) are left ragged. */
const LIST_WIDTHS = [24, 12, 20, 10, 14, 11];
const listLine = (cells: string[]) =>
  cells
    .map((cell, i) => (i < LIST_WIDTHS.length ? cell.padEnd(LIST_WIDTHS[i]) : cell))
    .join(" ")
    .trimEnd();

/** The human view of `experiment list`: a header row, then one line per experiment. */
export function listLines(rows: ExperimentRow[]): string[] {
  return [
    listLine(["NAME", "OWNER", "INSTANCE", "MARKET", "STRATEGY", "$/HOUR", "EXPIRES", "NOTES"]),
    ...rows.map((r) => {
      const flags = [
        r.expired && "EXPIRED",
        r.hasStack === false && "no stack (config only)",
        !r.hasConfig && "no config file",
        r.error && `invalid: ${r.error}`,
      ].filter(Boolean);
      const hourly = r.hourlyUsd === undefined || r.hourlyUsd === null ? "-" : `${usd(r.hourlyUsd, 3)}/h`;
      return listLine([
        r.name,
        String(r.owner ?? "-"),
        String(r.instance ?? "-"),
        String(r.market ?? "-"),
        String(r.strategy ?? "-"),
        hourly,
        r.expires ?? "-",
        flags.join("; "),
      ]);
    }),
  ];
}

const subcommands = (y: Argv) =>
  y
    .command({
      command: "new <name>",
      describe: "write Pulumi.<name>.yaml from another stack's config with overrides (validated first)",
      builder: (b: Argv) =>
        b
          .positional("name", { type: "string", demandOption: true })
          .option("from", { type: "string", default: "dev", describe: "stack whose config to copy" })
          .option("set", { type: "string", array: true, default: [], describe: "override, e.g. --set instance.type=g6.xlarge" }),
      handler: (args: { name: string; from: string; set: string[] }) => {
        const { newExperimentFile } = require("../experiments/config-file") as typeof import("../experiments/config-file");
        const { parseStackConfig } = require("../../core/config") as typeof import("../../core/config");
        const { loadStackConfig } = require("../state/offline-program") as typeof import("../state/offline-program");
        const file = newExperimentFile({ projectDir: projectDir(), name: args.name, from: args.from, sets: args.set });
        say(`wrote ${file}`);
        if (!findPulumi()) {
          say(`the Pulumi CLI is not installed: run 'pulumi stack init ${args.name}' once it is`);
          return;
        }
        const config = parseStackConfig(loadStackConfig(args.name, projectDir()), { projectDir: projectDir() });
        for (const cmd of [
          ["stack", "init", args.name],
          ["stack", "tag", "set", TAG.owner, config.owner, "--stack", args.name],
          ["stack", "tag", "set", TAG.experiment, args.name, "--stack", args.name],
        ]) {
          const result = runPulumi(cmd, { cwd: projectDir() });
          if (result.code !== 0) throw new TrainctlError(`pulumi ${cmd.join(" ")} failed: ${result.stderr.trim().split("\n").pop()}`, { subject: args.name });
        }
        say(`created stack ${args.name}`);
      },
    })
    .command({
      command: "list",
      describe: "list experiments from Pulumi.*.yaml files and the backend's stacks",
      builder: (b: Argv) => b.option("json", { type: "boolean" }),
      handler: async (args: { json?: boolean }) => {
        const { inventory } = require("../experiments/inventory") as typeof import("../experiments/inventory");
        const rows = await inventory(projectDir(), backendStacks());
        if (args.json) printJson(rows);
        else for (const line of listLines(rows)) say(line);
      },
    })
    .command({
      command: "up <name>",
      describe: `pulumi up through the Automation API; sets ${TAG.expires} from maxHours after the first success`,
      builder: (b: Argv) =>
        b
          .positional("name", { type: "string", demandOption: true })
          .option("skip-preflight", { type: "boolean", describe: "do not run trainctl preflight first" }),
      handler: async (args: { name: string; skipPreflight?: boolean }) => {
        const { parseStackConfig } = require("../../core/config") as typeof import("../../core/config");
        const { loadStackConfig } = require("../state/offline-program") as typeof import("../state/offline-program");
        const { expiryAfter } = require("../experiments/inventory") as typeof import("../experiments/inventory");
        const config = parseStackConfig(loadStackConfig(args.name, projectDir()), { projectDir: projectDir() });
        const stack = await selectStack(args.name);
        if (!args.skipPreflight) await preflightGate(args.name);
        const result = await stack.up({ onOutput: progress });
        if (result.summary.result !== "succeeded")
          throw new TrainctlError(`up of ${args.name} ended ${result.summary.result}`, { subject: args.name, retryable: true });
        const expires = expiryAfter(config.instance.maxHours, new Date());
        if (expires && !(await stack.listTags())[TAG.expires]) await stack.setTag(TAG.expires, expires);
        say(`${args.name}: up${expires ? `; expires ${expires}` : ""}`);
      },
    })
    .command({
      command: "destroy <name>",
      describe: "the safe teardown: destroy --exclude-protected, confirmed with --confirm <name>",
      builder: (b: Argv) =>
        b.positional("name", { type: "string", demandOption: true }).option("confirm", { type: "string", describe: "the exact stack name" }),
      handler: (args: { name: string; confirm?: string }) => {
        if (args.confirm !== args.name)
          throw new UsageError(`--confirm: destroy needs --confirm ${args.name} (the exact stack name); nothing was done`, { subject: "--confirm" });
        requirePulumi();
        destroyExcludingProtected(args.name);
      },
    })
    .command({
      command: "gc",
      describe: `find experiments past ${TAG.expires}; --execute tears them down (the expiry tag is the confirmation)`,
      builder: (b: Argv) => b.option("execute", { type: "boolean", describe: "really tear down the expired stacks" }),
      handler: async (args: { execute?: boolean }) => {
        const { inventory } = require("../experiments/inventory") as typeof import("../experiments/inventory");
        requirePulumi();
        const rows = (await inventory(projectDir(), backendStacks())).filter((r) => r.expired);
        if (rows.length === 0) {
          say("nothing has expired");
          return;
        }
        for (const row of rows) {
          say(`${row.name} expired at ${row.expires}`);
          if (args.execute) destroyExcludingProtected(row.name);
          else printTeardown(row.name);
        }
        if (!args.execute) say("Dry run: nothing was deleted. Run with --execute to tear these down.");
      },
    })
    .demandCommand(1, "name a subcommand: new, list, up, destroy, gc");

const command: CommandModule = {
  command: "experiment",
  describe: "one stack per experiment: new, list, up, destroy, gc",
  builder: subcommands,
  handler: () => undefined,
};
export default command;
