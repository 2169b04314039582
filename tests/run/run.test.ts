import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gitFiles } from "../../scripts/remote/code";
import { RUN_PATHS, logChunkShell, parseLogChunk, runEnvironment, runShell } from "../../scripts/remote/run-unit";
import { type AwsServerHandle, startAwsServer } from "../helpers/aws-server";
import { expectUsageError, trainctlAsync } from "../helpers/cli";
import { installFakePulumi } from "../helpers/fake-pulumi";
import { fakeSystemd } from "../helpers/fake-systemd";
import { type FakeSsm, runLocally, startFakeSsm } from "../helpers/fake-ssm";
import { type S3rverHandle, startS3rver } from "../helpers/s3rver";
import { type World, answer } from "../helpers/aws-world";

const spec = {
  runId: "20261201-120000-abcd",
  command: ["python3", "train.py", "--lr", "3e-4 it's"],
  codeUrl: "s3://ckpt/staging/runs/20261201-120000-abcd/code/",
  env: { WANDB_MODE: "offline" },
  secrets: { HF_TOKEN: "/trainctl/p/e/hf-token" },
  node: { rank: 1, count: 2, masterAddr: "10.0.0.1", masterPort: 29500 },
  checkpoint: { dir: "/mnt/data/checkpoints", bucket: "ckpt" },
  replace: false,
  s3: { region: "us-east-1" },
};

describe("the run unit", () => {
  it("sets torchrun's rendezvous and the checkpoint contract in the unit's environment", () => {
    expect(runEnvironment(spec)).toEqual({
      WANDB_MODE: "offline",
      TRAINCTL_RUN_ID: spec.runId,
      TRAINCTL_CHECKPOINT_DIR: "/mnt/data/checkpoints",
      TRAINCTL_CHECKPOINT_BUCKET: "ckpt",
      TRAINCTL_CHECKPOINT_URL: "s3://ckpt/checkpoints/",
      MASTER_ADDR: "10.0.0.1",
      MASTER_PORT: "29500",
      NODE_RANK: "1",
      WORLD_SIZE: "2",
    });
  });

  it("hands the command to systemd-run as one transient unit that writes the pid file first", () => {
    const script = runShell(spec);
    expect(script).toContain(`systemd-run --unit="$unit" --collect --working-directory="$code_dir"`);
    expect(script).toContain(`--setenv='NODE_RANK=1'`);
    expect(script).toContain(
      `/bin/bash -c 'echo $$ >"$0"; . "$1"; rm -f "$1"; shift; exec "$@"' "$pid_file" "$secrets_file" 'python3' 'train.py' '--lr' '3e-4 it'\\''s'`,
    );
    expect(script).toContain(`aws ssm get-parameter --region 'us-east-1' --with-decryption --name '/trainctl/p/e/hf-token'`);
    expect(script).toContain(`pid_file='${RUN_PATHS.pidFile}'`);
    expect(script).toMatch(/exit 75/);
    expect(runShell({ ...spec, replace: true })).not.toMatch(/exit 75/);
    const lint = spawnSync("shellcheck", ["-s", "bash", "-"], { input: runShell(spec), encoding: "utf8" });
    expect(lint.status, lint.stdout).toBe(0);
  });

  it("ships from a subfolder of a git tree what git would, keyed relative to that folder", () => {
    const repo = mkdtempSync(path.join(tmpdir(), "trainctl-git-"));
    mkdirSync(path.join(repo, "train", "deep"), { recursive: true });
    for (const file of ["top.py", "train/main.py", "train/deep/ünï.py", "train/new.py", "train/w.ckpt"]) writeFileSync(path.join(repo, file), file);
    writeFileSync(path.join(repo, ".gitignore"), "*.ckpt\n");
    spawnSync("git", ["init", "-q"], { cwd: repo });
    spawnSync("git", ["add", "top.py", "train/main.py", "train/deep/ünï.py"], { cwd: repo });
    expect([...gitFiles(path.join(repo, "train"))!].sort()).toEqual(["deep/ünï.py", "main.py", "new.py"]);
    expect(gitFiles(tmpdir())).toBeUndefined();
  });

  it("reads the log in chunks from an offset, across runs of the shell", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "trainctl-log-"));
    const paths = { log: path.join(dir, "run.log"), pidFile: path.join(dir, "train.pid") };
    writeFileSync(paths.log, "one\ntwo\nthree\n");
    const last2 = parseLogChunk((await runLocally(logChunkShell({ lines: 2 }, paths))).stdout);
    expect(last2).toEqual({ text: Buffer.from("two\nthree\n"), nextOffset: 14, alive: false });
    writeFileSync(paths.log, "one\ntwo\nthree\nfour ünï\n");
    const next = parseLogChunk((await runLocally(logChunkShell({ offset: 14 }, paths))).stdout);
    expect(next.text.toString()).toBe("four ünï\n");
    expect(next.nextOffset).toBe(Buffer.byteLength("one\ntwo\nthree\nfour ünï\n"));
  });
});

/** An `aws` that answers `ssm get-parameter` from `parameters` (decrypted only with --with-decryption), logs it, and passes the rest to /usr/bin/aws. */
function fakeAws(bin: string, log: string, parameters: Record<string, string>): void {
  const cases = Object.entries(parameters).map(([name, value]) => `    ${name}) value=${JSON.stringify(value).replace(/\$/g, "\\$")} ;;`);
  writeFileSync(
    path.join(bin, "aws"),
    `#!/bin/bash
if [ "$1 $2" = "ssm get-parameter" ]; then
  echo "$*" >>${JSON.stringify(log)}
  name=""; decrypt=0
  for ((i = 1; i <= $#; i++)); do
    [ "\${!i}" = --name ] && { j=$((i + 1)); name="\${!j}"; }
    [ "\${!i}" = --with-decryption ] && decrypt=1
  done
  case "$name" in
${cases.join("\n")}
    *) echo "An error occurred (ParameterNotFound) when calling the GetParameter operation: $name" >&2; exit 254 ;;
  esac
  [ "$decrypt" = 1 ] || value="AQICAHencrypted"
  printf '%s\n' "$value"
  exit 0
fi
exec /usr/bin/aws "$@"
`,
  );
  chmodSync(path.join(bin, "aws"), 0o755);
}

describe("trainctl run and logs on a two-node stack", () => {
  let s3: S3rverHandle;
  let ssm: FakeSsm;
  let ec2: AwsServerHandle;
  let env: Record<string, string | undefined>;
  const work = mkdtempSync(path.join(tmpdir(), "trainctl-run-"));
  const code = path.join(work, "code");
  const nodeRoot = (id: string) => path.join(work, "nodes", id);
  const onNode = (id: string, file: string) => path.join(nodeRoot(id), file);
  const world: World = {
    instances: {
      "i-0000000000000000a": { state: "running", type: "g5.xlarge", launched: "2026-12-01T10:00:00.000Z", tags: {} },
      "i-0000000000000000b": { state: "running", type: "g5.xlarge", launched: "2026-12-01T10:00:00.000Z", tags: {} },
      "i-0000000000000000c": { state: "stopped", type: "g5.xlarge", launched: "2026-12-01T10:00:00.000Z", tags: {} },
    },
    volumes: {},
    metrics: {},
    spot: {},
    tagged: [],
    deny: [],
  };
  const awsLog = path.join(work, "aws.log");
  const SECRET = `hf_s3cr3t 'quoted' "$HOME" \\ end`;
  const pids = () => ["i-0000000000000000a", "i-0000000000000000b"].map((id) => Number(readFileSync(onNode(id, "run/train.pid"), "utf8")));

  beforeAll(async () => {
    s3 = await startS3rver(["exp2-checkpoints"]);
    ec2 = await startAwsServer((req) => answer(world, req));
    const bin = path.join(work, "bin");
    mkdirSync(bin);
    mkdirSync(path.join(work, "home"));
    fakeSystemd(bin);
    fakeAws(bin, awsLog, { "/trainctl/trainctl/exp2/hf-token": SECRET });
    // Each node is a folder here: the absolute paths the script uses move under it.
    ssm = await startFakeSsm({
      execute: (script, instanceId) =>
        runLocally(
          script
            .replaceAll("/run/trainctl", onNode(instanceId, "run"))
            .replaceAll("/var/log/trainctl", onNode(instanceId, "log"))
            .replaceAll("/opt/trainctl", onNode(instanceId, "opt"))
            .replaceAll("/mnt/data", onNode(instanceId, "data")),
          {
            ...s3.env(),
            PATH: `${bin}:/usr/bin:/bin`,
            // A node's own home: bash reads ~/.bashrc when stdin is a socket (as under node), and this machine's prepends to PATH.
            HOME: path.join(work, "home"),
          },
        ),
    });
    const outputs = {
      region: "us-east-1",
      instanceIds: ["i-0000000000000000a", "i-0000000000000000b"],
      privateIps: ["10.0.0.1", "10.0.0.2"],
      checkpointsBucket: "exp2-checkpoints",
      mountPoint: "/mnt/data",
      loaderLocation: "s3://exp2-checkpoints/code/loader.py",
    };
    const pulumi = installFakePulumi([
      { prefix: ["stack", "output", "--json", "--show-secrets=false", "--stack", "exp2"], stdout: JSON.stringify(outputs) },
      {
        prefix: ["stack", "output", "--json", "--show-secrets=false", "--stack", "idle"],
        stdout: JSON.stringify({ ...outputs, instanceIds: ["i-0000000000000000c"] }),
      },
      { prefix: ["stack", "output"], code: 255, stderr: "error: no stack named 'nope' found\n" },
    ]);
    env = { ...s3.env(), AWS_ENDPOINT_URL_SSM: ssm.endpoint, AWS_ENDPOINT_URL_EC2: ec2.endpoint, TRAINCTL_PULUMI: pulumi.bin, TRAINCTL_SSM_POLL_MS: "50" };

    await s3.client().send(new PutObjectCommand({ Bucket: "exp2-checkpoints", Key: "code/loader.py", Body: "def make_loader(): ...\n" }));
    mkdirSync(code);
    writeFileSync(
      path.join(code, "train.sh"),
      'echo "rank=$NODE_RANK world=$WORLD_SIZE master=$MASTER_ADDR:$MASTER_PORT ckpt=$TRAINCTL_CHECKPOINT_DIR lr=$LR"\ncat notes.txt\nexec sleep 60\n',
    );
    writeFileSync(path.join(code, ".gitignore"), "*.ckpt\n");
    writeFileSync(path.join(code, "weights.ckpt"), "ignored");
    spawnSync("git", ["init", "-q"], { cwd: code });
    spawnSync("git", ["add", "train.sh", ".gitignore"], { cwd: code });
    writeFileSync(path.join(code, "notes.txt"), "untracked but not ignored");
    writeFileSync(path.join(code, "secret.sh"), 'echo "token=[$HF_TOKEN]"\nexec sleep 60\n');
  });
  afterAll(async () => {
    for (const id of ["i-0000000000000000a", "i-0000000000000000b"]) {
      const file = onNode(id, "run/train.pid");
      if (existsSync(file)) spawnSync("kill", ["--", `-${readFileSync(file, "utf8").trim()}`]);
    }
    await Promise.all([ssm?.stop(), ec2?.stop(), s3?.stop()]);
  });

  it("ships the git tree through staging/ and starts the command on every node with its rank", async () => {
    const result = await trainctlAsync(["run", "exp2", "--code", code, "--env", "LR=3e-4", "--json", "--", "bash", "train.sh"], { env, cwd: work });
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out).toMatchObject({
      stack: "exp2",
      nodes: [
        { index: 0, status: "Success" },
        { index: 1, status: "Success" },
      ],
    });
    const shipped = await s3.client().send(new ListObjectsV2Command({ Bucket: "exp2-checkpoints", Prefix: `staging/runs/${out.runId}/code/` }));
    expect(shipped.Contents?.map((o) => o.Key!.split("/code/")[1]).sort()).toEqual([".gitignore", "notes.txt", "secret.sh", "train.sh"]);
    await expect
      .poll(() => existsSync(onNode("i-0000000000000000b", "log/run.log")) && readFileSync(onNode("i-0000000000000000b", "log/run.log"), "utf8"), {
        timeout: 10_000,
      })
      .toContain("untracked but not ignored");
    const log = readFileSync(onNode("i-0000000000000000b", "log/run.log"), "utf8");
    expect(log).toContain(`=== trainctl run ${out.runId} on node 1 ===`);
    expect(readFileSync(onNode("i-0000000000000000b", `opt/runs/${out.runId}/trainctl_loader.py`), "utf8")).toBe("def make_loader(): ...\n");
    expect(log).toContain(`rank=1 world=2 master=10.0.0.1:29500 ckpt=${onNode("i-0000000000000000b", "data")}/checkpoints lr=3e-4`);
    for (const pid of pids()) expect(spawnSync("kill", ["-0", String(pid)]).status).toBe(0);
  });

  it("refuses a second run while one is alive, and starts nothing", async () => {
    const before = ssm.sent.length;
    const result = await trainctlAsync(["run", "exp2", "--code", code, "--", "bash", "train.sh"], { env, cwd: work });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: a run is already alive on node 0 \(i-0000000000000000a\): a run is alive on this node \(pid \d+\); add --replace.*node 1/m,
    );
    expect(ssm.sent.length).toBe(before + 1); // the preflight only
  });

  it("logs prints the chosen node's log", async () => {
    const result = await trainctlAsync(["logs", "exp2", "--node", "1"], { env, cwd: work });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("rank=1 world=2");
    expect(result.stdout).not.toContain("rank=0");
  });

  it("--replace stops the live run and starts the new one", async () => {
    const old = pids();
    const result = await trainctlAsync(["run", "exp2", "--code", code, "--replace", "--", "bash", "train.sh"], { env, cwd: work });
    expect(result.code, result.stderr).toBe(0);
    for (const pid of old) expect(spawnSync("kill", ["-0", String(pid)]).status).not.toBe(0);
    await expect.poll(() => pids().every((pid) => !old.includes(pid)), { timeout: 10_000 }).toBe(true);
  });

  it("logs -f follows until the run ends", async () => {
    const pid = pids()[0];
    const follow = trainctlAsync(["logs", "exp2", "-f", "--interval", "0.2"], { env, cwd: work });
    await new Promise((r) => setTimeout(r, 4000));
    writeFileSync(onNode("i-0000000000000000a", "log/run.log"), "the end\n", { flag: "a" });
    spawnSync("kill", ["--", `-${pid}`]);
    const result = await follow;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("rank=0 world=2");
    expect(result.stdout.trim().endsWith("the end")).toBe(true);
  });

  it("--env-from-ssm: each node reads the SecureString at start; its value is in no SSM command and no file after", async () => {
    const before = ssm.sent.length;
    const result = await trainctlAsync(
      ["run", "exp2", "--code", code, "--replace", "--env-from-ssm", "HF_TOKEN=/trainctl/trainctl/exp2/hf-token", "--", "bash", "secret.sh"],
      { env, cwd: work },
    );
    expect(result.code, result.stderr).toBe(0);
    for (const id of ["i-0000000000000000a", "i-0000000000000000b"]) {
      await expect.poll(() => readFileSync(onNode(id, "log/run.log"), "utf8"), { timeout: 10_000 }).toContain(`token=[${SECRET}]`);
      expect(readdirSync(onNode(id, "run/secrets"))).toEqual([]);
    }
    expect(ssm.sent.length).toBeGreaterThan(before);
    for (const command of ssm.sent.slice(before)) expect(command.script).not.toContain("s3cr3t");
    expect(readFileSync(awsLog, "utf8")).toContain(
      "ssm get-parameter --region us-east-1 --with-decryption --name /trainctl/trainctl/exp2/hf-token --query Parameter.Value --output text",
    );
  });

  it("--env-from-ssm of a parameter the node cannot read fails before the live run is touched, and leaves no secrets file", async () => {
    const alive = pids();
    const result = await trainctlAsync(
      ["run", "exp2", "--code", code, "--replace", "--env-from-ssm", "HF_TOKEN=/trainctl/trainctl/exp2/missing", "--", "bash", "secret.sh"],
      { env, cwd: work },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("trainctl: cannot read SSM parameter /trainctl/trainctl/exp2/missing for HF_TOKEN");
    expect(pids()).toEqual(alive);
    for (const pid of alive) expect(spawnSync("kill", ["-0", String(pid)]).status).toBe(0);
    for (const id of ["i-0000000000000000a", "i-0000000000000000b"]) expect(readdirSync(onNode(id, "run/secrets"))).toEqual([]);
  });

  it.each([
    [
      ["run", "exp2", "--code", "./code", "--env-from-ssm", "HF_TOKEN=/trainctl/other/exp2/t", "--", "true"],
      /error: --env-from-ssm "HF_TOKEN=\/trainctl\/other\/exp2\/t": NAME must be under \/trainctl\/trainctl\/exp2\//,
    ],
    [["run", "exp2", "--code", "./code", "--env-from-ssm", "HF_TOKEN=/prod/db-password", "--", "true"], /NAME must be under \/trainctl\/trainctl\/exp2\//],
    [["run", "exp2", "--code", "./code", "--env-from-ssm", "HF_TOKEN=/trainctl/trainctl/exp2/a b", "--", "true"], /each level after/],
    [["run", "exp2", "--code", "./code", "--env-from-ssm", "1X=/trainctl/trainctl/exp2/t", "--", "true"], /error: --env-from-ssm "1X=.*is not KEY=NAME/],
    [["run", "exp2", "--code", "./code", "--env-from-ssm", "HF_TOKEN", "--", "true"], /is not KEY=NAME/],
    [
      ["run", "exp2", "--code", "./code", "--env-from-ssm", "HF_TOKEN=/trainctl/trainctl/exp2/t\nx", "--", "true"],
      /error: run: --env-from-ssm: control character U\+000A/,
    ],
    [["run", "exp2", "--code", "./code", "--env-from-ssm", "MASTER_ADDR=/trainctl/trainctl/exp2/t", "--", "true"], /MASTER_ADDR is set by trainctl run itself/],
    [["run", "exp2", "--code", "./code", "--env", "T=1", "--env-from-ssm", "T=/trainctl/trainctl/exp2/t", "--", "true"], /T is given twice/],
    [["run", "exp2", "--code", "./code", "--env", "TRAINCTL_RUN_ID=x", "--", "true"], /error: --env: TRAINCTL_RUN_ID is set by trainctl run itself/],
    [["run", "exp2", "--code", "./code"], /error: run needs a command after --/],
    [["run", "exp2", "--code", "./missing", "--", "true"], /error: --code: .\/missing is not a folder/],
    [["run", "exp2", "--code", "./code", "--env", "1X=2", "--", "true"], /error: --env: "1X=2" is not NAME=VALUE/],
    [["run", "nope", "--code", "./code", "--", "true"], /error: STACK: unknown stack "nope"/],
    [["run", "idle", "--code", "./code", "--", "true"], /error: STACK: idle has no running instance to use \(node 0 i-0000000000000000c is stopped\)/],
    [["logs", "idle"], /error: STACK: idle has no running instance/],
    [["logs", "exp2", "--node", "5"], /error: --node 5 is out of range: exp2 has 2 node\(s\), accepted 0..1/],
  ])("bad input %j exits 2 with one line and sends nothing", async (args, message) => {
    const before = ssm.sent.length;
    const result = await trainctlAsync(args, { env, cwd: work });
    expectUsageError(result, message);
    expect(ssm.sent.length).toBe(before);
  });
});
