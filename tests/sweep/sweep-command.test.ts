import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type AwsReply, type AwsRequest, type AwsServerHandle, startAwsServer } from "../helpers/aws-server";
import { COMPILED_CLI, ROOT } from "../helpers/cli";
import { installFakePulumi, pathWithout } from "../helpers/fake-pulumi";
import { type S3rverHandle, startS3rver } from "../helpers/s3rver";

/**
 * `trainctl sweep` as a child process against loopback servers speaking the real protocols, so the
 * real SDK clients serialize, paginate and parse: the Tagging API (JSON 1.1), STS and EC2 (query,
 * XML replies) on one server, and S3 on s3rver.
 */
const ACCOUNT = "111122223333";
const REGION = "us-east-1";
const TAGS = { "trainctl:managed-by": "pulumi", "trainctl:project": "trainctl", "trainctl:experiment": "exp-1" };
const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();
const ec2Arn = (type: string, id: string) => `arn:aws:ec2:${REGION}:${ACCOUNT}:${type}/${id}`;

interface World {
  tagged: { arn: string; tags: Record<string, string> }[];
  instances: Record<string, { type: string; launched: string; state: string }>;
  volumes: Record<string, { size: number; type: string; created: string; state: string }>;
  snapshots: Record<string, { size: number; started: string }>;
  fail: Record<string, string>;
}

function freshWorld(): World {
  return {
    tagged: [
      { arn: ec2Arn("instance", "i-0leak00000000000a"), tags: { ...TAGS, Name: "exp-old-node-0" } },
      { arn: ec2Arn("instance", "i-0known0000000000a"), tags: TAGS },
      // Listed by the Tagging API but gone from EC2: the batch describe fails, each id is retried alone.
      { arn: ec2Arn("instance", "i-0gone00000000000a"), tags: TAGS },
      { arn: ec2Arn("volume", "vol-0root0000000000a"), tags: TAGS },
      { arn: ec2Arn("volume", "vol-0leak0000000000a"), tags: { ...TAGS, Name: "exp-old-data-0" } },
      { arn: ec2Arn("volume", "vol-0young000000000a"), tags: TAGS },
      { arn: ec2Arn("volume", "vol-0prot0000000000a"), tags: { ...TAGS, "trainctl:protected": "true" } },
      { arn: ec2Arn("volume", "vol-0inuse000000000a"), tags: TAGS },
      { arn: ec2Arn("snapshot", "snap-0leak000000000a"), tags: { ...TAGS, "trainctl:role": "warm-image" } },
      { arn: ec2Arn("snapshot", "snap-0final00000000a"), tags: { ...TAGS, "trainctl:role": "data-volume" } },
      { arn: "arn:aws:s3:::leaky-bucket", tags: { ...TAGS, "trainctl:created-at": hoursAgo(120) } },
      { arn: "arn:aws:s3:::full-bucket", tags: { ...TAGS, "trainctl:created-at": hoursAgo(120) } },
      { arn: `arn:aws:iam::${ACCOUNT}:role/exp-old-role`, tags: TAGS },
    ],
    instances: {
      "i-0leak00000000000a": { type: "g5.xlarge", launched: hoursAgo(72), state: "running" },
      "i-0known0000000000a": { type: "g5.xlarge", launched: hoursAgo(72), state: "running" },
    },
    volumes: {
      "vol-0root0000000000a": { size: 100, type: "gp3", created: hoursAgo(72), state: "in-use" },
      "vol-0leak0000000000a": { size: 100, type: "gp3", created: hoursAgo(48), state: "available" },
      "vol-0young000000000a": { size: 100, type: "gp3", created: hoursAgo(0.1), state: "available" },
      "vol-0prot0000000000a": { size: 500, type: "gp3", created: hoursAgo(400), state: "available" },
      "vol-0inuse000000000a": { size: 20, type: "gp3", created: hoursAgo(30), state: "in-use" },
    },
    snapshots: {
      "snap-0leak000000000a": { size: 50, started: hoursAgo(200) },
      "snap-0final00000000a": { size: 500, started: hoursAgo(200) },
    },
    fail: {},
  };
}

const EC2_NS = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"';
const xml = (body: string): AwsReply => ({ body: `<?xml version="1.0" encoding="UTF-8"?>\n${body}` });
const ec2Error = (code: string, text: string): AwsReply => ({
  status: 400,
  body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${text}</Message></Error></Errors><RequestID>r-1</RequestID></Response>`,
});
const ids = (form: Record<string, string>, prefix: string) =>
  Object.keys(form)
    .filter((k) => k.startsWith(`${prefix}.`))
    .map((k) => form[k]);
const tagSet = (tags: Record<string, string>) =>
  `<tagSet>${Object.entries(tags)
    .map(([k, v]) => `<item><key>${k}</key><value>${v}</value></item>`)
    .join("")}</tagSet>`;

let world = freshWorld();
const PAGE = 5;

function answer(req: AwsRequest): AwsReply {
  const form = req.form ?? {};
  const failure = world.fail[req.operation];
  if (failure) return ec2Error("UnauthorizedOperation", failure);
  switch (req.operation) {
    case "GetResources": {
      const input = JSON.parse(req.body) as { PaginationToken?: string };
      const start = Number(input.PaginationToken || 0);
      const page = world.tagged.slice(start, start + PAGE);
      const next = start + PAGE < world.tagged.length ? String(start + PAGE) : "";
      return {
        body: {
          PaginationToken: next,
          ResourceTagMappingList: page.map((t) => ({ ResourceARN: t.arn, Tags: Object.entries(t.tags).map(([Key, Value]) => ({ Key, Value })) })),
        },
      };
    }
    case "GetCallerIdentity":
      return xml(
        `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::${ACCOUNT}:user/ci</Arn><UserId>AIDATEST</UserId><Account>${ACCOUNT}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
      );
    case "DescribeInstances": {
      const wanted = ids(form, "InstanceId");
      const missing = wanted.find((id) => !world.instances[id]);
      if (missing) return ec2Error("InvalidInstanceID.NotFound", `The instance ID '${missing}' does not exist`);
      const items = wanted.map((id) => {
        const i = world.instances[id];
        return `<item><instanceId>${id}</instanceId><instanceType>${i.type}</instanceType><launchTime>${i.launched}</launchTime><instanceState><code>16</code><name>${i.state}</name></instanceState></item>`;
      });
      return xml(
        `<DescribeInstancesResponse ${EC2_NS}><requestId>r-1</requestId><reservationSet><item><reservationId>r-0abc</reservationId><instancesSet>${items.join("")}</instancesSet></item></reservationSet></DescribeInstancesResponse>`,
      );
    }
    case "DescribeVolumes": {
      const items = ids(form, "VolumeId").map((id) => {
        const v = world.volumes[id];
        return `<item><volumeId>${id}</volumeId><size>${v.size}</size><volumeType>${v.type}</volumeType><iops>3000</iops><throughput>125</throughput><createTime>${v.created}</createTime><status>${v.state}</status><availabilityZone>us-east-1a</availabilityZone></item>`;
      });
      return xml(`<DescribeVolumesResponse ${EC2_NS}><requestId>r-1</requestId><volumeSet>${items.join("")}</volumeSet></DescribeVolumesResponse>`);
    }
    case "DescribeSnapshots": {
      const items = ids(form, "SnapshotId").map((id) => {
        const s = world.snapshots[id];
        return `<item><snapshotId>${id}</snapshotId><volumeSize>${s.size}</volumeSize><startTime>${s.started}</startTime><status>completed</status></item>`;
      });
      return xml(`<DescribeSnapshotsResponse ${EC2_NS}><requestId>r-1</requestId><snapshotSet>${items.join("")}</snapshotSet></DescribeSnapshotsResponse>`);
    }
    case "TerminateInstances":
      return xml(
        `<TerminateInstancesResponse ${EC2_NS}><requestId>r-1</requestId><instancesSet><item><instanceId>${form["InstanceId.1"]}</instanceId><currentState><code>32</code><name>shutting-down</name></currentState><previousState><code>16</code><name>running</name></previousState></item></instancesSet></TerminateInstancesResponse>`,
      );
    case "CreateSnapshot":
      return xml(
        `<CreateSnapshotResponse ${EC2_NS}><requestId>r-1</requestId><snapshotId>snap-0sweep00000000a</snapshotId><volumeId>${form.VolumeId}</volumeId><status>pending</status><startTime>${new Date().toISOString()}</startTime><volumeSize>100</volumeSize>${tagSet({})}</CreateSnapshotResponse>`,
      );
    case "DeleteVolume":
    case "DeleteSnapshot":
      return xml(`<${req.operation}Response ${EC2_NS}><requestId>r-1</requestId><return>true</return></${req.operation}Response>`);
    default:
      return ec2Error("InvalidAction", `unexpected ${req.operation}`);
  }
}

let aws: AwsServerHandle;
let s3: S3rverHandle;
const dir = mkdtempSync(path.join(tmpdir(), "trainctl-sweep-"));
const STATE = path.join(dir, "exp-1.json");
const MUTATING = ["TerminateInstances", "CreateSnapshot", "DeleteVolume", "DeleteSnapshot"];

beforeAll(async () => {
  aws = await startAwsServer(answer);
  s3 = await startS3rver(["leaky-bucket", "full-bucket"]);
  await s3.client().send(new PutObjectCommand({ Bucket: "full-bucket", Key: "checkpoints/step-1.pt", Body: "weights" }));
  // A state that knows one instance and, inside its outputs, the instance's root volume.
  const resource = {
    urn: "urn:pulumi:exp-1::trainctl::trainctl:compute:TrainingInstance$aws:ec2/instance:Instance::exp-1-training-node-0",
    custom: true,
    id: "i-0known0000000000a",
    type: "aws:ec2/instance:Instance",
    inputs: { instanceType: "g5.xlarge" },
    outputs: { id: "i-0known0000000000a", rootBlockDevice: { volumeId: "vol-0root0000000000a" } },
  };
  writeFileSync(STATE, JSON.stringify({ version: 3, deployment: { resources: [resource] } }));
}, 60_000);

afterAll(async () => {
  await aws?.stop();
  await s3?.stop();
});

beforeEach(() => {
  world = freshWorld();
  aws.requests.length = 0;
});

/** Runs the CLI without blocking this process's event loop (the loopback server lives here). */
function sweep(args: string[], options: { states?: boolean; env?: Record<string, string> } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    ...process.env,
    ...options.env,
    ...s3.env(),
    AWS_ENDPOINT_URL_EC2: aws.endpoint,
    AWS_ENDPOINT_URL_STS: aws.endpoint,
    AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API: aws.endpoint,
    AWS_PROFILE: undefined,
    FORCE_COLOR: "0",
  };
  const child = spawn(process.execPath, [COMPILED_CLI, "sweep", ...(options.states === false ? [] : ["--state", STATE]), ...args], { cwd: ROOT, env });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c) => (stdout += c));
  child.stderr.on("data", (c) => (stderr += c));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

const mutations = () => aws.requests.filter((r) => MUTATING.includes(r.operation)).map((r) => r.operation);
const bucketExists = async (name: string) =>
  (await s3.client().send(new (await import("@aws-sdk/client-s3")).ListBucketsCommand({}))).Buckets?.some((b) => b.Name === name);

describe("trainctl sweep (dry run)", () => {
  it("pages through the Tagging API, finds exactly the unknown, old, unprotected leaks, and deletes nothing", async () => {
    const result = await sweep(["--json"]);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);

    const pages = aws.requests.filter((r) => r.operation === "GetResources").map((r) => JSON.parse(r.body));
    expect(pages.map((p) => p.PaginationToken ?? null)).toEqual([null, "5", "10"]);
    expect(pages[0].TagFilters).toEqual([
      { Key: "trainctl:managed-by", Values: ["pulumi"] },
      { Key: "trainctl:project", Values: ["trainctl"] },
    ]);

    const leaks = Object.fromEntries(report.leaks.map((l: { id: string; action: string | null }) => [l.id, l.action]));
    expect(leaks).toEqual({
      "i-0leak00000000000a": "terminate",
      "vol-0leak0000000000a": "snapshot-and-delete",
      "vol-0inuse000000000a": null,
      "snap-0leak000000000a": "delete",
      "snap-0final00000000a": null,
      "leaky-bucket": "delete-bucket",
      "full-bucket": null,
    });
    const reasons = Object.fromEntries(report.skipped.map((s: { arn: string; reason: string }) => [s.arn.split(/[/:]/).pop(), s.reason]));
    expect(reasons["i-0known0000000000a"]).toBe("known to a stack state");
    expect(reasons["vol-0root0000000000a"]).toBe("known to a stack state");
    expect(reasons["vol-0prot0000000000a"]).toBe("tagged trainctl:protected=true");
    expect(reasons["vol-0young000000000a"]).toMatch(/^younger than --min-age/);
    expect(reasons["exp-old-role"]).toMatch(/^age unknown/);
    expect(reasons["i-0gone00000000000a"]).toMatch(/^age unknown \(InvalidInstanceID\.NotFound: The instance ID 'i-0gone00000000000a' does not exist\)/);

    // Prices from the catalog: g5.xlarge on demand × 730 h; 100 GiB gp3 at $0.08; 50 GiB snapshot at $0.05.
    const monthly = Object.fromEntries(report.leaks.map((l: { id: string; monthly: number | null }) => [l.id, l.monthly]));
    expect(monthly["vol-0leak0000000000a"]).toBe(8);
    expect(monthly["snap-0leak000000000a"]).toBe(2.5);
    expect(monthly["i-0leak00000000000a"]).toBeGreaterThan(500);
    expect(report.leaks.find((l: { id: string }) => l.id === "i-0leak00000000000a").ageHours).toBeCloseTo(72, 0);

    expect(mutations()).toEqual([]);
    expect(aws.requests.some((r) => r.operation === "GetCallerIdentity")).toBe(false);
    expect(await bucketExists("leaky-bucket")).toBe(true);
    expect(result.stderr).toContain("Dry run: nothing was deleted");
  });

  it("--min-age 200d leaves nothing old enough", async () => {
    const report = JSON.parse((await sweep(["--json", "--min-age", "200d"])).stdout);
    expect(report.leaks).toEqual([]);
  });

  it("rejects a bad --min-age with one line and exit 2, before any AWS call", async () => {
    const result = await sweep(["--min-age", "soon"]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('error: --min-age: "soon" is not a duration (accepted: a number with s, m, h, d or w, e.g. 1h, 30m, 2d)');
    expect(aws.requests).toEqual([]);
  });
});

describe("trainctl sweep --execute", () => {
  it("refuses without --account, and on an account mismatch, deleting nothing", async () => {
    const missing = await sweep(["--execute"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: --execute needs --account ID/m);
    const other = await sweep(["--execute", "--account", "999988887777"]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain(`error: --account: 999988887777 is not the caller's account ${ACCOUNT}; nothing was deleted`);
    expect(aws.requests.map((r) => r.operation)).toEqual(["GetCallerIdentity"]);
    expect(await bucketExists("leaky-bucket")).toBe(true);
  });

  it("refuses a blocklisted account even when it matches, deleting nothing", async () => {
    const result = await sweep(["--execute", "--account", ACCOUNT, "--blocklist", `123456789012,${ACCOUNT}`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`error: --blocklist: account ${ACCOUNT} is blocklisted; nothing was deleted`);
    expect(mutations()).toEqual([]);
  });

  it("also refuses an account blocklisted through TRAINCTL_SWEEP_BLOCKLIST", async () => {
    const result = await sweep(["--execute", "--account", ACCOUNT], { env: { TRAINCTL_SWEEP_BLOCKLIST: ACCOUNT } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`account ${ACCOUNT} is blocklisted`);
    expect(mutations()).toEqual([]);
  });

  it("on partial failure does the rest, reports each result and exits 1", async () => {
    world.fail.DeleteSnapshot = "You are not authorized to perform this operation.";
    const result = await sweep(["--execute", "--account", ACCOUNT, "--json"]);
    expect(result.code, result.stderr).toBe(1);
    const { results } = JSON.parse(result.stdout);
    expect(results.map((r: { arn: string; action: string; status: string }) => [r.arn.split(/[/:]/).pop(), r.action, r.status])).toEqual([
      ["i-0leak00000000000a", "terminate", "done"],
      ["vol-0leak0000000000a", "snapshot-and-delete", "done"],
      ["snap-0leak000000000a", "delete", "failed"],
      ["leaky-bucket", "delete-bucket", "done"],
    ]);
    expect(results[1].snapshotId).toBe("snap-0sweep00000000a");
    expect(results[2].error).toMatch(/UnauthorizedOperation|not authorized/);
    expect(result.stderr).toContain("Sweep: 3 done, 1 failed.");

    // Only the safe kinds, and a volume only after its snapshot; the snapshot keeps the volume's tags.
    expect(mutations()).toEqual(["TerminateInstances", "CreateSnapshot", "DeleteVolume", "DeleteSnapshot"]);
    const create = aws.requests.find((r) => r.operation === "CreateSnapshot")!.form!;
    expect(create.VolumeId).toBe("vol-0leak0000000000a");
    const tags = Object.fromEntries(
      Object.keys(create)
        .filter((k) => /^TagSpecification\.1\.Tag\.\d+\.Key$/.test(k))
        .map((k) => [create[k], create[k.replace(/Key$/, "Value")]]),
    );
    expect(tags).toMatchObject({ "trainctl:role": "sweep-snapshot", "trainctl:project": "trainctl", Name: "exp-old-data-0-sweep" });
    expect(await bucketExists("leaky-bucket")).toBe(false);
    expect(await bucketExists("full-bucket")).toBe(true);
  });

  it("--no-snapshot deletes an available volume without a snapshot", async () => {
    world.tagged = world.tagged.filter((t) => t.arn.includes("vol-0leak"));
    const result = await sweep(["--execute", "--account", ACCOUNT, "--no-snapshot"]);
    expect(result.code, result.stderr).toBe(0);
    expect(mutations()).toEqual(["DeleteVolume"]);
    expect(result.stderr).toContain("Sweep: 1 done, 0 failed.");
  });
});

describe("trainctl sweep without --state", () => {
  it("takes the union of every stack's state through the Pulumi CLI", async () => {
    // A second stack that knows the instance the first one does not.
    const other = {
      version: 3,
      deployment: {
        resources: [
          { urn: "urn:pulumi:exp-2::trainctl::aws:ec2/instance:Instance::n", custom: true, id: "i-0leak00000000000a", type: "aws:ec2/instance:Instance" },
        ],
      },
    };
    writeFileSync(path.join(dir, "exp-2.json"), JSON.stringify(other));
    const fake = installFakePulumi({
      responses: (argv, { env }) => {
        const fs = require("node:fs");
        if (argv.join(" ") === "stack ls --json")
          return {
            stdout: JSON.stringify([
              { name: "exp-1", current: true },
              { name: "exp-2", current: false },
            ]),
          };
        if (argv[0] === "stack" && argv[1] === "export") return { stdout: fs.readFileSync(`${env.STATES_DIR}/${argv[3]}.json`, "utf8") };
        return { stderr: "unexpected", code: 9 };
      },
    });
    const result = await sweep(["--json"], { states: false, env: { PATH: pathWithout(fake.dir), STATES_DIR: dir } });
    expect(result.code, result.stderr).toBe(0);
    expect(fake.calls()).toEqual([
      ["stack", "ls", "--json"],
      ["stack", "export", "--stack", "exp-1"],
      ["stack", "export", "--stack", "exp-2"],
    ]);
    const report = JSON.parse(result.stdout);
    expect(report.states).toEqual(["exp-1", "exp-2"]);
    expect(report.leaks.map((l: { id: string }) => l.id)).not.toContain("i-0leak00000000000a");
  });

  it("refuses --execute when the CLI lists no stacks (a wrong backend would make everything look leaked)", async () => {
    const fake = installFakePulumi({ responses: [{ prefix: ["stack", "ls"], stdout: "[]" }] });
    const result = await sweep(["--execute", "--account", ACCOUNT], { states: false, env: { PATH: pathWithout(fake.dir) } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: --execute: the Pulumi CLI lists no stacks here/m);
    expect(aws.requests).toEqual([]);
  });

  it("refuses to guess without states or the Pulumi CLI", async () => {
    const result = await sweep([], { states: false, env: { PATH: pathWithout() } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: sweep compares against stack states: pass --state FILE .*get\.pulumi\.com/m);
    expect(aws.requests).toEqual([]);
  });
});
