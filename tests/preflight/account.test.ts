/**
 * The table of accounts: each one real SDK client set talking to a loopback server that answers
 * in the service's own protocol, and the row (and exit code) each account must give.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseStackConfig } from "../../core/config";
import { preflightClients, runPreflight } from "../../scripts/preflight/account";
import { type Check, exitCodeFor } from "../../scripts/preflight/checks";
import { type AwsServerHandle, loopbackClientConfig, startAwsServer } from "../helpers/aws-server";
import { answerPreflight, healthyAccount, type PreflightAccount, SNAPSHOT } from "../helpers/preflight-world";

let aws: AwsServerHandle;
let account: PreflightAccount;

beforeAll(async () => {
  aws = await startAwsServer((req) => answerPreflight(account, req));
});
afterAll(() => aws?.stop());

/** The dev stack's config (Pulumi.dev.yaml), with overrides per key. */
const DEV: Record<string, unknown> = {
  "aws:region": "us-east-1",
  "trainctl:owner": "alice",
  "trainctl:costCenter": "ml-research",
  "trainctl:instance": { type: "g5.xlarge", count: 1, market: "spot", maxPrice: 0.75, autostop: { idleMinutes: 30, action: "terminate" } },
  "trainctl:dataVolume": { snapshotId: SNAPSHOT, sizeGiB: 500, warm: "rate", initRateMiBs: 300 },
  "trainctl:dataset": { source: "s3://trainctl-example-datasets/imagenet/", strategy: "prewarmed-ebs", sizeGiB: 150 },
  "trainctl:budget": { monthlyUsd: 500, emails: ["alice@example.com"] },
};

async function preflight(change: (a: PreflightAccount) => void, config: Record<string, unknown> = {}): Promise<Check[]> {
  account = healthyAccount();
  change(account);
  const parsed = parseStackConfig({ ...DEV, ...config });
  const { endpoint, credentials } = loopbackClientConfig(aws.endpoint);
  return runPreflight(parsed, preflightClients(parsed.region, { endpoint, credentials, maxAttempts: 1 }));
}

const byId = (checks: Check[], id: string) => {
  const found = checks.find((c) => c.id === id);
  expect(found, `no ${id} row in ${JSON.stringify(checks.map((c) => c.id))}`).toBeDefined();
  return found as Check;
};

describe("preflight against a table of accounts", () => {
  it("a healthy account: every row ok, exit 0", async () => {
    const checks = await preflight(() => {});
    expect(checks.filter((c) => c.status !== "ok")).toEqual([]);
    expect(checks.map((c) => c.id).sort()).toEqual([
      "ami",
      "cost-tags",
      "dataset",
      "identity",
      "offering",
      "permissions",
      "quota",
      "region",
      "snapshot",
      "spot-price",
      "spot-score",
    ]);
    expect(byId(checks, "quota").detail).toContain("L-3819A6DF");
    expect(byId(checks, "ami").detail).toContain("ami-0123456789abcdef0");
    expect(exitCodeFor(checks)).toBe(0);
  });

  const table: {
    name: string;
    change?: (a: PreflightAccount) => void;
    config?: Record<string, unknown>;
    id: string;
    status: Check["status"];
    detail: RegExp;
    fix?: RegExp;
    exit: number;
  }[] = [
    {
      name: "a fresh account: G spot quota 0",
      change: (a) => (a.quotas = {}),
      id: "quota",
      status: "fail",
      detail: /All G and VT Spot Instance Requests \(L-3819A6DF\): 0 vCPUs; needs 4/,
      fix: /https:\/\/us-east-1\.console\.aws\.amazon\.com\/servicequotas\/home\/services\/ec2\/quotas\/L-3819A6DF/,
      exit: 1,
    },
    {
      name: "quota taken by running instances (on-demand P)",
      change: (a) => {
        a.quotas["L-417A185B"] = 192;
        a.offerings["p4d.24xlarge"] = ["us-east-1a"];
        a.running = [
          { type: "p4d.24xlarge", vcpus: 96 },
          { type: "p4d.24xlarge", vcpus: 96, spot: true },
          { type: "g5.xlarge", vcpus: 4 },
        ];
      },
      config: { "trainctl:instance": { type: "p4d.24xlarge", count: 2, market: "on-demand" } },
      id: "quota",
      status: "fail",
      detail: /L-417A185B\): 192 vCPUs; needs 192 \(2 × p4d\.24xlarge at 96\) \+ 96 in use = 288/,
      fix: /request at least 288/,
      exit: 1,
    },
    {
      name: "a zone without the type",
      config: { "trainctl:network": { availabilityZone: "us-east-1c" }, "trainctl:instance": { type: "g5.xlarge", market: "on-demand" } },
      id: "offering",
      status: "fail",
      detail: /not offered in us-east-1c \(offered in us-east-1a, us-east-1b\)/,
      exit: 1,
    },
    {
      name: "a snapshot in another region",
      change: (a) => (a.snapshots[SNAPSHOT].region = "eu-west-1"),
      id: "snapshot",
      status: "fail",
      detail: /does not exist in us-east-1/,
      fix: /copy-snapshot/,
      exit: 1,
    },
    {
      name: "a snapshot larger than the volume",
      change: (a) => (a.snapshots[SNAPSHOT].sizeGiB = 800),
      id: "snapshot",
      status: "fail",
      detail: /800 GiB, encrypted, larger than trainctl:dataVolume.sizeGiB 500/,
      fix: /at least 800/,
      exit: 1,
    },
    {
      name: "a snapshot still pending",
      change: (a) => (a.snapshots[SNAPSHOT].state = "pending"),
      id: "snapshot",
      status: "fail",
      detail: /pending/,
      exit: 1,
    },
    {
      name: "a taken (foreign) adopted bucket name",
      change: (a) => a.foreignBuckets.push("imagenet"),
      config: { "trainctl:buckets": { datasets: { adopt: "imagenet" } } },
      id: "bucket:datasets",
      status: "fail",
      detail: /imagenet exists but is not in this account/,
      exit: 1,
    },
    {
      name: "an adopted bucket that does not exist",
      config: { "trainctl:buckets": { datasets: { adopt: "no-such-bucket-here" } } },
      id: "bucket:datasets",
      status: "fail",
      detail: /does not exist/,
      exit: 1,
    },
    {
      name: "an adopted bucket of this account in another region",
      change: (a) => (a.ownBuckets["team-data"] = "eu-west-1"),
      config: { "trainctl:buckets": { datasets: { adopt: "team-data" } } },
      id: "bucket:datasets",
      status: "fail",
      detail: /team-data is in eu-west-1, the stack in us-east-1/,
      exit: 1,
    },
    {
      name: "a denied simulate: warn, not fail",
      change: (a) => a.deny.push("SimulatePrincipalPolicy"),
      id: "permissions",
      status: "warn",
      detail: /^not checked: iam:SimulatePrincipalPolicy was denied/,
      exit: 0,
    },
    {
      name: "a role missing permissions",
      change: (a) => (a.deniedActions = ["iam:PassRole", "ec2:CreateVolume"]),
      id: "permissions",
      status: "fail",
      detail: /arn:aws:iam::111122223333:role\/deployer is denied 2 of \d+ actions: ec2:CreateVolume, iam:PassRole/,
      exit: 1,
    },
    {
      name: "an account outside trainctl:allowedAccounts",
      config: { "trainctl:allowedAccounts": ["999988887777"] },
      id: "identity",
      status: "fail",
      detail: /111122223333 .* is not in trainctl:allowedAccounts \(999988887777\)/,
      exit: 1,
    },
    {
      name: "a region not enabled",
      change: (a) => (a.regions["us-east-1"] = "not-opted-in"),
      id: "region",
      status: "fail",
      detail: /not enabled/,
      fix: /enable-region/,
      exit: 1,
    },
    {
      name: "spot above maxPrice",
      change: (a) => (a.spotPrices = { "us-east-1a": 0.9, "us-east-1b": 0.95 }),
      id: "spot-price",
      status: "fail",
      detail: /\$0\.9000\/h is above maxPrice \$0\.7500\/h/,
      exit: 1,
    },
    {
      name: "a low spot score in the pinned zone, a better one elsewhere",
      change: (a) => (a.scores = { "use1-az6": 9, "use1-az1": 2 }),
      config: { "trainctl:network": { availabilityZone: "us-east-1b" } },
      id: "spot-score",
      status: "warn",
      detail: /us-east-1b: 2\/10; us-east-1a scores 9\/10/,
      fix: /pin us-east-1a/,
      exit: 0,
    },
    {
      name: "inactive cost-allocation tag",
      change: (a) => (a.costTags = { "trainctl:experiment": "Inactive" }),
      id: "cost-tags",
      status: "warn",
      detail: /Inactive: the budget would track \$0/,
      exit: 0,
    },
    {
      name: "an AMI parameter missing in the region",
      change: (a) => (a.parameters = {}),
      id: "ami",
      status: "fail",
      detail: /does not resolve/,
      exit: 1,
    },
    {
      name: "a dataset prefix far larger than dataset.sizeGiB",
      config: { "trainctl:dataset": { source: "s3://trainctl-example-datasets/imagenet/", sizeGiB: 20 } },
      id: "dataset",
      status: "warn",
      detail: /150 objects, 150\.00 GiB; trainctl:dataset.sizeGiB says 20/,
      exit: 0,
    },
    {
      name: "a read-only identity without quota access",
      change: (a) => a.deny.push("GetServiceQuota"),
      id: "quota",
      status: "warn",
      detail: /^not checked: servicequotas:GetServiceQuota/,
      exit: 0,
    },
    {
      name: "an adopted volume in another zone",
      change: (a) => (a.volumes["vol-0123456789abcdef0"] = { state: "available", zone: "us-east-1b" }),
      config: { "trainctl:dataVolume": { adopt: "vol-0123456789abcdef0", availabilityZone: "us-east-1a", warm: "none" } },
      id: "volume",
      status: "fail",
      detail: /available in us-east-1b, but trainctl:dataVolume.availabilityZone is us-east-1a/,
      exit: 1,
    },
  ];

  it.each(table)("$name → $id $status, exit $exit", async ({ change, config, id, status, detail, fix, exit }) => {
    const checks = await preflight(change ?? (() => {}), config);
    const row = byId(checks, id);
    expect(row.status, row.detail).toBe(status);
    expect(row.detail).toMatch(detail);
    if (fix) expect(row.fix).toMatch(fix);
    expect(exitCodeFor(checks)).toBe(exit);
    // Only the row under test differs from the healthy account.
    expect(checks.filter((c) => c.status !== "ok" && c.id !== id)).toEqual([]);
  });

  it.each([
    [
      "every type offered in the zone",
      { "g6.12xlarge": ["us-east-1a"] },
      "ok",
      /g5\.12xlarge is offered in us-east-1a; g6\.12xlarge is offered in us-east-1a$/,
    ],
    [
      "one type not offered there",
      { "g6.12xlarge": ["us-east-1b"] },
      "warn",
      /g6\.12xlarge is not offered in us-east-1a .*: the group can launch only g5\.12xlarge$/,
    ],
    [
      "no type offered there",
      { "g5.12xlarge": ["us-east-1b"], "g6.12xlarge": [] },
      "fail",
      /g5\.12xlarge is not offered in us-east-1a .*; g6\.12xlarge is not offered in any zone/,
    ],
  ])("a recovery group's types, each asked: %s", async (_, offered, status, detail) => {
    const checks = await preflight((a) => Object.assign(a.offerings, { "g5.12xlarge": ["us-east-1a", "us-east-1b"] }, offered), {
      "trainctl:network": { availabilityZone: "us-east-1a" },
      "trainctl:instance": { types: ["g5.12xlarge", "g6.12xlarge"], market: "spot", recovery: true, autostop: { idleMinutes: 30, action: "terminate" } },
    });
    expect(byId(checks, "offering")).toMatchObject({ status, detail: expect.stringMatching(detail) });
  });

  it.each([
    ["both fit", 192, "ok", /needs 48 .*; .*needs 96 /],
    ["only the smaller fits", 64, "warn", /needs 96 \(1 × g5\.24xlarge at 96\) .*: the group can launch only g5\.12xlarge$/],
    ["neither fits", 32, "fail", /needs 48 .*; .*needs 96 /],
  ])("a recovery group's quota, each type's vCPUs: %s", async (_, limit, status, detail) => {
    const checks = await preflight(
      (a) => {
        a.quotas["L-3819A6DF"] = limit;
        Object.assign(a.offerings, { "g5.12xlarge": ["us-east-1a"], "g5.24xlarge": ["us-east-1a"] });
      },
      {
        "trainctl:instance": { types: ["g5.12xlarge", "g5.24xlarge"], market: "spot", recovery: true, autostop: { idleMinutes: 30, action: "terminate" } },
      },
    );
    expect(byId(checks, "quota")).toMatchObject({ status, detail: expect.stringMatching(detail) });
  });

  it("no credentials for STS: one failed identity row, nothing else asked", async () => {
    account = healthyAccount();
    account.deny.push("GetCallerIdentity");
    aws.requests.length = 0;
    const parsed = parseStackConfig(DEV);
    const checks = await runPreflight(parsed, preflightClients(parsed.region, { ...loopbackClientConfig(aws.endpoint), maxAttempts: 1 }));
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ id: "identity", status: "fail" });
    expect(aws.requests.map((r) => r.operation)).toEqual(["GetCallerIdentity"]);
  });

  it("--deploy-role: simulates the deploy role, not the read-only caller", async () => {
    account = healthyAccount();
    aws.requests.length = 0;
    const parsed = parseStackConfig(DEV);
    const role = "arn:aws:iam::111122223333:role/ci/deployer";
    const checks = await runPreflight(parsed, preflightClients(parsed.region, { ...loopbackClientConfig(aws.endpoint), maxAttempts: 1 }), { deployRole: role });
    expect(aws.requests.find((r) => r.operation === "SimulatePrincipalPolicy")?.form?.PolicySourceArn).toBe(role);
    expect(byId(checks, "permissions").detail).toContain(role);
  });

  it("sends only read-only operations", async () => {
    aws.requests.length = 0;
    await preflight(() => {}, { "trainctl:buckets": { datasets: { adopt: "imagenet" } } });
    const operations = new Set(aws.requests.map((r) => (r.target || r.form ? r.operation : `${r.method} S3`)));
    for (const op of operations) expect(op).toMatch(/^(Get|Describe|List|Simulate)|^(GET|HEAD) S3$/);
  });
});
