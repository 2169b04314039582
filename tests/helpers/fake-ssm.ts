import { spawn } from "node:child_process";
import { type AwsServerHandle, startAwsServer } from "./aws-server";

/** What one instance's invocation ends with. */
export interface ScriptOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

export interface FakeSsmOptions {
  /** Runs the script sent to one instance; default: locally with bash and `env`. */
  execute?: (script: string, instanceId: string) => Promise<ScriptOutcome>;
  /** Environment for the default executor (merged over a minimal PATH). */
  env?: Record<string, string>;
  /** GetCommandInvocation answers InvocationDoesNotExist this many times first, as SSM does right after SendCommand. */
  notYetRegistered?: number;
  /** The command never ends (for timeouts). */
  hang?: boolean;
}

export interface SentCommand {
  commandId: string;
  instanceIds: string[];
  script: string;
  executionTimeout: string;
  comment?: string;
}

export interface FakeSsm extends AwsServerHandle {
  sent: SentCommand[];
  cancelled: string[];
}

/** Runs a script the way AWS-RunShellScript would, but here: bash, as this user. */
export function runLocally(script: string, env: Record<string, string> = {}): Promise<ScriptOutcome> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-c", script], { env: { PATH: "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/**
 * A loopback SSM endpoint (JSON 1.1 protocol) for SendCommand, GetCommandInvocation and
 * CancelCommand. Each sent script really runs, so what the CLI sends is what gets tested.
 */
export async function startFakeSsm(options: FakeSsmOptions = {}): Promise<FakeSsm> {
  const execute = options.execute ?? ((script: string) => runLocally(script, options.env));
  const sent: SentCommand[] = [];
  const cancelled: string[] = [];
  const outcomes = new Map<string, ScriptOutcome | undefined>();
  const polls = new Map<string, number>();
  const server = await startAwsServer((request) => {
    const body = JSON.parse(request.body || "{}");
    if (request.operation === "SendCommand") {
      const commandId = `cmd-${sent.length + 1}`;
      const command: SentCommand = {
        commandId,
        instanceIds: body.InstanceIds,
        script: body.Parameters.commands.join("\n"),
        executionTimeout: body.Parameters.executionTimeout?.[0],
        comment: body.Comment,
      };
      sent.push(command);
      for (const id of command.instanceIds) {
        const key = `${commandId}/${id}`;
        outcomes.set(key, undefined);
        if (!options.hang) void execute(command.script, id).then((outcome) => outcomes.set(key, outcome));
      }
      return { body: { Command: { CommandId: commandId, InstanceIds: command.instanceIds, Status: "Pending" } } };
    }
    if (request.operation === "GetCommandInvocation") {
      const key = `${body.CommandId}/${body.InstanceId}`;
      const count = (polls.get(key) ?? 0) + 1;
      polls.set(key, count);
      if (!outcomes.has(key) || count <= (options.notYetRegistered ?? 0))
        return { status: 400, body: { __type: "InvocationDoesNotExist", message: "not yet" } };
      const outcome = outcomes.get(key);
      if (cancelled.includes(body.CommandId))
        return { body: { CommandId: body.CommandId, InstanceId: body.InstanceId, Status: "Cancelled", ResponseCode: -1 } };
      if (!outcome)
        return { body: { CommandId: body.CommandId, InstanceId: body.InstanceId, Status: "InProgress", ResponseCode: -1, StandardOutputContent: "" } };
      return {
        body: {
          CommandId: body.CommandId,
          InstanceId: body.InstanceId,
          Status: outcome.code === 0 ? "Success" : "Failed",
          ResponseCode: outcome.code,
          StandardOutputContent: outcome.stdout,
          StandardErrorContent: outcome.stderr,
        },
      };
    }
    if (request.operation === "CancelCommand") {
      cancelled.push(body.CommandId);
      return { body: {} };
    }
    return { status: 400, body: { __type: "InvalidAction", message: request.operation } };
  });
  return Object.assign(server, { sent, cancelled });
}
