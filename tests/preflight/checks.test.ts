import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../core/config";
import { type Check, deployActions, exitCodeFor, isDenied, principalArn, quotaCheck, quotaFor, spotScoreCheck } from "../../scripts/preflight/checks";
import { knownInstanceTypes } from "../../core/catalog";

const BASE = { "trainctl:owner": "alice", "trainctl:costCenter": "ml" };

describe("quotaFor", () => {
  it.each([
    ["g5.xlarge", "on-demand", "L-DB2E81BA"],
    ["g6e.12xlarge", "spot", "L-3819A6DF"],
    ["p4d.24xlarge", "on-demand", "L-417A185B"],
    ["p5.48xlarge", "spot", "L-7212CCBC"],
    ["trn1.32xlarge", "on-demand", "L-2C3B7624"],
    ["inf2.xlarge", "spot", "L-B5D1601B"],
    ["m5.large", "on-demand", "L-1216C47A"],
  ] as const)("%s %s → %s", (type, market, code) => {
    expect(quotaFor(type, market)?.code).toBe(code);
  });

  it("maps every type of the price catalog, in both markets", () => {
    for (const type of knownInstanceTypes()) for (const market of ["spot", "on-demand"] as const) expect(quotaFor(type, market), type).toBeDefined();
  });
});

describe("quotaCheck", () => {
  const quota = { code: "L-DB2E81BA", name: "Running On-Demand G and VT instances" };
  it("passes exactly at the limit and fails one vCPU over it (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 192 }),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 0, max: 2000 }),
        (count, vcpus, inUse, limit) => {
          const check = quotaCheck({ region: "us-east-1", type: "g5.xlarge", count, vcpusPerNode: vcpus, quota, limit, inUse });
          expect(check.status).toBe(count * vcpus + inUse <= limit ? "ok" : "fail");
        },
      ),
    );
  });
});

describe("principalArn", () => {
  it("maps an assumed-role session to its role, keeps users, refuses root", () => {
    expect(principalArn("arn:aws:sts::111122223333:assumed-role/deployer/ci-session")).toBe("arn:aws:iam::111122223333:role/deployer");
    expect(principalArn("arn:aws-us-gov:sts::111122223333:assumed-role/r/s")).toBe("arn:aws-us-gov:iam::111122223333:role/r");
    expect(principalArn("arn:aws:iam::111122223333:user/alice")).toBe("arn:aws:iam::111122223333:user/alice");
    expect(principalArn("arn:aws:iam::111122223333:root")).toBeUndefined();
  });
});

describe("deployActions", () => {
  it("follows the config: snapshot, adopt, spot, cluster, budget", () => {
    const plain = deployActions(parseStackConfig({ ...BASE, "trainctl:instance": { market: "on-demand" } }));
    expect(plain).not.toContain("ec2:CreateSpotInstanceRequest");
    expect(plain).not.toContain("budgets:ModifyBudget");
    const rich = deployActions(
      parseStackConfig({
        ...BASE,
        "trainctl:instance": { market: "spot", count: 2 },
        "trainctl:dataVolume": { snapshotId: "snap-0123456789abcdef0", sizeGiB: 100 },
        "trainctl:budget": { monthlyUsd: 10, emails: ["a@example.com"] },
      }),
    );
    for (const action of ["ec2:CreateSpotInstanceRequest", "ec2:CreatePlacementGroup", "ec2:CreateVolume", "ec2:DescribeSnapshots", "budgets:ModifyBudget"])
      expect(rich).toContain(action);
    expect(rich).toEqual([...new Set(rich)].sort());
  });
});

describe("spotScoreCheck", () => {
  it("without a pinned zone, judges the best zone and suggests nothing", () => {
    const check = spotScoreCheck("g5.xlarge", 1, undefined, [
      { zone: "us-east-1b", score: 3 },
      { zone: "us-east-1a", score: 7 },
    ]);
    expect(check).toMatchObject({ status: "ok", detail: expect.stringContaining("us-east-1a: 7/10") });
  });
});

describe("exit code and denial", () => {
  const row = (status: Check["status"]): Check => ({ id: "x", status, detail: "", fix: "" });
  it("1 only when a row fails", () => {
    expect(exitCodeFor([row("ok"), row("warn")])).toBe(0);
    expect(exitCodeFor([row("ok"), row("fail")])).toBe(1);
    expect(exitCodeFor([])).toBe(0);
  });
  it("knows each protocol's spelling of denied", () => {
    for (const name of ["AccessDenied", "AccessDeniedException", "UnauthorizedOperation"]) expect(isDenied({ name })).toBe(true);
    expect(isDenied({ name: "InvalidSnapshot.NotFound" })).toBe(false);
  });
});

describe("trainctl:allowedAccounts", () => {
  it("accepts 12-digit ids and names the key for anything else", () => {
    expect(parseStackConfig({ ...BASE, "trainctl:allowedAccounts": ["111122223333"] }).allowedAccounts).toEqual(["111122223333"]);
    expect(() => parseStackConfig({ ...BASE, "trainctl:allowedAccounts": ["1234"] })).toThrow(
      /trainctl:allowedAccounts\[0\]: expected a 12-digit AWS account id/,
    );
    expect(() => parseStackConfig({ ...BASE, "trainctl:allowedAccounts": "111122223333" })).toThrow(/trainctl:allowedAccounts/);
  });
});
