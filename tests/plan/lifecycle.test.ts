/**
 * Walks `pulumi destroy --exclude-protected` of the fixture stacks against a model of AWS's states
 * (tests/plan/aws-state-model.ts, written from AWS's documentation; it is not AWS) and asserts that
 * no step depends on an operation AWS refuses in a state the nodes can be in.
 */
import { describe, expect, it } from "vitest";
import type { ResourceRecord } from "../../scripts/state/model";
import { runOffline } from "../../scripts/state/offline-program";
import { type FixtureStack, fixtureConfig } from "../fixtures/stacks";
import { type ModelNode, type Operation, apply, reachableStates, refusal } from "./aws-state-model";

const INSTANCE = "aws:ec2/instance:Instance";
const ATTACHMENT = "aws:ec2/volumeAttachment:VolumeAttachment";

/** Deletion order: dependents before what they depend on (Pulumi's destroy order), protected resources kept. */
function destroyOrder(records: ResourceRecord[]): ResourceRecord[] {
  const deletable = records.filter((r) => r.custom && !r.protect && !r.type.startsWith("pulumi:"));
  const order: ResourceRecord[] = [];
  const done = new Set<string>();
  const visit = (r: ResourceRecord) => {
    if (done.has(r.urn)) return;
    done.add(r.urn);
    for (const d of deletable) if (d.dependencies.includes(r.urn)) visit(d);
    order.push(r);
  };
  for (const r of deletable) visit(r);
  return order;
}

/** The AWS calls the provider makes to delete one resource (terraform-provider-aws's delete functions). */
function operations(r: ResourceRecord): Operation[] {
  if (r.type === INSTANCE) return [{ api: "TerminateInstances", instanceId: String(r.id) }];
  if (r.type === ATTACHMENT) {
    const instanceId = String(r.inputs.instanceId);
    if (r.inputs.skipDestroy === true) return [];
    const detach: Operation = { api: "DetachVolume", instanceId, volumeId: String(r.inputs.volumeId) };
    return r.inputs.stopInstanceBeforeDetaching === true ? [{ api: "StopInstances", instanceId }, detach] : [detach];
  }
  return [];
}

function launchOf(instance: ResourceRecord) {
  const market = (instance.inputs.instanceMarketOptions ?? {}) as { marketType?: string; spotOptions?: { spotInstanceType?: string } };
  const spotType = market.marketType === "spot" ? (market.spotOptions?.spotInstanceType ?? "one-time") : undefined;
  return {
    oneTimeSpot: spotType === "one-time",
    persistentSpot: spotType === "persistent",
    shutdownBehavior: String(instance.inputs.instanceInitiatedShutdownBehavior),
  };
}

/** Every refusal the destroy meets, over every combination of node states. */
async function walkDestroy(stack: FixtureStack): Promise<{ steps: string[]; refusals: string[] }> {
  const run = await runOffline({ stack, config: fixtureConfig(stack) });
  const records = run.model.resources;
  const instances = records.filter((r) => r.type === INSTANCE);
  const order = destroyOrder(records);
  const attachedTo = (id: string) => records.filter((r) => r.type === ATTACHMENT && r.inputs.instanceId === id).map((a) => String(a.inputs.volumeId));
  const refusals: string[] = [];
  const combos = instances.reduce<string[][]>((acc, i) => acc.flatMap((c) => reachableStates(launchOf(i)).map((s) => [...c, s])), [[]]);
  for (const combo of combos) {
    const nodes = new Map<string, ModelNode>(
      instances.map((i, k) => {
        const state = combo[k] as ModelNode["state"];
        return [
          String(i.id),
          { id: String(i.id), oneTimeSpot: launchOf(i).oneTimeSpot, state, attached: new Set(state === "terminated" ? [] : attachedTo(String(i.id))) },
        ];
      }),
    );
    for (const step of order) {
      for (const op of operations(step)) {
        const node = nodes.get(op.instanceId)!;
        const refused = refusal(op, node);
        if (refused) refusals.push(`${stack}: ${step.name} (${op.api}) with nodes ${combo.join("/")}: ${refused}`);
        else apply(op, node);
      }
    }
  }
  return { steps: order.map((r) => r.type), refusals };
}

describe("destroy against a model of AWS's states (from AWS's documentation, not AWS)", () => {
  for (const stack of ["dev", "2-node", "on-demand", "adopted"] as const) {
    it(`${stack}: no step needs an operation AWS refuses in a state the nodes can be in`, async () => {
      const { steps, refusals } = await walkDestroy(stack);
      expect(refusals).toEqual([]);
      // The walk covers the nodes and their attachments, attachments first.
      const attachment = steps.indexOf(ATTACHMENT);
      const node = steps.indexOf(INSTANCE);
      expect(attachment).toBeGreaterThanOrEqual(0);
      expect(attachment).toBeLessThan(node);
    });
  }

  it("the model refuses what the old attachment did: stopping a one-time spot node, detaching from a terminated one", () => {
    const spot: ModelNode = { id: "i-1", oneTimeSpot: true, state: "running", attached: new Set(["vol-1"]) };
    expect(refusal({ api: "StopInstances", instanceId: "i-1" }, spot)).toMatch(/UnsupportedOperation/);
    const gone: ModelNode = { id: "i-2", oneTimeSpot: false, state: "terminated", attached: new Set() };
    expect(refusal({ api: "StopInstances", instanceId: "i-2" }, gone)).toMatch(/IncorrectInstanceState/);
    expect(refusal({ api: "DetachVolume", instanceId: "i-2", volumeId: "vol-1" }, gone)).toMatch(/IncorrectState/);
  });
});
