import type { TypedCommand } from "../command-args";
import { UsageError } from "../../core/errors";
import { printJson, say, usd } from "../output";
import { countClasses } from "../dataloader/labels";
import { projectDir } from "../state/project";

interface RecommendArgs {
  size?: string;
  files?: number;
  epochs?: number;
  runs?: number;
  instanceType?: string;
  source?: string;
  stack?: string;
  json?: boolean;
}

const duration = (s: number) => (s < 120 ? `${s.toFixed(1)} s` : s < 7200 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`);

const command: TypedCommand<RecommendArgs> = {
  command: "recommend",
  describe: "recommend a data-loading strategy (pre-warmed EBS, direct S3, local cache) with times and costs",
  builder: (y) =>
    y
      .option("size", { type: "string", describe: "dataset size with units, e.g. 500GiB or 3TiB" })
      .option("files", { type: "number", describe: "number of files (or shards)" })
      .option("epochs", { type: "number", default: 10 })
      .option("runs", { type: "number", default: 1, describe: "training runs that reuse the data" })
      .option("instance-type", { type: "string", describe: "an instance type of the catalog" })
      .option("source", { type: "string", describe: "where the data lives (s3://…)" })
      .option("stack", { type: "string", describe: "read all of these from Pulumi.<stack>.yaml (trainctl:dataset, trainctl:instance)" })
      .option("json", { type: "boolean", describe: "print {recommended, reason, strategies} on stdout" }),
  handler: (args) => {
    const { parseSize, recommend } = require("../../core/recommend") as typeof import("../../core/recommend");
    let input;
    if (args.stack) {
      const { parseStackConfig } = require("../../core/config") as typeof import("../../core/config");
      const { loadStackConfig } = require("../state/offline-program") as typeof import("../state/offline-program");
      const config = parseStackConfig(loadStackConfig(args.stack), { projectDir: projectDir() });
      const dataset = config.dataset;
      if (!dataset?.sizeGiB || !dataset.files)
        throw new UsageError(`--stack: trainctl:dataset.sizeGiB and trainctl:dataset.files are needed to recommend a strategy`, {
          subject: "trainctl:dataset",
        });
      input = {
        sizeBytes: dataset.sizeGiB * 1024 ** 3,
        files: dataset.files,
        epochs: dataset.epochs,
        runs: dataset.runs,
        instanceType: config.instance.type,
        source: dataset.source,
        volume: config.dataVolume,
      };
    } else {
      for (const flag of ["size", "files", "instanceType"] as const) {
        if (args[flag] === undefined)
          throw new UsageError(`--${flag === "instanceType" ? "instance-type" : flag} is required (or give --stack NAME)`, { subject: `--${flag}` });
      }
      input = {
        sizeBytes: parseSize(args.size!),
        files: args.files!,
        epochs: args.epochs!,
        runs: args.runs!,
        instanceType: args.instanceType!,
        source: args.source,
      };
    }
    const result = recommend(input);
    const classes = countClasses(input.source);
    if (args.json) {
      printJson({
        recommended: result.recommended,
        reason: result.reason,
        ...(classes !== undefined ? { classes } : {}),
        strategies: result.strategies.map(({ strategy, timeToFirstBatchS, timeToReadyS, epochReadS, extraCostUsd, feasible, notes }) => ({
          strategy,
          timeToFirstBatchS,
          timeToReadyS,
          epochReadS,
          extraCostUsd,
          feasible,
          notes,
        })),
      });
      return;
    }
    say("strategy        first batch   ready        epoch ≥      extra cost");
    for (const s of result.strategies) {
      say(
        `${s.strategy.padEnd(15)} ${duration(s.timeToFirstBatchS).padEnd(13)} ${duration(s.timeToReadyS).padEnd(12)} ${duration(s.epochReadS).padEnd(12)} ${usd(s.extraCostUsd)}${s.feasible ? "" : "  (does not fit)"}`,
      );
    }
    say("");
    say(`recommended: ${result.recommended} — ${result.reason}`);
    if (classes !== undefined) say(`classes: ${classes} (class folders of ${input.source})`);
  },
};
export default command;
