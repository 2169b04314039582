import { lstatSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { TypedCommand } from "../command-args";
import { UsageError } from "../../core/errors";
import { say } from "../output";
import { generateLoader } from "../dataloader/generate";
import { FORMATS, type Format, STRATEGY_NAMES, type Strategy } from "../../core/lists";

interface DataloaderArgs {
  strategy: string;
  format: string;
  data: string;
  instanceType: string;
  out: string;
  force?: boolean;
  cacheDir?: string;
  imageSize?: number;
  labels?: string;
}

/** Where the class mapping goes: beside the loader, `loader.py` → `loader.classes.json`. */
export const classesPath = (out: string) => out.replace(/\.py$/, "") + ".classes.json";

/** Written beside, then renamed over: the temporary name is created exclusively, so a planted link is never followed. */
function writeAtomically(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text, { flag: "wx" });
  renameSync(temp, file);
}

/** Why `file` may not be written, or undefined: only a new file, or a regular file with --force. */
export function outProblem(file: string, force: boolean): string | undefined {
  const existing = lstatSync(file, { throwIfNoEntry: false });
  if (!existing) return undefined;
  if (!existing.isFile()) return `${file} exists and is not a regular file; name a new file`;
  return force ? undefined : `${file} exists; pass --force to overwrite it`;
}

const command: TypedCommand<DataloaderArgs> = {
  command: "dataloader",
  describe: "generate a complete, runnable PyTorch DataLoader module for a strategy and format",
  builder: (y) =>
    y
      .option("strategy", { type: "string", demandOption: true, describe: STRATEGY_NAMES.join(" | ") })
      .option("format", { type: "string", demandOption: true, describe: FORMATS.join(" | ") })
      .option("data", { type: "string", demandOption: true, describe: "a local folder (prewarmed-ebs) or s3://bucket/prefix/" })
      .option("instance-type", { type: "string", default: "g5.xlarge", describe: "tunes num_workers to vCPUs per GPU" })
      .option("out", { type: "string", demandOption: true, describe: "where to write the module" })
      .option("cache-dir", { type: "string", describe: "local-cache: where to stage (default /opt/dlami/nvme/trainctl-cache)" })
      .option("image-size", { type: "number", describe: "side of the square image tensors the default transform makes (default 224)" })
      .option("labels", { type: "string", describe: "a CSV (key,label) or JSONL ({key, label}) manifest; default: class folders, WebDataset .cls/.json" })
      .option("force", { type: "boolean", describe: "overwrite an existing --out file" }),
  handler: (args) => {
    const { module, classes } = generateLoader({
      strategy: args.strategy as Strategy,
      format: args.format as Format,
      data: args.data,
      instanceType: args.instanceType,
      cacheDir: args.cacheDir,
      imageSize: args.imageSize,
      labels: args.labels,
    });
    for (const file of [args.out, ...(classes.length > 0 ? [classesPath(args.out)] : [])]) {
      const problem = outProblem(file, Boolean(args.force));
      if (problem) throw new UsageError(`--out: ${problem}`, { subject: "--out" });
    }
    mkdirSync(path.dirname(path.resolve(args.out)), { recursive: true });
    writeAtomically(args.out, module);
    if (classes.length > 0)
      writeAtomically(
        classesPath(args.out),
        `${JSON.stringify({ classes, classToIndex: Object.fromEntries(classes.map((name, i) => [name, i])) }, null, 2)}\n`,
      );
    say(`wrote ${args.out} (${args.strategy}, ${args.format}${classes.length > 0 ? `, ${classes.length} classes in ${classesPath(args.out)}` : ""})`);
  },
};
export default command;
