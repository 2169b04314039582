import { setTimeout as sleep } from "node:timers/promises";
import type { TypedCommand } from "../command-args";
import { InterruptedError, TrainctlError, UsageError } from "../../core/errors";
import { ec2Client, groupNodes, requireRunning } from "../remote/ec2";
import { LOG_CHUNK_BYTES, logChunkShell, parseLogChunk } from "../remote/run-unit";
import { runShellCommand, ssmClient } from "../remote/ssm";
import { type ExperimentNode, type ExperimentTarget, resolveStack, selectNodes } from "../remote/target";

interface LogsArgs {
  stack: string;
  follow?: boolean;
  node: number;
  lines: number;
  interval: number;
}

/** Recovery mode: node N is whatever instance its group holds now (undefined while it has none running). */
async function currentNode(target: ExperimentTarget, index: number): Promise<ExperimentNode | undefined> {
  const ec2 = ec2Client(target.region);
  try {
    return (await groupNodes(ec2, target.stack.split("/").pop()!)).find((n) => n.index === index);
  } finally {
    ec2.destroy();
  }
}

/** Recovery mode: whether the stored run may still restart (its spec says running). */
async function runStillRunning(target: ExperimentTarget): Promise<boolean> {
  if (!target.checkpointsBucket) return false;
  const { makeS3Client } = require("../transfer/engine") as typeof import("../transfer/engine");
  const { readRunSpec } = require("../remote/run-spec-store") as typeof import("../remote/run-spec-store");
  const s3 = makeS3Client({ region: target.region, endpoint: process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL, concurrency: 1 });
  try {
    return (await readRunSpec(s3, target.checkpointsBucket))?.status === "running";
  } finally {
    s3.destroy();
  }
}

const command: TypedCommand<LogsArgs> = {
  command: "logs <stack>",
  describe: "print (or follow) the run's log from a node, through SSM",
  builder: (y) =>
    y
      .positional("stack", { type: "string", demandOption: true, describe: "the experiment's stack" })
      .option("follow", { alias: "f", type: "boolean", describe: "keep printing new lines until the run ends (Ctrl-C stops)" })
      .option("node", { type: "number", default: 0, describe: "which node (0 is the torchrun rendezvous)" })
      .option("lines", { type: "number", default: 100, describe: "start with the last N lines" })
      .option("interval", { type: "number", default: 2, describe: "seconds between polls with --follow" }),
  handler: async (args) => {
    if (!Number.isInteger(args.lines) || args.lines < 0) throw new UsageError(`--lines must be a whole number ≥ 0 (got ${args.lines})`, { subject: "--lines" });
    if (!(args.interval > 0)) throw new UsageError(`--interval must be a positive number of seconds (got ${args.interval})`, { subject: "--interval" });
    let target = resolveStack(args.stack);
    const recovery = Boolean(target.nodeGroupNames);
    if (recovery) {
      const current = await currentNode(target, args.node);
      target = { ...target, nodes: current ? [current] : [] };
    }
    let [node] = recovery ? target.nodes : selectNodes(target, args.node);
    if (!node)
      throw new UsageError(`--node ${args.node}: ${target.stack} has no instance in group ${target.nodeGroupNames?.[args.node] ?? args.node} now`, {
        subject: "--node",
      });
    const ec2 = ec2Client(target.region);
    await requireRunning(ec2, target, [node]).finally(() => ec2.destroy());

    const ssm = ssmClient(target.region);
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once("SIGINT", stop);
    try {
      let from: { offset: number } | { lines: number } = { lines: args.lines };
      for (;;) {
        const sent = runShellCommand(ssm, {
          instanceIds: [node.instanceId],
          script: logChunkShell(from),
          timeoutSeconds: 60,
          comment: "trainctl logs",
          signal: controller.signal,
        });
        // Recovery mode, following: the node may be gone (replaced); ask again for the group's instance.
        const [result] =
          recovery && args.follow
            ? await sent.catch(async (error: unknown) => {
                if (await runStillRunning(target)) return [undefined];
                throw error;
              })
            : await sent;
        if (!result) {
          await sleep(args.interval * 1000, undefined, { signal: controller.signal });
          node = (await currentNode(target, args.node)) ?? node;
          continue;
        }
        if (result.status !== "Success")
          throw new TrainctlError(
            `logs: ${
              result.stderr
                .trim()
                .split("\n")
                .pop()
                ?.replace(/^trainctl: /, "") || `${result.status} on ${node.instanceId}`
            }`,
            { subject: node.instanceId },
          );
        const chunk = parseLogChunk(result.stdout);
        process.stdout.write(chunk.text);
        const caughtUp = chunk.text.length === 0;
        from = { offset: chunk.nextOffset };
        if (!args.follow && chunk.text.length < LOG_CHUNK_BYTES) return;
        if (args.follow && caughtUp && !chunk.alive) {
          // Recovery mode: the log lives on the data volume and goes on after a restart, on this
          // node or on the group's next instance, from the same offset.
          if (!recovery || !(await runStillRunning(target))) return;
          await sleep(args.interval * 1000, undefined, { signal: controller.signal });
          node = (await currentNode(target, args.node)) ?? node;
          continue;
        }
        if (caughtUp) await sleep(args.interval * 1000, undefined, { signal: controller.signal });
      }
    } catch (error) {
      if (controller.signal.aborted) throw new InterruptedError();
      throw error;
    } finally {
      process.off("SIGINT", stop);
      ssm.destroy();
    }
  },
};
export default command;
