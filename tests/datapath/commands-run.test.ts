import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runOffline } from "../../scripts/state/offline-program";
import { ROOT } from "../helpers/cli";
import { type S3rverHandle, startS3rver } from "../helpers/s3rver";

const program = path.join(__dirname, "..", "fixtures", "programs", "data-path.ts");

describe("the data path's captured command lines, executed for real", () => {
  let s3: S3rverHandle;
  const stack = `itest-${process.pid}`;
  const dataset = mkdtempSync(path.join(tmpdir(), "trainctl-itest-ds-"));

  beforeAll(async () => {
    s3 = await startS3rver(["exp-datasets-abc", "exp-checkpoints-abc"]);
    mkdirSync(path.join(dataset, "train"));
    const make = spawnSync("/usr/bin/python3", ["-c", `import numpy as np\nfor i in range(12): np.save("${dataset}/train/%02d.npy" % i, np.full((4,), i))`]);
    expect(make.status).toBe(0);
  });
  afterAll(async () => {
    await s3?.stop();
    rmSync(path.join(ROOT, ".trainctl", stack), { recursive: true, force: true });
  });

  it("uploads the dataset and publishes a loader that runs under Debian's torch", async () => {
    const run = await runOffline({ stack, program, config: { "test:projectDir": ROOT, "test:localSource": dataset } });
    const commands = run.captured.filter((c) => c.record.type === "command:local:Command").map((c) => c.record.inputs);
    expect(commands).toHaveLength(2);
    const env = { ...process.env, ...s3.env() };
    for (const { create, dir } of commands) {
      const result = spawnSync("bash", ["-c", String(create)], { cwd: String(dir), env, encoding: "utf8", timeout: 120_000 });
      expect(result.status, `${String(create)}\n${result.stderr}`).toBe(0);
    }
    const listed = await s3.client().send(new ListObjectsV2Command({ Bucket: "exp-datasets-abc", Prefix: "dataset/" }));
    expect(listed.Contents?.map((o) => o.Key).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `dataset/train/${String(i).padStart(2, "0")}.npy`));

    const published = await s3.client().send(new GetObjectCommand({ Bucket: "exp-checkpoints-abc", Key: "code/loader.py" }));
    const loader = path.join(mkdtempSync(path.join(tmpdir(), "trainctl-itest-")), "loader.py");
    writeFileSync(loader, Buffer.from(await published.Body!.transformToByteArray()));
    expect(readFileSync(loader, "utf8")).toBe(readFileSync(path.join(ROOT, ".trainctl", stack, "loader.py"), "utf8"));
    const cache = mkdtempSync(path.join(tmpdir(), "trainctl-itest-cache-"));
    const check = spawnSync("/usr/bin/python3", [loader, "--batch-size", "4"], {
      env: { ...env, TRAINCTL_CACHE_DIR: cache, PATH: "/usr/bin:/bin" },
      encoding: "utf8",
    });
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/^12 samples in /);
  });
});
