import { setTimeout as sleep } from "node:timers/promises";
import type { SSMClient } from "@aws-sdk/client-ssm";
import { ssmSdk } from "../sdk";
import { InterruptedError, TrainctlError } from "../../core/errors";

export function ssmClient(region: string): SSMClient {
  return new (ssmSdk().SSMClient)({ region });
}

export interface ShellCommand {
  instanceIds: string[];
  /** A bash script, run by `AWS-RunShellScript` as root. */
  script: string;
  /** The script's execution limit on the instance; we give up (and cancel) shortly after it. */
  timeoutSeconds: number;
  comment?: string;
  /** How long past the limit we wait for SSM to report (delivery, reporting lag); default 30 s. */
  graceSeconds?: number;
  /** Between GetCommandInvocation polls; default 1000 ms (TRAINCTL_SSM_POLL_MS overrides). */
  pollMs?: number;
  /** New standard output (and error) of one instance, as it arrives. */
  onOutput?: (instanceId: string, text: string, stream: "stdout" | "stderr") => void;
  signal?: AbortSignal;
}

export interface InvocationResult {
  instanceId: string;
  /** Success | Failed | Cancelled | TimedOut. */
  status: string;
  exitCode: number;
  stdout: string;
  stderr: string;
}

const FINAL = new Set(["Success", "Failed", "Cancelled", "TimedOut"]);
const isNotYetRegistered = (error: unknown) => (error as { name?: string })?.name === "InvocationDoesNotExist";

/**
 * Sends a shell script through SSM Run Command, polls every instance's invocation until it ends,
 * streams its output, and cancels the command when it outlives its limit.
 */
export async function runShellCommand(client: SSMClient, command: ShellCommand): Promise<InvocationResult[]> {
  const pollMs = command.pollMs ?? Number(process.env.TRAINCTL_SSM_POLL_MS ?? 1000);
  const sent = await client.send(
    new (ssmSdk().SendCommandCommand)({
      DocumentName: "AWS-RunShellScript",
      InstanceIds: command.instanceIds,
      Comment: command.comment?.slice(0, 100),
      TimeoutSeconds: 60,
      Parameters: { commands: [command.script], executionTimeout: [String(command.timeoutSeconds)] },
    }),
  );
  const commandId = sent.Command?.CommandId;
  if (!commandId) throw new TrainctlError("SSM SendCommand returned no command id", { subject: "ssm" });
  const patience = command.timeoutSeconds + (command.graceSeconds ?? 30);
  const deadline = Date.now() + patience * 1000;
  const results = new Map<string, InvocationResult>();
  const seen = new Map<string, { stdout: number; stderr: number }>();
  try {
    while (results.size < command.instanceIds.length) {
      for (const instanceId of command.instanceIds.filter((id) => !results.has(id))) {
        const invocation = await client.send(new (ssmSdk().GetCommandInvocationCommand)({ CommandId: commandId, InstanceId: instanceId })).catch((error) => {
          if (isNotYetRegistered(error)) return undefined;
          throw error;
        });
        if (!invocation) continue;
        const stdout = invocation.StandardOutputContent ?? "";
        const stderr = invocation.StandardErrorContent ?? "";
        const before = seen.get(instanceId) ?? { stdout: 0, stderr: 0 };
        if (stdout.length > before.stdout) command.onOutput?.(instanceId, stdout.slice(before.stdout), "stdout");
        if (stderr.length > before.stderr) command.onOutput?.(instanceId, stderr.slice(before.stderr), "stderr");
        seen.set(instanceId, { stdout: stdout.length, stderr: stderr.length });
        const status = invocation.Status ?? "Pending";
        if (FINAL.has(status)) results.set(instanceId, { instanceId, status, exitCode: invocation.ResponseCode ?? -1, stdout, stderr });
      }
      if (results.size === command.instanceIds.length) break;
      if (command.signal?.aborted) throw new InterruptedError();
      if (Date.now() > deadline) {
        throw new TrainctlError(
          `SSM command ${commandId} did not finish within ${patience} s on ${command.instanceIds.filter((id) => !results.has(id)).join(", ")}; it was cancelled`,
          {
            subject: commandId,
            retryable: true,
          },
        );
      }
      await sleep(pollMs);
    }
  } catch (error) {
    await client.send(new (ssmSdk().CancelCommandCommand)({ CommandId: commandId })).catch(() => undefined);
    throw error;
  }
  return command.instanceIds.map((id) => results.get(id)!);
}

/** Throws one line naming the first node whose invocation did not succeed. */
export function requireSuccess(results: InvocationResult[], what: string): void {
  const failed = results.find((r) => r.status !== "Success");
  if (!failed) return;
  const reason = failed.stderr.trim().split("\n").pop() || failed.stdout.trim().split("\n").pop() || "no output";
  throw new TrainctlError(`${what} failed on ${failed.instanceId} (${failed.status}, exit ${failed.exitCode}): ${reason}`, { subject: failed.instanceId });
}
