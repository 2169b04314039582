// The loopback world of the spot recovery drill (issue 21): the real boot scripts, run as a node would
// run them, against a loopback EC2 + Auto Scaling endpoint (Debian's aws-cli speaks to it), one
// loopback IMDSv2 per node, s3rver for the run spec, code and checkpoints, and stand-ins for systemd.
// A "node" is a folder and its processes; its data volume is a disk image that survives it.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll } from "vitest";
import { bootstrapEnv } from "../../components/bootstrap";
import { RUN_SPEC_KEY } from "../../core/names";
import { type AwsRequest, type AwsServerHandle, startAwsServer } from "../helpers/aws-server";
import { trainctlAsync } from "../helpers/cli";
import { installFakePulumi } from "../helpers/fake-pulumi";
import { type FakeSsm, runLocally, startFakeSsm } from "../helpers/fake-ssm";
import { fakeServiceManager, fakeSystemd } from "../helpers/fake-systemd";
import { type S3rverHandle, startS3rver } from "../helpers/s3rver";
import { need, sandbox } from "./sandbox";

export const BUCKET = "exp-checkpoints";
export const SPEC_KEY = RUN_SPEC_KEY;
export const group = (i: number) => `trainctl-drill-node-${i}`;
const volumeOf = (i: number) => `vol-0000000000000000${i}`;

export interface FakeNode {
  instanceId: string;
  /** The stack: drill1 or drill2 (by node count). */
  experiment: string;
  index: number;
  ip: string;
  root: string;
  byId: string;
  imds: Server;
  notice: boolean;
  alive: boolean;
}

/** The EC2 and Auto Scaling side: which node holds which volume, the groups' desired capacity. */
interface Cloud {
  nodes: Map<string, FakeNode>;
  /** volume id → instance id of its holder. */
  attached: Map<string, string>;
  /** AttachVolume calls a dead holder's volume still answers VolumeInUse to (the detach takes time). */
  busyAnswers: number;
  desired: Map<string, number>;
  requests: AwsRequest[];
}

const EC2 = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"';
const ASG = 'xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"';
const ec2Error = (code: string) => ({
  status: 400,
  body: `<?xml version="1.0"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${code}</Message></Error></Errors><RequestID>r</RequestID></Response>`,
});

function answerCloud(cloud: Cloud, volumes: Map<string, string>, req: AwsRequest) {
  const form = req.form ?? {};
  cloud.requests.push(req);
  switch (req.operation) {
    case "AttachVolume": {
      const holder = cloud.attached.get(form.VolumeId);
      if (holder && holder !== form.InstanceId) {
        if (cloud.nodes.get(holder)?.alive || cloud.busyAnswers-- > 0) return ec2Error("VolumeInUse");
      }
      const node = cloud.nodes.get(form.InstanceId)!;
      cloud.attached.set(form.VolumeId, form.InstanceId);
      // The kernel's NVMe serial link appears once attached.
      symlinkSync(volumes.get(form.VolumeId)!, path.join(node.byId, `nvme-Amazon_Elastic_Block_Store_${form.VolumeId.replace("-", "")}`));
      return {
        body: `<AttachVolumeResponse ${EC2}><requestId>r</requestId><volumeId>${form.VolumeId}</volumeId><instanceId>${form.InstanceId}</instanceId><device>${form.Device}</device><status>attaching</status></AttachVolumeResponse>`,
      };
    }
    case "DescribeInstances": {
      // By group (a node looking for node 0), by experiment (status) or by id (logs).
      const [name, value] = [form["Filter.1.Name"], form["Filter.1.Value.1"]];
      const tags = (n: FakeNode) => ({
        "trainctl:experiment": n.experiment,
        "aws:autoscaling:groupName": group(n.index),
        "trainctl:node-index": String(n.index),
      });
      const items = [...cloud.nodes.values()]
        .filter((n) => n.alive && (name === "instance-id" ? n.instanceId : tags(n)[name.replace(/^tag:/, "") as keyof ReturnType<typeof tags>]) === value)
        .map(
          (n) =>
            `<item><instanceId>${n.instanceId}</instanceId><instanceType>g5.xlarge</instanceType><launchTime>2026-12-02T12:00:00.000Z</launchTime><instanceState><code>16</code><name>running</name></instanceState><instanceLifecycle>spot</instanceLifecycle><privateIpAddress>${n.ip}</privateIpAddress><tagSet>${Object.entries(
              tags(n),
            )
              .map(([k, v]) => `<item><key>${k}</key><value>${v}</value></item>`)
              .join("")}</tagSet></item>`,
        );
      return {
        body: `<DescribeInstancesResponse ${EC2}><requestId>r</requestId><reservationSet><item><reservationId>r-1</reservationId><instancesSet>${items.join("")}</instancesSet></item></reservationSet></DescribeInstancesResponse>`,
      };
    }
    case "UpdateAutoScalingGroup":
      cloud.desired.set(form.AutoScalingGroupName, Number(form.DesiredCapacity));
      return { body: `<UpdateAutoScalingGroupResponse ${ASG}><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></UpdateAutoScalingGroupResponse>` };
    default:
      return ec2Error("InvalidAction");
  }
}

/** IMDSv2 for one node: its id and address, and the spot notice once `node.notice` is set. */
async function startImds(node: Omit<FakeNode, "imds">): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === "PUT" && req.url === "/latest/api/token") return res.end("token");
    if (req.headers["x-aws-ec2-metadata-token"] !== "token") return res.writeHead(401).end();
    const paths: Record<string, string | undefined> = {
      "/latest/meta-data/instance-id": node.instanceId,
      "/latest/meta-data/local-ipv4": node.ip,
      "/latest/meta-data/spot/instance-action": (node as FakeNode).notice ? JSON.stringify({ action: "terminate", time: new Date().toISOString() }) : undefined,
    };
    const body = paths[req.url ?? ""];
    if (body === undefined) return res.writeHead(404).end();
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

/** Starts the world before the file's tests and ends it (and every node) after them. */
export function recoveryWorld() {
  let s3: S3rverHandle;
  let api: AwsServerHandle;
  let ssm: FakeSsm;
  const work = mkdtempSync(path.join(tmpdir(), "trainctl-drill-"));
  const volumes = new Map<string, string>();
  const cloud: Cloud = { nodes: new Map(), attached: new Map(), busyAnswers: 0, desired: new Map(), requests: [] };
  const code = path.join(work, "code");
  let pulumiBin = "";
  let serial = 0;

  beforeAll(async () => {
    need("aws", "awscli");
    need("mkfs.ext4", "e2fsprogs");
    s3 = await startS3rver([BUCKET]);
    api = await startAwsServer((req) => answerCloud(cloud, volumes, req));
    // SSM runs a sent script on the node: its system paths move under the node's folder.
    ssm = await startFakeSsm({
      execute: (script, instanceId) => {
        const root = cloud.nodes.get(instanceId)!.root;
        return runLocally(script.replaceAll("/var/log/trainctl", path.join(root, "log")).replaceAll("/run/trainctl", path.join(root, "run")), {
          PATH: "/usr/bin:/bin",
          HOME: root,
        });
      },
    });
    mkdirSync(code);
    // Prints what a resumed run needs to know, then works until stopped.
    writeFileSync(
      path.join(code, "train.sh"),
      [
        'echo "env: RESUMED=$TRAINCTL_RESUMED RESTARTS=$TRAINCTL_RESTARTS RANK=$NODE_RANK WORLD=$WORLD_SIZE MASTER=$MASTER_ADDR:$MASTER_PORT LR=$LR"',
        'echo "checkpoints: $(ls "$TRAINCTL_CHECKPOINT_DIR" | tr "\\n" " ")"',
        'echo "step" >"$TRAINCTL_CHECKPOINT_DIR/rank$NODE_RANK-after-$TRAINCTL_RESTARTS.pt"',
        "exec sleep 120",
        "",
      ].join("\n"),
    );
    pulumiBin = installFakePulumi([
      {
        prefix: ["stack", "output", "--json", "--show-secrets=false", "--stack", "drill1"],
        stdout: JSON.stringify({ region: "us-east-1", checkpointsBucket: BUCKET, mountPoint: "/mnt/data", nodeGroupNames: [group(0)] }),
      },
      {
        prefix: ["stack", "output", "--json", "--show-secrets=false", "--stack", "drill2"],
        stdout: JSON.stringify({ region: "us-east-1", checkpointsBucket: BUCKET, mountPoint: "/mnt/data", nodeGroupNames: [group(0), group(1)] }),
      },
    ]).bin;
  });

  afterAll(async () => {
    for (const node of cloud.nodes.values()) terminate(node);
    await Promise.all([s3?.stop(), api?.stop(), ssm?.stop()]);
    rmSync(work, { recursive: true, force: true });
  });

  /** A fresh ext4 data volume per node index, as a snapshot-restored volume would be. */
  function freshVolumes(count: number) {
    cloud.attached.clear();
    for (let i = 0; i < count; i++) {
      const image = path.join(work, `${volumeOf(i)}-${++serial}.img`);
      execFileSync("truncate", ["-s", "32M", image]);
      execFileSync("mkfs.ext4", ["-q", image]);
      volumes.set(volumeOf(i), image);
    }
  }
  const mountPoint = (i: number) => path.join(work, `data-${i}`);

  /** Boots a node of group i: runs setup.sh, which attaches, mounts and starts the watchers. */
  async function boot(index: number, nodeCount: number, maxRestarts: number) {
    const instanceId = `i-${String(++serial).padStart(17, "0")}`;
    const box = sandbox();
    fakeSystemd(box.bin);
    const units = path.join(box.root, "units");
    mkdirSync(units);
    fakeServiceManager(path.join(box.bin, "service-manager"), units, path.join(box.root, "services.pids"));
    const byId = path.join(box.root, "by-id");
    mkdirSync(byId);
    const partial = { instanceId, experiment: `drill${nodeCount}`, index, ip: `10.0.0.${10 + serial}`, root: box.root, byId, notice: false, alive: true };
    const node: FakeNode = Object.assign(partial, { imds: undefined as unknown as Server });
    node.imds = await startImds(node);
    cloud.nodes.set(instanceId, node);
    mkdirSync(mountPoint(index), { recursive: true });
    const options = {
      experiment: partial.experiment,
      region: "us-east-1",
      nodeIndex: index,
      nodeCount,
      volumeId: volumeOf(index),
      volumeOrigin: "snapshot",
      mountPoint: mountPoint(index),
      warm: "none",
      checkpointBucket: BUCKET,
      checkpointPrefix: "checkpoints/",
      autostop: { idleMinutes: 30, action: "terminate", gpuThresholdPercent: 5 },
      spot: true,
      recovery: { groupName: group(index), maxRestarts },
    } as const;
    const env = {
      ...bootstrapEnv(options),
      ...box.env,
      ...s3.env(),
      TRAINCTL_IMDS: `http://127.0.0.1:${(node.imds.address() as AddressInfo).port}`,
      TRAINCTL_S3_ENDPOINT: s3.endpoint,
      TRAINCTL_EC2_ENDPOINT: api.endpoint,
      TRAINCTL_AUTOSCALING_ENDPOINT: api.endpoint,
      TRAINCTL_DEV_BY_ID: byId,
      TRAINCTL_FSTAB: path.join(box.root, "fstab"),
      TRAINCTL_MOUNT: "true",
      TRAINCTL_WAIT_SECONDS: "20",
      TRAINCTL_ATTACH_RETRY_SECONDS: "1",
      TRAINCTL_SYSTEMD_DIR: units,
      TRAINCTL_SYSTEMCTL: "service-manager",
      TRAINCTL_BIN: path.join(box.root, "opt"),
      TRAINCTL_RUN_LOG_LINK: path.join(box.root, "log", "run.log"),
      TRAINCTL_BOOTED_AT: String(Math.floor(Date.now() / 1000)),
      TRAINCTL_RUN_POLL_SECONDS: "2",
      TRAINCTL_SPOT_POLL_SECONDS: "0.3",
      TRAINCTL_SPOT_HOOK_SECONDS: "5",
      TRAINCTL_SPOT_GRACE_SECONDS: "2",
      TRAINCTL_SPOT_SYNC_SECONDS: "20",
      TRAINCTL_SPOT_HOOK: path.join(box.root, "no-hook"),
    };
    const setup = await box.runAsync("setup.sh", env);
    return {
      node,
      setup,
      log: box.log,
      runLog: () =>
        existsSync(path.join(mountPoint(index), "trainctl", "run.log")) ? readFileSync(path.join(mountPoint(index), "trainctl", "run.log"), "utf8") : "",
    };
  }

  /** EC2 reclaims the node: every process it ran ends, its metadata service goes away. */
  function terminate(node: FakeNode) {
    if (!node.alive) return;
    node.alive = false;
    const pids = [path.join(node.root, "services.pids"), path.join(node.root, "run", "train.pid")].flatMap((f) =>
      existsSync(f) ? readFileSync(f, "utf8").trim().split("\n") : [],
    );
    for (const pid of pids) spawnSync("kill", ["-KILL", "--", `-${pid}`]);
    node.imds.close();
  }

  const spec = async () => JSON.parse(await (await s3.client().send(new GetObjectCommand({ Bucket: BUCKET, Key: SPEC_KEY }))).Body!.transformToString());
  const cli = (args: string[]) =>
    trainctlAsync(args, {
      cwd: work,
      env: {
        ...s3.env(),
        AWS_ENDPOINT_URL_EC2: api.endpoint,
        AWS_ENDPOINT_URL_CLOUDWATCH: api.endpoint,
        AWS_ENDPOINT_URL_SSM: ssm.endpoint,
        TRAINCTL_SSM_POLL_MS: "50",
        TRAINCTL_PULUMI: pulumiBin,
      },
    });

  /** Stores a spec as a node would find it (the restart-limit test starts from one). */
  const putSpec = (body: object) => s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: SPEC_KEY, Body: JSON.stringify(body) }));
  const dropSpec = () => s3.client().send(new DeleteObjectCommand({ Bucket: BUCKET, Key: SPEC_KEY }));
  const readObject = async (key: string) => (await s3.client().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString();
  return { cloud, code, freshVolumes, mountPoint, boot, terminate, spec, putSpec, dropSpec, readObject, cli };
}
