import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runOffline } from "../../scripts/state/offline-program";
import { type AwsServerHandle, startAwsServer } from "../helpers/aws-server";
import { trainctlAsync } from "../helpers/cli";
import { pathWithout } from "../helpers/fake-pulumi";
import { fixtureConfig } from "../fixtures/stacks";
import { stateExport } from "./state-export";

const BUSY_NODE = "i-0123456789abcdef1";
let aws: AwsServerHandle;
let stateFile: string;

beforeAll(async () => {
  const run = await runOffline({ stack: "recovery", config: fixtureConfig("recovery") });
  stateFile = path.join(mkdtempSync(path.join(tmpdir(), "trainctl-recovery-")), "recovery.state.json");
  writeFileSync(stateFile, JSON.stringify(stateExport(run.model.resources)));
  // EC2 answers the group filter with node 1's current instance, tagged busy.
  aws = await startAwsServer(() => ({
    body: `<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><reservationSet><item><reservationId>r-1</reservationId><instancesSet><item><instanceId>${BUSY_NODE}</instanceId><instanceState><code>16</code><name>running</name></instanceState><tagSet><item><key>aws:autoscaling:groupName</key><value>trainctl-recovery-node-1</value></item><item><key>trainctl:runtime:busy</key><value>true</value></item></tagSet></item></instancesSet></item></reservationSet></DescribeInstancesResponse>`,
  }));
});
afterAll(() => aws?.stop());

function teardown(args: string[]): ReturnType<typeof trainctlAsync> {
  return trainctlAsync(["teardown", ...args], {
    env: { PATH: pathWithout(), AWS_ACCESS_KEY_ID: "AKIDTEST", AWS_SECRET_ACCESS_KEY: "secret", AWS_ENDPOINT_URL_EC2: aws.endpoint, AWS_PROFILE: undefined },
  });
}

describe("trainctl teardown --check-busy on a recovery stack", () => {
  it("finds the groups' nodes by AWS's group tag and warns about the busy one", async () => {
    const result = await teardown(["--state", stateFile, "--check-busy", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const { warnings } = JSON.parse(result.stdout) as { warnings: string[] };
    expect(warnings).toContain(
      `recovery-training-node-1-group (trainctl-recovery-node-1) runs ${BUSY_NODE}, busy now: EC2 tags it trainctl:runtime:busy=true, a training process is running`,
    );
    expect(warnings.filter((w) => w.includes("busy now"))).toHaveLength(1);
    expect(aws.requests.at(-1)!.form).toMatchObject({
      Action: "DescribeInstances",
      "Filter.1.Name": "tag:aws:autoscaling:groupName",
      "Filter.1.Value.1": "trainctl-recovery-node-0",
      "Filter.1.Value.2": "trainctl-recovery-node-1",
    });
  });
});
