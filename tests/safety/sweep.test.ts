import * as path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type AwsRequest, type AwsServerHandle, startAwsServer } from "../helpers/aws-server";
import { answer, ec2Arn, type World } from "../helpers/aws-world";
import { type CliResult, expectUsageError, trainctlAsync } from "../helpers/cli";
import { FIXTURE, scratch } from "./state-files";
import { installFakePulumi, pathWithout } from "../helpers/fake-pulumi";

/**
 * `trainctl sweep` on hostile input against the loopback AWS world (EC2, STS and the Tagging API in
 * their real protocols): refusals are exit 2 with one line and no AWS request at all; protected
 * resources are never terminated, whatever the tag's value says.
 */
const ACCOUNT = "123456789012";
const { dir, file } = scratch("trainctl-safety-sweep-");
const MUTATING = ["TerminateInstances", "CreateSnapshot", "DeleteVolume", "DeleteSnapshot", "DeleteBucket"];
const TAGS = { "trainctl:managed-by": "pulumi", "trainctl:project": "trainctl" };
const launched = new Date(Date.now() - 72 * 3_600_000).toISOString();

/** Old running instances no state knows: one plain leak, and one per spelling of the protection tag. */
const PROTECTED: Record<string, Record<string, string>> = {
  "i-0prottrue0000000a": { "trainctl:protected": "True" },
  "i-0protupper000000a": { "trainctl:protected": "TRUE" },
  "i-0protyes00000000a": { "trainctl:protected": "yes" },
  "i-0protfalse000000a": { "trainctl:protected": "false" },
  "i-0protempty000000a": { "trainctl:protected": "" },
  "i-0protkeycase0000a": { "Trainctl:Protected": "true" },
};
const LEAK = "i-0leak00000000000a";

function freshWorld(): World {
  const instances = Object.fromEntries(
    [LEAK, ...Object.keys(PROTECTED)].map((id) => [id, { state: "running", type: "g5.xlarge", launched, tags: { ...TAGS, ...(PROTECTED[id] ?? {}) } }]),
  );
  return { instances, volumes: {}, metrics: {}, spot: {}, deny: [], tagged: Object.entries(instances).map(([id, i]) => ({ arn: ec2Arn(id), tags: i.tags })) };
}

let world = freshWorld();
let aws: AwsServerHandle;

/** The shared world, plus the two calls --execute needs: STS GetCallerIdentity and EC2 TerminateInstances. */
function handler(req: AwsRequest) {
  if (req.operation === "GetCallerIdentity") {
    return {
      body: `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::${ACCOUNT}:user/ci</Arn><UserId>AIDATEST</UserId><Account>${ACCOUNT}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
    };
  }
  if (req.operation === "TerminateInstances") {
    const id = req.form?.["InstanceId.1"];
    return {
      body: `<TerminateInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId><instancesSet><item><instanceId>${id}</instanceId><currentState><code>32</code><name>shutting-down</name></currentState><previousState><code>16</code><name>running</name></previousState></item></instancesSet></TerminateInstancesResponse>`,
    };
  }
  return answer(world, req);
}

beforeAll(async () => {
  aws = await startAwsServer(handler);
});
afterAll(async () => aws?.stop());
beforeEach(() => {
  world = freshWorld();
  aws.requests.length = 0;
});

const pulumi = installFakePulumi();
function sweep(args: string[]): Promise<CliResult> {
  return trainctlAsync(["sweep", ...args], {
    env: {
      PATH: pathWithout(pulumi.dir),
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "AKIDTEST",
      AWS_SECRET_ACCESS_KEY: "secret",
      AWS_PROFILE: undefined,
      AWS_ENDPOINT_URL_EC2: aws.endpoint,
      AWS_ENDPOINT_URL_STS: aws.endpoint,
      AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API: aws.endpoint,
    },
  });
}
const mutations = () => aws.requests.filter((r) => MUTATING.includes(r.operation)).map((r) => `${r.operation} ${r.form?.["InstanceId.1"] ?? ""}`.trim());
const EXECUTE = ["--execute", "--account", ACCOUNT];

const cases: [string, string[], RegExp][] = [
  // Regression: an export with no resources passed the "no stacks" guard and terminated a live stack's node.
  [
    "an export that holds no resources",
    ["--state", file("empty.json", { version: 3, deployment: {} }), ...EXECUTE],
    /^error: --state: 1 of 1 state\(s\) hold no resources \(".*empty\.json"\)/,
  ],
  [
    "an empty export beside a full one",
    ["--state", FIXTURE, "--state", file("empty2.json", { version: 3, deployment: { resources: [] } }), ...EXECUTE],
    /^error: --state: 1 of 2 state\(s\) hold no resources/,
  ],
  ["an empty --state=", ["--state=", ...EXECUTE], /^error: --state: needs a file path/],
  ["an unreadable state", ["--state", path.join(dir, "gone.json"), ...EXECUTE], /^error: --state: cannot read .*gone\.json" \(ENOENT\)/],
  ["deployment: null", ["--state", file("null.json", { version: 3, deployment: null }), ...EXECUTE], /^error: --state: deployment must be an object/],
  [
    "a bad URN",
    ["--state", file("urn.json", { version: 3, deployment: { resources: [{ urn: "i-0leak00000000000a" }] } }), ...EXECUTE],
    /^error: --state: resource #0 "i-0leak00000000000a": urn must be a Pulumi URN/,
  ],
  [
    "a --region with a newline",
    ["--state", FIXTURE, "--region", "us-east-1\nx", ...EXECUTE],
    /^error: sweep: --region: control character U\+000A in "us-east-1\\nx"/,
  ],
  [
    "an --account with a control character",
    ["--state", FIXTURE, "--execute", "--account", `${ACCOUNT}\u0007`],
    /^error: sweep: --account: control character U\+0007/,
  ],
];

describe("trainctl sweep: hostile input is exit 2, one line, and no AWS request", () => {
  it.each(cases)("%s", async (_what, args, message) => {
    const result = await sweep(args);
    expectUsageError(result, message);
    expect(aws.requests.map((r) => r.operation)).toEqual([]);
    expect(pulumi.calls()).toEqual([]);
  });
});

describe("trainctl sweep --execute and the protection tag", () => {
  // Regression: trainctl:protected=True (any case other than "true") was terminated.
  it("terminates the plain leak and nothing tagged trainctl:protected, whatever the value or key case", async () => {
    const result = await sweep(["--state", FIXTURE, "--json", ...EXECUTE]);
    expect(result.code, result.stderr).toBe(0);
    expect(mutations()).toEqual([`TerminateInstances ${LEAK}`]);
    const skipped = Object.fromEntries(JSON.parse(result.stdout).skipped.map((s: { arn: string; reason: string }) => [s.arn.split("/").pop(), s.reason]));
    for (const [id, tags] of Object.entries(PROTECTED)) expect(skipped[id]).toBe(`tagged ${Object.entries(tags)[0].join("=")}`);
  });

  it("two concurrent dry runs agree and mutate nothing", async () => {
    const runs = await Promise.all([1, 2].map(() => sweep(["--state", FIXTURE, "--json"])));
    expect(runs.map((r) => r.code)).toEqual([0, 0]);
    const leaks = runs.map((r) => JSON.parse(r.stdout).leaks.map((l: { id: string }) => l.id));
    expect(leaks).toEqual([[LEAK], [LEAK]]);
    expect(mutations()).toEqual([]);
  });
});
