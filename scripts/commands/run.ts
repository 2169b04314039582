import { randomBytes } from "node:crypto";
import type { TypedCommand } from "../command-args";
import { TrainctlError, UsageError } from "../../core/errors";
import { printJson, say } from "../output";
import { codeFolder, gitFiles } from "../remote/code";
import { ec2Client, requireRunning } from "../remote/ec2";
import { RUN_ALIVE_EXIT, aliveCheckShell, isRunVariable, runShell } from "../remote/run-unit";
import { ENV_NAME, parseSecretRefs, runSecretsPath } from "../remote/secrets";
import { type InvocationResult, requireSuccess, runShellCommand, ssmClient } from "../remote/ssm";
import { type ExperimentNode, type ExperimentTarget, resolveStack, selectNodes } from "../remote/target";
import { projectDir, projectNameIn } from "../state/project";
import { STAGING_PREFIX } from "../transfer/location";
import { RUNS_PREFIX } from "../../core/names";

interface RunArgs {
  stack: string;
  code?: string;
  env: string[];
  envFromSsm: string[];
  replace?: boolean;
  port: number;
  endpointUrl?: string;
  timeout: number;
  json?: boolean;
  "--"?: (string | number)[];
}

/** `--env K=V` pairs; a bad one (or one trainctl sets itself) is bad input naming the flag. */
export function parseEnv(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    const name = pair.slice(0, eq);
    if (eq < 0 || !ENV_NAME.test(name))
      throw new UsageError(`--env: ${JSON.stringify(pair)} is not NAME=VALUE (NAME: letters, digits, _; not starting with a digit)`, { subject: "--env" });
    if (isRunVariable(name)) throw new UsageError(`--env: ${name} is set by trainctl run itself`, { subject: "--env" });
    env[name] = pair.slice(eq + 1);
  }
  return env;
}

/** `--env-from-ssm KEY=NAME` pairs, NAME under `/trainctl/<project>/<experiment>/` (the stack's own name). */
export function parseEnvFromSsm(pairs: string[], stack: string, env: Record<string, string>): Record<string, string> {
  if (pairs.length === 0) return {};
  const prefix = runSecretsPath(projectNameIn(projectDir()), stack.split("/").pop() ?? stack);
  return parseSecretRefs(pairs, prefix, isRunVariable, Object.keys(env));
}

/** A sortable, unique run id: UTC time plus a few random hex digits. */
export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, "").replace(/\..*/, "").replace("T", "-")}-${randomBytes(2).toString("hex")}`;
}

/** Node N failing because a run is alive there is a refusal, not a crash: say so in one line. */
function refuseLiveRuns(results: InvocationResult[], nodes: ExperimentNode[]): void {
  const alive = results.filter((r) => r.exitCode === RUN_ALIVE_EXIT);
  if (alive.length === 0) return;
  const list = alive
    .map(
      (r) =>
        `node ${nodes.find((n) => n.instanceId === r.instanceId)?.index} (${r.instanceId}): ${r.stderr
          .trim()
          .split("\n")
          .pop()
          ?.replace(/^trainctl: /, "")}`,
    )
    .join("; ");
  throw new TrainctlError(`a run is already alive on ${list}; nothing was started (add --replace to stop it and start this one)`, { subject: "--replace" });
}

/**
 * Where a run's code goes in the checkpoints bucket: under staging/ (expired after a day) for a run
 * started once; outside it in recovery mode, where a node may restart the run days later.
 */
export const codePrefix = (runId: string, recovery: boolean) => (recovery ? `${RUNS_PREFIX}${runId}/code/` : `${STAGING_PREFIX}runs/${runId}/code/`);

async function shipCode(target: ExperimentTarget, bucket: string, folder: string, runId: string, endpoint: string | undefined): Promise<string> {
  const prefix = codePrefix(runId, Boolean(target.nodeGroupNames));
  const files = gitFiles(folder);
  const { makeS3Client, upload } = require("../transfer/engine") as typeof import("../transfer/engine");
  const client = makeS3Client({ endpoint, region: target.region, concurrency: 16 });
  try {
    const summary = await upload(client, folder, bucket, prefix, {
      concurrency: 16,
      include: [],
      exclude: [".git/**"],
      select: files ? (relative) => files.has(relative) : undefined,
      dryRun: false,
      sync: false,
      deleteExtra: false,
      verify: false,
      multipartThreshold: 8 * 1024 * 1024,
      journalRoot: process.cwd(),
    });
    say(`shipped ${summary.files} file(s) of ${folder} to s3://${bucket}/${prefix}`);
  } finally {
    client.destroy();
  }
  return `s3://${bucket}/${prefix}`;
}

/**
 * Recovery mode: the groups own the nodes, so the run is only stored (code, then the run spec); each
 * node's run watcher starts it, and a replacement node restarts it (docs/spot.md).
 */
async function storeRecoveryRun(
  args: RunArgs,
  target: ExperimentTarget,
  folder: string,
  cmd: string[],
  env: Record<string, string>,
  secrets: Record<string, string>,
): Promise<void> {
  const bucket = target.checkpointsBucket;
  if (!bucket) throw new UsageError(`STACK: ${target.stack} has no checkpointsBucket output to store the run in`, { subject: "STACK" });
  const endpoint = args.endpointUrl ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  const { makeS3Client } = require("../transfer/engine") as typeof import("../transfer/engine");
  const { readRunSpec, writeRunSpec } = require("../remote/run-spec-store") as typeof import("../remote/run-spec-store");
  const { newRunSpec } = require("../remote/run-spec") as typeof import("../remote/run-spec");
  const client = makeS3Client({ endpoint, region: target.region, concurrency: 1 });
  try {
    const current = await readRunSpec(client, bucket);
    if (current?.status === "running" && !args.replace) {
      throw new TrainctlError(
        `run ${current.runId} is running on ${target.stack} (generation ${current.generation}); nothing was stored (add --replace to stop it and start this one)`,
        { subject: "--replace" },
      );
    }
    const runId = newRunId();
    const codeUrl = await shipCode(target, bucket, folder, runId, endpoint);
    const spec = newRunSpec({ runId, command: cmd, codeUrl, env, secrets, port: args.port, nodeCount: target.nodeGroupNames!.length });
    const url = await writeRunSpec(client, bucket, spec);
    say(`run ${runId} stored at ${url}; each node's run watcher starts it; follow it with: trainctl status ${target.stack}`);
    if (args.json) printJson({ stack: target.stack, runId, code: codeUrl, spec: url, nodes: [] });
  } finally {
    client.destroy();
  }
}

const command: TypedCommand<RunArgs> = {
  command: "run <stack>",
  describe: "start a training command on every node of an experiment (after --), as a systemd unit through SSM",
  builder: (y) =>
    y
      .parserConfiguration({ "populate--": true })
      .positional("stack", { type: "string", demandOption: true, describe: "the experiment's stack" })
      .option("code", { type: "string", describe: "folder to ship (default: the current git work tree, honouring .gitignore)" })
      .option("env", {
        type: "string",
        array: true,
        default: [],
        describe:
          "NAME=VALUE for the run's environment (repeatable); values travel in plain text in the SSM command parameters and history: use --env-from-ssm for secrets",
      })
      .option("env-from-ssm", {
        type: "string",
        array: true,
        default: [],
        describe:
          "KEY=NAME: the node reads SSM SecureString parameter NAME (under /trainctl/<project>/<stack>/) into KEY at start; the value never passes through trainctl or SSM commands (repeatable)",
      })
      .option("replace", { type: "boolean", describe: "stop a run that is alive and start this one" })
      .option("port", { type: "number", default: 29500, describe: "MASTER_PORT for torchrun's rendezvous on node 0" })
      .option("endpoint-url", { type: "string", describe: "S3-compatible endpoint (default: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL)" })
      .option("timeout", { type: "number", default: 900, describe: "seconds the start (code fetch included) may take on a node" })
      .option("json", { type: "boolean", describe: "print {stack, runId, code, nodes} on stdout" })
      .example(
        "$0 run resnet-lr3e-4 -- torchrun --nnodes $WORLD_SIZE --node_rank $NODE_RANK --master_addr $MASTER_ADDR --master_port $MASTER_PORT train.py",
        "",
      ),
  handler: async (args) => {
    const cmd = (args["--"] ?? []).map(String);
    if (cmd.length === 0) throw new UsageError("run needs a command after --, e.g. trainctl run STACK -- python train.py", { subject: "--" });
    const env = parseEnv(args.env);
    const secrets = parseEnvFromSsm(args.envFromSsm, args.stack, env);
    if (!Number.isInteger(args.port) || args.port < 1 || args.port > 65535)
      throw new UsageError(`--port must be 1..65535 (got ${args.port})`, { subject: "--port" });
    const folder = codeFolder(args.code);
    const target = resolveStack(args.stack);
    if (target.nodeGroupNames) return storeRecoveryRun(args, target, folder, cmd, env, secrets);
    const nodes = selectNodes(target);
    if (!target.checkpointsBucket)
      throw new UsageError(`STACK: ${target.stack} has no checkpointsBucket output to stage the code through`, { subject: "STACK" });
    const ec2 = ec2Client(target.region);
    const states = await requireRunning(ec2, target, nodes).finally(() => ec2.destroy());

    const ssm = ssmClient(target.region);
    try {
      const ids = nodes.map((n) => n.instanceId);
      if (!args.replace) {
        const preflight = await runShellCommand(ssm, {
          instanceIds: ids,
          script: aliveCheckShell(),
          timeoutSeconds: 60,
          comment: "trainctl run: is a run alive?",
        });
        refuseLiveRuns(preflight, nodes);
        requireSuccess(preflight, "the live-run check");
      }
      const endpoint = args.endpointUrl ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
      const runId = newRunId();
      const codeUrl = await shipCode(target, target.checkpointsBucket, folder, runId, endpoint);
      const masterAddr = nodes[0].privateIp ?? states.get(nodes[0].instanceId)?.privateIp ?? "127.0.0.1";
      const results = await Promise.all(
        nodes.map(async (node) => {
          const script = runShell({
            runId,
            command: cmd,
            codeUrl,
            loaderUrl: target.loaderLocation,
            env,
            secrets,
            node: { rank: node.index, count: nodes.length, masterAddr, masterPort: args.port },
            checkpoint: { dir: `${target.mountPoint ?? "/mnt/data"}/checkpoints`, bucket: target.checkpointsBucket },
            replace: Boolean(args.replace),
            s3: { region: target.region, endpoint },
          });
          const [result] = await runShellCommand(ssm, {
            instanceIds: [node.instanceId],
            script,
            timeoutSeconds: args.timeout,
            comment: `trainctl run ${runId}`,
          });
          return result;
        }),
      );
      refuseLiveRuns(results, nodes);
      requireSuccess(results, "starting the run");
      for (const r of results) say(r.stdout.trim().split("\n").pop() ?? "");
      say(`run ${runId} started on ${nodes.length} node(s); follow it with: trainctl logs ${target.stack} -f`);
      if (args.json)
        printJson({
          stack: target.stack,
          runId,
          code: codeUrl,
          nodes: nodes.map((n, i) => ({ index: n.index, instanceId: n.instanceId, status: results[i].status })),
        });
    } finally {
      ssm.destroy();
    }
  },
};
export default command;
