import { existsSync, lstatSync, readdirSync, realpathSync } from "node:fs";
import * as path from "node:path";
import type { TypedCommand } from "../command-args";
import { InterruptedError, UsageError } from "../../core/errors";
import { say, warn } from "../output";
import { environmentRegion } from "../region";
import type { InvocationResult } from "../remote/ssm";
import { instanceCopyShell } from "../remote/shell";
import { resolveStack, selectNodes } from "../remote/target";
import type { TransferEvent, TransferOptions, TransferSummary } from "../transfer/engine";
import { type Leg, isInstanceId, planLegs, s3Url, stagingBucket, stagingLocation } from "../transfer/instance";
import { printable } from "../transfer/keys";
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
  bucket?: string;
  node?: number;
  timeout: number;
}

/** The instance side of a transfer, resolved before anything moves. */
interface InstanceSide {
  instanceId: string;
  region: string;
  staging?: Extract<Location, { kind: "s3" }>;
}

const realpathOr = (file: string) => {
  try {
    return realpathSync(file);
  } catch {
    return "a missing file";
  }
};

const inside = (child: string, parent: string) => {
  const relative = path.relative(path.resolve(parent), path.resolve(child));
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
};

/** Every check that must pass before a byte moves; bad input exits 2. */
function validate(src: Location, dst: Location, args: TransferArgs): void {
  if (src.kind === "local") {
    const top = path.resolve(src.path); // without a trailing slash, so a link is seen as a link
    const stat = lstatSync(top, { throwIfNoEntry: false });
    if (!stat) throw new UsageError(`SRC: ${printable(src.path)} does not exist`, { subject: "SRC" });
    if (stat.isSymbolicLink())
      throw new UsageError(
        `SRC: ${printable(src.path)} is a symbolic link, and links are never followed: give the path it points to (${printable(realpathOr(top))})`,
        { subject: "SRC" },
      );
    if (args.delete && stat.isFile()) throw new UsageError("--delete applies to folder copies only, not to a single file", { subject: "--delete" });
  }
  if (args.delete && dst.kind === "local")
    throw new UsageError("--delete applies to uploads only: a download never removes local files", { subject: "--delete" });
  if (args.delete && !args.yes) throw new UsageError("--delete removes objects at the destination: add --yes to confirm", { subject: "--delete" });
  if (src.kind === "local" && dst.kind === "local") {
    if (inside(dst.path, src.path)) throw new UsageError(`DST: ${printable(dst.path)} is inside the source ${printable(src.path)}`, { subject: "DST" });
    throw new UsageError("local to local copies are not a transfer: use cp or rsync (accepted: local ↔ s3:// ↔ STACK:/path or i-…:/path)", { subject: "DST" });
  }
  if (src.kind === "s3" && dst.kind === "s3") {
    if (src.bucket === dst.bucket && dst.prefix.startsWith(src.prefix))
      throw new UsageError(`DST: s3://${dst.bucket}/${dst.prefix} is inside the source`, { subject: "DST" });
    throw new UsageError("S3 to S3 copies are not supported yet (accepted: local ↔ s3:// ↔ STACK:/path or i-…:/path)", { subject: "DST" });
  }
  if (args.delete && (src.kind === "instance" || dst.kind === "instance"))
    throw new UsageError("--delete is not supported with instance locations", { subject: "--delete" });
  if (!(args.timeout > 0)) throw new UsageError(`--timeout must be a positive number of seconds (got ${args.timeout})`, { subject: "--timeout" });
}

/** `STACK:/path` through the stack's outputs, `i-…:/path` as given; local ↔ instance also needs a staging bucket. */
function resolveInstanceSide(src: Location, dst: Location, args: TransferArgs): InstanceSide | undefined {
  const [remote, flag] = src.kind === "instance" ? [src, "SRC"] : dst.kind === "instance" ? [dst, "DST"] : [];
  if (!remote || !flag) return undefined;
  const stack = isInstanceId(remote.target) ? undefined : resolveStack(remote.target, { flag });
  const instanceId = stack ? selectNodes(stack, args.node)[0].instanceId : remote.target;
  const region = stack?.region ?? environmentRegion();
  const needsStaging = src.kind === "local" || dst.kind === "local";
  const staging = needsStaging ? stagingLocation(stagingBucket(remote, args.bucket, stack?.checkpointsBucket), args.src!, args.dst!) : undefined;
  return { instanceId, region, staging };
}

function progressReporter(json: boolean): { onEvent: (e: TransferEvent) => void; stop: () => void } {
  if (json) return { onEvent: (e) => e.type !== "file" && process.stdout.write(`${JSON.stringify(e)}\n`), stop: () => undefined };
  if (!process.stderr.isTTY) return { onEvent: () => undefined, stop: () => undefined };
  const cliProgress = require("cli-progress") as typeof import("cli-progress");
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: "{bar} {percentage}% | {value}/{total} MiB | {files}/{totalFiles} files | {speed} MiB/s | ETA {eta_formatted}",
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  return {
    onEvent: (e) => {
      if (e.type === "plan") bar.start(Math.max(1, Math.round(e.bytes / 1048576)), 0, { files: 0, totalFiles: e.files, speed: "0" });
      if (e.type === "progress")
        bar.update(Math.round(e.bytes / 1048576), {
          files: e.files,
          totalFiles: e.totalFiles,
          speed: (e.bytes / 1048576 / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(1),
        });
    },
    stop: () => bar.stop(),
  };
}

/** The human summary; a dry run says what would move and what would be deleted. */
function summaryLine(s: TransferSummary, dryRun: boolean, suffix = ""): string {
  if (dryRun)
    return `would copy ${s.files} file(s), ${(s.bytes / 1048576).toFixed(1)} MiB; ${s.skipped} already in place; would delete ${s.deleted} object(s)${suffix}`;
  return `copied ${s.files} file(s), ${(s.bytes / 1048576).toFixed(1)} MiB in ${s.seconds.toFixed(1)} s (${s.mibPerSecond.toFixed(1)} MiB/s); ${s.skipped} already in place; deleted ${s.deleted} object(s); ${s.retries} retries${suffix}`;
}

/** An instance-only copy moves nothing through this machine. */
const NOTHING_MOVED: TransferSummary = { files: 0, bytes: 0, skipped: 0, deleted: 0, seconds: 0, mibPerSecond: 0, retries: 0 };

/** Runs the copy on the instance through SSM, streaming its output to stderr; --dry-run prints the script instead. */
async function runOnInstance(
  leg: Extract<Leg, { kind: "to-instance" | "from-instance" }>,
  remote: InstanceSide,
  options: { endpoint?: string; dryRun: boolean; timeout: number; json: boolean; signal: AbortSignal },
): Promise<InvocationResult> {
  const [s3, instancePath] = leg.kind === "to-instance" ? [leg.from, leg.to.path] : [leg.to, leg.from.path];
  const script = instanceCopyShell(leg.kind, s3Url(s3), instancePath, { region: remote.region, endpoint: options.endpoint });
  if (options.dryRun) {
    say(`would run on ${remote.instanceId} through SSM:\n${script}`);
    return { instanceId: remote.instanceId, status: "dry-run", exitCode: 0, stdout: "", stderr: "" };
  }
  // The SSM client loads only for instance copies (a fifth of the start-up of every local ↔ S3 copy otherwise).
  const { requireSuccess, runShellCommand, ssmClient } = require("../remote/ssm") as typeof import("../remote/ssm");
  const ssm = ssmClient(remote.region);
  try {
    const [result] = await runShellCommand(ssm, {
      instanceIds: [remote.instanceId],
      script,
      timeoutSeconds: options.timeout,
      comment: `trainctl transfer ${leg.kind}`,
      signal: options.signal,
      onOutput: (_id, text) => options.json || process.stderr.write(text),
    });
    requireSuccess([result], `the copy ${leg.kind === "to-instance" ? "to" : "from"} ${instancePath}`);
    return result;
  } finally {
    ssm.destroy();
  }
}

const command: TypedCommand<TransferArgs> = {
  command: "transfer [src] [dst]",
  describe: "copy local ↔ S3 ↔ training instance: multipart, concurrent, resumable, verified by CRC32C",
  builder: (y) =>
    y
      .positional("src", { type: "string", describe: "local path, s3://bucket/prefix, STACK:/path or i-…:/path" })
      .positional("dst", { type: "string", describe: "local path, s3://bucket/prefix, STACK:/path or i-…:/path" })
      .option("endpoint-url", { type: "string", describe: "S3-compatible endpoint (default: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL)" })
      .option("concurrency", { type: "number", default: 32, describe: "requests in flight, across files and parts" })
      .option("include", { type: "string", array: true, default: [], describe: "glob of relative paths to copy" })
      .option("exclude", { type: "string", array: true, default: [], describe: "glob of relative paths to skip" })
      .option("dry-run", { type: "boolean", describe: "show what would be copied or deleted" })
      .option("sync", { type: "boolean", describe: "skip files whose size and recorded digest already match" })
      .option("delete", { type: "boolean", describe: "folder uploads: remove destination objects the source lacks (needs --yes)" })
      .option("yes", { type: "boolean", describe: "confirm --delete" })
      .option("verify", { type: "boolean", describe: "re-read every uploaded object and compare" })
      .option("json", { type: "boolean", describe: "JSON-lines progress on stdout; the last line is the summary" })
      .option("multipart-threshold-mib", { type: "number", default: 8, describe: "files above this use multipart and ranged GETs" })
      .option("abort", { type: "boolean", describe: "abort the open multipart uploads of every resume journal" })
      .option("bucket", { type: "string", describe: "bucket to stage local ↔ instance copies through (default: the stack's checkpoints bucket)" })
      .option("node", { type: "number", describe: "which node of a STACK:/path location (default 0)" })
      .option("timeout", { type: "number", default: 3600, describe: "seconds an on-instance copy may run before it is cancelled" }),
  handler: async (args) => {
    const endpoint = args.endpointUrl ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    if (!(args.concurrency >= 1)) throw new UsageError(`--concurrency must be at least 1 (got ${args.concurrency})`, { subject: "--concurrency" });
    const { abortJournal, download, makeS3Client, upload } = require("../transfer/engine") as typeof import("../transfer/engine");
    const client = makeS3Client({ endpoint, concurrency: args.concurrency });
    const journals = path.join(process.cwd(), ".trainctl", "transfers");
    if (args.abort) {
      const files = existsSync(journals) ? readdirSync(journals).filter((f) => f.endsWith(".json")) : [];
      let aborted = 0;
      for (const f of files) aborted += await abortJournal(client, path.join(journals, f), warn);
      say(`aborted ${aborted} open multipart upload(s) from ${files.length} journal(s)`);
      return;
    }
    if (!args.src || !args.dst) throw new UsageError("transfer needs SRC and DST (or --abort)", { subject: "SRC" });
    const src = parseLocation(args.src, "SRC");
    const dst = parseLocation(args.dst, "DST");
    validate(src, dst, args);
    const remote = resolveInstanceSide(src, dst, args);
    const legs = planLegs(src, dst, remote?.staging);

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
        if (!args.json && e.type === "refuse" && args.dryRun) say(`refuse ${JSON.stringify(e.key)} (${e.reason})`);
      },
      onWarning: warn,
    };
    try {
      // planLegs gives at most one leg through this machine's S3 engine.
      let moved = NOTHING_MOVED;
      const invocations: InvocationResult[] = [];
      for (const leg of legs) {
        if (leg.kind === "upload") moved = await upload(client, leg.from.path, leg.to.bucket, leg.to.prefix, options);
        else if (leg.kind === "download") moved = await download(client, leg.from.bucket, leg.from.prefix, leg.to.path, options);
        else
          invocations.push(
            await runOnInstance(leg, remote!, {
              endpoint,
              dryRun: Boolean(args.dryRun),
              timeout: args.timeout,
              json: Boolean(args.json),
              signal: controller.signal,
            }),
          );
      }
      progress.stop();
      const summary = { ...moved, ...(remote ? { instance: { instanceId: remote.instanceId, status: invocations.at(-1)?.status ?? "dry-run" } } : {}) };
      if (args.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else say(summaryLine(summary, Boolean(args.dryRun), remote ? `; on ${remote.instanceId}: ${summary.instance?.status}` : ""));
    } catch (error) {
      progress.stop();
      if (controller.signal.aborted || error instanceof InterruptedError) {
        throw new InterruptedError(
          `interrupted; the journal is saved: run the same command again to resume (npx trainctl transfer ${args.src} ${args.dst}${args.sync ? " --sync" : ""})`,
        );
      }
      throw error;
    } finally {
      process.off("SIGINT", onInterrupt);
      client.destroy();
    }
  },
};
export default command;
