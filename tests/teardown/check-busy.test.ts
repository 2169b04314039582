import { spawn } from "node:child_process";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AwsServerHandle, startAwsServer } from "../helpers/aws-server";
import { COMPILED_CLI, ROOT } from "../helpers/cli";
import { pathWithout } from "../helpers/fake-pulumi";

const STATE = path.join(__dirname, "..", "fixtures", "dev.state.json");
const INSTANCE = "i-2b336d98ac0bc541d";
let busy = "true";
let aws: AwsServerHandle;

beforeAll(async () => {
  // EC2's query protocol with an XML reply, as the real SDK client expects it.
  aws = await startAwsServer((req) => {
    if (req.operation !== "DescribeInstances" || busy === "error") {
      return {
        status: 400,
        body: "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>denied</Message></Error></Errors><RequestID>r</RequestID></Response>",
      };
    }
    return {
      body: `<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><reservationSet><item><reservationId>r-1</reservationId><instancesSet><item><instanceId>${req.form!["InstanceId.1"]}</instanceId><instanceState><code>16</code><name>running</name></instanceState><tagSet><item><key>trainctl:runtime:busy</key><value>${busy}</value></item></tagSet></item></instancesSet></item></reservationSet></DescribeInstancesResponse>`,
    };
  });
});
afterAll(() => aws?.stop());

function teardown(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    ...process.env,
    PATH: pathWithout(),
    AWS_ACCESS_KEY_ID: "AKIDTEST",
    AWS_SECRET_ACCESS_KEY: "secret",
    AWS_ENDPOINT_URL_EC2: aws.endpoint,
    AWS_PROFILE: undefined,
    FORCE_COLOR: "0",
  };
  const child = spawn(process.execPath, [COMPILED_CLI, "teardown", ...args], { cwd: ROOT, env });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c) => (stdout += c));
  child.stderr.on("data", (c) => (stderr += c));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

describe("trainctl teardown --check-busy", () => {
  it("warns about an instance EC2 tags busy, though the state does not say so", async () => {
    busy = "true";
    const result = await teardown(["--state", STATE, "--check-busy", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).warnings).toEqual([
      `dev-training-node-0 (${INSTANCE}) is busy now: EC2 tags it trainctl:runtime:busy=true, a training process is running`,
    ]);
    expect(aws.requests.at(-1)!.form).toMatchObject({ Action: "DescribeInstances", "InstanceId.1": INSTANCE });
  });

  it("says nothing when the tag is false, and warns (without failing) when EC2 cannot be read", async () => {
    busy = "false";
    expect(JSON.parse((await teardown(["--state", STATE, "--check-busy", "--json"])).stdout).warnings).toEqual([]);
    busy = "error";
    const result = await teardown(["--state", STATE, "--check-busy", "--json"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).warnings).toEqual([expect.stringMatching(/^--check-busy: could not read live tags from EC2: .*denied/)]);
  });
});
