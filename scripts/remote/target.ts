import { TrainctlError, UsageError } from "../../core/errors";
import { environmentRegion } from "../region";
import { projectDir } from "../state/project";
import { stackOutputs } from "../state/pulumi-cli";

/** One training node of an experiment, in the stack's node order (node 0 is the torchrun rendezvous). */
export interface ExperimentNode {
  index: number;
  instanceId: string;
  privateIp?: string;
}

/** Where an experiment lives, as its stack outputs say. */
export interface ExperimentTarget {
  stack: string;
  region: string;
  nodes: ExperimentNode[];
  datasetsBucket?: string;
  checkpointsBucket?: string;
  mountPoint?: string;
  /** The generated DataLoader the stack publishes (`s3://…/code/loader.py`). */
  loaderLocation?: string;
  dashboardUrl?: string;
  estimatedHourlyUsd?: number;
  /** Spot recovery: each node's Auto Scaling group (the `nodeGroupNames` output); nodes come and go. */
  nodeGroupNames?: string[];
}

const text = (value: unknown) => (typeof value === "string" && value ? value : undefined);
const texts = (value: unknown) => (Array.isArray(value) ? value.map(text) : []);

/** The stack outputs of `infra/index.ts` → a target. Pure; the region falls back to the AWS environment. */
export function targetFromOutputs(stack: string, outputs: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): ExperimentTarget {
  const ids = texts(outputs.instanceIds).length ? texts(outputs.instanceIds) : [text(outputs.instanceId)];
  const ips = texts(outputs.privateIps);
  const nodes = ids.flatMap((instanceId, index) => (instanceId ? [{ index, instanceId, privateIp: ips[index] }] : []));
  return {
    stack,
    region: text(outputs.region) ?? environmentRegion(env),
    nodes,
    datasetsBucket: text(outputs.datasetsBucket),
    checkpointsBucket: text(outputs.checkpointsBucket),
    mountPoint: text(outputs.mountPoint),
    loaderLocation: text(outputs.loaderLocation),
    dashboardUrl: text(outputs.dashboardUrl),
    estimatedHourlyUsd: typeof outputs.estimatedHourlyUsd === "number" ? outputs.estimatedHourlyUsd : undefined,
    nodeGroupNames: texts(outputs.nodeGroupNames).length ? texts(outputs.nodeGroupNames).filter((n): n is string => Boolean(n)) : undefined,
  };
}

/** Reads a stack's outputs through the Pulumi CLI (in the project folder); an unknown stack is bad input (exit 2) naming `flag`. */
export function resolveStack(stack: string, options: { flag?: string; cwd?: string } = {}): ExperimentTarget {
  const flag = options.flag ?? "STACK";
  if (!/^[A-Za-z0-9_.\-/]+$/.test(stack))
    throw new UsageError(`${flag}: ${JSON.stringify(stack)} is not a stack name (letters, digits, '-', '_', '.', '/')`, { subject: flag });
  let outputs: Record<string, unknown>;
  try {
    outputs = stackOutputs(stack, options.cwd ?? projectDir());
  } catch (error) {
    if (error instanceof TrainctlError && error.subject !== "pulumi")
      throw new UsageError(`${flag}: unknown stack ${JSON.stringify(stack)}: ${error.message.replace(/^--stack: /, "")}`, { subject: flag });
    throw error;
  }
  return targetFromOutputs(stack, outputs);
}

/** All nodes, or node N; out of range is bad input naming `--node`. */
export function selectNodes(target: ExperimentTarget, node?: number): ExperimentNode[] {
  if (target.nodes.length === 0)
    throw new UsageError(`STACK: ${target.stack} has no instance in its outputs (run pulumi up -s ${target.stack} first)`, { subject: "STACK" });
  if (node === undefined) return target.nodes;
  if (!Number.isInteger(node) || node < 0 || node >= target.nodes.length) {
    throw new UsageError(`--node ${node} is out of range: ${target.stack} has ${target.nodes.length} node(s), accepted 0..${target.nodes.length - 1}`, {
      subject: "--node",
    });
  }
  return [target.nodes[node]];
}
