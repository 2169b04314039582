import { estimateCost } from "../pricing/estimate";
import { assertSaneReport } from "../pricing/diff";
import { hasProtectedTag, type ResourceRecord, type StackModel, providerUrn } from "../state/model";
import { BUSY_TAGS, TAG } from "../../core/tags";

export type RetainReason = "protected" | "retain-on-delete" | "protected-dependency";
export const RETAIN_REASONS: readonly RetainReason[] = ["protected", "retain-on-delete", "protected-dependency"];

export interface TeardownPlan {
  stack: string;
  /** URNs `pulumi destroy --exclude-protected` deletes (in state order, each once). */
  delete: string[];
  /** What stays in AWS, and why. */
  retain: { urn: string; reason: RetainReason }[];
  /** Pending deletes left by earlier replacements; they are in `delete` too. */
  pendingDelete: string[];
  /** USD per month still billed after the teardown: what stays, plus final snapshots of deleted volumes. */
  monthlyCostAfter: number;
  /** Resources that stay but have no price (e.g. a bucket whose size state does not know). */
  unpricedAfter: string[];
  /** Final snapshots the deletes leave behind, per deleted volume (USD per month, upper bound). */
  finalSnapshots: { urn: string; monthly: number }[];
  warnings: string[];
}

/** The records a record needs to exist: its parent, its provider and its dependencies. */
function needs(r: ResourceRecord): string[] {
  return [r.parent, providerUrn(r.provider), ...r.dependencies].filter((u): u is string => Boolean(u));
}

/** Protected by Pulumi's flag or, failing safe, by the `trainctl:protected` tag (any value). */
const isProtected = (r: ResourceRecord) => r.protect || hasProtectedTag(r.tags);

/**
 * Records tagged protected whose state flag is off: `pulumi destroy --exclude-protected` would
 * delete them, so the plan keeps them and `--execute` refuses until state and tag agree.
 */
export function taggedButUnprotected(resources: readonly ResourceRecord[]): ResourceRecord[] {
  return resources.filter((r) => !r.protect && !r.pendingDelete && hasProtectedTag(r.tags));
}

/**
 * Which records stay, and why, under `pulumi destroy --exclude-protected`:
 * - a protected record stays (`protected`, also when it has retainOnDelete); the
 *   `trainctl:protected` tag counts as protection too (see taggedButUnprotected);
 * - so does everything it needs, transitively: the components above it, its provider and the
 *   resources it depends on (`protected-dependency`), and with them the stack root;
 * - a record with retainOnDelete that nothing protected needs leaves the state but stays in AWS
 *   (`retain-on-delete`); its provider is not kept for it;
 * - pending deletes (old copies from replacements) always go. A URN points at its live record.
 */
export function retainReasons(resources: readonly ResourceRecord[]): Map<ResourceRecord, RetainReason> {
  const live = new Map<string, ResourceRecord>();
  for (const r of resources) if (!r.pendingDelete) live.set(r.urn, r);
  const reasons = new Map<ResourceRecord, RetainReason>();
  const queue = resources.filter((r) => isProtected(r) && !r.pendingDelete);
  for (const r of queue) reasons.set(r, "protected");
  while (queue.length > 0) {
    for (const urn of needs(queue.pop()!)) {
      const target = live.get(urn);
      if (!target || reasons.has(target)) continue;
      reasons.set(target, isProtected(target) ? "protected" : "protected-dependency");
      queue.push(target);
    }
  }
  for (const r of resources) if (!reasons.has(r) && r.retainOnDelete && !r.pendingDelete) reasons.set(r, "retain-on-delete");
  return reasons;
}

/** The teardown of a stack's state: what goes, what stays and why, and what stays billed. */
export function planTeardown(model: StackModel): TeardownPlan {
  const reasons = retainReasons(model.resources);
  const deleted = model.resources.filter((r) => !reasons.has(r));
  const retained = model.resources.filter((r) => reasons.has(r));
  const cost = assertSaneReport(estimateCost({ ...model, resources: retained }), "--state");
  const deletedCost = assertSaneReport(estimateCost({ ...model, resources: deleted.filter((r) => !r.pendingDelete) }), "--state");
  const finalSnapshots = deletedCost.items.filter((i) => i.afterDeleteMonthly).map((i) => ({ urn: i.urn, monthly: round(i.afterDeleteMonthly!) }));
  const snapshotMonthly = finalSnapshots.reduce((s, f) => s + f.monthly, 0);

  return {
    stack: model.stack,
    delete: [...new Set(deleted.map((r) => r.urn))],
    retain: retained.map((r) => ({ urn: r.urn, reason: reasons.get(r)! })),
    pendingDelete: deleted.filter((r) => r.pendingDelete).map((r) => r.urn),
    monthlyCostAfter: round(cost.monthly + snapshotMonthly),
    unpricedAfter: cost.items.filter((i) => i.unpriced).map((i) => i.urn),
    finalSnapshots,
    warnings: [
      ...busyWarnings(deleted),
      ...groupWarnings(deleted),
      ...taggedButUnprotected(model.resources).map(
        (r) =>
          `${r.name} is tagged ${TAG.protected} but not protected in state: kept in this plan, and --execute refuses until 'pulumi state protect' or 'pulumi up' makes them agree`,
      ),
    ],
  };
}

const round = (usd: number) => Math.round(usd * 100) / 100;

/** Whether an instance's tags say a training process runs on it. */
export const isBusy = (tags: Record<string, unknown>): boolean => BUSY_TAGS.some((t) => String(tags[t]).toLowerCase() === "true");

function tagsOf(r: ResourceRecord): Record<string, unknown> {
  return { ...(r.outputs.tagsAll as object | undefined), ...(r.outputs.tags as object | undefined), ...r.tags };
}

/** Instances about to be deleted that state or tags say are running a training process. */
export function busyWarnings(deleted: ResourceRecord[]): string[] {
  return deleted
    .filter((r) => r.type === "aws:ec2/instance:Instance" && !r.pendingDelete)
    .filter((r) => isBusy(tagsOf(r)))
    .map((r) => `${r.name} (${r.id ?? r.urn}) is tagged busy: a training process was running when the state was last refreshed`);
}

/** Recovery groups about to be deleted: their nodes are not in state, so whether a run is going is not known. */
export function groupWarnings(deleted: ResourceRecord[]): string[] {
  return deleted
    .filter((r) => r.type === "aws:autoscaling/group:Group" && !r.pendingDelete)
    .map(
      (r) => `${r.name} (${r.id ?? r.urn}) is an Auto Scaling group: deleting it terminates the node it runs, which state does not show (trainctl status does)`,
    );
}

/** Deleted volumes that would leave no final snapshot. */
export function volumesWithoutFinalSnapshot(model: StackModel, plan: TeardownPlan): ResourceRecord[] {
  const deleting = new Set(plan.delete);
  return model.resources.filter(
    (r) => r.type === "aws:ebs/volume:Volume" && !r.pendingDelete && deleting.has(r.urn) && (r.inputs.finalSnapshot ?? r.outputs.finalSnapshot) !== true,
  );
}
