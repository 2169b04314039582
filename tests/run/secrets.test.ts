import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { instanceAccessPolicy, ssmParametersArn } from "../../components/iam";
import { UsageError } from "../../core/errors";
import { isRunVariable } from "../../scripts/remote/run-unit";
import { MAX_PARAMETER_NAME, parseSecretRefs, runSecretsPath } from "../../scripts/remote/secrets";
import { MOCK_ACCOUNT, runOffline } from "../../scripts/state/offline-program";
import { ROOT } from "../helpers/cli";

const PREFIX = runSecretsPath("vision", "resnet-lr3e-4");

describe("--env-from-ssm KEY=NAME", () => {
  it("reads KEY=NAME pairs under the experiment's path", () => {
    expect(PREFIX).toBe("/trainctl/vision/resnet-lr3e-4/");
    expect(
      parseSecretRefs(["HF_TOKEN=/trainctl/vision/resnet-lr3e-4/hf-token", "DB=/trainctl/vision/resnet-lr3e-4/db/pass_1.v2"], PREFIX, isRunVariable),
    ).toEqual({
      HF_TOKEN: "/trainctl/vision/resnet-lr3e-4/hf-token",
      DB: "/trainctl/vision/resnet-lr3e-4/db/pass_1.v2",
    });
  });

  it.each([
    ["another experiment", "T=/trainctl/vision/other/t", "must be under /trainctl/vision/resnet-lr3e-4/"],
    ["a prefix that only starts alike", "T=/trainctl/vision/resnet-lr3e-4x/t", "must be under"],
    ["outside trainctl", "T=/prod/db", "must be under"],
    ["the path itself", "T=/trainctl/vision/resnet-lr3e-4/", "each level after"],
    ["an empty level", "T=/trainctl/vision/resnet-lr3e-4/a//b", "each level after"],
    ["a dots-only level", "T=/trainctl/vision/resnet-lr3e-4/../x", "each level after"],
    ["a space", "T=/trainctl/vision/resnet-lr3e-4/a b", "each level after"],
    ["sixteen levels", `T=${PREFIX}${Array.from({ length: 13 }, (_, i) => `l${i}`).join("/")}`, "SSM allows at most 15"],
    ["a name longer than SSM allows", `T=${PREFIX}${"x".repeat(MAX_PARAMETER_NAME)}`, `at most ${MAX_PARAMETER_NAME}`],
    ["no =", "T", "is not KEY=NAME"],
    ["a KEY starting with a digit", "1T=/trainctl/vision/resnet-lr3e-4/t", "is not KEY=NAME"],
    ["an empty KEY", "=/trainctl/vision/resnet-lr3e-4/t", "is not KEY=NAME"],
    ["a variable trainctl sets", "WORLD_SIZE=/trainctl/vision/resnet-lr3e-4/t", "set by trainctl run itself"],
    ["a TRAINCTL_ variable", "TRAINCTL_RUN_ID=/trainctl/vision/resnet-lr3e-4/t", "set by trainctl run itself"],
    ["a newline", "T=/trainctl/vision/resnet-lr3e-4/t\necho pwned", "control characters"],
    ["a tab", "T\t=/trainctl/vision/resnet-lr3e-4/t", "control characters"],
  ])("refuses %s (exit 2, naming the flag)", (_what, pair, fragment) => {
    let error: unknown;
    try {
      parseSecretRefs([pair], PREFIX, isRunVariable);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    expect((error as UsageError).message).toMatch(/^--env-from-ssm "/);
    expect((error as UsageError).message).toContain(fragment);
    expect((error as UsageError).message).not.toContain("\n");
  });

  it("refuses a KEY given twice, or also given to --env", () => {
    expect(() => parseSecretRefs(["T=/trainctl/vision/resnet-lr3e-4/a", "T=/trainctl/vision/resnet-lr3e-4/b"], PREFIX, isRunVariable)).toThrow(
      /T is given twice/,
    );
    expect(() => parseSecretRefs(["T=/trainctl/vision/resnet-lr3e-4/a"], PREFIX, isRunVariable, ["T"])).toThrow(/T is given twice/);
  });
});

describe("the instance role reads run secrets under its own path only", () => {
  it("one statement: ssm:GetParameter on the experiment's parameters, with partition, region and account", () => {
    const arn = ssmParametersArn({ partition: "aws-cn", region: "cn-north-1", account: "111122223333" }, PREFIX);
    expect(arn).toBe("arn:aws-cn:ssm:cn-north-1:111122223333:parameter/trainctl/vision/resnet-lr3e-4/*");
    const statements = instanceAccessPolicy({ partition: "aws-cn", experiment: "resnet-lr3e-4", readWriteBuckets: ["b"], runSecretsArn: arn }).Statement;
    expect(statements.filter((s) => [s.Action].flat().some((a) => a.startsWith("ssm:")))).toEqual([
      { Sid: "RunSecretsRead", Effect: "Allow", Action: "ssm:GetParameter", Resource: arn },
    ]);
    expect(
      instanceAccessPolicy({ partition: "aws", experiment: "e", readWriteBuckets: ["b"] }).Statement.some((s) =>
        [s.Action].flat().some((a) => a.startsWith("ssm:")),
      ),
    ).toBe(false);
  });

  it("the dev stack under Pulumi's mocks grants exactly that statement to its nodes", async () => {
    const config = parse(readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")).config;
    const run = await runOffline({ stack: "dev", config });
    const policies = run.captured.filter((c) => c.record.type === "aws:iam/rolePolicy:RolePolicy");
    expect(policies).toHaveLength(1);
    const statements: { Action: string | string[]; Resource: unknown }[] = JSON.parse(policies[0].record.inputs.policy as string).Statement;
    const ssm = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith("ssm:")));
    expect(ssm).toEqual([
      {
        Sid: "RunSecretsRead",
        Effect: "Allow",
        Action: "ssm:GetParameter",
        Resource: `arn:aws:ssm:us-east-1:${MOCK_ACCOUNT}:parameter/trainctl/trainctl/dev/*`,
      },
    ]);
  });
});
