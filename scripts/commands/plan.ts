import type { TypedCommand } from "../command-args";
import { UsageError } from "../../core/errors";
import { printJson, say, usd, warn } from "../output";
import { type CostReport, estimateCost, knownRegion } from "../pricing/estimate";
import { isProvider, isStackRoot, providerDefaultTags } from "../state/model";
import { TAG } from "../../core/tags";

interface PlanArgs {
  stack: string;
  json?: boolean;
  hours?: number;
}

export interface PlanResource {
  urn: string;
  type: string;
  name: string;
  parent?: string;
  protect: boolean;
  retainOnDelete: boolean;
  tags: Record<string, string>;
  inputs: Record<string, unknown>;
}

export interface PlanDocument {
  stack: string;
  project: string;
  region: string;
  resources: PlanResource[];
  cost: CostReport;
  warnings: string[];
  outputs: Record<string, unknown>;
}

/** Runs the program offline for `Pulumi.<stack>.yaml` and prices it: the `plan` JSON contract. */
export async function planStack(stack: string, hours?: number): Promise<PlanDocument> {
  const { loadStackConfig, runOffline } = require("../state/offline-program") as typeof import("../state/offline-program");
  const config = loadStackConfig(stack);
  const region = knownRegion(typeof config["aws:region"] === "string" ? config["aws:region"] : "us-east-1");
  const run = await runOffline({ stack, config });
  const { model, outputs } = run;
  const warnings = Array.isArray(outputs.warnings) ? (outputs.warnings as unknown[]).map(String) : [];
  return {
    stack,
    project: model.project,
    region,
    resources: model.resources.map((r) => ({
      urn: r.urn,
      type: r.type,
      name: r.name,
      parent: r.parent,
      protect: r.protect,
      retainOnDelete: r.retainOnDelete,
      tags: r.tags,
      inputs: r.inputs,
    })),
    cost: estimateCost(model, { hours, region }),
    warnings,
    outputs,
  };
}

const KEY_TAGS = ["Name", TAG.role, TAG.protected];

function flags(r: PlanResource): string {
  const marks = [r.protect && "protected", r.retainOnDelete && "retained"].filter(Boolean);
  return marks.length ? ` [${marks.join(", ")}]` : "";
}

/** The human view: a tree of resources with protection, key tags and each resource's price. */
export function renderPlanTree(plan: PlanDocument): string[] {
  const costByUrn = new Map(plan.cost.items.map((i) => [i.urn, i]));
  const children = new Map<string, PlanResource[]>();
  for (const r of plan.resources) {
    const list = children.get(r.parent ?? "") ?? [];
    list.push(r);
    children.set(r.parent ?? "", list);
  }
  const lines: string[] = [];
  const walk = (r: PlanResource, prefix: string, last: boolean, root: boolean) => {
    const item = costByUrn.get(r.urn);
    const price = item ? (item.unpriced ? "  unpriced" : item.hourly ? `  ${usd(item.hourly, 4)}/h` : "") : "";
    const tags = KEY_TAGS.filter((k) => r.tags[k])
      .map((k) => `${k}=${r.tags[k]}`)
      .join(" ");
    lines.push(`${root ? "" : `${prefix}${last ? "└─ " : "├─ "}`}${r.type} ${r.name}${flags(r)}${tags ? `  {${tags}}` : ""}${price}`);
    if (r.type === "command:local:Command") {
      // Reviewers see exactly what `pulumi up` will run, and what re-runs it.
      const detail = `${prefix}${root ? "" : last ? "   " : "│  "}     `;
      lines.push(`${detail}$ ${String(r.inputs.create)}`);
      lines.push(`${detail}triggers: ${JSON.stringify(r.inputs.triggers ?? [])}`);
    }
    const kids = (children.get(r.urn) ?? []).filter((k) => !isProvider(k));
    kids.forEach((k, i) => walk(k, root ? "" : `${prefix}${last ? "   " : "│  "}`, i === kids.length - 1, false));
  };
  for (const root of plan.resources.filter((r) => isStackRoot(r))) walk(root, "", true, true);
  return lines;
}

function summary(plan: PlanDocument, records: PlanResource[]): string[] {
  const provider = plan.resources.find((r) => r.type === "pulumi:providers:aws");
  const defaults = providerDefaultTags(provider);
  const custom = records.filter((r) => !r.type.startsWith("pulumi:") && !r.type.startsWith("trainctl:"));
  const protectedCount = custom.filter((r) => r.protect).length;
  const retainedCount = custom.filter((r) => r.retainOnDelete).length;
  const { cost } = plan;
  const lines = [
    "",
    `Default tags (every resource): ${Object.entries(defaults)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ")}`,
    `${custom.length} cloud resources: ${protectedCount} protected, ${retainedCount} retained on delete`,
    `Cost (${cost.priceSource}): ${usd(cost.hourly, 3)}/h · ${usd(cost.monthly)}/month · ${usd(cost.total)} over ${cost.hours} h`,
  ];
  if (cost.oneTime > 0) lines.push(`One-time: ${usd(cost.oneTime)}`);
  if (cost.unpriced > 0) lines.push(`${cost.unpriced} resource(s) unpriced`);
  const warm = plan.outputs.warming as { mode: string; secondsToWarm: number | null; detail: string } | null | undefined;
  if (warm) {
    const time =
      warm.secondsToWarm === null ? "unknown" : warm.secondsToWarm === 0 ? "warm at creation" : `fully warm after ~${Math.round(warm.secondsToWarm / 60)} min`;
    lines.push(`Data volume warming (${warm.mode}): ${time}; ${warm.detail}`);
  }
  return lines;
}

const command: TypedCommand<PlanArgs> = {
  command: "plan",
  describe: "plan an experiment stack offline (no AWS, no Pulumi CLI): resources, protection, tags and cost",
  builder: (y) =>
    y
      .option("stack", { alias: "s", type: "string", default: "dev", describe: "stack name; reads Pulumi.<stack>.yaml" })
      .option("json", { type: "boolean", describe: "print the plan as JSON on stdout" })
      .option("hours", { type: "number", describe: "hours to price (default: instance.maxHours, else 730)" }),
  handler: async (args) => {
    if (args.hours !== undefined && !(args.hours >= 0)) throw new UsageError(`--hours must be a number >= 0 (got ${args.hours})`, { subject: "--hours" });
    const { withSpinner } = require("../progress") as typeof import("../progress");
    const plan = await withSpinner("planning offline", args, () => planStack(args.stack, args.hours));
    if (args.json) {
      const { outputs: _outputs, ...document } = plan;
      printJson(document);
      return;
    }
    say(`Experiment ${plan.stack} · project ${plan.project} · ${plan.region} (offline plan)`);
    say("");
    for (const line of renderPlanTree(plan)) say(line);
    for (const line of summary(plan, plan.resources)) say(line);
    for (const w of [...plan.cost.warnings, ...plan.warnings]) warn(w);
  },
};
export default command;
