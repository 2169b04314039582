/**
 * A small model of EC2 instance and EBS attachment states, written from AWS's documentation. It is
 * NOT AWS: it encodes what these pages say, and the lifecycle test checks the program against it.
 * - Instance states and what each API accepts in them:
 *   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-lifecycle.html
 * - StopInstances: a one-time Spot Instance cannot be stopped (UnsupportedOperation); a terminated
 *   instance cannot be stopped (IncorrectInstanceState):
 *   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Stop_Start.html and
 *   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/how-spot-instances-work.html
 * - On termination, non-root EBS volumes are detached and kept (DeleteOnTermination false):
 *   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/terminating-instances.html
 * - DetachVolume on a volume that is not attached fails with IncorrectState:
 *   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
 * - TerminateInstances on a terminated instance succeeds (it is idempotent).
 */

export type InstanceState = "running" | "stopped" | "terminated";

export interface ModelNode {
  id: string;
  oneTimeSpot: boolean;
  state: InstanceState;
  /** Volume ids attached to the node. */
  attached: Set<string>;
}

export type Operation =
  | { api: "StopInstances"; instanceId: string }
  | { api: "DetachVolume"; instanceId: string; volumeId: string }
  | { api: "TerminateInstances"; instanceId: string };

/** The error AWS returns for `op` in the nodes' current states, or undefined when it is accepted. */
export function refusal(op: Operation, node: ModelNode): string | undefined {
  switch (op.api) {
    case "StopInstances":
      if (node.oneTimeSpot) return "UnsupportedOperation: a one-time Spot Instance cannot be stopped";
      if (node.state === "terminated") return "IncorrectInstanceState: the instance is terminated";
      return undefined;
    case "DetachVolume":
      return node.attached.has(op.volumeId) ? undefined : `IncorrectState: ${op.volumeId} is not attached to ${node.id}`;
    case "TerminateInstances":
      return undefined;
  }
}

/** Applies an accepted operation. */
export function apply(op: Operation, node: ModelNode): void {
  if (op.api === "StopInstances") node.state = "stopped";
  if (op.api === "DetachVolume") node.attached.delete(op.volumeId);
  if (op.api === "TerminateInstances") {
    node.state = "terminated";
    node.attached.clear();
  }
}

/**
 * The states a node can be found in when a destroy starts, from what it was launched with: it runs;
 * a one-time spot node may have been interrupted (terminated); shutdown behaviour `terminate`
 * (autostop, maxHours) may have terminated it; `stop` may have stopped it. A terminated node has
 * no volumes attached.
 */
export function reachableStates(launch: { oneTimeSpot: boolean; persistentSpot: boolean; shutdownBehavior: string }): InstanceState[] {
  const states = new Set<InstanceState>(["running"]);
  if (launch.oneTimeSpot || launch.shutdownBehavior === "terminate") states.add("terminated");
  if (launch.persistentSpot || launch.shutdownBehavior === "stop") states.add("stopped");
  return [...states];
}
