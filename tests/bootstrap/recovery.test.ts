// Spot recovery on the node (issue 21), in the loopback world of recovery-world.ts: one node's interruption drill, status and logs of the recovered run, and the restart limit.
import { existsSync, rmSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { BUCKET, group, recoveryWorld } from "./recovery-world";

describe("spot recovery: one node", () => {
  const { cloud, code, freshVolumes, mountPoint, boot, terminate, spec, putSpec, readObject, cli } = recoveryWorld();

  it("one node: notice → checkpoint → terminated → a new node attaches the busy volume and resumes with TRAINCTL_RESUMED=1, TRAINCTL_RESTARTS=1", async () => {
    freshVolumes(1);
    const first = await boot(0, 1, 3);
    expect(first.setup.status, first.log()).toBe(0);
    expect(first.log()).toMatch(/attached vol-00000000000000000 to .* as \/dev\/sdf[\s\S]*mounted [\s\S]*enabled trainctl-run-watcher/);

    const run = await cli(["run", "drill1", "--code", code, "--env", "LR=3e-4", "--json", "--", "bash", "train.sh"]);
    expect(run.code, run.stderr).toBe(0);
    const stored = await spec();
    expect(stored).toMatchObject({
      version: 1,
      runId: JSON.parse(run.stdout).runId,
      command: ["bash", "train.sh"],
      env: { LR: "3e-4" },
      secrets: {},
      port: 29500,
      nodeCount: 1,
      generation: 0,
      restarts: 0,
      status: "running",
      interruptions: [],
    });
    expect(stored.codeUrl).toBe(`s3://${BUCKET}/runs/${stored.runId}/code/`);
    await expect.poll(first.runLog, { timeout: 60_000 }).toContain("env: RESUMED=0 RESTARTS=0 RANK=0 WORLD=1 MASTER=");
    await expect.poll(() => existsSync(path.join(mountPoint(0), "checkpoints", "rank0-after-0.pt")), { timeout: 30_000 }).toBe(true);

    first.node.notice = true;
    await expect.poll(async () => (await spec()).interruptions.length, { timeout: 60_000 }).toBe(1);
    await expect.poll(first.log, { timeout: 30_000 }).toMatch(/interruption notice: sent SIGTERM[\s\S]*synced [\s\S]*recorded the interruption/);
    expect((await spec()).interruptions[0]).toMatchObject({ node: 0, instanceId: first.node.instanceId });
    // The checkpoint reached S3; the next node must get it back from there.
    expect(await readObject("checkpoints/rank0-after-0.pt")).toBe("step\n");
    rmSync(path.join(mountPoint(0), "checkpoints", "rank0-after-0.pt"));

    // The old node is gone, but EC2 still reports the volume in use for two more attempts.
    cloud.busyAnswers = 2;
    terminate(first.node);
    await new Promise((r) => setTimeout(r, 1100)); // a later boot second than the generation's start
    const second = await boot(0, 1, 3);
    expect(second.setup.status, second.log()).toBe(0);
    expect(second.log()).toMatch(/is busy \(the previous node is releasing it\); retrying[\s\S]*attached vol-00000000000000000/);
    await expect
      .poll(second.runLog, { timeout: 60_000 })
      .toMatch(
        /generation 1 \(restarts 1\) on node 0 ===\nenv: RESUMED=1 RESTARTS=1 RANK=0 WORLD=1 MASTER=[\d.]+:29500 LR=3e-4\ncheckpoints: rank0-after-0\.pt/,
      );
    const after = await spec();
    expect(after).toMatchObject({ generation: 1, restarts: 1, status: "running" });
    expect(after.restartLog).toEqual([expect.objectContaining({ generation: 1, node: 0, instanceId: second.node.instanceId })]);

    // status finds the group's new node by its tags and reports the restart and the time it cost.
    const status = await cli(["status", "drill1", "--json"]);
    expect(status.code, status.stderr).toBe(0);
    const [experiment] = JSON.parse(status.stdout).experiments;
    expect(experiment.nodes.map((n: { index: number; instanceId: string }) => [n.index, n.instanceId])).toEqual([[0, second.node.instanceId]]);
    const lost = (Date.parse(after.restartLog[0].at) - Date.parse(after.interruptions[0].at)) / 1000;
    expect(lost).toBeGreaterThan(0);
    expect(experiment.recovery).toEqual({
      runId: after.runId,
      status: "running",
      generation: 1,
      restarts: 1,
      interruptions: after.interruptions,
      lostSeconds: lost,
    });

    // The run log lives on the data volume: logs reads both generations from the group's new node.
    const logs = await cli(["logs", "drill1"]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/generation 0 \(restarts 0\) on node 0 ===\nenv: RESUMED=0[\s\S]*generation 1 \(restarts 1\) on node 0 ===\nenv: RESUMED=1/);

    // A stored run that is running is not replaced by accident.
    const again = await cli(["run", "drill1", "--code", code, "--", "true"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(
      `error: run ${after.runId} is running on drill1 (generation 1); nothing was stored (add --replace to stop it and start this one)`,
    );
    expect((await spec()).runId).toBe(after.runId);
    terminate(second.node);
  }, 180_000);

  it("a node booting into a run past maxRestarts marks it failed and scales every group of the experiment to 0", async () => {
    freshVolumes(1);
    cloud.desired.clear();
    const earlier = new Date(Date.now() - 600_000).toISOString().replace(/\.\d+Z$/, "Z");
    await putSpec({
      ...(await spec()),
      generation: 1,
      restarts: 1,
      status: "running",
      startedAt: earlier,
      interruptions: [{ at: earlier, node: 0, instanceId: "i-0" }],
    });
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
