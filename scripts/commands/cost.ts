import type { TypedCommand } from "../command-args";
import { ThresholdError, UsageError } from "../../core/errors";
import { printJson, say, usd, warn } from "../output";
import { assertSaneReport, compareCosts } from "../pricing/diff";
import { type CostReport, estimateCost, knownRegion, runningCost } from "../pricing/estimate";
import { livePriceBook } from "../pricing/live";
import { renderCostDiffMarkdown, renderCostMarkdown } from "../pricing/markdown";
import type { StackModel } from "../state/model";
import { exportStack } from "../state/pulumi-cli";
import { checkOneValueEach, readPreview, readStackExport, readStateOrPreview } from "../state/readers";
import { asString } from "../../core/text";

interface CostArgs {
  state?: string;
  preview?: string;
  plan?: string;
  stack?: string;
  hours?: string;
  compare?: string;
  format: "table" | "json" | "markdown";
  json?: boolean;
  maxMonthly?: string;
  livePrices?: boolean;
  running?: boolean;
}

const SOURCES = ["state", "preview", "plan", "stack"] as const;
const VALUE_FLAGS = [...SOURCES, "hours", "compare", "max-monthly"] as const;

/** A decimal number >= 0, finite: `--hours 1e400`, `-5`, `0x10` and `NaN` are refused. */
function nonNegative(text: string | undefined, flag: string, what: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text.trim()) || !Number.isFinite(value)) {
    throw new UsageError(`${flag} must be a number >= 0 of ${what}, written in decimal, finite (got ${JSON.stringify(text)})`, { subject: flag });
  }
  return value;
}

function instanceTypesOf(models: StackModel[]): string[] {
  const types = models
    .flatMap((m) => [...m.resources, ...m.deleted])
    .filter((r) => r.type === "aws:ec2/instance:Instance")
    .map((r) => asString(r.inputs.instanceType ?? r.outputs.instanceType) ?? "");
  return [...new Set(types.filter(Boolean))].sort();
}

async function readModel(args: CostArgs): Promise<StackModel> {
  if (args.state) return readStackExport(args.state);
  if (args.preview) return readPreview(args.preview);
  const { loadStackConfig, runOffline } = require("../state/offline-program") as typeof import("../state/offline-program");
  if (args.plan) return (await runOffline({ stack: args.plan, config: loadStackConfig(args.plan) })).model;
  return exportStack(args.stack!);
}

function printTable(report: CostReport): void {
  const Table = require("cli-table3") as typeof import("cli-table3");
  const table = new Table({ head: ["resource", "$/h", "$/month", "detail"], style: { head: [], border: [] }, wordWrap: true, colWidths: [34, 10, 11, 60] });
  for (const i of report.items) table.push([i.name, usd(i.hourly, 4), usd(i.monthly), i.detail]);
  say(table.toString());
  say(`Total: ${usd(report.hourly, 3)}/h · ${usd(report.monthly)}/month · ${usd(report.total)} over ${report.hours} h (${report.priceSource})`);
  if (report.oneTime) say(`One-time: ${usd(report.oneTime)}`);
  if (report.savings) say(`Deletes save ${usd(report.savings.hourly, 3)}/h · ${usd(report.savings.monthly)}/month`);
  if (report.unpriced) say(`${report.unpriced} resource(s) unpriced`);
}

const command: TypedCommand<CostArgs> = {
  command: "cost",
  describe: "price a stack export, a preview or an offline plan; diff two of them for a pull request",
  builder: (y) =>
    y
      .option("state", { type: "string", describe: "a `pulumi stack export` file" })
      .option("preview", { type: "string", describe: "a `pulumi preview --json` file (deletes count as savings)" })
      .option("plan", { type: "string", describe: "plan this stack offline from Pulumi.<name>.yaml and price it" })
      .option("stack", { type: "string", describe: "read the stack's state through the Pulumi CLI" })
      .option("hours", { type: "string", describe: "hours to price (default: instance maxHours, else 730)" })
      .option("compare", { type: "string", describe: "base state or preview file; prints head, base and delta (head − base)" })
      .option("format", { choices: ["table", "json", "markdown"] as const, default: "table" as const, describe: "output format (markdown and json on stdout)" })
      .option("json", { type: "boolean", describe: "same as --format json" })
      .option("max-monthly", { type: "string", describe: "exit 3 when the monthly cost exceeds this many USD" })
      .option("running", { type: "boolean", describe: "with --state: cost so far (instance price × hours since creation) and the burn rate" })
      .option("live-prices", { type: "boolean", describe: "prices from the AWS Pricing API and spot history (cached), falling back to the catalog" }),
  handler: async (args) => {
    checkOneValueEach(args, VALUE_FLAGS);
    const given = SOURCES.filter((s) => args[s] !== undefined);
    if (given.length !== 1)
      throw new UsageError(
        `cost needs exactly one of --state, --preview, --plan, --stack (got ${given.length ? given.map((s) => `--${s}`).join(", ") : "none"})`,
        { subject: "--state" },
      );
    const hours = nonNegative(args.hours, "--hours", "hours");
    const maxMonthly = nonNegative(args.maxMonthly, "--max-monthly", "USD");
    const format = args.json ? "json" : args.format;
    const sourceFlag = `--${given[0]}`;
    const { withSpinner } = require("../progress") as typeof import("../progress");

    const model = await readModel(args);
    const baseModel = args.compare ? readStateOrPreview(args.compare, "--compare") : undefined;
    const region = knownRegion(model.region ?? "us-east-1");
    const prices = args.livePrices
      ? await withSpinner("fetching live prices", { json: format === "json" }, () =>
          livePriceBook({ region, instanceTypes: instanceTypesOf([model, ...(baseModel ? [baseModel] : [])]), onFallback: warn }),
        )
      : undefined;
    if (args.running) {
      const running = runningCost(model, new Date(), { prices, region });
      if (format === "json") printJson(running);
      else {
        for (const i of running.instances)
          say(`${i.name}: ${i.hours === null ? "launch time unknown" : `${i.hours.toFixed(1)} h × ${usd(i.hourly, 3)}/h = ${usd(i.soFar)}`}`);
        say(`So far: ${usd(running.soFar)} · burning ${usd(running.burnRate, 3)}/h`);
      }
      return;
    }
    const head = assertSaneReport(estimateCost(model, { hours, prices, region }), sourceFlag);
    for (const w of head.warnings) warn(w);
    if (baseModel) {
      const base = assertSaneReport(estimateCost(baseModel, { hours, prices, region: knownRegion(baseModel.region ?? "us-east-1") }), "--compare");
      const diff = compareCosts(head, base);
      if (format === "json") printJson(diff);
      else if (format === "markdown") process.stdout.write(renderCostDiffMarkdown(diff));
      else {
        printTable(head);
        say(`Base: ${usd(base.hourly, 3)}/h · ${usd(base.monthly)}/month; delta ${usd(diff.delta.hourly, 3)}/h · ${usd(diff.delta.monthly)}/month`);
      }
    } else if (format === "json") printJson(head);
    else if (format === "markdown") process.stdout.write(renderCostMarkdown(head));
    else printTable(head);

    if (maxMonthly !== undefined && head.unpriced > 0) {
      throw new ThresholdError(
        `--max-monthly: ${head.unpriced} resource(s) unpriced, so ${usd(head.monthly)}/month is a partial total; the gate does not pass`,
      );
    }
    if (maxMonthly !== undefined && head.monthly > maxMonthly) {
      throw new ThresholdError(`--max-monthly: estimated ${usd(head.monthly)}/month exceeds the ${usd(maxMonthly)} threshold`);
    }
  },
};
export default command;
