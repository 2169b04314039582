import { RUN_SPEC_VERSION } from "../../core/names";

/**
 * The run spec `trainctl run` stores in the checkpoints bucket (spot recovery): what a replacement
 * node needs to restart the run, and what `status` reports. Pure.
 */

export type RunStatus = "running" | "failed" | "finished" | "stopped";

export interface Interruption {
  at: string;
  node: number;
  instanceId: string;
}

/** A restart a replacement node started: the generation it began, when, and which node it replaced. */
export interface Restart {
  at: string;
  generation: number;
  node: number;
  instanceId: string;
}

export interface StoredRunSpec {
  version: typeof RUN_SPEC_VERSION;
  runId: string;
  command: string[];
  /** `s3://…/` prefix holding the run's code. */
  codeUrl: string;
  /** Plain `--env` values: stored as they are, so never secrets. */
  env: Record<string, string>;
  /** `--env-from-ssm`: KEY → SSM parameter name (names only). */
  secrets: Record<string, string>;
  port: number;
  nodeCount: number;
  generation: number;
  restarts: number;
  status: RunStatus;
  interruptions: Interruption[];
  /** Node-written: one entry per restart. */
  restartLog: Restart[];
  /** When the current generation began (a node that booted later, into an interrupted run, replaces a lost member). */
  startedAt: string;
  updatedAt: string;
}

export function newRunSpec(
  run: Pick<StoredRunSpec, "runId" | "command" | "codeUrl" | "env" | "secrets" | "port" | "nodeCount">,
  now = new Date(),
): StoredRunSpec {
  const at = now.toISOString().replace(/\.\d+Z$/, "Z");
  return { version: RUN_SPEC_VERSION, ...run, generation: 0, restarts: 0, status: "running", interruptions: [], restartLog: [], startedAt: at, updatedAt: at };
}

/** The stored JSON → a spec; anything else (another version, a missing field) is undefined. */
export function parseRunSpec(text: string): StoredRunSpec | undefined {
  try {
    const spec = JSON.parse(text) as StoredRunSpec;
    if (spec.version !== RUN_SPEC_VERSION || typeof spec.runId !== "string" || !Array.isArray(spec.command)) return undefined;
    return { ...spec, interruptions: spec.interruptions ?? [], restartLog: spec.restartLog ?? [] };
  } catch {
    return undefined;
  }
}

/**
 * Seconds lost to interruptions: for each restart, the time from the latest interruption before it
 * (and after the previous restart) to the restart. A restart with no such interruption counts 0.
 */
export function lostSeconds(spec: Pick<StoredRunSpec, "interruptions" | "restartLog">): number {
  const times = (list: { at: string }[]) => list.map((e) => Date.parse(e.at)).sort((a, b) => a - b);
  const interruptions = times(spec.interruptions);
  let previous = -Infinity;
  let lost = 0;
  for (const restart of times(spec.restartLog)) {
    const cause = interruptions.filter((t) => t > previous && t <= restart).pop();
    if (cause !== undefined) lost += (restart - cause) / 1000;
    previous = restart;
  }
  return Math.round(lost);
}

/** What `status` shows of a run. */
export interface RunRecovery {
  runId: string;
  status: RunStatus;
  generation: number;
  restarts: number;
  interruptions: Interruption[];
  lostSeconds: number;
}

export function runRecovery(spec: StoredRunSpec): RunRecovery {
  return {
    runId: spec.runId,
    status: spec.status,
    generation: spec.generation,
    restarts: spec.restarts,
    interruptions: spec.interruptions,
    lostSeconds: lostSeconds(spec),
  };
}
