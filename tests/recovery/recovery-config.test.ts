import { rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_INSTANCE_TYPES, instanceTypes, parseStackConfig } from "../../core/config";
import { ConfigError } from "../../core/errors";
import { ROOT, trainctl } from "../helpers/cli";

const base = {
  "aws:region": "us-east-1",
  "trainctl:owner": "alice",
  "trainctl:costCenter": "ml-research",
};
const withInstance = (instance: Record<string, unknown>) => ({ ...base, "trainctl:instance": instance });
const spotRecovery = { market: "spot", recovery: true };

function issuesOf(values: Record<string, unknown>): { path: string; message: string }[] {
  try {
    parseStackConfig(values);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
  throw new Error("config was accepted");
}

// [what, instance config, the key the one error names, a fragment of its message]
const REFUSED: [string, Record<string, unknown>, string, string][] = [
  ["recovery on on-demand", { recovery: true }, "trainctl:instance.recovery", "only allowed with trainctl:instance.market: spot"],
  [
    "recovery with autostop stop",
    { ...spotRecovery, autostop: { action: "stop" } },
    "trainctl:instance.autostop.action",
    "a group cannot stop a node (accepted: terminate | none)",
  ],
  [
    "recovery with persistent spot",
    { ...spotRecovery, spot: { persistent: true } },
    "trainctl:instance.recovery",
    "cannot be combined with trainctl:instance.spot.persistent",
  ],
  ["recovery not a boolean", { market: "spot", recovery: "yes" }, "trainctl:instance.recovery", "expected boolean"],
  [
    "types not starting with type",
    { ...spotRecovery, type: "g5.xlarge", types: ["g6.xlarge", "g5.xlarge"] },
    "trainctl:instance.types",
    'must start with trainctl:instance.type "g5.xlarge"',
  ],
  ["an unknown type", { ...spotRecovery, types: ["g5.xlarge", "g9.xlarge"] }, "trainctl:instance.types", 'unknown instance type "g9.xlarge"'],
  ["types of another GPU count", { ...spotRecovery, types: ["g5.xlarge", "g6.xlarge", "g5.12xlarge"] }, "trainctl:instance.types", "g5.12xlarge has 4"],
  [
    "several types without recovery",
    { market: "spot", types: ["g5.xlarge", "g6.xlarge"] },
    "trainctl:instance.types",
    "needs trainctl:instance.recovery: true",
  ],
  ["an empty type list", { ...spotRecovery, types: [] }, "trainctl:instance.types", "at least 1"],
  ["a type listed twice", { ...spotRecovery, types: ["g5.xlarge", "g6.xlarge", "g5.xlarge"] }, "trainctl:instance.types", '"g5.xlarge" more than once'],
  ["a control character in a listed type", { ...spotRecovery, types: ["g5.xlarge", "g6.xlarge\u0007"] }, "trainctl:instance.types[1]", "control characters"],
  ["a path as a listed type", { ...spotRecovery, types: ["g5.xlarge", "../g6.xlarge"] }, "trainctl:instance.types", 'unknown instance type "../g6.xlarge"'],
  [
    "too many types",
    { ...spotRecovery, types: Array.from({ length: MAX_INSTANCE_TYPES + 1 }, () => "g5.xlarge") },
    "trainctl:instance.types",
    `<= ${MAX_INSTANCE_TYPES}`,
  ],
  ["negative maxRestarts", { ...spotRecovery, maxRestarts: -1 }, "trainctl:instance.maxRestarts", ">= 0"],
  ["fractional maxRestarts", { ...spotRecovery, maxRestarts: 1.5 }, "trainctl:instance.maxRestarts", "int"],
  ["negative interruption rate", { ...spotRecovery, interruptionsPerDay: -0.5 }, "trainctl:instance.interruptionsPerDay", ">= 0"],
  ["negative restart minutes", { ...spotRecovery, restartMinutes: -1 }, "trainctl:instance.restartMinutes", ">= 0"],
];

describe("spot recovery config: each refused combination is one error naming its key", () => {
  for (const [what, instance, key, fragment] of REFUSED) {
    it(what, () => {
      const issues = issuesOf(withInstance(instance));
      expect(issues.map((i) => i.path)).toEqual([key]);
      expect(issues[0].message).toContain(fragment);
    });
  }
});

describe("spot recovery config: accepted", () => {
  it("defaults: off, 3 restarts, 1 interruption a day, 15 minutes each, one type", () => {
    const { instance } = parseStackConfig(withInstance({ type: "g5.xlarge" }));
    expect([instance.recovery, instance.maxRestarts, instance.interruptionsPerDay, instance.restartMinutes, instance.types]).toEqual([
      false,
      3,
      1,
      15,
      undefined,
    ]);
    expect(instanceTypes(instance)).toEqual(["g5.xlarge"]);
  });

  it("type defaults to the first of types; types keeps its order", () => {
    const { instance } = parseStackConfig(withInstance({ ...spotRecovery, types: ["g6.12xlarge", "g5.12xlarge"] }));
    expect(instance.type).toBe("g6.12xlarge");
    expect(instanceTypes(instance)).toEqual(["g6.12xlarge", "g5.12xlarge"]);
  });

  it("type and types agree when both are given; one type needs no recovery", () => {
    expect(parseStackConfig(withInstance({ ...spotRecovery, type: "g5.xlarge", types: ["g5.xlarge", "g6.xlarge"] })).instance.type).toBe("g5.xlarge");
    expect(parseStackConfig(withInstance({ market: "spot", types: ["g6.xlarge"] })).instance.type).toBe("g6.xlarge");
  });

  it("recovery with autostop none, maxRestarts 0 and no interruption overhead", () => {
    const { instance } = parseStackConfig(withInstance({ ...spotRecovery, autostop: { action: "none" }, maxRestarts: 0, interruptionsPerDay: 0 }));
    expect([instance.recovery, instance.maxRestarts, instance.interruptionsPerDay]).toEqual([true, 0, 0]);
  });
});

describe("the CLI refuses a bad recovery stack before any side effect", () => {
  it("exit 2, one line per key, naming each", () => {
    const file = path.join(ROOT, "Pulumi.test-bad-recovery.yaml");
    writeFileSync(
      file,
      "config:\n  trainctl:owner: alice\n  trainctl:costCenter: ml\n  trainctl:instance:\n    market: on-demand\n    recovery: true\n    types: [g5.xlarge, g5.12xlarge]\n",
    );
    try {
      const result = trainctl(["plan", "--stack", "test-bad-recovery"]);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr.trim().split("\n")).toEqual([
        'error: trainctl:instance.recovery: only allowed with trainctl:instance.market: spot (market is "on-demand")',
        "error: trainctl:instance.types: every type must have the GPU count of g5.xlarge (1): g5.12xlarge has 4",
      ]);
    } finally {
      rmSync(file);
    }
  });
});
