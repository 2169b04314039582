import * as path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ResourceRecord, StackModel } from "../../scripts/state/model";
import { readStackExport } from "../../scripts/state/readers";
import { planTeardown } from "../../scripts/teardown/teardown-plan";
import { stateRecord } from "../helpers/records";

const FIXTURES = path.join(__dirname, "..", "fixtures");
const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);
const names = (urns: string[]) => urns.map(nameOf).sort();
const byReason = (plan: ReturnType<typeof planTeardown>) => {
  const out: Record<string, string[]> = {};
  for (const r of plan.retain) (out[r.reason] ??= []).push(nameOf(r.urn));
  for (const list of Object.values(out)) list.sort();
  return out;
};

describe("planTeardown on a realistic nested state (tests/fixtures/teardown/nested.state.json)", () => {
  const model = readStackExport(path.join(FIXTURES, "teardown", "nested.state.json"));
  const plan = planTeardown(model);

  it("keeps protected data, with its guards, and everything it needs, and says why", () => {
    expect(byReason(plan)).toEqual({
      // Protected and retained at once counts as protected (DESIGN.md).
      protected: ["exp-7-checkpoints-bucket", "exp-7-checkpoints-versioning", "exp-7-data-0-volume"],
      // Components above protected data (nested two deep), the stack root, the provider they use,
      // and the KMS key the protected volume depends on.
      "protected-dependency": ["aws", "exp-7", "exp-7-checkpoints", "exp-7-data-0", "exp-7-data-0-key", "trainctl-exp-7"],
      // Leaves the state, stays in AWS.
      "retain-on-delete": ["exp-7-scratch"],
    });
  });

  it("deletes compute, the attachment that depends on the protected volume, an unused provider, and the pending delete", () => {
    expect(names(plan.delete)).toEqual([
      "aws-us-west-2",
      "exp-7-data-0-attachment",
      "exp-7-data-0-cache",
      "exp-7-mirror-west",
      "exp-7-training",
      "exp-7-training-node-0",
      "exp-7-training-role",
    ]);
    // The replaced instance's old copy and the live instance share a URN: listed once in delete, and named as pending.
    expect(names(plan.pendingDelete)).toEqual(["exp-7-training-node-0"]);
  });

  it("every record lands in exactly one group", () => {
    const retained = new Set(plan.retain.map((r) => r.urn));
    expect(plan.delete.filter((u) => retained.has(u))).toEqual([]);
    expect(new Set([...plan.delete, ...retained])).toEqual(new Set(model.resources.map((r) => r.urn)));
  });

  it("prices what stays plus the final snapshots the deletes leave", () => {
    // Stays: 500 GiB gp3 ($40) + 100 GiB scratch gp3 ($8); the checkpoints bucket has no size in state.
    // Deleted 200 GiB cache volume with finalSnapshot: up to 200 × $0.05 = $10.
    expect(plan.finalSnapshots).toEqual([{ urn: expect.stringMatching(/::exp-7-data-0-cache$/), monthly: 10 }]);
    expect(plan.monthlyCostAfter).toBeCloseTo(58, 6);
  });

  it("warns about the live instance tagged busy, not about its pending-delete copy", () => {
    expect(plan.warnings).toEqual([expect.stringMatching(/^exp-7-training-node-0 \(i-0new000000000000a\) is tagged busy/)]);
  });
});

describe("planTeardown on the dev stack (tests/fixtures/dev.state.json)", () => {
  const plan = planTeardown(readStackExport(path.join(FIXTURES, "dev.state.json")));

  it("deletes exactly the compute side, the budget, the dashboard and the data-path commands", () => {
    expect(names(plan.delete)).toEqual([
      "dev-budget",
      "dev-budget-monthly",
      "dev-dashboard",
      "dev-data-0-attachment",
      "dev-data-path",
      "dev-data-path-loader",
      "dev-training",
      "dev-training-experiment-access",
      "dev-training-node-0",
      "dev-training-profile",
      "dev-training-role",
      "dev-training-sg",
      "dev-training-ssm-core",
    ]);
  });

  it("keeps both buckets with their guards and the data volume", () => {
    const reasons = byReason(plan);
    expect(reasons["protected-dependency"]).toEqual(["aws", "dev", "dev-checkpoints", "dev-data-0", "dev-datasets", "trainctl-dev"]);
    expect(reasons.protected).toHaveLength(13);
    expect(reasons["retain-on-delete"]).toBeUndefined();
    // 500 GiB data volume $70 (gp3 with 6000 IOPS, 500 MiB/s) + datasets bucket 150 GiB × $0.023.
    expect(plan.monthlyCostAfter).toBeCloseTo(73.45, 2);
  });
});

describe("planTeardown edge cases", () => {
  const urn = (name: string) => `urn:pulumi:exp::trainctl::aws:test/thing:Thing::${name}`;
  const res = (name: string, extra: Partial<ResourceRecord> = {}): ResourceRecord =>
    stateRecord({ urn: urn(name), type: "aws:test/thing:Thing", name, ...extra });
  const model = (resources: ResourceRecord[]): StackModel => ({ source: "state", stack: "exp", project: "trainctl", resources, deleted: [] });

  it("a retained resource keeps nothing else alive", () => {
    const dep = res("dep");
    const plan = planTeardown(model([dep, res("kept", { retainOnDelete: true, dependencies: [dep.urn] })]));
    expect(names(plan.delete)).toEqual(["dep"]);
  });

  it("a protected resource depending on a replaced resource keeps the live copy; the old copy goes", () => {
    const old = res("db", { pendingDelete: true, id: "old" });
    const live = res("db", { id: "new" });
    const plan = planTeardown(model([old, live, res("guard", { protect: true, dependencies: [live.urn] })]));
    expect(plan.retain.map((r) => [nameOf(r.urn), r.reason])).toEqual([
      ["db", "protected-dependency"],
      ["guard", "protected"],
    ]);
    expect(plan.pendingDelete).toEqual([urn("db")]);
  });

  it("a protected pending delete goes (Pulumi deletes replaced copies)", () => {
    const plan = planTeardown(model([res("old", { protect: true, pendingDelete: true })]));
    expect(plan.retain).toEqual([]);
  });
});

describe("property: nothing protected, nor anything it needs, is ever deleted", () => {
  const urn = (i: number) => `urn:pulumi:exp::trainctl::aws:test/thing:Thing::r${i}`;
  const provider = (i: number) => `urn:pulumi:exp::trainctl::pulumi:providers:aws::p${i}`;
  const arbitraryState = fc
    .tuple(
      fc.integer({ min: 0, max: 3 }),
      fc.array(
        fc.record({
          parent: fc.nat(),
          deps: fc.array(fc.nat(), { maxLength: 3 }),
          provider: fc.nat(),
          protect: fc.boolean(),
          retain: fc.boolean(),
          custom: fc.boolean(),
        }),
        { minLength: 1, maxLength: 40 },
      ),
    )
    .map(([providers, specs]) => {
      const records: ResourceRecord[] = Array.from({ length: providers }, (_, i) =>
        stateRecord({ urn: provider(i), type: "pulumi:providers:aws", name: `p${i}`, id: `id-${i}` }),
      );
      specs.forEach((s, i) =>
        records.push(
          stateRecord({
            urn: urn(i),
            type: "aws:test/thing:Thing",
            name: `r${i}`,
            custom: s.custom,
            // Parents and dependencies point backwards, so the graph is acyclic like real state.
            parent: i > 0 && s.parent % 3 !== 0 ? urn(s.parent % i) : undefined,
            provider: providers > 0 && s.custom ? `${provider(s.provider % providers)}::id-${s.provider % providers}` : undefined,
            dependencies: i > 0 ? [...new Set(s.deps.map((d) => urn(d % i)))] : [],
            protect: s.protect,
            retainOnDelete: s.retain,
          }),
        ),
      );
      return records;
    });

  it("holds over random trees, providers and dependency graphs; every URN lands in exactly one group", () => {
    fc.assert(
      fc.property(arbitraryState, (resources) => {
        const plan = planTeardown({ source: "state", stack: "exp", project: "trainctl", resources, deleted: [] });
        const deleted = new Set(plan.delete);
        const retained = new Map(plan.retain.map((r) => [r.urn, r.reason]));
        expect(plan.delete.length + plan.retain.length).toBe(resources.length);
        for (const r of resources) expect(deleted.has(r.urn) !== retained.has(r.urn), r.urn).toBe(true);
        const byUrn = new Map(resources.map((r) => [r.urn, r]));
        for (const r of resources) {
          if (!r.protect) {
            if (retained.get(r.urn) === "protected") throw new Error(`${r.urn} is not protected`);
            continue;
          }
          expect(retained.get(r.urn)).toBe("protected");
          const stack = [r];
          const seen = new Set<string>();
          while (stack.length) {
            const x = stack.pop()!;
            for (const u of [x.parent, x.provider?.replace(/::[^:]*$/, ""), ...x.dependencies].filter((v): v is string => Boolean(v))) {
              if (seen.has(u)) continue;
              seen.add(u);
              expect(deleted.has(u), `${u} needed by protected ${r.urn}`).toBe(false);
              stack.push(byUrn.get(u)!);
            }
          }
        }
        // Nothing is kept without a reason: a kept dependency is needed by something protected.
        for (const [u, reason] of retained) if (reason === "retain-on-delete") expect(byUrn.get(u)!.retainOnDelete).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
