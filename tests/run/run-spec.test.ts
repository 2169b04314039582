import { describe, expect, it } from "vitest";
import { codePrefix } from "../../scripts/commands/run";
import { recoveryLine } from "../../scripts/commands/status";
import { lostSeconds, newRunSpec, parseRunSpec, runRecovery } from "../../scripts/remote/run-spec";

const run = {
  runId: "20261202-120000-abcd",
  command: ["python3", "train.py"],
  codeUrl: "s3://ckpt/runs/20261202-120000-abcd/code/",
  env: { LR: "3e-4" },
  secrets: { HF_TOKEN: "/trainctl/p/e/hf" },
  port: 29500,
  nodeCount: 2,
};

describe("the stored run spec", () => {
  it("starts at generation 0, running, with no interruptions, stamped to the second", () => {
    const spec = newRunSpec(run, new Date("2026-12-02T12:00:00.123Z"));
    expect(spec).toEqual({
      version: 1,
      ...run,
      generation: 0,
      restarts: 0,
      status: "running",
      interruptions: [],
      restartLog: [],
      startedAt: "2026-12-02T12:00:00Z",
      updatedAt: "2026-12-02T12:00:00Z",
    });
    expect(parseRunSpec(JSON.stringify(spec))).toEqual(spec);
  });

  it("reads only version 1 with a run id and a command", () => {
    const spec = newRunSpec(run);
    expect(parseRunSpec(JSON.stringify({ ...spec, version: 2 }))).toBeUndefined();
    expect(parseRunSpec(JSON.stringify({ ...spec, command: "python3 train.py" }))).toBeUndefined();
    expect(parseRunSpec("{not json")).toBeUndefined();
  });

  it("keeps a recovery run's code outside staging/, which expires after a day", () => {
    expect(codePrefix("r1", false)).toBe("staging/runs/r1/code/");
    expect(codePrefix("r1", true)).toBe("runs/r1/code/");
  });
});

describe("lost time: from each restart's interruption to the restart", () => {
  const at = (minute: number) => `2026-12-02T12:${String(minute).padStart(2, "0")}:00Z`;
  const interruption = (minute: number, node = 0) => ({ at: at(minute), node, instanceId: `i-${minute}` });
  const restart = (minute: number, generation: number) => ({ at: at(minute), generation, node: 0, instanceId: `i-r${minute}` });

  it("two restarts 4 and 7 minutes after their interruptions lose 11 minutes", () => {
    expect(lostSeconds({ interruptions: [interruption(10), interruption(30)], restartLog: [restart(14, 1), restart(37, 2)] })).toBe(660);
  });

  it("counts from the latest interruption before a restart, once: two nodes lost together count one gap", () => {
    expect(lostSeconds({ interruptions: [interruption(10, 0), interruption(11, 1)], restartLog: [restart(15, 1)] })).toBe(240);
  });

  it("an interruption not yet followed by a restart, or a restart with no interruption, loses nothing yet", () => {
    expect(lostSeconds({ interruptions: [interruption(10)], restartLog: [] })).toBe(0);
    expect(lostSeconds({ interruptions: [], restartLog: [restart(15, 1)] })).toBe(0);
  });

  it("status prints one line per run with restarts, interruptions and lost time", () => {
    const spec = { ...newRunSpec(run), generation: 1, restarts: 1, interruptions: [interruption(10, 1)], restartLog: [restart(14, 1)] };
    expect(recoveryLine(runRecovery(spec))).toBe(
      `run ${run.runId}: running, generation 1, 1 restart(s), 1 interruption(s) (last ${at(10)}, node 1), 4m00s lost`,
    );
  });
});
