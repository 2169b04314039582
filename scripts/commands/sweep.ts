import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import type { TypedCommand } from "../command-args";
import { TrainctlError, UsageError } from "../../core/errors";
import { printJson, say, usd, warn } from "../output";
import type { StackModel } from "../state/model";
import { exportStack, findPulumi, INSTALL_PULUMI, listStacks } from "../state/pulumi-cli";
import { readStackExport } from "../state/readers";
import type { SweepResult } from "../teardown/aws-sweep";
import { checkAccount, findLeaks, knownIdentifiers, type Leak, parseDuration } from "../teardown/leak-rules";
import { TAG } from "../../core/tags";

interface SweepArgs {
  state?: string[];
  project?: string;
  minAge: string;
  region?: string;
  json?: boolean;
  execute?: boolean;
  account?: string;
  blocklist?: string[];
  snapshot: boolean;
}

function pulumiYaml(): { name?: unknown; config?: Record<string, unknown> } | undefined {
  const file = path.join(process.cwd(), "Pulumi.yaml");
  const { parse: parseYaml } = require("yaml") as typeof import("yaml");
  return existsSync(file) ? ((parseYaml(readFileSync(file, "utf8")) as ReturnType<typeof pulumiYaml> | null) ?? undefined) : undefined;
}

/** Accounts never swept: TRAINCTL_SWEEP_BLOCKLIST, and `trainctl:sweepBlocklist` in Pulumi.yaml's config (value or default). */
function configuredBlocklist(): string[] {
  let value = pulumiYaml()?.config?.["trainctl:sweepBlocklist"];
  if (value && typeof value === "object" && !Array.isArray(value)) value = (value as { default?: unknown }).default;
  const fromConfig = Array.isArray(value) ? value.map(String) : typeof value === "string" ? value.split(",") : [];
  return [...(process.env.TRAINCTL_SWEEP_BLOCKLIST?.split(",") ?? []), ...fromConfig];
}

/** The project name from Pulumi.yaml in the working folder. */
function projectName(args: SweepArgs): string {
  if (args.project) return args.project;
  const name = pulumiYaml()?.name;
  if (typeof name !== "string")
    throw new UsageError("--project: no Pulumi.yaml here to read the project name from; pass --project NAME", { subject: "--project" });
  return name;
}

/** The union of known states, each with where it came from: --state files, or every stack of the project through the Pulumi CLI. */
function knownStates(args: SweepArgs): { from: string; model: StackModel }[] {
  if (args.state?.length) return args.state.map((file) => ({ from: file, model: readStackExport(file) }));
  if (!findPulumi()) {
    throw new UsageError(
      `sweep compares against stack states: pass --state FILE (from 'pulumi stack export') for every stack, or the Pulumi CLI is needed; ${INSTALL_PULUMI}`,
      { subject: "--state" },
    );
  }
  return listStacks().map((s) => ({ from: `stack ${s.name}`, model: exportStack(s.name) }));
}

function resolveRegion(args: SweepArgs, states: StackModel[]): string {
  const region = args.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? states.find((s) => s.region)?.region;
  if (!region) throw new UsageError("--region: no region given and none in AWS_REGION or the states; pass --region (e.g. us-east-1)", { subject: "--region" });
  if (!/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(region))
    throw new UsageError(`--region: ${JSON.stringify(region)} is not an AWS region name (e.g. us-east-1, eu-central-1)`, { subject: "--region" });
  return region;
}

const leakJson = (l: Leak) => ({
  arn: l.resource.arn,
  type: l.resource.type,
  id: l.resource.id,
  ageHours: l.ageHours,
  monthly: l.monthly === null ? null : Math.round(l.monthly * 100) / 100,
  action: l.action ?? null,
  ...(l.note ? { note: l.note } : {}),
});

function printLeaks(leaks: Leak[]): void {
  if (leaks.length === 0) return;
  const Table = require("cli-table3") as typeof import("cli-table3");
  const table = new Table({
    head: ["type", "id", "age", "monthly", "sweep"],
    style: { head: [], border: [] },
    chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" },
  });
  for (const l of leaks) {
    const age = l.ageHours >= 48 ? `${Math.round(l.ageHours / 24)}d` : `${l.ageHours}h`;
    table.push([l.resource.type, l.resource.id, age, usd(l.monthly), l.action ?? `report only: ${l.note}`]);
  }
  say(table.toString());
}

const command: TypedCommand<SweepArgs> = {
  command: "sweep",
  describe: "find trainctl-tagged AWS resources no stack state knows (dry run); --execute deletes the safe kinds",
  builder: (y) =>
    y
      .option("state", { type: "string", array: true, describe: "a `pulumi stack export` file (repeat); default: every stack through the Pulumi CLI" })
      .option("project", { type: "string", describe: `${TAG.project} tag to match (default: the name in ./Pulumi.yaml)` })
      .option("min-age", { type: "string", default: "1h", describe: "skip anything younger (s, m, h, d, w)" })
      .option("region", { type: "string", describe: "AWS region (default: AWS_REGION, else the states' region)" })
      .option("json", { type: "boolean", describe: "print {leaks, skipped, results} on stdout" })
      .option("execute", { type: "boolean", describe: "delete the leaks (needs --account)" })
      .option("account", { type: "string", describe: "the account to sweep; must equal STS GetCallerIdentity's" })
      .option("blocklist", { type: "string", array: true, describe: "accounts never swept (comma-separated or repeated)" })
      .option("snapshot", { type: "boolean", default: true, describe: "snapshot each volume before deleting it (--no-snapshot to skip)" }),
  handler: async (args) => {
    const minAgeMs = parseDuration(args.minAge);
    const blocklist = [...(args.blocklist ?? []), ...configuredBlocklist()]
      .flatMap((b) => b.split(","))
      .map((b) => b.trim())
      .filter(Boolean);
    for (const id of [args.account, ...blocklist]) {
      if (id !== undefined && !/^\d{12}$/.test(id))
        throw new UsageError(`--account/--blocklist: ${JSON.stringify(id)} is not a 12-digit AWS account id`, { subject: "--account" });
    }
    if (args.execute && !args.account)
      throw new UsageError("--execute needs --account ID (the account to sweep, checked against STS GetCallerIdentity); nothing was deleted", {
        subject: "--account",
      });
    const project = projectName(args);
    const known = knownStates(args);
    const states = known.map((k) => k.model);
    if (states.length === 0 && args.execute) {
      // A wrong backend or folder lists no stacks, and then every live resource would look leaked.
      throw new UsageError(
        "--execute: the Pulumi CLI lists no stacks here, so every tagged resource would look leaked; check the backend (pulumi whoami, pulumi login) or pass --state files. Nothing was deleted",
        { subject: "--state" },
      );
    }
    const empty = known.filter((k) => k.model.resources.length === 0).map((k) => JSON.stringify(k.from));
    if (empty.length > 0 && args.execute) {
      // An empty export (wrong file, failed export, wiped state) would make its stack's live resources look leaked.
      throw new UsageError(
        `--state: ${empty.length} of ${states.length} state(s) hold no resources (${empty.join(", ")}), so their live resources would look leaked; pass complete exports. Nothing was deleted`,
        { subject: "--state" },
      );
    }
    if (states.length === 0) warn("no stack states known: every tagged resource counts as a leak (check the backend with pulumi whoami)");
    else if (empty.length > 0) warn(`${empty.join(", ")} hold(s) no resources: that stack's resources count as leaks`);
    const region = resolveRegion(args, states);
    const { callerAccount, describe, executeSweep, listTagged, sweepClients } = require("../teardown/aws-sweep") as typeof import("../teardown/aws-sweep");
    const { withSpinner } = require("../progress") as typeof import("../progress");
    const clients = sweepClients(region);

    let account: string | undefined;
    if (args.execute) {
      account = await callerAccount(clients.sts);
      checkAccount(account, { account: args.account, blocklist });
    }
    const tagged = await listTagged(clients.tagging, project).catch((error) => {
      throw new TrainctlError(`Tagging API GetResources failed in ${region}: ${(error as Error).message}`, {
        subject: "--region",
        retryable: true,
        cause: error,
      });
    });
    const now = new Date();
    const { leaks, skipped } = findLeaks(await withSpinner("describing tagged resources", args, () => describe(clients, tagged)), knownIdentifiers(states), {
      now,
      minAgeMs,
    });
    const results: SweepResult[] = args.execute ? await executeSweep(clients, leaks, { snapshot: args.snapshot, now }) : [];
    const failed = results.filter((r) => r.status === "failed");

    if (args.json) {
      printJson({
        project,
        region,
        ...(account ? { account } : {}),
        states: states.map((s) => s.stack),
        leaks: leaks.map(leakJson),
        skipped,
        ...(args.execute ? { results } : {}),
      });
    }
    say(
      `Sweep of project ${project} in ${region} against ${states.length} stack state(s): ${tagged.length} tagged resource(s), ${leaks.length} leak(s), ${skipped.length} skipped.`,
    );
    printLeaks(leaks);
    const monthly = leaks.reduce((sum, l) => sum + (l.monthly ?? 0), 0);
    if (leaks.length) say(`Leaks cost ${usd(monthly)}/month${leaks.some((l) => l.monthly === null) ? " plus unpriced ones" : ""}.`);
    for (const s of skipped) if (!s.reason.startsWith("known")) say(`  skipped ${s.arn}: ${s.reason}`);
    if (!args.execute) {
      if (leaks.some((l) => l.action)) say("Dry run: nothing was deleted. Run again with --execute --account ID to delete the leaks marked above.");
      return;
    }
    for (const r of results) {
      if (r.status === "done") say(`  done   ${r.action} ${r.arn}${r.snapshotId ? ` (kept ${r.snapshotId})` : ""}`);
      else warn(`failed ${r.action} ${r.arn}: ${r.error}`);
    }
    say(`Sweep: ${results.length - failed.length} done, ${failed.length} failed.`);
    if (failed.length) process.exitCode = 1;
  },
};
export default command;
