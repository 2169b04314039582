import { existsSync, readdirSync } from "node:fs";
import * as path from "node:path";
import cliProgress from "cli-progress";
import type { CommandModule } from "yargs";
import { InterruptedError, UsageError } from "../errors";
import { say, warn } from "../output";
import { type TransferEvent, type TransferOptions, abortJournal, download, makeS3Client, upload } from "../transfer/engine";
import { type Location, parseLocation } from "../transfer/location";

interface TransferArgs {
  src?: string;
  dst?: string;
  endpointUrl?: string;
  concurrency: number;
  include: string[];
  exclude: string[];
  dryRun?: boolean;
  sync?: boolean;
  delete?: boolean;
  yes?: boolean;
  verify?: boolean;
  json?: boolean;
  multipartThresholdMib: number;
  abort?: boolean;
}

const inside = (child: string, parent: string) => {
  const relative = path.relative(path.resolve(parent), path.resolve(child));
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
};

/** Every check that must pass before a byte moves; bad input exits 2. */
function validate(src: Location, dst: Location, args: TransferArgs): void {
  if (src.kind === "local" && !existsSync(src.path)) throw new UsageError(`SRC: ${src.path} does not exist`, { subject: "SRC" });
  if (args.delete && !args.yes) throw new UsageError("--delete removes objects at the destination: add --yes to confirm", { subject: "--delete" });
  if (src.kind === "local" && dst.kind === "local") {
    if (inside(dst.path, src.path)) throw new UsageError(`DST: ${dst.path} is inside the source ${src.path}`, { subject: "DST" });
    throw new UsageError("local to local copies are not a transfer: use cp or rsync (accepted: local ↔ s3://)", { subject: "DST" });
  }
  if (src.kind === "s3" && dst.kind === "s3") {
    if (src.bucket === dst.bucket && dst.prefix.startsWith(src.prefix)) throw new UsageError(`DST: s3://${dst.bucket}/${dst.prefix} is inside the source`, { subject: "DST" });
    throw new UsageError("S3 to S3 copies are not supported yet (accepted: local ↔ s3://)", { subject: "DST" });
  }
  if (src.kind === "instance" || dst.kind === "instance") {
    throw new UsageError(`${src.kind === "instance" ? "SRC" : "DST"}: instance locations (STACK:/path, i-…:/path) need the SSM transfer path, which is not built yet; stage through s3:// for now`, { subject: "SRC" });
  }
}

function progressReporter(json: boolean): { onEvent: (e: TransferEvent) => void; stop: () => void } {
  if (json) return { onEvent: (e) => e.type !== "file" && process.stdout.write(`${JSON.stringify(e)}\n`), stop: () => undefined };
  if (!process.stderr.isTTY) return { onEvent: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: "{bar} {percentage}% | {value}/{total} MiB | {files}/{totalFiles} files | {speed} MiB/s | ETA {eta_formatted}", hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  return {
    onEvent: (e) => {
      if (e.type === "plan") bar.start(Math.max(1, Math.round(e.bytes / 1048576)), 0, { files: 0, totalFiles: e.files, speed: "0" });
      if (e.type === "progress") bar.update(Math.round(e.bytes / 1048576), { files: e.files, totalFiles: e.totalFiles, speed: (e.bytes / 1048576 / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(1) });
    },
    stop: () => bar.stop(),
  };
}

const command: CommandModule<object, TransferArgs> = {
  command: "transfer [src] [dst]",
  describe: "copy local ↔ S3: multipart, concurrent, resumable, verified by SHA-256",
  builder: (y) =>
    y
      .positional("src", { type: "string", describe: "local path or s3://bucket/prefix" })
      .positional("dst", { type: "string", describe: "local path or s3://bucket/prefix" })
      .option("endpoint-url", { type: "string", describe: "S3-compatible endpoint (default: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL)" })
      .option("concurrency", { type: "number", default: 32, describe: "requests in flight, across files and parts" })
      .option("include", { type: "string", array: true, default: [], describe: "glob of relative paths to copy" })
      .option("exclude", { type: "string", array: true, default: [], describe: "glob of relative paths to skip" })
      .option("dry-run", { type: "boolean", describe: "show what would be copied or deleted" })
      .option("sync", { type: "boolean", describe: "skip files whose size and SHA-256 already match" })
      .option("delete", { type: "boolean", describe: "remove destination objects the source lacks (needs --yes)" })
      .option("yes", { type: "boolean", describe: "confirm --delete" })
      .option("verify", { type: "boolean", describe: "re-read every uploaded object and compare" })
      .option("json", { type: "boolean", describe: "JSON-lines progress on stdout; the last line is the summary" })
      .option("multipart-threshold-mib", { type: "number", default: 8, describe: "files above this use multipart and ranged GETs" })
      .option("abort", { type: "boolean", describe: "abort the open multipart uploads of every resume journal" }) as never,
  handler: async (args) => {
    const endpoint = args.endpointUrl ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    if (!(args.concurrency >= 1)) throw new UsageError(`--concurrency must be at least 1 (got ${args.concurrency})`, { subject: "--concurrency" });
    const client = makeS3Client({ endpoint, concurrency: args.concurrency });
    const journals = path.join(process.cwd(), ".trainctl", "transfers");
    if (args.abort) {
      const files = existsSync(journals) ? readdirSync(journals).filter((f) => f.endsWith(".json")) : [];
      let aborted = 0;
      for (const f of files) aborted += await abortJournal(client, path.join(journals, f));
      say(`aborted ${aborted} open multipart upload(s) from ${files.length} journal(s)`);
      return;
    }
    if (!args.src || !args.dst) throw new UsageError("transfer needs SRC and DST (or --abort)", { subject: "SRC" });
    const src = parseLocation(args.src, "SRC");
    const dst = parseLocation(args.dst, "DST");
    validate(src, dst, args);

    const controller = new AbortController();
    const onInterrupt = () => controller.abort();
    process.once("SIGINT", onInterrupt);
    const progress = progressReporter(Boolean(args.json));
    const options: TransferOptions = {
      concurrency: args.concurrency,
      include: args.include,
      exclude: args.exclude,
      dryRun: Boolean(args.dryRun),
      sync: Boolean(args.sync),
      deleteExtra: Boolean(args.delete),
      verify: Boolean(args.verify),
      multipartThreshold: args.multipartThresholdMib * 1024 * 1024,
      journalRoot: process.cwd(),
      signal: controller.signal,
      onEvent: (e) => {
        progress.onEvent(e);
        if (!args.json && e.type === "file" && args.dryRun) say(`${e.action} ${e.path}`);
      },
      onWarning: warn,
    };
    try {
      const summary =
        src.kind === "local" && dst.kind === "s3" ? await upload(client, src.path, dst.bucket, dst.prefix, options) : await download(client, (src as { bucket: string }).bucket, (src as { prefix: string }).prefix, (dst as { path: string }).path, options);
      progress.stop();
      if (args.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else say(`${args.dryRun ? "would copy" : "copied"} ${summary.files} file(s), ${(summary.bytes / 1048576).toFixed(1)} MiB in ${summary.seconds.toFixed(1)} s (${summary.mibPerSecond.toFixed(1)} MiB/s); ${summary.skipped} already in place; ${summary.retries} retries`);
    } catch (error) {
      progress.stop();
      if (controller.signal.aborted || error instanceof InterruptedError) {
        throw new InterruptedError(`interrupted; the journal is saved: run the same command again to resume (npm run -s trainctl -- transfer ${args.src} ${args.dst}${args.sync ? " --sync" : ""})`);
      }
      throw error;
    } finally {
      process.off("SIGINT", onInterrupt);
      client.destroy();
    }
  },
};
export default command;

