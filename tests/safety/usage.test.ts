import { createHash } from "node:crypto";
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { EC2Client, TerminateInstancesCommand } from "@aws-sdk/client-ec2";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AwsRequest, type AwsServerHandle, loopbackClientConfig, startAwsServer } from "../helpers/aws-server";
import { answer, ec2Arn, type World } from "../helpers/aws-world";
import { type CliResult, ROOT, trainctlAsync } from "../helpers/cli";
import { type FakePulumi, installFakePulumi, pathWithout } from "../helpers/fake-pulumi";
import { type S3rverHandle, startS3rver } from "../helpers/s3rver";

/**
 * The CLI's gate, at the process boundary: each mistaken or hostile invocation below exits 2 with one
 * `error:` line naming the flag (and the accepted values where there is a set), prints nothing on
 * stdout, and acts on nothing: no `pulumi` call, no mutating request to S3 or AWS, no file changed in
 * the folders involved. Rows run in parallel against one s3rver and one AWS loopback server; each row
 * has its own bucket, folders, fake `pulumi` and session token, so what it did is its own.
 *
 * Placeholders in a row: {src} a local folder with files, {dst} a local folder, {bucket} a bucket that
 * holds `p/a.txt` and `p/extra.txt` (what `--delete` would remove), {state} a stack export file.
 */
const ROWS: [args: string[], message: RegExp][] = [
  // transfer
  [
    ["transfer", "{src}", "s3://{bucket}/p/", "--sync", "--delete", "--yes", "--dryrun"],
    /^error: transfer: unknown flag --dryrun \(did you mean --dry-run\?\)$/,
  ],
  [["transfer", "{src}", "s3://{bucket}/p/", "--concurency", "4"], /unknown flag --concurency \(did you mean --concurrency\?\)/],
  [["transfer", "s3://{bucket}/p/", "{dst}", "--delete", "--yes", "--dry-rn"], /unknown flag --dry-rn \(did you mean --dry-run\?\)/],
  [["transfer", "{src}", "s3://{bucket}/p/", "--include", "a\nb"], /--include: control character U\+000A/],
  [["transfer", "{src}", "s3://{bucket}/p/\r"], /<dst>: control character U\+000D/],
  [["transfer", "{src}", "s3://{bucket}/p/", "--delete"], /--delete removes objects at the destination: add --yes/],
  [["transfer", "s3://{bucket}/p/", "s3://{bucket}/q/", "--delete", "--yes"], /S3 to S3 copies are not supported/],
  [["transfer", "{src}", "s3://{bucket}/p/", "--concurrency", "many"], /^error: transfer: --concurrency: "many" is not a finite number$/],
  // sweep
  [
    ["sweep", "--execute", "--account", "111122223333", "--state", "{state}", "--dry-run"],
    /^error: sweep: unknown flag --dry-run; it is a dry run unless --execute$/,
  ],
  [["sweep", "--exeucte", "--account", "111122223333", "--state", "{state}"], /unknown flag --exeucte \(did you mean --execute\?\)/],
  [["sweep", "--state", "{state}", "--region", "us-east-1\u001b[2J"], /--region: control character U\+001B/],
  [["sweep", "--execute", "--state", "{state}"], /--execute needs --account ID/],
  // teardown
  [
    ["teardown", "--state", "{state}", "--execute", "--confirm", "dev", "--dry-run"],
    /^error: teardown: unknown flag --dry-run; it is a dry run unless --execute$/,
  ],
  [["teardown", "--stat", "{state}", "--execute", "--confirm", "dev"], /unknown flag --stat \(did you mean --state\?\)/],
  [["teardown", "--state", "{state}", "--execute", "--confirm", "dev\n"], /--confirm: control character U\+000A/],
  [["teardown", "--state", "{state}", "--stack", "dev", "--execute", "--confirm", "dev"], /teardown needs exactly one of --state FILE or --stack NAME/],
  // experiment
  [["experiment", "new"], /^error: experiment new: missing <name> \(usage: trainctl experiment new <name>\)$/],
  [["experiment", "destroy", "--confirm", "x"], /^error: experiment destroy: missing <name>/],
  [["experiment", "destroy", "dev", "--confirm", "dev", "--preview-only"], /^error: experiment destroy: unknown flag --preview-only$/],
  [["experiment", "destroy", "dev", "--confirm", "x"], /--confirm: destroy needs --confirm dev/],
  [["experiment", "new", "exp\n2"], /<name>: control character U\+000A/],
  [["experiment", "new", "exp2", "--set", "instance.type=g5.xlarge\nowner=eve"], /--set: control character U\+000A/],
  [["experiment", "gc", "--execute", "--dry-run"], /^error: experiment gc: unknown flag --dry-run; it is a dry run unless --execute$/],
  [["experiment", "up"], /^error: experiment up: missing <name>/],
  [["experiment", "nw", "exp2"], /^error: experiment: unknown command "nw"; did you mean new\? \(commands: destroy, gc, list, new, up\)$/],
  [["experiment"], /name a subcommand: new, list, up, destroy, gc/],
  // run
  [["run"], /^error: run: missing <stack> \(usage: trainctl run <stack>\)$/],
  [["run", "dev", "--replce", "--", "python", "train.py"], /unknown flag --replce \(did you mean --replace\?\)/],
  [["run", "dev", "--env", "A=1\nB=2", "--", "true"], /--env: control character U\+000A/],
  [["run", "dev"], /run needs a command after --/],
  // logs
  [["logs"], /^error: logs: missing <stack>/],
  [["logs", "dev", "--folow"], /unknown flag --folow \(did you mean --follow\?\)/],
  [["logs", "dev", "--lines", "ten"], /^error: logs: --lines: "ten" is not a finite number$/],
  // plan
  [["plan", "--stak", "dev"], /^error: plan: unknown flag --stak \(did you mean --stack\?\)$/],
  [["plan", "--stack", "dev\u0007"], /--stack: control character U\+0007/],
  [["plan", "dev"], /^error: plan: unexpected argument "dev"$/],
  // cost
  [["cost", "--format", "html"], /^error: cost: --format "html" is not one of: table, json, markdown$/],
  [["cost", "--state", "{state}", "--max-montly", "5"], /unknown flag --max-montly \(did you mean --max-monthly\?\)/],
  [["cost", "--state", "{state}", "--preview", "{state}"], /exactly one of --state, --preview/],
  [["cost", "--state", "{state}", "--hours", "1e400"], /--hours.*"1e400"/],
  // dataloader
  [["dataloader", "--strategy", "direct-s3", "--format", "npy", "--data", "s3://{bucket}/p/"], /^error: dataloader: missing --out$/],
  [
    ["dataloader", "--strategy", "direct-s3", "--format", "npy", "--data", "s3://{bucket}/p/", "--out", "{dst}/loader.py", "--forse"],
    /unknown flag --forse \(did you mean --force\?\)/,
  ],
  [
    ["dataloader", "--strategy", "direct-s3", "--format", "npy", "--data", "s3://{bucket}/p/", "--out", "{dst}/loader\n.py"],
    /--out: control character U\+000A/,
  ],
  // recommend
  [
    ["recommend", "--size", "500", "--files", "1000", "--instance-type", "g5.xlarge"],
    /--size: "500" is not a size \(accepted: a number with B, KB, MB, GB, TB, KiB, MiB, GiB or TiB/,
  ],
  [["recommend", "--sise", "500GiB", "--files", "1000", "--instance-type", "g5.xlarge"], /unknown flag --sise \(did you mean --size\?\)/],
  // status
  [["status", "dev", "--wach"], /unknown flag --wach \(did you mean --watch\?\)/],
  [["status", "dev", "other"], /^error: status: unexpected argument "other"$/],
  // the command itself
  [
    ["transfr", "{src}", "s3://{bucket}/p/"],
    /^error: unknown command "transfr"; did you mean transfer\? \(commands: .*cost, dataloader, experiment, .*transfer\)$/,
  ],
  [[], /name a command/],
];

/** Every file and folder under `dirs`: path, size, mtime and a hash of the contents. */
function snapshot(dirs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string) => {
    const s = lstatSync(p);
    const body = s.isFile() ? createHash("sha256").update(readFileSync(p)).digest("hex") : "";
    out[p] = `${s.size} ${s.mtimeMs} ${body}`;
    if (s.isDirectory()) for (const name of readdirSync(p)) walk(path.join(p, name));
  };
  for (const dir of dirs) walk(dir);
  return out;
}

const isMutating = {
  s3: (line: string) => !/^(GET|HEAD) /.test(line),
  aws: (r: AwsRequest) => !/^(Describe|List|Get)/.test(r.operation),
};

interface Outcome {
  result: CliResult;
  pulumi: FakePulumi;
  before: Record<string, string>;
  after: Record<string, string>;
  bucket: string;
  aws: AwsRequest[];
}

const world: World = {
  instances: {
    "i-0aaaaaaaaaaaaaaa1": {
      state: "running",
      type: "g5.xlarge",
      launched: "2026-11-20T10:00:00.000Z",
      tags: { "trainctl:experiment": "dev", "trainctl:project": "trainctl" },
    },
  },
  volumes: {},
  metrics: {},
  tagged: [{ arn: ec2Arn("i-0aaaaaaaaaaaaaaa1"), tags: { "trainctl:experiment": "dev", "trainctl:project": "trainctl", "trainctl:managed-by": "pulumi" } }],
  spot: {},
  deny: [],
};

let s3: S3rverHandle;
let aws: AwsServerHandle;
const outcomes: Outcome[] = [];
/** s3rver's log lines from before the rows ran (the seeding). */
let seeded = 0;

/** s3rver reports requests through a pipe: once a marker request is logged, every earlier one is. */
async function s3Settled(): Promise<void> {
  const marker = `/settled-${s3.requests.length}-${Date.now()}`;
  await fetch(`${s3.endpoint}${marker}`, { method: "HEAD" }).catch(() => undefined);
  while (!s3.requests.some((line) => line.includes(marker))) await new Promise((resolve) => setTimeout(resolve, 20));
}
const bucketOf = (i: number) => `safety-row-${String(i).padStart(2, "0")}`;

beforeAll(async () => {
  s3 = await startS3rver(ROWS.map((_, i) => bucketOf(i)));
  aws = await startAwsServer((req) => answer(world, req));
  const client = s3.client();
  await Promise.all(
    ROWS.flatMap((_, i) => ["p/a.txt", "p/extra.txt"].map((key) => client.send(new PutObjectCommand({ Bucket: bucketOf(i), Key: key, Body: `old ${key}\n` })))),
  );
  await s3Settled();
  seeded = s3.requests.length;
  const work = mkdtempSync(path.join(tmpdir(), "trainctl-usage-"));
  const jobs = ROWS.map(([args], i) => async () => {
    const row = path.join(work, `row-${i}`);
    const [project, src, dst] = ["project", "src", "dst"].map((name) => path.join(row, name));
    for (const dir of [project, path.join(src, "sub"), dst]) mkdirSync(dir, { recursive: true });
    for (const file of ["Pulumi.yaml", "Pulumi.dev.yaml"]) copyFileSync(path.join(ROOT, file), path.join(project, file));
    const state = path.join(project, "s.json");
    copyFileSync(path.join(ROOT, "tests", "fixtures", "dev.state.json"), state);
    writeFileSync(path.join(src, "a.txt"), "new contents\n");
    writeFileSync(path.join(src, "sub", "b.bin"), Buffer.alloc(1024, 7));
    writeFileSync(path.join(dst, "keep.txt"), "already here\n");
    const bucket = bucketOf(i);
    const pulumi = installFakePulumi({ dir: path.join(row, "bin") });
    const fill = (arg: string) => arg.replace("{src}", src).replace("{dst}", dst).replace("{bucket}", bucket).replace("{state}", state);
    const folders = [project, src, dst, path.join(s3.directory, bucket)];
    const before = snapshot(folders);
    const token = `row-${i}`;
    const result = await trainctlAsync(args.map(fill), {
      cwd: project,
      env: {
        ...s3.env(),
        PATH: pathWithout(pulumi.dir),
        TRAINCTL_PULUMI: pulumi.bin,
        TRAINCTL_PROJECT_DIR: project,
        AWS_ENDPOINT_URL: aws.endpoint,
        AWS_SESSION_TOKEN: token,
        AWS_PROFILE: undefined,
        AWS_MAX_ATTEMPTS: "1",
      },
    });
    outcomes[i] = {
      result,
      pulumi,
      before,
      after: snapshot(folders),
      bucket,
      aws: aws.requests.filter((r) => r.headers["x-amz-security-token"] === token),
    };
  });
  // A few at a time: each is a whole CLI start-up, and the machine is shared.
  const queue = [...jobs];
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let job = queue.shift(); job; job = queue.shift()) await job();
    }),
  );
  await s3Settled();
}, 600_000);

afterAll(async () => {
  await s3?.stop();
  await aws?.stop();
});

describe("a mistaken or hostile invocation exits 2 on one line and does nothing", () => {
  it.each(ROWS.map(([args, message], i) => [JSON.stringify(args), i, message] as const))("%s", (_name, i, message) => {
    const { result, pulumi, before, after, bucket, aws: awsRequests } = outcomes[i];
    const s3Requests = s3.requests.slice(seeded).filter((line) => line.split(" ")[1]?.startsWith(`/${bucket}`));
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr.trimEnd().split("\n"), result.stderr).toHaveLength(1);
    expect(result.stderr.trimEnd()).toMatch(message);
    expect(result.stdout).toBe("");
    expect(pulumi.calls()).toEqual([]);
    expect(s3Requests.filter(isMutating.s3)).toEqual([]);
    expect(awsRequests.filter(isMutating.aws).map((r) => r.operation)).toEqual([]);
    expect(after).toEqual(before);
  });

  it("would see a row's requests: its bucket is in s3rver's log, its session token in the AWS server's", async () => {
    // Guards the attribution above: without it, "no mutating request" would hold for any row.
    expect(s3.requests.slice(0, seeded).filter((line) => line.startsWith("PUT /safety-row-00/p/extra.txt"))).toHaveLength(1);
    const ec2 = new EC2Client({
      ...loopbackClientConfig(aws.endpoint),
      credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "secret", sessionToken: "row-probe" },
    });
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: ["i-0aaaaaaaaaaaaaaa1"] })).catch(() => undefined);
    expect(aws.requests.filter((r) => r.headers["x-amz-security-token"] === "row-probe" && isMutating.aws(r)).map((r) => r.operation)).toEqual([
      "TerminateInstances",
    ]);
  });
});
