import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsageError } from "../../core/errors";
import { instanceCopyShell, quote } from "../../scripts/remote/shell";
import { runShellCommand } from "../../scripts/remote/ssm";
import { planLegs, stagingLocation } from "../../scripts/transfer/instance";
import { parseLocation } from "../../scripts/transfer/location";
import { loopbackClientConfig } from "../helpers/aws-server";
import { expectUsageError, trainctlAsync } from "../helpers/cli";
import { installFakePulumi } from "../helpers/fake-pulumi";
import { type FakeSsm, runLocally, startFakeSsm } from "../helpers/fake-ssm";
import { type S3rverHandle, startS3rver } from "../helpers/s3rver";

const AWS = "/usr/bin/aws";
const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, prefix: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(dir, e.name), rel);
      else out[rel] = sha(path.join(dir, e.name));
    }
  };
  walk(root, "");
  return out;
}

function sampleTree(root: string): void {
  mkdirSync(path.join(root, "a b", "c"), { recursive: true });
  writeFileSync(path.join(root, "top.txt"), "top");
  writeFileSync(path.join(root, "a b", "it's.bin"), Buffer.alloc(70_000, 7));
  writeFileSync(path.join(root, "a b", "c", "ünï.txt"), "deep");
}

describe("the shell sent to an instance", () => {
  it("quotes every word, so paths with spaces and quotes stay one argument", () => {
    expect(quote("it's here")).toBe(`'it'\\''s here'`);
    const script = instanceCopyShell("to-instance", "s3://b/staging/x", "/mnt/data/my set", { region: "eu-west-1" });
    expect(script).toContain(`mkdir -p '/mnt/data/my set'`);
    expect(script).toContain(`s5cmd sync 's3://b/staging/x/*' '/mnt/data/my set/'`);
    expect(script).toContain(`aws s3 sync --only-show-errors --region 'eu-west-1' 's3://b/staging/x/' '/mnt/data/my set'`);
    expect(script).not.toContain("--endpoint-url");
    for (const direction of ["to-instance", "from-instance"] as const) {
      const lint = spawnSync("shellcheck", ["-s", "bash", "-"], {
        input: instanceCopyShell(direction, "s3://b/p", "/x y", { region: "r", endpoint: "http://h" }),
        encoding: "utf8",
      });
      expect(lint.status, lint.stdout).toBe(0);
    }
  });

  it("prefers s5cmd when the instance has it", async () => {
    const bin = mkdtempSync(path.join(tmpdir(), "fake-s5cmd-"));
    const log = path.join(bin, "argv");
    writeFileSync(path.join(bin, "s5cmd"), `#!/bin/sh\nprintf '%s\\n' "$@" > ${log}\n`);
    chmodSync(path.join(bin, "s5cmd"), 0o755);
    const target = path.join(bin, "dest");
    const result = await runLocally(instanceCopyShell("to-instance", "s3://b/p", target, { region: "us-east-1" }), { PATH: `${bin}:/usr/bin:/bin` });
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(log, "utf8").split("\n")).toEqual(["sync", "s3://b/p/*", `${target}/`, ""]);
  });

  it("names a missing instance path and exits 2", async () => {
    const result = await runLocally(instanceCopyShell("from-instance", "s3://b/p", "/nonexistent/trainctl", { region: "us-east-1" }));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("/nonexistent/trainctl does not exist on this instance");
  });
});

describe("transfer legs", () => {
  const staging = stagingLocation("ckpt", "./data", "exp:/mnt/data");
  const loc = (text: string) => parseLocation(text, "SRC");

  it("stage local ↔ instance copies under a prefix that is the same for the same command", () => {
    expect(staging.prefix).toMatch(/^staging\/transfer\/[0-9a-f]{16}\/$/);
    expect(stagingLocation("ckpt", "./data", "exp:/mnt/data")).toEqual(staging);
    expect(stagingLocation("ckpt", "./other", "exp:/mnt/data").prefix).not.toBe(staging.prefix);
  });

  it("go through S3 only where a side is local", () => {
    expect(planLegs(loc("./d"), loc("exp:/x"), staging).map((l) => l.kind)).toEqual(["upload", "to-instance"]);
    expect(planLegs(loc("exp:/x"), loc("./d"), staging).map((l) => l.kind)).toEqual(["from-instance", "download"]);
    expect(planLegs(loc("s3://bkt/p"), loc("i-0123456789abcdef0:/x")).map((l) => l.kind)).toEqual(["to-instance"]);
    expect(planLegs(loc("exp:/x"), loc("s3://bkt/p")).map((l) => l.kind)).toEqual(["from-instance"]);
    expect(() => planLegs(loc("./d"), loc("exp:/x"))).toThrow(UsageError);
    expect(() => planLegs(loc("a:/x"), loc("b:/y"))).toThrow(/instance to instance/);
  });
});

describe("SSM Run Command against a loopback SSM endpoint", () => {
  let ssm: FakeSsm | undefined;
  afterAll(async () => ssm?.stop());
  const client = (endpoint: string) => new SSMClient({ ...loopbackClientConfig(endpoint), maxAttempts: 1 });

  it("sends AWS-RunShellScript, waits out InvocationDoesNotExist, and streams the output", async () => {
    ssm = await startFakeSsm({ notYetRegistered: 2 });
    const chunks: string[] = [];
    const [result] = await runShellCommand(client(ssm.endpoint), {
      instanceIds: ["i-0abc0abc0abc0abc0"],
      script: "echo hello; echo oops >&2",
      timeoutSeconds: 30,
      pollMs: 20,
      onOutput: (_id, text) => chunks.push(text),
    });
    expect(result).toMatchObject({ status: "Success", exitCode: 0, stdout: "hello\n", stderr: "oops\n" });
    expect(chunks.join("")).toBe("hello\noops\n");
    expect(ssm.sent[0]).toMatchObject({ instanceIds: ["i-0abc0abc0abc0abc0"], executionTimeout: "30" });
    expect(ssm.requests.filter((r) => r.operation === "GetCommandInvocation").length).toBeGreaterThanOrEqual(3);
    await ssm.stop();
    ssm = undefined;
  });

  it("reports a failed script with its exit code", async () => {
    ssm = await startFakeSsm();
    const results = await runShellCommand(client(ssm.endpoint), { instanceIds: ["i-1", "i-2"], script: "exit 3", timeoutSeconds: 30, pollMs: 20 });
    expect(results).toMatchObject([
      { instanceId: "i-1", status: "Failed", exitCode: 3 },
      { instanceId: "i-2", status: "Failed", exitCode: 3 },
    ]);
    await ssm.stop();
    ssm = undefined;
  });

  it("gives up after the limit and cancels the command", async () => {
    ssm = await startFakeSsm({ hang: true });
    const started = Date.now();
    await expect(
      runShellCommand(client(ssm.endpoint), { instanceIds: ["i-0abc0abc0abc0abc0"], script: "sleep 1000", timeoutSeconds: 1, graceSeconds: 0, pollMs: 20 }),
    ).rejects.toThrow(/did not finish within 1 s .*cancelled/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(ssm.cancelled).toEqual(["cmd-1"]);
  });
});

describe("trainctl transfer with instance locations", () => {
  let s3: S3rverHandle;
  let ssm: FakeSsm;
  let env: Record<string, string | undefined>;
  const work = mkdtempSync(path.join(tmpdir(), "trainctl-instance-"));
  const source = path.join(work, "src");
  const instanceDisk = path.join(work, "instance");

  beforeAll(async () => {
    s3 = await startS3rver(["exp1-checkpoints", "shared-data"]);
    // The "instance" runs what SSM sends right here, with Debian's aws-cli against s3rver.
    ssm = await startFakeSsm({ env: { ...s3.env(), PATH: `${path.dirname(AWS)}:/bin` } });
    const pulumi = installFakePulumi([
      {
        prefix: ["stack", "output", "--json", "--show-secrets=false", "--stack", "exp1"],
        stdout: JSON.stringify({ region: "us-east-1", instanceIds: ["i-0aaaaaaaaaaaaaaa1", "i-0aaaaaaaaaaaaaaa2"], checkpointsBucket: "exp1-checkpoints" }),
      },
      { prefix: ["stack", "output"], code: 255, stderr: "error: no stack named 'nope' found\n" },
    ]);
    env = { ...s3.env(), AWS_ENDPOINT_URL_SSM: ssm.endpoint, TRAINCTL_PULUMI: pulumi.bin, TRAINCTL_SSM_POLL_MS: "50" };
    sampleTree(source);
  });
  afterAll(async () => {
    await ssm?.stop();
    await s3?.stop();
  });

  it("copies a local folder to a stack's node through the checkpoints bucket's staging prefix, and back", async () => {
    const up = await trainctlAsync(["transfer", source, `exp1:${instanceDisk}`, "--node", "1", "--json", "--endpoint-url", s3.endpoint], { env, cwd: work });
    expect(up.code, up.stderr).toBe(0);
    expect(JSON.parse(up.stdout.trim().split("\n").pop()!)).toMatchObject({ files: 3, instance: { instanceId: "i-0aaaaaaaaaaaaaaa2", status: "Success" } });
    expect(ssm.sent.at(-1)!.instanceIds).toEqual(["i-0aaaaaaaaaaaaaaa2"]);
    expect(tree(instanceDisk)).toEqual(tree(source));
    const staged = await s3.client().send(new ListObjectsV2Command({ Bucket: "exp1-checkpoints" }));
    expect(staged.Contents?.map((o) => o.Key).every((k) => k!.startsWith("staging/transfer/"))).toBe(true);

    writeFileSync(path.join(instanceDisk, "made-on-instance.txt"), "checkpoint");
    const back = path.join(work, "back");
    const down = await trainctlAsync(["transfer", `exp1:${instanceDisk}`, back, "--endpoint-url", s3.endpoint], { env, cwd: work });
    expect(down.code, down.stderr).toBe(0);
    expect(tree(back)).toEqual(tree(instanceDisk));
  });

  it("copies S3 ↔ an instance by id directly on the instance", async () => {
    const up = await trainctlAsync(["transfer", source, "s3://shared-data/set/"], { env, cwd: work });
    expect(up.code, up.stderr).toBe(0);
    const disk = path.join(work, "by-id");
    const result = await trainctlAsync(["transfer", "s3://shared-data/set/", `i-0bbbbbbbbbbbbbbb1:${disk}`, "--endpoint-url", s3.endpoint], { env, cwd: work });
    expect(result.code, result.stderr).toBe(0);
    expect(tree(disk)).toEqual(tree(source));
  });

  it("--dry-run prints the script and sends nothing", async () => {
    const before = ssm.sent.length;
    const result = await trainctlAsync(["transfer", "s3://shared-data/set/", "exp1:/mnt/data/set", "--dry-run"], { env, cwd: work });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain("would run on i-0aaaaaaaaaaaaaaa1 through SSM");
    expect(result.stderr).toContain("aws s3 sync");
    expect(ssm.sent.length).toBe(before);
  });

  it.each([
    [["transfer", "./src", "nope:/data"], /error: DST: unknown stack "nope": .*no stack named 'nope'/],
    [["transfer", "./src", "i-0123456789abcdef0:/data"], /error: --bucket: i-0123456789abcdef0 is an instance id; name a bucket/],
    [["transfer", "./src", "exp1:/data", "--node", "2"], /error: --node 2 is out of range: exp1 has 2 node\(s\), accepted 0..1/],
    [["transfer", "exp1:/a", "exp1:/b"], /error: DST: instance to instance/],
  ])("bad input %j exits 2 before anything moves", async (args, message) => {
    const sentBefore = ssm.sent.length;
    const requestsBefore = s3.requests.length;
    const result = await trainctlAsync(args, { env, cwd: work });
    expectUsageError(result, message);
    expect(ssm.sent.length).toBe(sentBefore);
    expect(s3.requests.length).toBe(requestsBefore);
  });
});
