import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  BOOTSTRAP_PATHS,
  type BootstrapOptions,
  USER_DATA_LIMIT_BYTES,
  bootstrapEnv,
  bootstrapScripts,
  renderUserData,
  shippedScript,
} from "../../components/bootstrap";
import { RUNTIME_TAG } from "../../core/tags";
import { estimateWarm } from "../../components/warming";

const options: BootstrapOptions = {
  experiment: "dev",
  region: "us-east-1",
  nodeIndex: 0,
  nodeCount: 2,
  volumeId: "vol-0123456789abcdef0",
  volumeOrigin: "snapshot",
  mountPoint: "/mnt/data",
  warm: "fio",
  dataset: { source: "s3://team-data/imagenet/", strategy: "prewarmed-ebs", target: "/mnt/data/dataset" },
  checkpointBucket: "dev-checkpoints-abc",
  checkpointPrefix: "checkpoints/",
  autostop: { idleMinutes: 30, action: "terminate", gpuThresholdPercent: 5 },
  maxHours: 72,
  spot: true,
};

describe("renderUserData", () => {
  const userData = renderUserData(options);

  it("is a valid bash script, deterministic, and within EC2's 16 KB limit", () => {
    expect(spawnSync("bash", ["-n"], { input: userData }).status).toBe(0);
    expect(renderUserData(options)).toBe(userData);
    expect(Buffer.byteLength(userData)).toBeLessThan(USER_DATA_LIMIT_BYTES);
  });

  it("writes every script as shipped (its comment lines dropped, nothing else) and an env file the scripts source", () => {
    const root = mkdtempSync(path.join(tmpdir(), "trainctl-userdata-"));
    // Run the user data with its system paths moved into a temp folder and setup replaced by a no-op.
    const relocated = userData
      .replaceAll(BOOTSTRAP_PATHS.bin, path.join(root, "opt"))
      .replaceAll(path.posix.dirname(BOOTSTRAP_PATHS.envFile), path.join(root, "etc"))
      .replaceAll(path.posix.dirname(BOOTSTRAP_PATHS.log), path.join(root, "log"))
      .replaceAll(BOOTSTRAP_PATHS.state, path.join(root, "state"))
      .replace(/^exec .*$/m, "true");
    execFileSync("bash", ["-c", relocated]);
    for (const [name, body] of Object.entries(bootstrapScripts())) {
      const shipped = readFileSync(path.join(root, "opt", name), "utf8");
      expect(shipped).toBe(shippedScript(body));
      // Only comment lines went: the shebang and every command are there, and bash still parses it.
      expect(shipped.split("\n")[0]).toBe(body.split("\n")[0]);
      expect(body.split("\n").filter((line) => !/^\s*#/.test(line))).toEqual(shipped.split("\n").slice(1));
      expect(spawnSync("bash", ["-n", path.join(root, "opt", name)]).status).toBe(0);
    }
    const env = execFileSync("bash", ["-c", `set -a; source ${path.join(root, "etc", "env")}; env`], { encoding: "utf8" });
    expect(env).toContain("TRAINCTL_VOLUME_ID=vol-0123456789abcdef0");
    expect(env).toContain("TRAINCTL_WARM=fio");
    expect(env).toContain("TRAINCTL_DATASET_SOURCE=s3://team-data/imagenet/");
    expect(env).toContain("TRAINCTL_MAX_SECONDS=259200");
    expect(env).toContain("TRAINCTL_VOLUME_ORIGIN=snapshot");
    expect(env).toContain("TRAINCTL_SPOT=1");
    expect(env).toContain("TRAINCTL_METRICS_NAMESPACE=trainctl");
  });

  it("runtime_tag writes the runtime tag keys core/tags.ts defines, named by the env file", () => {
    const root = mkdtempSync(path.join(tmpdir(), "trainctl-runtime-tag-"));
    const calls = path.join(root, "aws.log");
    const aws = path.join(root, "aws");
    writeFileSync(aws, `#!/bin/sh\necho "$@" >> ${calls}\n`);
    chmodSync(aws, 0o755);
    const envFile = path.join(root, "env");
    writeFileSync(
      envFile,
      Object.entries(bootstrapEnv(options))
        .map(([k, v]) => `${k}='${v}'`)
        .join("\n"),
    );
    const lib = path.join(__dirname, "..", "..", "components", "bootstrap", "lib.sh");
    const script = `source ${lib}; imds() { echo i-0123456789abcdef0; }; runtime_tag "$TRAINCTL_TAG_BUSY" true; runtime_tag "$TRAINCTL_TAG_STAGING" copying; runtime_tag "$TRAINCTL_TAG_WARM_STATE" warm`;
    execFileSync("bash", ["-c", script], {
      env: {
        PATH: process.env.PATH,
        TRAINCTL_ENV_FILE: envFile,
        TRAINCTL_AWS: aws,
        TRAINCTL_LOG: path.join(root, "log"),
        TRAINCTL_STATE_DIR: root,
        TRAINCTL_RUN_DIR: root,
      },
    });
    const tagged = readFileSync(calls, "utf8")
      .trim()
      .split("\n")
      .map((line) => line.split(" --tags ")[1]);
    expect(tagged).toEqual([`Key=${RUNTIME_TAG.busy},Value=true`, `Key=${RUNTIME_TAG.staging},Value=copying`, `Key=${RUNTIME_TAG.warmState},Value=warm`]);
  });
});

describe("setup.sh", () => {
  it("installs the autostop and metrics timers and, on spot, the interruption watcher, then enables them", () => {
    const root = mkdtempSync(path.join(tmpdir(), "trainctl-setup-"));
    const units = path.join(root, "units");
    mkdirSync(units);
    const calls = path.join(root, "systemctl.log");
    const systemctl = path.join(root, "systemctl");
    writeFileSync(systemctl, `#!/bin/sh\necho "$@" >> ${calls}\n`);
    chmodSync(systemctl, 0o755);
    writeFileSync(path.join(root, "env"), "");
    const result = spawnSync("bash", [path.join(__dirname, "..", "..", "components", "bootstrap", "setup.sh")], {
      encoding: "utf8",
      env: {
        PATH: process.env.PATH,
        TRAINCTL_ENV_FILE: path.join(root, "env"),
        TRAINCTL_LOG: path.join(root, "log"),
        TRAINCTL_STATE_DIR: path.join(root, "state"),
        TRAINCTL_RUN_DIR: path.join(root, "run"),
        TRAINCTL_SYSTEMD_DIR: units,
        TRAINCTL_SYSTEMCTL: systemctl,
        TRAINCTL_SPOT: "1",
      },
    });
    expect(result.status, result.stderr).toBe(0);
    expect(readdirSync(units).sort()).toEqual([
      "trainctl-autostop.service",
      "trainctl-autostop.timer",
      "trainctl-metrics.service",
      "trainctl-metrics.timer",
      "trainctl-spot-watcher.service",
    ]);
    expect(readFileSync(path.join(units, "trainctl-autostop.timer"), "utf8")).toContain("OnUnitActiveSec=1min");
    expect(readFileSync(path.join(units, "trainctl-metrics.timer"), "utf8")).toContain("OnUnitActiveSec=1min");
    expect(readFileSync(path.join(units, "trainctl-metrics.service"), "utf8")).toMatch(/^ExecStart=.*\/publish-metrics\.sh$/m);
    expect(readFileSync(calls, "utf8").trim().split("\n")).toEqual([
      "daemon-reload",
      "enable --now trainctl-autostop.timer trainctl-metrics.timer trainctl-spot-watcher.service",
    ]);
  });
});

describe("estimateWarm, worked by hand", () => {
  it("rate: 500 GiB at 300 MiB/s is 512000/300 s ≈ 28.4 min, at $0.0024/GiB", () => {
    const warm = estimateWarm({ warm: "rate", sizeGiB: 500, initRateMiBs: 300, type: "gp3", snapshotId: "snap-1" }, "p4d.24xlarge");
    expect(warm.secondsToWarm).toBe(1707);
    expect(warm.oneTimeUsd).toBeCloseTo(1.2, 9);
  });

  it("fio on gp3 is capped by provisioned throughput: 500 GiB at 500 MiB/s = 1024 s", () => {
    expect(estimateWarm({ warm: "fio", sizeGiB: 500, type: "gp3", throughputMiBs: 500, snapshotId: "snap-1" }, "p4d.24xlarge").secondsToWarm).toBe(1024);
    // Without provisioned throughput, gp3's 125 MiB/s baseline: 4096 s.
    expect(estimateWarm({ warm: "fio", sizeGiB: 500, type: "gp3", snapshotId: "snap-1" }, "p4d.24xlarge").secondsToWarm).toBe(4096);
  });

  it("fsr is warm at creation and bills $0.75 per DSU-hour", () => {
    expect(estimateWarm({ warm: "fsr", sizeGiB: 500, type: "gp3", snapshotId: "snap-1" }, "p4d.24xlarge")).toMatchObject({ secondsToWarm: 0, hourlyUsd: 0.75 });
  });

  it("none: a restored volume loads lazily (unknown), an empty one is warm", () => {
    expect(estimateWarm({ warm: "none", sizeGiB: 500, type: "gp3", snapshotId: "snap-1" }, "p4d.24xlarge").secondsToWarm).toBeNull();
    expect(estimateWarm({ warm: "none", sizeGiB: 500, type: "gp3" }, "p4d.24xlarge").secondsToWarm).toBe(0);
  });
});
