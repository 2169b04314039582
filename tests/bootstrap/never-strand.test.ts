// The boot must never strand a billing GPU or format data (issue 16, items 11–16). Disk images are
// real (mkfs.ext4, mkfs.xfs, sfdisk on plain files; blkid reads them); only mount and systemctl are
// fakes, since the sandbox cannot mount.
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { type BootstrapOptions, SPOT_BUDGET_LIMIT_SECONDS, bootstrapEnv, volumeOrigin } from "../../components/bootstrap";
import { estimateWarm } from "../../components/warming";
import { INSTANCE_SPECS } from "../../core/instance-specs";
import { trainctl } from "../helpers/cli";
import { SCRIPTS, need, sandbox } from "./sandbox";

const volumeId = "vol-0123456789abcdef0";
/** One node without a data volume; each block adds its autostop and market. */
const ONE_NODE = {
  experiment: "dev",
  region: "us-east-1",
  nodeIndex: 0,
  nodeCount: 1,
  volumeId: undefined,
  volumeOrigin: undefined,
  mountPoint: "/mnt/data",
  warm: "none",
  checkpointPrefix: "checkpoints/",
} as const;
const isZero = (file: string) => readFileSync(file).every((byte) => byte === 0);

/** A sandbox whose data volume (found by its NVMe serial) is the image file `disk.img`. */
function volume(origin: string, fakes: Record<string, string> = {}) {
  const box = sandbox(fakes);
  const image = path.join(box.root, "disk.img");
  execFileSync("truncate", ["-s", "64M", image]);
  const byId = path.join(box.root, "by-id");
  mkdirSync(byId);
  symlinkSync(image, path.join(byId, `nvme-Amazon_Elastic_Block_Store_${volumeId.replace("-", "")}`));
  const fstab = path.join(box.root, "fstab");
  const mounted = path.join(box.root, "mounted");
  const extra = {
    TRAINCTL_VOLUME_ID: volumeId,
    TRAINCTL_VOLUME_ORIGIN: origin,
    TRAINCTL_MOUNT_POINT: path.join(box.root, "mnt"),
    TRAINCTL_DEV_BY_ID: byId,
    TRAINCTL_FSTAB: fstab,
    TRAINCTL_MOUNT: `touch ${mounted}`,
    TRAINCTL_WAIT_SECONDS: "2",
  };
  const mount = () => box.run("mount-data-volume.sh", extra);
  const fstabText = () => (existsSync(fstab) ? readFileSync(fstab, "utf8") : "");
  return { ...box, image, extra, mount, fstabText, mounted };
}
const blkid = (file: string, tag: string) => execFileSync("blkid", ["-p", "-s", tag, "-o", "value", file], { encoding: "utf8" }).trim();

describe("volumeOrigin: the bootstrap is told how the volume came to be", () => {
  it("only a volume with neither snapshotId nor adopt is empty", () => {
    expect(volumeOrigin({})).toBe("empty");
    expect(volumeOrigin({ snapshotId: "snap-0123456789abcdef0" })).toBe("snapshot");
    expect(volumeOrigin({ adopt: "vol-0123456789abcdef0" })).toBe("adopted");
  });
});

describe("the program tells each node its volume's origin and maxHours in seconds", () => {
  it("dev (a volume restored from snapshotId, maxHours 72) renders TRAINCTL_VOLUME_ORIGIN='snapshot'", () => {
    const result = trainctl(["plan", "--stack", "dev", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const instances = JSON.parse(result.stdout).resources.filter((r: { type: string }) => r.type === "aws:ec2/instance:Instance");
    expect(instances.length).toBeGreaterThan(0);
    for (const instance of instances) {
      expect(instance.inputs.userData).toContain("TRAINCTL_VOLUME_ORIGIN='snapshot'");
      expect(instance.inputs.userData).toContain("TRAINCTL_MAX_SECONDS='259200'");
    }
  });
});

describe("mount-data-volume.sh formats only a blank volume the stack created empty", () => {
  it.each(["snapshot", "adopted", ""])("a blank volume of origin %j is never formatted and not mounted", (origin) => {
    const v = volume(origin);
    const result = v.mount();
    expect(result.status).toBe(1);
    expect(isZero(v.image)).toBe(true);
    expect(v.fstabText()).toBe("");
    expect(existsSync(v.mounted)).toBe(false);
    expect(v.log()).toContain("not formatting a volume the stack did not create empty");
  });

  it("blkid failing with an I/O error (exit 4) never formats, even a volume created empty", () => {
    const v = volume("empty", { blkid: "#!/bin/sh\necho 'blkid: error reading device' >&2\nexit 4\n" });
    const result = v.mount();
    expect(result.status).toBe(1);
    expect(isZero(v.image)).toBe(true);
    expect(v.fstabText()).toBe("");
    expect(v.log()).toContain("exited 4");
  });

  it("a volume with data blkid cannot name (exit 2, first MiB not zero) is never formatted", () => {
    const v = volume("empty");
    writeFileSync(v.image, Buffer.alloc(4096, 0x5a), { flag: "r+" });
    expect(v.mount().status).toBe(1);
    expect(
      readFileSync(v.image)
        .subarray(0, 4096)
        .every((b) => b === 0x5a),
    ).toBe(true);
    expect(v.log()).toContain("first MiB is not blank");
  });

  it("an ext4 volume restored from a snapshot keeps its filesystem and mounts by UUID as ext4", () => {
    const v = volume("snapshot");
    execFileSync("mkfs.ext4", ["-q", "-L", "users-data", v.image]);
    const uuid = blkid(v.image, "UUID");
    expect(v.mount().status).toBe(0);
    expect(blkid(v.image, "UUID")).toBe(uuid);
    expect(v.fstabText()).toBe(`UUID=${uuid} ${v.extra.TRAINCTL_MOUNT_POINT} ext4 defaults,nofail,noatime 0 2\n`);
    expect(existsSync(v.mounted)).toBe(true);
  });

  it("an XFS snapshot mounts with type xfs in fstab, not ext4", () => {
    need("mkfs.xfs", "xfsprogs");
    const v = volume("snapshot");
    execFileSync("truncate", ["-s", "320M", v.image]);
    execFileSync("mkfs.xfs", ["-q", v.image]);
    const uuid = blkid(v.image, "UUID");
    const result = v.mount();
    expect(result.status, v.log()).toBe(0);
    expect(v.fstabText()).toBe(`UUID=${uuid} ${v.extra.TRAINCTL_MOUNT_POINT} xfs defaults,nofail,noatime 0 0\n`);
    expect(blkid(v.image, "TYPE")).toBe("xfs");
  });

  it("a partitioned snapshot (PTTYPE, no UUID on the disk) mounts its largest partition that holds a filesystem", () => {
    need("sfdisk", "fdisk");
    need("mkfs.xfs", "xfsprogs");
    const v = volume("snapshot");
    execFileSync("truncate", ["-s", "400M", v.image]);
    execFileSync("sfdisk", ["-q", v.image], { input: "label: gpt\n,16M\n,\n" });
    expect(blkid(v.image, "PTTYPE")).toBe("gpt");
    // The kernel's partition nodes, disk.img1 and disk.img2, stand in as files holding real filesystems.
    const small = `${v.image}1`;
    const large = `${v.image}2`;
    execFileSync("truncate", ["-s", "16M", small]);
    execFileSync("mkfs.ext4", ["-q", small]);
    execFileSync("truncate", ["-s", "320M", large]);
    execFileSync("mkfs.xfs", ["-q", large]);
    const result = v.mount();
    expect(result.status, v.log()).toBe(0);
    expect(v.fstabText()).toBe(`UUID=${blkid(large, "UUID")} ${v.extra.TRAINCTL_MOUNT_POINT} xfs defaults,nofail,noatime 0 0\n`);
    expect(blkid(v.image, "PTTYPE")).toBe("gpt");
    // fio warms the whole volume, not only the partition.
    expect(readFileSync(path.join(v.env.TRAINCTL_STATE_DIR, "data-device"), "utf8").trim()).toBe(v.image);
  });

  it("a partitioned volume with no filesystem on any partition is neither formatted nor mounted", () => {
    need("sfdisk", "fdisk");
    const v = volume("empty");
    execFileSync("sfdisk", ["-q", v.image], { input: "label: dos\n,\n" });
    execFileSync("truncate", ["-s", "8M", `${v.image}1`]);
    expect(v.mount().status).toBe(1);
    expect(isZero(`${v.image}1`)).toBe(true);
    expect(v.fstabText()).toBe("");
    expect(v.log()).toContain("no partition with a filesystem");
  });
});

describe("setup.sh installs the stops before anything that can fail", () => {
  it("a mount failure leaves the autostop (with maxHours) and the spot watcher enabled", () => {
    const calls = "systemctl.log";
    const v = volume("snapshot", { systemctl: `#!/bin/sh\necho "$@" >> "$HOME/${calls}"\n` });
    const units = path.join(v.root, "units");
    mkdirSync(units);
    // The volume never appears: the mount fails.
    const result = v.run("setup.sh", {
      ...v.extra,
      TRAINCTL_VOLUME_ID: "vol-0ffffffffffffffff",
      TRAINCTL_WAIT_SECONDS: "1",
      TRAINCTL_SYSTEMD_DIR: units,
      TRAINCTL_SYSTEMCTL: "systemctl",
      TRAINCTL_SPOT: "1",
    });
    expect(result.status).not.toBe(0);
    expect(readdirSync(units).sort()).toEqual([
      "trainctl-autostop.service",
      "trainctl-autostop.timer",
      "trainctl-metrics.service",
      "trainctl-metrics.timer",
      "trainctl-spot-watcher.service",
    ]);
    expect(readFileSync(path.join(v.root, calls), "utf8").trim().split("\n")).toEqual([
      "daemon-reload",
      "enable --now trainctl-autostop.timer trainctl-metrics.timer trainctl-spot-watcher.service",
    ]);
    expect(v.log()).toMatch(/enabled trainctl-autostop\.timer[\s\S]*never appeared[\s\S]*the stops are in place/);
  });
});

describe("autostop.sh: staging and warming are busy, maxHours is exact", () => {
  const options: BootstrapOptions = { ...ONE_NODE, autostop: { idleMinutes: 1, action: "terminate", gpuThresholdPercent: 5 }, spot: false };
  /** A sandbox whose autostop shuts down after one idle minute, with the env the node would get. */
  function node(maxHours?: number) {
    const box = sandbox({ "nvidia-smi": "#!/bin/sh\necho 0\n" });
    const shutdown = path.join(box.root, "shutdown-called");
    const env: Record<string, string> = {
      ...bootstrapEnv({ ...options, maxHours }),
      ...box.env,
      TRAINCTL_SHUTDOWN: `touch ${shutdown}`,
      TRAINCTL_UPTIME_SECONDS: "60",
    };
    writeFileSync(box.env.TRAINCTL_ENV_FILE, "");
    return { ...box, env, shutdown, runDir: box.env.TRAINCTL_RUN_DIR };
  }

  it("maxHours 0.5 does not stop the node after 400 s, and stops it at 1800 s", () => {
    const n = node(0.5);
    // Busy GPU, so that only maxHours could stop it.
    writeFileSync(path.join(n.bin, "nvidia-smi"), "#!/bin/sh\necho 90\n");
    expect(n.run("autostop.sh", { ...n.env, TRAINCTL_UPTIME_SECONDS: "400" }).status).toBe(0);
    expect(existsSync(n.shutdown)).toBe(false);
    expect(n.run("autostop.sh", { ...n.env, TRAINCTL_UPTIME_SECONDS: "1799" }).status).toBe(0);
    expect(existsSync(n.shutdown)).toBe(false);
    expect(n.run("autostop.sh", { ...n.env, TRAINCTL_UPTIME_SECONDS: "1800" }).status).toBe(0);
    expect(existsSync(n.shutdown)).toBe(true);
  });

  it("a minute during dataset staging is busy; the first idle minute after it stops the node", () => {
    const n = node();
    // aws s3 sync runs the autostop's minute while it copies.
    const aws = path.join(n.bin, "aws");
    writeFileSync(aws, `#!/bin/bash\nif [[ $1 == s3 ]]; then bash ${path.join(SCRIPTS, "autostop.sh")}; fi\n`);
    chmodSync(aws, 0o755);
    const target = path.join(n.root, "dataset");
    const result = n.run("stage-dataset.sh", {
      ...n.env,
      TRAINCTL_AWS: aws,
      TRAINCTL_DATASET_SOURCE: "s3://datasets/imagenet/",
      TRAINCTL_DATASET_TARGET: target,
    });
    expect(result.status, result.stderr).toBe(0);
    expect(n.log()).toContain("staging=1");
    expect(existsSync(n.shutdown)).toBe(false);
    expect(existsSync(path.join(n.runDir, "staging.pid"))).toBe(false);
    n.run("autostop.sh", n.env);
    expect(existsSync(n.shutdown)).toBe(true);
  });

  it("a minute during fio warming is busy; the first idle minute after it stops the node", () => {
    const n = node();
    writeFileSync(path.join(n.bin, "fio"), `#!/bin/bash\nbash ${path.join(SCRIPTS, "autostop.sh")}\n`);
    chmodSync(path.join(n.bin, "fio"), 0o755);
    const device = path.join(n.root, "device.img");
    execFileSync("truncate", ["-s", "1M", device]);
    const result = n.run("warm-fio.sh", n.env, [device]);
    expect(result.status, result.stderr).toBe(0);
    expect(n.log()).toContain("warming=1");
    expect(existsSync(n.shutdown)).toBe(false);
    n.run("autostop.sh", n.env);
    expect(existsSync(n.shutdown)).toBe(true);
  });

  it("a pid file left by a dead stager is not busy", () => {
    const n = node();
    mkdirSync(n.runDir, { recursive: true });
    const dead = execFileSync("bash", ["-c", "sleep 0 & echo $!; wait"], { encoding: "utf8" }).trim();
    writeFileSync(path.join(n.runDir, "staging.pid"), dead);
    n.run("autostop.sh", n.env);
    expect(existsSync(n.shutdown)).toBe(true);
  });
});

describe("warm: fio installs fio on the node", () => {
  /** PATH without fio: the sandbox bin, then links to every other system tool. */
  function withoutFio(aptGet: string) {
    need("fio", "fio");
    const box = sandbox({ "apt-get": aptGet });
    const system = path.join(box.root, "system");
    mkdirSync(system);
    for (const dir of ["/usr/sbin", "/usr/bin"]) {
      for (const tool of readdirSync(dir)) {
        if (tool !== "fio" && !existsSync(path.join(system, tool))) symlinkSync(path.join(dir, tool), path.join(system, tool));
      }
    }
    const device = path.join(box.root, "device.img");
    execFileSync("truncate", ["-s", "64M", device]);
    const env = { PATH: `${box.bin}:${system}` };
    return { ...box, device, env, status: () => readFileSync(path.join(box.env.TRAINCTL_STATE_DIR, "warm-state"), "utf8").trim() };
  }

  it("installs fio with apt-get when the AMI lacks it, then reads the whole device", () => {
    const w = withoutFio(`#!/bin/sh\necho "$@" >> "$HOME/apt.log"\nln -sf /usr/bin/fio "$(dirname "$0")/fio"\n`);
    const result = w.run("warm-fio.sh", w.env, [w.device]);
    expect(result.status, w.log()).toBe(0);
    expect(readFileSync(path.join(w.root, "apt.log"), "utf8")).toMatch(/install fio/);
    expect(w.status()).toBe("warm 100");
  });

  it("a failed install marks warming failed, never hangs or pretends", () => {
    const w = withoutFio("#!/bin/sh\nexit 100\n");
    expect(w.run("warm-fio.sh", w.env, [w.device]).status).toBe(1);
    expect(w.status()).toBe("failed");
    expect(w.log()).toContain("could not install fio");
  });
});

describe("fio warming estimate: min(volume throughput, instance EBS baseline)", () => {
  it("every instance type in the specs has a baseline EBS bandwidth", () => {
    const missing = Object.entries(INSTANCE_SPECS).filter(([, spec]) => !(spec.ebsBaselineMbps > 0));
    expect(missing).toEqual([]);
  });

  const volume = { warm: "fio" as const, sizeGiB: 500, type: "gp3" as const, throughputMiBs: 1000, snapshotId: "snap-0123456789abcdef0" };

  it("g5.xlarge's 700 Mbps baseline (83.4 MiB/s) caps a 1000 MiB/s gp3 volume: 512000 MiB / 83.4465 MiB/s ≈ 6136 s", () => {
    const warm = estimateWarm(volume, "g5.xlarge");
    expect(warm.rateMiBs).toBeCloseTo(83.4465, 3);
    expect(warm.secondsToWarm).toBe(6136);
    expect(warm.detail).toContain("g5.xlarge's baseline EBS bandwidth");
  });

  it("p4d.24xlarge's 19,000 Mbps leaves the volume's 1000 MiB/s as the cap: 512 s", () => {
    const warm = estimateWarm(volume, "p4d.24xlarge");
    expect(warm.rateMiBs).toBe(1000);
    expect(warm.secondsToWarm).toBe(512);
    expect(warm.detail).toContain("volume's throughput");
  });
});

describe("spot watcher budget", () => {
  const env = bootstrapEnv({ ...ONE_NODE, autostop: { idleMinutes: 30, action: "terminate", gpuThresholdPercent: 5 }, spot: true });
  const budget = ["POLL", "HOOK", "GRACE", "SYNC"].map((step) => Number(env[`TRAINCTL_SPOT_${step}_SECONDS`]));

  it("poll + hook + grace + sync, as sent to the node, fit in 110 s of the two-minute notice", () => {
    expect(budget.every((seconds) => Number.isInteger(seconds) && seconds > 0)).toBe(true);
    expect(SPOT_BUDGET_LIMIT_SECONDS).toBeLessThanOrEqual(110);
    expect(budget.reduce((a, b) => a + b)).toBeLessThanOrEqual(SPOT_BUDGET_LIMIT_SECONDS);
  });

  it("docs/bootstrap.md states the same budget", () => {
    const docs = readFileSync(path.join(__dirname, "..", "..", "docs", "bootstrap.md"), "utf8");
    const [poll, hook, grace, sync] = budget;
    expect(docs).toContain(`${poll} s poll + ${hook} s hook + ${grace} s grace + ${sync} s sync = ${poll + hook + grace + sync} s`);
  });

  it("a hook that runs over its budget is killed and the checkpoint sync still runs", () => {
    const box = sandbox();
    const hook = path.join(box.root, "hook.sh");
    writeFileSync(hook, "#!/bin/sh\nsleep 60\n");
    chmodSync(hook, 0o755);
    const aws = path.join(box.bin, "aws");
    writeFileSync(aws, `#!/bin/sh\necho "$@" > "$HOME/synced"\n`);
    chmodSync(aws, 0o755);
    const checkpoints = path.join(box.root, "ckpt");
    mkdirSync(checkpoints);
    const imds = path.join(box.bin, "curl");
    // IMDS answers every request, so the first poll sees the notice.
    writeFileSync(imds, '#!/bin/sh\necho \'{"action":"terminate"}\'\n');
    chmodSync(imds, 0o755);
    const result = box.run("spot-watcher.sh", {
      TRAINCTL_AWS: aws,
      TRAINCTL_SPOT_POLL_SECONDS: "1",
      TRAINCTL_SPOT_HOOK_SECONDS: "1",
      TRAINCTL_SPOT_GRACE_SECONDS: "1",
      TRAINCTL_SPOT_SYNC_SECONDS: "5",
      TRAINCTL_SPOT_HOOK: hook,
      TRAINCTL_CHECKPOINT_DIR: checkpoints,
      TRAINCTL_CHECKPOINT_BUCKET: "checkpoints",
    });
    expect(result.status).toBe(0);
    expect(box.log()).toMatch(/ran over its 1s budget and was killed[\s\S]*hook\.sh failed[\s\S]*synced/);
    expect(readFileSync(path.join(box.root, "synced"), "utf8")).toContain(`s3 sync --only-show-errors ${checkpoints} s3://checkpoints/checkpoints/`);
  });
});
