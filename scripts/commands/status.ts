import type { TypedCommand } from "../command-args";
import { ExitCode, TrainctlError, UsageError } from "../../core/errors";
import { printJson, say, usd, warn } from "../output";
import { catalogPrices } from "../pricing/estimate";
import type { RunRecovery } from "../remote/run-spec";
import { type ExperimentTarget, resolveStack, targetFromOutputs } from "../remote/target";
import { projectDir } from "../state/project";
import { findPulumi, listStacks, stackOutputs, stackTags } from "../state/pulumi-cli";
import type { ExperimentSource, ExperimentStatus, StatusClients } from "../status/collect";
import type { NodeRow, PriceBasis } from "../status/rows";

interface StatusArgs {
  stack?: string;
  json?: boolean;
  watch?: boolean;
  interval: number;
  minutes: number;
  tag?: string[];
  region?: string[];
  spotPrices?: boolean;
}

/** What to look at, decided once: experiments from stack state, and (without STACK) regions to ask the Tagging API. */
interface Scope {
  experiments: ExperimentSource[];
  /** Instance ids every readable stack covers (also stacks --tag filtered out), so tags do not repeat them. */
  known: Set<string>;
  tagRegions: string[];
  tags: [string, string][];
  warnings: string[];
  /** Whether stack state was read (a named stack, or the Pulumi CLI listed the stacks). */
  stateRead: boolean;
}

function parseArgs(args: StatusArgs): [string, string][] {
  const { parseTagFilter } = require("../status/rows") as typeof import("../status/rows");
  for (const [flag, value] of [
    ["--minutes", args.minutes],
    ["--interval", args.interval],
  ] as const) {
    if (!Number.isFinite(value) || value <= 0) throw new UsageError(`${flag} must be a number above 0 (got ${JSON.stringify(value)})`, { subject: flag });
  }
  return (args.tag ?? []).map((text) => {
    const pair = parseTagFilter(text);
    if (!pair) throw new UsageError(`--tag: ${JSON.stringify(text)} is not KEY=VALUE`, { subject: "--tag" });
    return pair;
  });
}

const fromTarget = (t: ExperimentTarget): ExperimentSource => ({
  stack: t.stack,
  region: t.region,
  source: "state",
  nodes: t.nodes,
  estimatedHourlyUsd: t.estimatedHourlyUsd,
  dashboardUrl: t.dashboardUrl,
  checkpointsBucket: t.checkpointsBucket,
  nodeGroupNames: t.nodeGroupNames,
});

function scope(args: StatusArgs, tags: [string, string][]): Scope {
  if (args.stack) {
    return { experiments: [fromTarget(resolveStack(args.stack))], known: new Set(), tagRegions: [], tags, warnings: [], stateRead: true };
  }
  const { matchesTags } = require("../status/rows") as typeof import("../status/rows");
  const warnings: string[] = [];
  const experiments: ExperimentSource[] = [];
  const known = new Set<string>();
  let stateRead = false;
  if (!findPulumi()) {
    warnings.push("the Pulumi CLI is not installed: experiments come from the Tagging API alone");
  } else {
    let stacks: string[] = [];
    try {
      stacks = listStacks(projectDir()).map((s) => s.name);
      stateRead = true;
    } catch (error) {
      warnings.push(`${(error as Error).message}; experiments come from the Tagging API alone`);
    }
    for (const stack of stacks) {
      try {
        const experiment = fromTarget(targetFromOutputs(stack, stackOutputs(stack, projectDir())));
        for (const node of experiment.nodes) known.add(node.instanceId);
        if (tags.length === 0 || matchesTags(stackTags(stack, projectDir()), tags)) experiments.push(experiment);
      } catch (error) {
        warnings.push(`cannot read the state of ${stack}: ${(error as Error).message}`);
      }
    }
  }
  const env = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  const regions = args.region?.length ? args.region : [...new Set([...(env ? [env] : []), ...experiments.map((e) => e.region)])];
  return { experiments, known, tagRegions: regions.length ? regions : ["us-east-1"], tags, warnings, stateRead };
}

interface StatusView {
  generatedAt: string;
  minutes: number;
  priceSource: string;
  experiments: ExperimentStatus[];
  warnings: string[];
}

/** One refresh: the Tagging API for uncovered instances, then every experiment's rows. */
async function collect(s: Scope, options: { minutes: number; spotPrices?: boolean }, clientsFor: (region: string) => StatusClients): Promise<StatusView> {
  const { experimentsFromTags, experimentStatus, taggedInstances } = require("../status/collect") as typeof import("../status/collect");
  const now = new Date();
  const warnings = [...s.warnings];
  const fromTags: ExperimentSource[] = [];
  let tagsRead = false;
  for (const region of s.tagRegions) {
    try {
      fromTags.push(...experimentsFromTags(await taggedInstances(clientsFor(region).tagging, s.tags), s.known, region));
      tagsRead = true;
    } catch (error) {
      warnings.push(`Tagging API GetResources failed in ${region}: ${(error as Error).message}`);
    }
  }
  // Neither stack state nor the Tagging API answered: "no experiments found" would be a guess.
  if (!s.stateRead && !tagsRead) throw new TrainctlError(`status checked nothing: ${warnings.join("; ")}`);
  const experiments = await Promise.all([...s.experiments, ...fromTags].map((e) => experimentStatus(e, clientsFor(e.region), { ...options, now })));
  return { generatedAt: now.toISOString(), minutes: options.minutes, priceSource: catalogPrices.source, experiments, warnings };
}

const dash = "-";
const percent = (value: number | null) => (value === null ? dash : `${Math.round(value)}%`);
function bytes(value: number | null): string {
  if (value === null) return dash;
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let n = value;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) [n, unit] = [n / 1024, unit + 1];
  return `${n.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
function duration(seconds: number | null): string {
  if (seconds === null) return dash;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h >= 24
    ? `${Math.floor(h / 24)}d${String(h % 24).padStart(2, "0")}h`
    : h
      ? `${h}h${String(m).padStart(2, "0")}m`
      : `${m}m${String(seconds % 60).padStart(2, "0")}s`;
}
function volume(row: NodeRow): string {
  const init = row.volumeInit;
  const ebs = !init
    ? dash
    : init.state === "completed"
      ? "ready"
      : `${init.progressPercent ?? "?"}%${init.etaSeconds ? ` (${duration(init.etaSeconds)} left)` : ""}`;
  return row.warmState && row.warmState !== "warm" ? `${ebs}; fio ${row.warmState}` : ebs;
}

/** Spot recovery, one line: the run's state, restarts, interruptions (when and which node) and the time they cost. */
export function recoveryLine(r: RunRecovery): string {
  const last = r.interruptions.at(-1);
  return `run ${r.runId}: ${r.status}, generation ${r.generation}, ${r.restarts} restart(s), ${r.interruptions.length} interruption(s)${last ? ` (last ${last.at}, node ${last.node})` : ""}, ${duration(r.lostSeconds)} lost`;
}

/** How each price basis is marked in the cost column, and what the footer says about it. */
const BASIS: Record<PriceBasis, { mark: string; text: string }> = {
  "on-demand": { mark: "", text: "on-demand nodes at the on-demand list price" },
  "spot-cap": { mark: " (cap)", text: "(cap) a spot node counted at the on-demand price, the most it can cost" },
  "spot-live": { mark: " (spot)", text: "(spot) a spot node at the latest spot price in its zone, as if it held over the whole uptime" },
  "stack-estimate": { mark: " (est)", text: "(est) the stack's estimatedHourlyUsd ÷ nodes, the type is not in the catalog" },
};

function printView(view: StatusView): void {
  const Table = require("cli-table3") as typeof import("cli-table3");
  for (const e of view.experiments) {
    say(
      `${e.stack} (${e.region}, ${e.source === "state" ? "from stack state" : "from tags only: no readable state here"}): ${e.nodes.length} node(s)${e.dashboardUrl ? `  ${e.dashboardUrl}` : ""}`,
    );
    if (e.nodes.length) {
      const table = new Table({
        head: [
          "node",
          "instance",
          "state",
          "type",
          "uptime",
          "cost so far",
          "volume init",
          "staging",
          "run",
          "cpu",
          "mem",
          "gpu",
          "gpu mem",
          `net in`,
          `disk read`,
        ],
        style: { head: [], border: [] },
        chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" },
      });
      for (const r of e.nodes) {
        const m = r.metrics;
        const cost = r.costSoFarUsd === null ? dash : `${usd(r.costSoFarUsd)}${r.priceBasis ? BASIS[r.priceBasis].mark : ""}`;
        table.push([
          r.index,
          r.instanceId,
          r.state,
          `${r.instanceType ?? dash}${r.lifecycle ? ` ${r.lifecycle}` : ""}`,
          duration(r.uptimeSeconds),
          cost,
          volume(r),
          r.staging ?? dash,
          r.run ?? dash,
          percent(m.cpuPercent),
          percent(m.memoryPercent),
          percent(m.gpuPercent),
          percent(m.gpuMemoryPercent),
          bytes(m.networkInBytes),
          bytes(m.diskReadBytes),
        ]);
      }
      say(table.toString());
    }
    if (e.recovery) say(recoveryLine(e.recovery));
    for (const w of e.warnings) warn(`${e.stack}: ${w}`);
  }
  if (view.experiments.length === 0) say("no experiments found");
  const bases = new Set(view.experiments.flatMap((e) => e.nodes.map((n) => n.priceBasis)).filter((b): b is PriceBasis => b !== null));
  if (bases.size)
    say(`Cost so far = hourly price × uptime since the last start; prices: ${view.priceSource}; ${[...bases].map((b) => BASIS[b].text).join("; ")}.`);
  say(`Usage over the last ${view.minutes} min (CloudWatch): cpu, mem, gpu, gpu mem are averages; net in and disk read are totals.`);
  for (const w of view.warnings) warn(w);
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });

const command: TypedCommand<StatusArgs> = {
  command: "status [stack]",
  describe: "per node: state, uptime and cost so far, volume initialization, staging, run, and CPU/GPU/memory/network/disk use",
  builder: (y) =>
    y
      .positional("stack", { type: "string", describe: "the experiment's stack (default: every experiment you can see)" })
      .option("json", { type: "boolean", describe: "print {experiments: [{stack, region, nodes}]} on stdout (one line per refresh with --watch)" })
      .option("watch", { type: "boolean", describe: "refresh until Ctrl-C" })
      .option("interval", { type: "number", default: 10, describe: "seconds between refreshes with --watch" })
      .option("minutes", { type: "number", default: 10, describe: "usage window: the last N minutes of CloudWatch metrics" })
      .option("tag", { type: "string", array: true, describe: "only experiments whose stack (or instance) tags carry KEY=VALUE (repeat)" })
      .option("spot-prices", {
        type: "boolean",
        describe: "price spot nodes at the latest spot price in their zone (default: the on-demand price, the most spot can cost)",
      })
      .option("region", { type: "string", array: true, describe: "regions to ask the Tagging API (default: AWS_REGION and the stacks' regions)" }),
  handler: async (args) => {
    const tags = parseArgs(args);
    const s = scope(args, tags);
    const { statusClients } = require("../status/collect") as typeof import("../status/collect");
    const { withSpinner } = require("../progress") as typeof import("../progress");
    const clients = new Map<string, StatusClients>();
    const clientsFor = (region: string) => clients.get(region) ?? clients.set(region, statusClients(region)).get(region)!;
    const show = (view: StatusView) => {
      if (args.json && args.watch) process.stdout.write(`${JSON.stringify(view)}\n`);
      else if (args.json) printJson(view);
      else {
        if (args.watch && process.stderr.isTTY) process.stderr.write("\x1b[2J\x1b[H");
        printView(view);
      }
    };
    const stop = new AbortController();
    const onInterrupt = () => stop.abort();
    if (args.watch) process.once("SIGINT", onInterrupt); // without --watch, Ctrl-C keeps its default (exit 130)
    try {
      show(await withSpinner("collecting status", args, () => collect(s, args, clientsFor)));
      while (args.watch && !stop.signal.aborted) {
        await sleep(args.interval * 1000, stop.signal);
        if (stop.signal.aborted) break;
        // A failed refresh (a network blip) is a warning; the next one tries again.
        await collect(s, args, clientsFor).then(show, (error: Error) => warn(`refresh failed: ${error.message}`));
      }
      if (stop.signal.aborted) process.exitCode = ExitCode.interrupted;
    } finally {
      process.off("SIGINT", onInterrupt);
      for (const c of clients.values()) for (const client of [c.ec2, c.cloudwatch, c.tagging]) client.destroy();
    }
  },
};
export default command;
