import { execFileSync, spawnSync } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderLoader } from "../../scripts/dataloader/generate";
import { FORMATS, type Format, STRATEGY_NAMES, type Strategy } from "../../core/config";
import { expectUsageError, trainctl } from "../helpers/cli";
import { type S3rverHandle, startS3rver } from "../helpers/s3rver";

const PYTHON = "/usr/bin/python3";
const COUNT = 24;

function needTorch(): void {
  const probe = spawnSync(PYTHON, ["-c", "import torch, numpy, PIL, boto3, pyflakes"]);
  if (probe.status !== 0) throw new Error("Debian's python3-torch, python3-numpy, python3-pil, python3-boto3 and pyflakes3 are needed: run npm run test:setup");
}

function files(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: "utf8" }).filter((f) => statSync(path.join(root, f)).isFile());
}

describe("generated DataLoader modules, run under Debian's torch", () => {
  let s3: S3rverHandle;
  const datasets = new Map<Format, { dir: string; keys: string[] }>();

  beforeAll(async () => {
    needTorch();
    s3 = await startS3rver(["datasets"]);
    for (const format of FORMATS) {
      const dir = mkdtempSync(path.join(tmpdir(), `trainctl-ds-${format}-`));
      const keys = JSON.parse(execFileSync(PYTHON, [path.join(__dirname, "make_dataset.py"), format, dir, String(COUNT)], { encoding: "utf8" }));
      for (const file of files(dir))
        await s3.client().send(new PutObjectCommand({ Bucket: "datasets", Key: `${format}/${file}`, Body: readFileSync(path.join(dir, file)) }));
      datasets.set(format, { dir, keys });
    }
  });
  afterAll(async () => s3?.stop());

  const combos = STRATEGY_NAMES.flatMap((strategy) => FORMATS.map((format) => [strategy, format] as [Strategy, Format]));

  it.each(combos)("%s × %s: compiles, passes pyflakes, sees each sample once per epoch, splits disjointly across ranks", (strategy, format) => {
    const { dir, keys } = datasets.get(format)!;
    const work = mkdtempSync(path.join(tmpdir(), "trainctl-gen-"));
    const data = strategy === "prewarmed-ebs" ? dir : `s3://datasets/${format}/`;
    const module = renderLoader({ strategy, format, data, instanceType: "g5.xlarge", cacheDir: path.join(work, "cache") });
    const file = path.join(work, "loader.py");
    writeFileSync(file, module);
    const flakes = spawnSync(PYTHON, ["-m", "pyflakes", file], { encoding: "utf8" });
    expect(flakes.stdout + flakes.stderr).toBe("");
    const env = { ...process.env, ...s3.env(), PATH: `/usr/bin:/bin` };
    const result = spawnSync(PYTHON, [path.join(__dirname, "check_loader.py"), file], { encoding: "utf8", env, timeout: 120_000 });
    expect(result.status, result.stderr).toBe(0);
    const seen = JSON.parse(result.stdout);
    const expected = keys;
    for (const run of ["workers0", "workers2"]) {
      expect(seen[run].length, run).toBe(COUNT);
      expect([...seen[run]].sort(), run).toEqual(expected);
    }
    expect(seen.rank0.filter((k: string) => seen.rank1.includes(k))).toEqual([]);
    expect([...seen.rank0, ...seen.rank1].sort()).toEqual(expected);
    if (format === "npy" || format === "webdataset") expect(seen.batchShape).toEqual([4, 8]);
    if (format === "image") expect(seen.batchShape).toEqual([4, 3, 224, 224]);
    if (strategy === "local-cache") expect(readFileSync(path.join(work, "cache", ".trainctl-staged"), "utf8")).toBe(data);
  });

  it("local-cache skips staging once staged: no S3 request on a second run", () => {
    const work = mkdtempSync(path.join(tmpdir(), "trainctl-gen-"));
    const file = path.join(work, "loader.py");
    writeFileSync(
      file,
      renderLoader({ strategy: "local-cache", format: "npy", data: "s3://datasets/npy/", instanceType: "g5.xlarge", cacheDir: path.join(work, "cache") }),
    );
    const env = { ...process.env, ...s3.env(), PATH: "/usr/bin:/bin" };
    expect(spawnSync(PYTHON, [file, "--batch-size", "8"], { env }).status).toBe(0);
    const before = s3.requests.length;
    const second = spawnSync(PYTHON, [file, "--batch-size", "8"], { env, encoding: "utf8" });
    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(/^24 samples in [\d.]+ s: [\d.]+ samples\/s, [\d.]+ MB\/s$/m);
    expect(s3.requests.length).toBe(before);
  });
});

describe("trainctl dataloader", () => {
  it("writes the module and refuses to overwrite it without --force", () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), "trainctl-out-")), "loader.py");
    const args = [
      "dataloader",
      "--strategy",
      "direct-s3",
      "--format",
      "webdataset",
      "--data",
      "s3://bucket-1/shards/",
      "--instance-type",
      "p4d.24xlarge",
      "--out",
      out,
    ];
    expect(trainctl(args).code).toBe(0);
    const text = readFileSync(out, "utf8");
    expect(text).toContain("NUM_WORKERS: int = 11");
    const again = trainctl(args);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/--out: .* exists; pass --force/);
    expect(trainctl([...args, "--force"]).code).toBe(0);
  });

  it("never replaces what is not a regular file at --out (a link, a folder), even with --force", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "trainctl-out-"));
    const victim = path.join(dir, "victim.txt");
    writeFileSync(victim, "keep");
    symlinkSync(victim, path.join(dir, "link.py"));
    mkdirSync(path.join(dir, "folder.py"));
    for (const name of ["link.py", "folder.py"]) {
      const result = trainctl([
        "dataloader",
        "--strategy",
        "direct-s3",
        "--format",
        "npy",
        "--data",
        "s3://bucket-1/x/",
        "--out",
        path.join(dir, name),
        "--force",
      ]);
      expectUsageError(result, /--out: .* is not a regular file/);
    }
    expect(lstatSync(path.join(dir, "link.py")).isSymbolicLink()).toBe(true);
    expect(readFileSync(victim, "utf8")).toBe("keep");
    expect(readdirSync(dir).sort()).toEqual(["folder.py", "link.py", "victim.txt"]);
  });

  it.each([
    [
      "an unknown format",
      ["--strategy", "direct-s3", "--format", "parquet", "--data", "s3://b-1/x/"],
      /--format: unknown format "parquet" \(accepted: files \| npy \| image \| webdataset\)/,
    ],
    ["an unknown strategy", ["--strategy", "fast", "--format", "npy", "--data", "s3://b-1/x/"], /--strategy: unknown strategy "fast"/],
    [
      "an S3 source for a strategy that needs local data",
      ["--strategy", "prewarmed-ebs", "--format", "npy", "--data", "s3://b-1/x/"],
      /--data: prewarmed-ebs reads a local folder/,
    ],
    ["a local source for a strategy that reads S3", ["--strategy", "direct-s3", "--format", "npy", "--data", "/data"], /--data: direct-s3 reads from S3/],
    [
      "an instance type not in the catalog",
      ["--strategy", "direct-s3", "--format", "npy", "--data", "s3://b-1/x/", "--instance-type", "x1.mega"],
      /--instance-type: x1\.mega is not in the instance catalog/,
    ],
  ])("%s exits 2 with a clear line and writes nothing", (_what, args, message) => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), "trainctl-out-")), "loader.py");
    const result = trainctl(["dataloader", ...args, "--out", out]);
    expectUsageError(result, message);
    expect(() => statSync(out)).toThrow();
  });
});
