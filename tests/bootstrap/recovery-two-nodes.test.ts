// Spot recovery on the node (issue 21), in the loopback world of recovery-world.ts: two nodes restart together; the restart limit.
import { describe, expect, it } from "vitest";
import { group, recoveryWorld } from "./recovery-world";

describe("spot recovery: two nodes, and the restart limit", () => {
  const { cloud, code, freshVolumes, boot, terminate, spec, putSpec, dropSpec, cli } = recoveryWorld();

  it("node 1 is interrupted and replaced: the new node resumes, node 0 restarts on the same generation, both with TRAINCTL_RESUMED=1 and TRAINCTL_RESTARTS=1", async () => {
    freshVolumes(2);
    await dropSpec();
    const [zero, one] = await Promise.all([boot(0, 2, 1), boot(1, 2, 1)]);
    expect(zero.setup.status, zero.log()).toBe(0);
    expect(one.setup.status, one.log()).toBe(0);
    const run = await cli(["run", "drill2", "--code", code, "--", "bash", "train.sh"]);
    expect(run.code, run.stderr).toBe(0);
    await expect.poll(one.runLog, { timeout: 60_000 }).toContain(`env: RESUMED=0 RESTARTS=0 RANK=1 WORLD=2 MASTER=${zero.node.ip}:29500`);
    await expect.poll(zero.runLog, { timeout: 60_000 }).toContain(`RESUMED=0 RESTARTS=0 RANK=0 WORLD=2 MASTER=${zero.node.ip}:29500`);

    // Node 1 is interrupted and replaced: node 0 restarts its run on the new generation too.
    one.node.notice = true;
    await expect.poll(async () => (await spec()).interruptions.length, { timeout: 60_000 }).toBe(1);
    terminate(one.node);
    await new Promise((r) => setTimeout(r, 1100));
    const oneAgain = await boot(1, 2, 1);
    expect(oneAgain.setup.status, oneAgain.log()).toBe(0);
    await expect.poll(oneAgain.runLog, { timeout: 60_000 }).toContain(`env: RESUMED=1 RESTARTS=1 RANK=1 WORLD=2 MASTER=${zero.node.ip}:29500`);
    await expect.poll(zero.runLog, { timeout: 60_000 }).toContain(`RESUMED=1 RESTARTS=1 RANK=0 WORLD=2 MASTER=${zero.node.ip}:29500`);
    expect(zero.log()).toContain("generation 1 of run");

    expect(await spec()).toMatchObject({ generation: 1, restarts: 1, status: "running", nodeCount: 2 });
    for (const n of [zero.node, oneAgain.node]) terminate(n);
  }, 180_000);

  it("a node booting into a run past maxRestarts marks it failed and scales every group of the experiment to 0", async () => {
    freshVolumes(1);
    cloud.desired.clear();
    const earlier = new Date(Date.now() - 600_000).toISOString().replace(/\.\d+Z$/, "Z");
    await putSpec({ ...(await spec()), generation: 1, restarts: 1, status: "running", startedAt: earlier, interruptions: [{ at: earlier, node: 0, instanceId: "i-0" }] });
    // Node 0 of a two-node experiment whose limit is one restart.
    const node = await boot(0, 2, 1);
    expect(node.setup.status, node.log()).toBe(0);
    await expect.poll(async () => (await spec()).status, { timeout: 60_000 }).toBe("failed");
    await expect.poll(() => Object.fromEntries(cloud.desired), { timeout: 30_000 }).toEqual({ [group(0)]: 0, [group(1)]: 0 });
    expect(node.log()).toContain("reached its restart limit (1)");
    expect((await spec()).restarts).toBe(1);
    expect(node.runLog()).not.toContain("RESTARTS=2");
    terminate(node.node);
  }, 120_000);
});
