import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { CommandModule } from "yargs";
import { UsageError } from "../errors";
import { say } from "../output";
import { type Format, renderLoader } from "../dataloader/generate";
import type { Strategy } from "../dataloader/recommend";

interface DataloaderArgs {
  strategy: string;
  format: string;
  data: string;
  instanceType: string;
  out: string;
  force?: boolean;
  cacheDir?: string;
}

const command: CommandModule<object, DataloaderArgs> = {
  command: "dataloader",
  describe: "generate a complete, runnable PyTorch DataLoader module for a strategy and format",
  builder: (y) =>
    y
      .option("strategy", { type: "string", demandOption: true, describe: "prewarmed-ebs | direct-s3 | local-cache" })
      .option("format", { type: "string", demandOption: true, describe: "files | npy | image | webdataset" })
      .option("data", { type: "string", demandOption: true, describe: "a local folder (prewarmed-ebs) or s3://bucket/prefix/" })
      .option("instance-type", { type: "string", default: "g5.xlarge", describe: "tunes num_workers to vCPUs per GPU" })
      .option("out", { type: "string", demandOption: true, describe: "where to write the module" })
      .option("cache-dir", { type: "string", describe: "local-cache: where to stage (default /opt/dlami/nvme/trainctl-cache)" })
      .option("force", { type: "boolean", describe: "overwrite an existing --out file" }) as never,
  handler: (args) => {
    const module = renderLoader({ strategy: args.strategy as Strategy, format: args.format as Format, data: args.data, instanceType: args.instanceType, cacheDir: args.cacheDir });
    if (existsSync(args.out) && !args.force) throw new UsageError(`--out: ${args.out} exists; pass --force to overwrite it`, { subject: "--out" });
    mkdirSync(path.dirname(path.resolve(args.out)), { recursive: true });
    const temp = `${args.out}.${process.pid}.tmp`;
    writeFileSync(temp, module);
    renameSync(temp, args.out);
    say(`wrote ${args.out} (${args.strategy}, ${args.format})`);
  },
};
export default command;
