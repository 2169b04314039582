import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { METRICS_NAMESPACE, NODE_METRICS } from "../../core/node-metrics";
import { type AwsServerHandle, startAwsServer } from "../helpers/aws-server";
import { need, sandbox } from "./sandbox";

/** One datum of a query-protocol PutMetricData body (`MetricData.member.N.*`). */
interface Datum {
  name: string;
  unit: string;
  dimensions: Record<string, string>;
  values: number[];
}

function parsePutMetricData(form: Record<string, string>): Datum[] {
  const members = new Map<string, Record<string, string>>();
  for (const [key, value] of Object.entries(form)) {
    const match = /^MetricData\.member\.(\d+)\.(.+)$/.exec(key);
    if (!match) continue;
    members.set(match[1], { ...members.get(match[1]), [match[2]]: value });
  }
  return [...members.values()].map((m) => {
    const dimensions: Record<string, string> = {};
    for (let i = 1; m[`Dimensions.member.${i}.Name`]; i++) dimensions[m[`Dimensions.member.${i}.Name`]] = m[`Dimensions.member.${i}.Value`];
    const values = Object.keys(m)
      .filter((k) => k.startsWith("Values.member."))
      .sort((a, b) => Number(a.split(".").pop()) - Number(b.split(".").pop()))
      .map((k) => Number(m[k]));
    return { name: m.MetricName, unit: m.Unit, dimensions, values };
  });
}

/** A fake /proc: CPU jiffies, memory, disk sectors read and network bytes. */
function writeProc(dir: string, sample: { cpu: number[]; sectors: Record<string, number>; eth0: [number, number]; lo: [number, number] }) {
  mkdirSync(path.join(dir, "net"), { recursive: true });
  writeFileSync(path.join(dir, "stat"), `cpu  ${sample.cpu.join(" ")} 0 0\ncpu0 1 1 1 1 1 1 1 1 0 0\nintr 1\n`);
  writeFileSync(path.join(dir, "meminfo"), "MemTotal:       16000000 kB\nMemFree:         1000000 kB\nMemAvailable:    4000000 kB\n");
  writeFileSync(
    path.join(dir, "diskstats"),
    Object.entries(sample.sectors)
      .map(([name, sectors]) => ` 259       0 ${name} 100 0 ${sectors} 50 0 0 0 0 0 0 0`)
      .join("\n") + "\n",
  );
  const dev = (name: string, [rx, tx]: [number, number]) => `${name.padStart(6)}: ${rx} 10 0 0 0 0 0 0 ${tx} 10 0 0 0 0 0 0`;
  writeFileSync(
    path.join(dir, "net", "dev"),
    [
      "Inter-|   Receive                            |  Transmit",
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets",
      dev("lo", sample.lo),
      dev("eth0", sample.eth0),
      "",
    ].join("\n"),
  );
}

// Two samples a minute apart: 60% CPU busy, 1 MiB/s read from whole disks (partitions and loop
// devices ignored), 100 B/s in and 20 B/s out on eth0 (lo ignored).
const FIRST = {
  cpu: [1000, 0, 500, 8000, 500, 0, 0, 0],
  sectors: { nvme0n1: 2048, nvme0n1p1: 2048, nvme1n1: 4096, loop0: 999 },
  eth0: [1000, 2000] as [number, number],
  lo: [5000, 5000] as [number, number],
};
const SECOND = {
  cpu: [1400, 0, 700, 8300, 600, 0, 0, 0],
  sectors: { nvme0n1: 2048 + 61440, nvme0n1p1: 2048 + 61440, nvme1n1: 4096 + 61440, loop0: 99999 },
  eth0: [7000, 3200] as [number, number],
  lo: [90000, 90000] as [number, number],
};
const FOUR_GPUS = "87, 40960, 81920\n12, 8192, 81920\n100, 81920, 81920\n0, 0, 81920\n";

describe("publish-metrics.sh against a loopback CloudWatch and IMDSv2", () => {
  let cloudwatch: AwsServerHandle;
  let imds: AwsServerHandle;
  let failPuts = false;
  beforeAll(async () => {
    need("aws", "awscli");
    cloudwatch = await startAwsServer((request) =>
      failPuts
        ? { status: 500, body: `<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>boom</Message></Error></ErrorResponse>` }
        : {
            body: `<PutMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><ResponseMetadata><RequestId>${request.operation}</RequestId></ResponseMetadata></PutMetricDataResponse>`,
          },
    );
    imds = await startAwsServer((request) => {
      if (request.method === "PUT" && request.url === "/latest/api/token") return { body: "token-1" };
      if (request.headers["x-aws-ec2-metadata-token"] !== "token-1") return { status: 401 };
      return request.url === "/latest/meta-data/instance-id" ? { body: "i-0123456789abcdef0" } : { status: 404 };
    });
  });
  afterAll(async () => {
    await cloudwatch?.stop();
    await imds?.stop();
  });
  beforeEach(() => {
    cloudwatch.requests.length = 0;
    failPuts = false;
  });

  function node(fakes: Record<string, string>) {
    const box = sandbox(fakes);
    const proc = path.join(box.root, "proc");
    const extra = {
      AWS_ACCESS_KEY_ID: "AKIDTEST",
      AWS_SECRET_ACCESS_KEY: "secret",
      AWS_EC2_METADATA_DISABLED: "true",
      TRAINCTL_EXPERIMENT: "resnet-lr3e-4",
      TRAINCTL_REGION: "us-east-1",
      TRAINCTL_METRICS_NAMESPACE: METRICS_NAMESPACE,
      TRAINCTL_CLOUDWATCH_ENDPOINT: cloudwatch.endpoint,
      TRAINCTL_IMDS: imds.endpoint,
      TRAINCTL_PROC: proc,
    };
    /** One timer tick at `now` with the given counters; returns the data CloudWatch received. */
    const tick = async (now: number, sample: typeof FIRST) => {
      writeProc(proc, sample);
      const before = cloudwatch.requests.length;
      const result = await box.runAsync("publish-metrics.sh", { ...extra, TRAINCTL_NOW: String(now) });
      const puts = cloudwatch.requests.slice(before);
      return { result, puts, data: puts.flatMap((p) => parsePutMetricData(p.form ?? {})) };
    };
    return { ...box, tick };
  }

  const byName = (data: Datum[]) => Object.fromEntries(data.map((d) => [d.name, d]));

  it("publishes every metric with its unit, per GPU values and both dimensions; rates from the second minute", async () => {
    const n = node({
      "nvidia-smi": `#!/bin/sh\n[ "$*" = "--query-gpu=utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits" ] || exit 9\nprintf '${FOUR_GPUS}'\n`,
    });
    const first = await n.tick(1000, FIRST);
    expect(first.result.status, first.result.stderr + n.log()).toBe(0);
    expect(first.puts).toHaveLength(1);
    expect(first.puts[0].form).toMatchObject({ Action: "PutMetricData", Namespace: "trainctl" });
    // The first run has no earlier counters: gauges only.
    expect(first.data.map((d) => d.name).sort()).toEqual(["GPUMemoryUsed", "GPUMemoryUtilization", "GPUUtilization", "MemoryUtilization"]);

    const second = await n.tick(1060, SECOND);
    expect(second.result.status, second.result.stderr + n.log()).toBe(0);
    const data = byName(second.data);
    expect(Object.keys(data).sort()).toEqual(Object.keys(NODE_METRICS).sort());
    for (const datum of second.data) {
      expect(datum.unit, datum.name).toBe(NODE_METRICS[datum.name as keyof typeof NODE_METRICS]);
      expect(datum.dimensions).toEqual({ Experiment: "resnet-lr3e-4", InstanceId: "i-0123456789abcdef0" });
    }
    expect(data.GPUUtilization.values).toEqual([87, 12, 100, 0]);
    expect(data.GPUMemoryUsed.values).toEqual([40960, 8192, 81920, 0]);
    expect(data.GPUMemoryUtilization.values).toEqual([50, 10, 100, 0]);
    expect(data.MemoryUtilization.values).toEqual([75]);
    expect(data.CPUUtilization.values).toEqual([60]);
    expect(data.DiskReadBytesPerSecond.values).toEqual([1024 * 1024]);
    expect(data.NetworkInBytesPerSecond.values).toEqual([100]);
    expect(data.NetworkOutBytesPerSecond.values).toEqual([20]);
  });

  it("without nvidia-smi it still publishes CPU and memory, and says so once", async () => {
    const n = node({});
    expect((await n.tick(1000, FIRST)).result.status).toBe(0);
    const second = await n.tick(1060, SECOND);
    expect(second.result.status, second.result.stderr + n.log()).toBe(0);
    const names = second.data.map((d) => d.name);
    expect(names).toEqual(expect.arrayContaining(["CPUUtilization", "MemoryUtilization", "DiskReadBytesPerSecond", "NetworkInBytesPerSecond"]));
    expect(names.filter((name) => name.startsWith("GPU"))).toEqual([]);
    expect(n.log().match(/nvidia-smi unavailable/g)).toHaveLength(1);
  });

  it("skips the rates once after a reboot resets the counters", async () => {
    const n = node({});
    await n.tick(1000, SECOND);
    const afterReboot = await n.tick(1060, FIRST);
    expect(afterReboot.result.status).toBe(0);
    expect(afterReboot.data.map((d) => d.name)).toEqual(["MemoryUtilization"]);
    expect((await n.tick(1120, SECOND)).data.map((d) => d.name)).toContain("CPUUtilization");
  });

  it("a rejected put fails the run (the timer retries next minute) and logs CloudWatch's error", async () => {
    failPuts = true;
    const n = node({});
    const { result } = await n.tick(1000, FIRST);
    expect(result.status).not.toBe(0);
    expect(n.log()).toMatch(/put-metric-data failed: .*InternalFailure/);
  });
});
