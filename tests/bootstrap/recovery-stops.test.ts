// Spot recovery (issue 21): the stops never leave a billing GPU behind. The real scripts run with a
// stand-in `aws` that logs each call and answers what the script needs, and a stand-in IMDS.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { RUN_SPEC_KEY } from "../../core/names";
import { sandbox } from "./sandbox";

const GROUP = "trainctl-exp-node-1";
const RUNNING_SPEC = {
  version: 1,
  runId: "r1",
  command: ["true"],
  codeUrl: "s3://b/runs/r1/code/",
  env: {},
  secrets: {},
  port: 29500,
  nodeCount: 2,
  generation: 0,
  restarts: 0,
  status: "running",
  interruptions: [],
  restartLog: [],
  startedAt: "2026-12-02T12:00:00Z",
  updatedAt: "2026-12-02T12:00:00Z",
};

/**
 * A node of group 1 of 2 in recovery mode. `attach` is what `aws ec2 attach-volume` prints on stderr
 * (empty: it succeeds). `s3 cp` from the bucket writes the running spec; to the bucket it keeps the file.
 */
function recoveryNode(attach = "") {
  const box = sandbox({
    curl: '#!/bin/sh\ncase "$*" in *api/token*) echo token ;; *instance-id*) echo i-0abc ;; *) exit 22 ;; esac\n',
    aws: `#!/bin/bash
echo "$*" >>"$HOME/aws.log"
case "$1 $2" in
  "ec2 attach-volume") [[ -z "$ATTACH_ERROR" ]] || { echo "$ATTACH_ERROR" >&2; exit 254; } ;;
  "s3 cp") src="\${*: -2:1}" dst="\${*: -1}"; if [[ $src == s3://* ]]; then printf '%s' "$RUNNING_SPEC" >"$dst"; else cp "$src" "$HOME/uploaded.json"; fi ;;
esac
`,
    "nvidia-smi": "#!/bin/sh\necho 0\n",
  });
  const shutdown = path.join(box.root, "shutdown-called");
  const env = {
    TRAINCTL_AWS: "aws",
    TRAINCTL_RECOVERY: "1",
    TRAINCTL_GROUP_NAME: GROUP,
    TRAINCTL_NODE_INDEX: "1",
    TRAINCTL_NODE_COUNT: "2",
    TRAINCTL_REGION: "us-east-1",
    TRAINCTL_VOLUME_ID: "vol-0123456789abcdef0",
    TRAINCTL_DEVICE_NAME: "/dev/sdf",
    TRAINCTL_CHECKPOINT_BUCKET: "exp-checkpoints",
    TRAINCTL_RUN_SPEC_KEY: RUN_SPEC_KEY,
    TRAINCTL_SHUTDOWN: `touch ${shutdown}`,
    TRAINCTL_IDLE_MINUTES: "1",
    TRAINCTL_IDLE_ACTION: "terminate",
    TRAINCTL_UPTIME_SECONDS: "600",
    ATTACH_ERROR: attach,
    RUNNING_SPEC: JSON.stringify(RUNNING_SPEC),
  };
  const calls = () => (existsSync(path.join(box.root, "aws.log")) ? readFileSync(path.join(box.root, "aws.log"), "utf8").trim().split("\n") : []);
  return { ...box, env, shutdown, calls };
}

describe("recovery mode: autostop leaves the group instead of shutting down", () => {
  it("idle: terminates itself with --should-decrement-desired-capacity, never a plain shutdown", () => {
    const n = recoveryNode();
    expect(n.run("autostop.sh", n.env).status).toBe(0);
    expect(existsSync(n.shutdown)).toBe(false);
    expect(n.calls()).toContain(
      "autoscaling terminate-instance-in-auto-scaling-group --instance-id i-0abc --should-decrement-desired-capacity --region us-east-1",
    );
    expect(n.log()).toContain(`idle: terminating i-0abc and decrementing ${GROUP}'s desired capacity`);
  });

  it("maxHours: marks the running run stopped, then leaves the group", () => {
    const n = recoveryNode();
    writeFileSync(path.join(n.bin, "nvidia-smi"), "#!/bin/sh\necho 95\n");
    expect(n.run("autostop.sh", { ...n.env, TRAINCTL_MAX_SECONDS: "600" }).status).toBe(0);
    expect(existsSync(n.shutdown)).toBe(false);
    expect(JSON.parse(readFileSync(path.join(n.root, "uploaded.json"), "utf8"))).toMatchObject({ runId: "r1", status: "stopped" });
    const calls = n.calls();
    expect(calls.findIndex((c) => c.startsWith("s3 cp --only-show-errors --region us-east-1 --content-type application/json"))).toBeLessThan(
      calls.findIndex((c) => c.startsWith("autoscaling terminate-instance-in-auto-scaling-group")),
    );
  });
});

describe("recovery mode: a volume that will not attach scales the node's group to 0", () => {
  it("an error other than the volume being busy gives up at once", () => {
    const n = recoveryNode("An error occurred (UnauthorizedOperation) when calling the AttachVolume operation: denied");
    const result = n.run("attach-volume.sh", n.env);
    expect(result.status).toBe(1);
    expect(n.calls()).toEqual([
      "ec2 attach-volume --volume-id vol-0123456789abcdef0 --instance-id i-0abc --device /dev/sdf --region us-east-1",
      `autoscaling update-auto-scaling-group --auto-scaling-group-name ${GROUP} --desired-capacity 0 --region us-east-1`,
    ]);
    expect(n.log()).toMatch(/attach-volume failed: An error occurred \(UnauthorizedOperation\)[\s\S]*scaling trainctl-exp-node-1 to 0/);
  });

  it("a volume still in use after the wait gives up and scales the group to 0", () => {
    const n = recoveryNode("An error occurred (VolumeInUse) when calling the AttachVolume operation: vol-0123456789abcdef0 is already attached to an instance");
    const result = n.run("attach-volume.sh", { ...n.env, TRAINCTL_ATTACH_WAIT_SECONDS: "2", TRAINCTL_ATTACH_RETRY_SECONDS: "1" });
    expect(result.status).toBe(1);
    const calls = n.calls();
    expect(calls.filter((c) => c.startsWith("ec2 attach-volume")).length).toBeGreaterThanOrEqual(2);
    expect(calls.at(-1)).toBe(`autoscaling update-auto-scaling-group --auto-scaling-group-name ${GROUP} --desired-capacity 0 --region us-east-1`);
    expect(n.log()).toContain("still busy after 2s");
  });

  it("setup.sh stops there: nothing is mounted", () => {
    const n = recoveryNode("An error occurred (InvalidVolume.ZoneMismatch) when calling the AttachVolume operation: zone");
    const units = path.join(n.root, "units");
    mkdirSync(units);
    const result = n.run("setup.sh", { ...n.env, TRAINCTL_SYSTEMD_DIR: units, TRAINCTL_SYSTEMCTL: "true", TRAINCTL_MOUNT_POINT: path.join(n.root, "mnt") });
    expect(result.status).toBe(1);
    expect(n.log()).toMatch(/enabled trainctl-autostop\.timer[\s\S]*ZoneMismatch[\s\S]*the data volume is not attached/);
    expect(n.log()).not.toContain("mount:");
  });
});
