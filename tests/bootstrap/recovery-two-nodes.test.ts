// Spot recovery on the node (issue 21), in the loopback world of recovery-world.ts: two nodes restart together.
import { describe, expect, it } from "vitest";
import { recoveryWorld } from "./recovery-world";

describe("spot recovery: two nodes", () => {
  const { code, freshVolumes, boot, terminate, spec, dropSpec, cli } = recoveryWorld();

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
});
