/** `experiment up` runs preflight first: a failed row stops it before `pulumi up`; --skip-preflight does not ask AWS. */
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ROOT, trainctlAsync } from "../helpers/cli";
import { type AwsServerHandle, startAwsServer } from "../helpers/aws-server";
import { installFakePulumi, pathWithout } from "../helpers/fake-pulumi";
import { answerPreflight, healthyAccount, type PreflightAccount } from "../helpers/preflight-world";

let aws: AwsServerHandle;
let account: PreflightAccount;

beforeAll(async () => {
  aws = await startAwsServer((req) => answerPreflight(account, req));
});
afterAll(() => aws?.stop());
beforeEach(() => {
  account = healthyAccount();
  aws.requests.length = 0;
});

const STATE = readFileSync(path.join(ROOT, "tests", "fixtures", "dev.state.json"), "utf8");
const history = JSON.stringify([
  { version: 2, kind: "update", result: "succeeded", startTime: "2026-11-28T10:00:00Z", endTime: "2026-11-28T10:01:00Z", resourceChanges: {} },
]);

function up(args: string[]) {
  const dir = mkdtempSync(path.join(tmpdir(), "preflight-up-"));
  for (const f of ["Pulumi.yaml", "Pulumi.dev.yaml"]) copyFileSync(path.join(ROOT, f), path.join(dir, f));
  const fake = installFakePulumi({
    version: "v3.200.0",
    responses: [
      { prefix: ["stack", "output"], stdout: "{}" },
      { prefix: ["stack", "history"], stdout: history },
      { prefix: ["stack", "tag", "ls"], stdout: "{}" },
      { prefix: ["stack", "export"], stdout: STATE },
    ],
  });
  const env = {
    TRAINCTL_PROJECT_DIR: dir,
    PATH: pathWithout(fake.dir),
    AWS_ENDPOINT_URL: aws.endpoint,
    AWS_ACCESS_KEY_ID: "AKIDTEST",
    AWS_SECRET_ACCESS_KEY: "secret",
    AWS_PROFILE: undefined,
    AWS_MAX_ATTEMPTS: "1",
  };
  return trainctlAsync(["experiment", "up", "dev", ...args], { env }).then((result) => ({ ...result, ups: fake.calls().filter((c) => c[0] === "up") }));
}

describe("experiment up runs preflight first", () => {
  it("a failed check (quota 0) stops it before pulumi up, exit 1, naming --skip-preflight", async () => {
    account.quotas = {};
    const result = await up([]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/FAIL quota/);
    expect(result.stderr).toMatch(/^error: preflight: 1 check\(s\) failed for dev; fix them, or pass --skip-preflight$/m);
    expect(result.ups).toEqual([]);
  });

  it("all ok: pulumi up runs", async () => {
    const result = await up([]);
    expect(result.code, result.stderr).toBe(0);
    expect(aws.requests.map((r) => r.operation)).toContain("GetCallerIdentity");
    expect(result.ups).toHaveLength(1);
  });

  it("--skip-preflight asks AWS nothing", async () => {
    account.quotas = {};
    const result = await up(["--skip-preflight"]);
    expect(result.code, result.stderr).toBe(0);
    expect(aws.requests).toEqual([]);
    expect(result.ups).toHaveLength(1);
  });
});
