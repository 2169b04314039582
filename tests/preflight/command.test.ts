/** `trainctl preflight` as a user runs it: the real CLI, real SDK clients, a loopback account. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { expectUsageError, trainctlAsync } from "../helpers/cli";
import { type AwsServerHandle, startAwsServer } from "../helpers/aws-server";
import { answerPreflight, healthyAccount, type PreflightAccount, SNAPSHOT } from "../helpers/preflight-world";

let aws: AwsServerHandle;
let account: PreflightAccount;
let project: string;

const STACK = {
  "aws:region": "us-east-1",
  "trainctl:owner": "alice",
  "trainctl:costCenter": "ml-research",
  "trainctl:instance": { type: "g5.xlarge", market: "spot", maxPrice: 0.75 },
  "trainctl:dataVolume": { snapshotId: SNAPSHOT, sizeGiB: 500 },
  "trainctl:buckets": { datasets: { adopt: "team-data" } },
  "trainctl:dataset": { source: "s3://trainctl-example-datasets/imagenet/", sizeGiB: 150 },
};

beforeAll(async () => {
  aws = await startAwsServer((req) => answerPreflight(account, req));
  project = mkdtempSync(path.join(tmpdir(), "preflight-"));
  writeFileSync(path.join(project, "Pulumi.exp.yaml"), stringify({ config: STACK }));
  writeFileSync(path.join(project, "Pulumi.bad.yaml"), stringify({ config: { ...STACK, "trainctl:allowedAccounts": ["12345"] } }));
});
afterAll(() => aws?.stop());
beforeEach(() => {
  account = healthyAccount();
  account.ownBuckets["team-data"] = "us-east-1";
  aws.requests.length = 0;
});

const preflight = (args: string[]) =>
  trainctlAsync(["preflight", ...args], {
    env: {
      TRAINCTL_PROJECT_DIR: project,
      AWS_ENDPOINT_URL: aws.endpoint,
      AWS_ACCESS_KEY_ID: "AKIDTEST",
      AWS_SECRET_ACCESS_KEY: "secret",
      AWS_REGION: undefined,
      AWS_PROFILE: undefined,
      AWS_MAX_ATTEMPTS: "1",
    },
  });

describe("trainctl preflight", () => {
  it("--json: the DESIGN.md contract, every row ok, exit 0", async () => {
    const result = await preflight(["--stack", "exp", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(Object.keys(report).sort()).toEqual(["checks", "stack"]);
    expect(report.stack).toBe("exp");
    for (const check of report.checks) {
      expect(Object.keys(check).sort()).toEqual(["detail", "fix", "id", "status"]);
      expect(check.status, check.detail).toBe("ok");
    }
    expect(report.checks.map((c: { id: string }) => c.id)).toEqual(
      expect.arrayContaining(["identity", "quota", "offering", "snapshot", "bucket:datasets", "dataset", "ami", "permissions"]),
    );
  });

  it("a fresh account (quota 0): exit 1, the failed row and the increase link on stderr", async () => {
    account.quotas = {};
    const result = await preflight(["--stack", "exp"]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/FAIL quota +All G and VT Spot Instance Requests \(L-3819A6DF\): 0 vCPUs/);
    expect(result.stderr).toContain("https://us-east-1.console.aws.amazon.com/servicequotas/home/services/ec2/quotas/L-3819A6DF");
  });

  it("a denied simulate: warn and exit 0 (the PR workflow's role is read-only)", async () => {
    account.deny.push("SimulatePrincipalPolicy");
    const result = await preflight(["--stack", "exp", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const permissions = JSON.parse(result.stdout).checks.find((c: { id: string }) => c.id === "permissions");
    expect(permissions).toMatchObject({ status: "warn", detail: expect.stringMatching(/^not checked/) });
  });

  it("bad input: exit 2, one line naming the key or flag, and no AWS call", async () => {
    expectUsageError(await preflight(["--stack", "../exp"]), /^error: --stack: "\.\.\/exp" is not a stack name/);
    expectUsageError(await preflight(["--stack", "nope"]), /^error: --stack: .*does not exist \(stacks here: bad, exp\)/);
    expectUsageError(await preflight(["--stack", "exp", "--deploy-role", "deployer"]), /^error: --deploy-role: "deployer" is not an IAM role ARN/);
    expectUsageError(await preflight(["--stack", "bad"]), /^error: trainctl:allowedAccounts\[0\]: expected a 12-digit AWS account id/);
    expect(aws.requests).toEqual([]);
  });
});
