import { estimateCost } from "../pricing/estimate";
import { type ResourceRecord, type StackModel, providerUrn } from "../state/model";

export type RetainReason = "protected" | "retain-on-delete" | "protected-dependency";

export interface TeardownPlan {
  stack: string;
  delete: string[];
  retain: { urn: string; reason: RetainReason }[];
  /** USD per month still billed after the teardown: what stays, plus final snapshots of deleted volumes. */
  monthlyCostAfter: number;
  /** Final snapshots the deletes leave behind, per deleted volume. */
  finalSnapshots: { urn: string; monthly: number }[];
  warnings: string[];
}

/**
 * What `pulumi destroy --exclude-protected` does to a state: a protected resource stays, and so do
 * the components above it, the resources it depends on (transitively) and its provider. A resource
 * with retainOnDelete leaves the state but stays in AWS. Everything else is deleted.
 */
export function planTeardown(model: StackModel): TeardownPlan {
  const byUrn = new Map(model.resources.map((r) => [r.urn, r]));
  const reasons = new Map<string, RetainReason>();
  const keepForProtection = (start: ResourceRecord) => {
    const queue = [start];
    while (queue.length > 0) {
      const r = queue.pop()!;
      const next = [r.parent, providerUrn(r.provider), ...r.dependencies].filter((u): u is string => Boolean(u));
      for (const urn of next) {
        const target = byUrn.get(urn);
        if (!target || reasons.has(urn) || target.pendingDelete) continue;
        reasons.set(urn, target.protect ? "protected" : "protected-dependency");
        queue.push(target);
      }
    }
  };
  for (const r of model.resources) {
    if (r.protect && !r.pendingDelete) {
      reasons.set(r.urn, "protected");
      keepForProtection(r);
    }
  }
  for (const r of model.resources) {
    if (!reasons.has(r.urn) && r.retainOnDelete && !r.pendingDelete) reasons.set(r.urn, "retain-on-delete");
  }

  const deleted = model.resources.filter((r) => !reasons.has(r.urn));
  const retained = model.resources.filter((r) => reasons.has(r.urn));
  const cost = estimateCost({ ...model, resources: retained });
  const deletedCost = estimateCost({ ...model, resources: deleted });
  const finalSnapshots = deletedCost.items.filter((i) => i.afterDeleteMonthly).map((i) => ({ urn: i.urn, monthly: i.afterDeleteMonthly! }));
  const snapshotMonthly = finalSnapshots.reduce((s, f) => s + f.monthly, 0);

  return {
    stack: model.stack,
    delete: deleted.map((r) => r.urn),
    retain: retained.map((r) => ({ urn: r.urn, reason: reasons.get(r.urn)! })),
    monthlyCostAfter: Math.round((cost.monthly + snapshotMonthly) * 100) / 100,
    finalSnapshots,
    warnings: busyWarnings(deleted),
  };
}

const BUSY_TAGS = ["trainctl:runtime:busy", "trainctl:busy"];

/** Instances about to be deleted that state or tags say are running a training process. */
export function busyWarnings(deleted: ResourceRecord[]): string[] {
  return deleted
    .filter((r) => r.type === "aws:ec2/instance:Instance")
    .filter((r) => {
      const tags = { ...(r.outputs.tags as Record<string, string> | undefined), ...r.tags };
      return BUSY_TAGS.some((t) => tags[t] === "true");
    })
    .map((r) => `${r.name} (${r.id ?? r.urn}) is tagged busy: a training process was running when the state was last refreshed`);
}

/** Deleted volumes that would leave no final snapshot. */
export function volumesWithoutFinalSnapshot(model: StackModel, plan: TeardownPlan): ResourceRecord[] {
  const deleting = new Set(plan.delete);
  return model.resources.filter((r) => r.type === "aws:ebs/volume:Volume" && deleting.has(r.urn) && (r.inputs.finalSnapshot ?? r.outputs.finalSnapshot) !== true);
}
