import { setTimeout as sleep } from "node:timers/promises";
import type { TypedCommand } from "../command-args";
import { InterruptedError, TrainctlError, UsageError } from "../../core/errors";
import { ec2Client, requireRunning } from "../remote/ec2";
import { LOG_CHUNK_BYTES, logChunkShell, parseLogChunk } from "../remote/run-unit";
import { runShellCommand, ssmClient } from "../remote/ssm";
import { resolveStack, selectNodes } from "../remote/target";

interface LogsArgs {
  stack: string;
  follow?: boolean;
  node: number;
  lines: number;
  interval: number;
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
    const target = resolveStack(args.stack);
    const [node] = selectNodes(target, args.node);
    const ec2 = ec2Client(target.region);
    await requireRunning(ec2, target, [node]).finally(() => ec2.destroy());

    const ssm = ssmClient(target.region);
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once("SIGINT", stop);
    try {
      let from: { offset: number } | { lines: number } = { lines: args.lines };
      for (;;) {
        const [result] = await runShellCommand(ssm, { instanceIds: [node.instanceId], script: logChunkShell(from), timeoutSeconds: 60, comment: "trainctl logs", signal: controller.signal });
        if (result.status !== "Success") throw new TrainctlError(`logs: ${result.stderr.trim().split("\n").pop()?.replace(/^trainctl: /, "") || `${result.status} on ${node.instanceId}`}`, { subject: node.instanceId });
        const chunk = parseLogChunk(result.stdout);
        process.stdout.write(chunk.text);
        const caughtUp = chunk.text.length === 0;
        from = { offset: chunk.nextOffset };
        if (!args.follow && chunk.text.length < LOG_CHUNK_BYTES) return;
        if (args.follow && caughtUp && !chunk.alive) return;
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
