import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type S3rverHandle, startS3rver } from "../helpers/s3rver";
import { SCRIPTS, need, sandbox } from "./sandbox";

describe("bootstrap scripts", () => {
  it("are shellcheck-clean", () => {
    need("shellcheck", "shellcheck");
    const scripts = readdirSync(SCRIPTS).filter((f) => f.endsWith(".sh"));
    expect(scripts.length).toBeGreaterThanOrEqual(8);
    const result = spawnSync("shellcheck", ["-x", ...scripts], { cwd: SCRIPTS, encoding: "utf8" });
    expect(result.stdout).toBe("");
    expect(result.status).toBe(0);
  });
});

describe("mount-data-volume.sh", () => {
  const volumeId = "vol-0123456789abcdef0";
  function disk() {
    const box = sandbox();
    const image = path.join(box.root, "disk.img");
    execFileSync("truncate", ["-s", "64M", image]);
    const byId = path.join(box.root, "by-id");
    mkdirSync(byId);
    symlinkSync(image, path.join(byId, "nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0"));
    const extra = {
      TRAINCTL_VOLUME_ID: volumeId,
      TRAINCTL_MOUNT_POINT: path.join(box.root, "mnt"),
      TRAINCTL_DEV_BY_ID: byId,
      TRAINCTL_FSTAB: path.join(box.root, "fstab"),
      TRAINCTL_MOUNT: "true",
      TRAINCTL_WAIT_SECONDS: "3",
      TRAINCTL_VOLUME_ORIGIN: "empty",
    };
    return { ...box, image, extra };
  }
  const uuidOf = (image: string) => execFileSync("blkid", ["-s", "UUID", "-o", "value", image], { encoding: "utf8" }).trim();

  it("finds the volume by its NVMe serial, formats a blank one, and writes a nofail UUID fstab line once", () => {
    const d = disk();
    const first = d.run("mount-data-volume.sh", d.extra);
    expect(first.status, first.stderr).toBe(0);
    const uuid = uuidOf(d.image);
    expect(d.log()).toContain("is blank and was created empty by the stack; formatting ext4");
    const second = d.run("mount-data-volume.sh", d.extra);
    expect(second.status).toBe(0);
    expect(uuidOf(d.image)).toBe(uuid);
    expect(d.log()).toMatch(/mounted .* \(ext4, UUID=/);
    expect(readFileSync(d.extra.TRAINCTL_FSTAB, "utf8")).toBe(`UUID=${uuid} ${d.extra.TRAINCTL_MOUNT_POINT} ext4 defaults,nofail,noatime 0 2\n`);
  });

  it("never reformats a volume that holds a filesystem", () => {
    const d = disk();
    execFileSync("mkfs.ext4", ["-q", "-F", "-L", "users-data", d.image]);
    const uuid = uuidOf(d.image);
    expect(d.run("mount-data-volume.sh", d.extra).status).toBe(0);
    expect(uuidOf(d.image)).toBe(uuid);
    expect(execFileSync("blkid", ["-s", "LABEL", "-o", "value", d.image], { encoding: "utf8" }).trim()).toBe("users-data");
  });

  it("fails clearly when the volume never appears, instead of guessing a device", () => {
    const d = disk();
    const result = d.run("mount-data-volume.sh", { ...d.extra, TRAINCTL_VOLUME_ID: "vol-0ffffffffffffffff", TRAINCTL_WAIT_SECONDS: "1" });
    expect(result.status).not.toBe(0);
    expect(d.log()).toContain("volume vol-0ffffffffffffffff never appeared");
  });
});

describe("warm-fio.sh", () => {
  it("reads a 256 MiB device end to end and the status file reaches 100%", () => {
    need("fio", "fio");
    const box = sandbox();
    const device = path.join(box.root, "device.img");
    execFileSync("truncate", ["-s", "256M", device]);
    const result = box.run("warm-fio.sh", {}, [device]);
    expect(result.status, result.stderr).toBe(0);
    expect(readFileSync(path.join(box.env.TRAINCTL_STATE_DIR, "warm-state"), "utf8").trim()).toBe("warm 100");
    expect(box.log()).toContain("is warm");
  });
});

describe("autostop.sh", () => {
  function box(gpu: string) {
    const b = sandbox({ "nvidia-smi": `#!/bin/sh\ncat "${"$"}TRAINCTL_FAKE_GPU"\n` });
    const gpuFile = path.join(b.root, "gpu");
    writeFileSync(gpuFile, gpu);
    const shutdown = path.join(b.root, "shutdown-called");
    const extra = {
      TRAINCTL_FAKE_GPU: gpuFile,
      TRAINCTL_SHUTDOWN: `touch ${shutdown}`,
      TRAINCTL_IDLE_MINUTES: "3",
      TRAINCTL_IDLE_ACTION: "terminate",
      TRAINCTL_UPTIME_SECONDS: "600",
      TRAINCTL_MAX_SECONDS: "7200",
    };
    return { ...b, gpuFile, shutdown, extra };
  }

  it("stops after idleMinutes of low GPU use, and a busy minute resets the count", () => {
    const b = box("0\n1\n");
    const minutes = ["0\n1\n", "0\n1\n", "80\n0\n", "0\n0\n", "2\n0\n", "0\n0\n"];
    const shutdownAt: number[] = [];
    minutes.forEach((gpu, minute) => {
      writeFileSync(b.gpuFile, gpu);
      expect(b.run("autostop.sh", b.extra).status).toBe(0);
      if (existsSync(b.shutdown)) shutdownAt.push(minute + 1);
    });
    // Idle in minutes 1-2, busy in 3, idle again in 4-6: the third idle minute in a row is minute 6.
    expect(shutdownAt[0]).toBe(6);
  });

  it("never stops while a training process is alive", () => {
    const b = box("0\n");
    const child = spawn("sleep", ["30"]);
    mkdirSync(b.env.TRAINCTL_RUN_DIR, { recursive: true });
    writeFileSync(path.join(b.env.TRAINCTL_RUN_DIR, "train.pid"), String(child.pid));
    try {
      for (let i = 0; i < 5; i++) expect(b.run("autostop.sh", b.extra).status).toBe(0);
      expect(existsSync(b.shutdown)).toBe(false);
      expect(readFileSync(path.join(b.env.TRAINCTL_STATE_DIR, "busy"), "utf8").trim()).toBe("1");
    } finally {
      child.kill();
    }
  });

  it("maxHours is a hard stop, even when busy", () => {
    const b = box("95\n");
    expect(b.run("autostop.sh", { ...b.extra, TRAINCTL_UPTIME_SECONDS: String(2 * 3600) }).status).toBe(0);
    expect(existsSync(b.shutdown)).toBe(true);
    expect(b.log()).toContain("maxHours (7200s) reached");
  });

  it("action none never shuts down for idleness", () => {
    const b = box("0\n");
    for (let i = 0; i < 5; i++) b.run("autostop.sh", { ...b.extra, TRAINCTL_IDLE_ACTION: "none" });
    expect(existsSync(b.shutdown)).toBe(false);
  });
});

describe("against s3rver and a fake IMDSv2", () => {
  let s3: S3rverHandle;
  beforeAll(async () => {
    need("aws", "awscli");
    s3 = await startS3rver(["datasets", "checkpoints"]);
  });
  afterAll(async () => s3?.stop());

  it("stage-dataset.sh copies with aws s3 sync once; a second run copies nothing", async () => {
    const client = s3.client();
    for (let i = 0; i < 5; i++) await client.send(new PutObjectCommand({ Bucket: "datasets", Key: `imagenet/train/${i}.jpg`, Body: `image ${i}` }));
    const box = sandbox();
    const target = path.join(box.root, "data", "dataset");
    const extra = { ...s3.env(), TRAINCTL_S3_ENDPOINT: s3.endpoint, TRAINCTL_DATASET_SOURCE: "s3://datasets/imagenet/", TRAINCTL_DATASET_TARGET: target };
    const first = box.run("stage-dataset.sh", extra);
    expect(first.status, first.stderr).toBe(0);
    expect(readdirSync(path.join(target, "train")).sort()).toEqual(["0.jpg", "1.jpg", "2.jpg", "3.jpg", "4.jpg"]);
    expect(readFileSync(path.join(target, "train", "3.jpg"), "utf8")).toBe("image 3");
    const requestsBefore = s3.requests.length;
    const second = box.run("stage-dataset.sh", extra);
    expect(second.status).toBe(0);
    expect(s3.requests.length).toBe(requestsBefore);
    expect(box.log()).toContain("already staged");
  });

  it("spot-watcher.sh: on notice, SIGTERM to the training process group, the hook, then checkpoints to S3", async () => {
    const noticeAfterMs = 1500;
    const started = Date.now();
    let tokens = 0;
    const imds = createServer((req, res) => {
      if (req.method === "PUT" && req.url === "/latest/api/token" && req.headers["x-aws-ec2-metadata-token-ttl-seconds"]) {
        tokens++;
        res.end("token-123");
      } else if (req.headers["x-aws-ec2-metadata-token"] !== "token-123") {
        res.writeHead(401).end();
      } else if (req.url === "/latest/meta-data/spot/instance-action" && Date.now() - started > noticeAfterMs) {
        res.end(JSON.stringify({ action: "terminate", time: "2026-11-28T18:00:00Z" }));
      } else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => imds.listen(0, "127.0.0.1", resolve));
    const box = sandbox();
    const checkpoints = path.join(box.root, "ckpt");
    mkdirSync(checkpoints);
    writeFileSync(path.join(checkpoints, "step-100.pt"), "weights");
    const hookMarker = path.join(box.root, "hook-ran");
    const hook = path.join(box.root, "hook.sh");
    writeFileSync(hook, `#!/bin/sh\ntouch ${hookMarker}\n`);
    chmodSync(hook, 0o755);
    // A training process in its own process group, as systemd-run would start it.
    const training: ChildProcess = spawn("sleep", ["60"], { detached: true });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => training.once("exit", (_code, signal) => resolve(signal)));
    mkdirSync(box.env.TRAINCTL_RUN_DIR, { recursive: true });
    writeFileSync(path.join(box.env.TRAINCTL_RUN_DIR, "train.pid"), String(training.pid));
    const watcher = spawn("bash", [path.join(SCRIPTS, "spot-watcher.sh")], {
      env: {
        ...box.env,
        ...s3.env(),
        TRAINCTL_S3_ENDPOINT: s3.endpoint,
        TRAINCTL_IMDS: `http://127.0.0.1:${(imds.address() as AddressInfo).port}`,
        TRAINCTL_SPOT_POLL_SECONDS: "0.3",
        TRAINCTL_SPOT_HOOK_SECONDS: "30",
        TRAINCTL_SPOT_GRACE_SECONDS: "0",
        TRAINCTL_SPOT_SYNC_SECONDS: "30",
        TRAINCTL_CHECKPOINT_DIR: checkpoints,
        TRAINCTL_CHECKPOINT_BUCKET: "checkpoints",
        TRAINCTL_CHECKPOINT_PREFIX: "exp/",
        TRAINCTL_SPOT_HOOK: hook,
      },
    });
    const watcherCode = await new Promise<number | null>((resolve) => watcher.once("exit", resolve));
    imds.close();
    expect(watcherCode).toBe(0);
    expect(await exited).toBe("SIGTERM");
    expect(existsSync(hookMarker)).toBe(true);
    expect(tokens).toBeGreaterThan(1);
    const listed = await s3.client().send(new ListObjectsV2Command({ Bucket: "checkpoints", Prefix: "exp/" }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(["exp/step-100.pt"]);
    expect(box.log()).toMatch(/interruption notice[\s\S]*sent SIGTERM to process group[\s\S]*ran [\s\S]*synced/);
  });
});
