/**
 * The one destroy path: `teardown --execute`, `experiment destroy` and `experiment gc` all end here.
 * It refreshes first (an instance autostop already terminated must not fail the destroy), excludes
 * protected resources, and never unprotects anything.
 */
import { TrainctlError, UsageError } from "../../core/errors";
import type { StackModel } from "../state/model";
import { checkStackName, runPulumi } from "../state/pulumi-cli";
import { taggedButUnprotected } from "./teardown-plan";
import { TAG } from "../../core/tags";

/** argv of the destroy: refresh, then delete everything `--exclude-protected` lets go. */
export const destroyArgs = (stack: string): string[] => ["destroy", "--refresh", "--exclude-protected", "--yes", "--non-interactive", "--stack", stack];

/** The checks made on the stack's state before the destroy runs; each failure names the subject and does nothing. */
export function assertDestroyable(stack: string, model: StackModel): void {
  checkStackName(stack);
  if (model.resources.length === 0) throw new UsageError(`${stack}: the state is empty; there is nothing to tear down`, { subject: stack });
  if (model.stack !== stack)
    throw new UsageError(`${stack}: the state is for stack ${JSON.stringify(model.stack)}, not ${JSON.stringify(stack)}; nothing was done`, { subject: stack });
  const drifted = taggedButUnprotected(model.resources);
  if (drifted.length > 0) {
    throw new UsageError(
      `${stack}: ${drifted.map((r) => r.name).join(", ")} tagged ${TAG.protected} but not protected in state; pulumi destroy --exclude-protected would delete them. Run 'pulumi state protect' (or pulumi up) first; nothing was done`,
      { subject: stack },
    );
  }
}

/** Destroys the stack whose state is `model`, streaming Pulumi's output to stderr. */
export function destroyStack(stack: string, model: StackModel, options: { cwd?: string } = {}): void {
  assertDestroyable(stack, model);
  const result = runPulumi(destroyArgs(stack), { cwd: options.cwd, stream: true });
  if (result.code !== 0)
    throw new TrainctlError(`pulumi destroy --exclude-protected failed for ${stack} (exit ${result.code})`, { subject: stack, retryable: true });
}
