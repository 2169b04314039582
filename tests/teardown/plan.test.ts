import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ResourceRecord, StackModel } from "../../scripts/state/model";
import { readStackExport } from "../../scripts/state/readers";
import { planTeardown } from "../../scripts/teardown/plan";
import * as path from "node:path";

const urn = (type: string, name: string, parents: string[] = []) => `urn:pulumi:exp::trainctl::${[...parents, type].join("$")}::${name}`;

function res(type: string, name: string, extra: Partial<ResourceRecord> = {}): ResourceRecord {
  return { urn: urn(type, name), type, name, custom: !type.startsWith("trainctl:"), protect: false, retainOnDelete: false, dependencies: [], inputs: {}, outputs: {}, tags: {}, ...extra };
}
const model = (resources: ResourceRecord[]): StackModel => ({ source: "state", stack: "exp", project: "trainctl", resources, deleted: [] });

describe("planTeardown on realistic states", () => {
  const stack = res("pulumi:pulumi:Stack", "trainctl-exp", { custom: false });
  const provider = res("pulumi:providers:aws", "aws", { custom: true, id: "p-1", parent: stack.urn });
  const prov = `${provider.urn}::p-1`;
  const experiment = res("trainctl:experiment:Experiment", "exp", { parent: stack.urn });
  const bucketComponent = res("trainctl:storage:SecureBucket", "exp-datasets", { parent: experiment.urn });
  const bucket = res("aws:s3/bucket:Bucket", "exp-datasets-bucket", { parent: bucketComponent.urn, provider: prov, protect: true, retainOnDelete: true });
  const volumeComponent = res("trainctl:storage:DataVolume", "exp-data-0", { parent: experiment.urn });
  const volume = res("aws:ebs/volume:Volume", "exp-data-0-volume", { parent: volumeComponent.urn, provider: prov, protect: true, retainOnDelete: true, inputs: { size: 100, type: "gp3", finalSnapshot: true } });
  const kms = res("aws:kms/key:Key", "exp-key", { parent: experiment.urn, provider: prov });
  const retainedVolume = res("aws:ebs/volume:Volume", "exp-scratch", { parent: experiment.urn, provider: prov, retainOnDelete: true, inputs: { size: 10, type: "gp3" } });
  const instance = res("aws:ec2/instance:Instance", "exp-node-0", { parent: experiment.urn, provider: prov, inputs: { instanceType: "g5.xlarge" }, tags: { "trainctl:runtime:busy": "true" } });
  const attachment = res("aws:ec2/volumeAttachment:VolumeAttachment", "exp-data-0-attachment", { parent: volumeComponent.urn, provider: prov, dependencies: [instance.urn, volume.urn] });
  const encryptedVolume = { ...volume, dependencies: [kms.urn] };
  const old = res("aws:ec2/instance:Instance", "exp-node-0", { parent: experiment.urn, provider: prov, protect: true, pendingDelete: true });
  const all = [stack, provider, experiment, bucketComponent, bucket, volumeComponent, encryptedVolume, kms, retainedVolume, instance, attachment, old];
  const plan = planTeardown(model(all));
  const reasonOf = (r: ResourceRecord) => plan.retain.find((x) => x.urn === r.urn)?.reason;

  it("keeps protected data and says why", () => {
    expect(reasonOf(bucket)).toBe("protected");
    expect(reasonOf(encryptedVolume)).toBe("protected");
  });

  it("keeps what a protected resource depends on: its components, its provider, its key", () => {
    for (const r of [bucketComponent, volumeComponent, experiment, stack, provider, kms]) expect(reasonOf(r), r.name).toBe("protected-dependency");
  });

  it("a retained volume leaves the state but stays in AWS", () => {
    expect(reasonOf(retainedVolume)).toBe("retain-on-delete");
  });

  it("deletes compute, including an attachment that depends on a protected volume, and pending deletes", () => {
    expect(plan.delete.sort()).toEqual([instance.urn, attachment.urn, old.urn].sort());
  });

  it("prices what stays, plus the final snapshot nothing here leaves", () => {
    // Volume 100 GiB gp3 = $8/month; the retained 10 GiB scratch volume = $0.80.
    expect(plan.monthlyCostAfter).toBeCloseTo(8.8, 6);
    expect(plan.finalSnapshots).toEqual([]);
  });

  it("warns when a deleted instance is tagged busy", () => {
    expect(plan.warnings).toEqual([expect.stringContaining("exp-node-0")]);
  });

  it("on the dev fixture: only compute goes", () => {
    const dev = planTeardown(readStackExport(path.join(__dirname, "..", "fixtures", "dev.state.json")));
    const types = (urns: string[]) => [...new Set(urns.map((u) => u.split("::")[2].split("$").pop()))].sort();
    expect(types(dev.delete)).toEqual([
      "aws:budgets/budget:Budget",
      "aws:ec2/instance:Instance",
      "aws:ec2/securityGroup:SecurityGroup",
      "aws:ec2/volumeAttachment:VolumeAttachment",
      "aws:iam/instanceProfile:InstanceProfile",
      "aws:iam/role:Role",
      "aws:iam/rolePolicy:RolePolicy",
      "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
      "trainctl:compute:TrainingInstance",
      "trainctl:cost:Budget",
    ]);
    // 500 GiB data volume $70 + datasets bucket 150 GiB × 0.023 = $3.45.
    expect(dev.monthlyCostAfter).toBeCloseTo(73.45, 2);
  });
});

describe("property: nothing protected, nor anything it depends on, is ever deleted", () => {
  const arbitraryState = fc
    .array(fc.record({ parent: fc.nat(), deps: fc.array(fc.nat(), { maxLength: 3 }), protect: fc.boolean(), retain: fc.boolean() }), { minLength: 1, maxLength: 40 })
    .map((specs) =>
      specs.map((s, i) =>
        res("aws:test/thing:Thing", `r${i}`, {
          urn: urn("aws:test/thing:Thing", `r${i}`),
          // Parents and dependencies point backwards, so the graph is acyclic like real state.
          parent: i > 0 && s.parent % 3 !== 0 ? urn("aws:test/thing:Thing", `r${s.parent % i}`) : undefined,
          dependencies: i > 0 ? s.deps.map((d) => urn("aws:test/thing:Thing", `r${d % i}`)) : [],
          protect: s.protect,
          retainOnDelete: s.retain,
        }),
      ),
    );

  it("holds over random trees and dependency graphs", () => {
    fc.assert(
      fc.property(arbitraryState, (resources) => {
        const plan = planTeardown(model(resources));
        const deleted = new Set(plan.delete);
        const byUrn = new Map(resources.map((r) => [r.urn, r]));
        // Every URN lands in exactly one group.
        expect(plan.delete.length + plan.retain.length).toBe(resources.length);
        for (const r of resources) {
          if (!r.protect) continue;
          expect(deleted.has(r.urn)).toBe(false);
          const stack = [r];
          const seen = new Set<string>();
          while (stack.length) {
            const x = stack.pop()!;
            for (const u of [x.parent, ...x.dependencies].filter((v): v is string => Boolean(v))) {
              if (seen.has(u)) continue;
              seen.add(u);
              expect(deleted.has(u), `${u} needed by protected ${r.urn}`).toBe(false);
              stack.push(byUrn.get(u)!);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
