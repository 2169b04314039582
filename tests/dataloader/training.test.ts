import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Format } from "../../core/config";
import { renderLoader } from "../../scripts/dataloader/generate";
import { expectUsageError, trainctl } from "../helpers/cli";

const PYTHON = "/usr/bin/python3";
const CHECK = path.join(__dirname, "check_training.py");
const SIZE = 40;

function needTorchvision(): void {
  const probe = spawnSync(PYTHON, ["-c", "import torch, PIL, pyflakes, torchvision"]);
  if (probe.status !== 0)
    throw new Error(
      "Debian's python3-torch, python3-pil, pyflakes3 and python3-torchvision are needed: apt-get install python3-torchvision (npm run test:setup)",
    );
}

/** A PYTHONPATH entry whose torchvision raises ImportError, as on a machine without it. */
function hiddenTorchvision(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "trainctl-no-tv-"));
  mkdirSync(path.join(dir, "torchvision"));
  writeFileSync(path.join(dir, "torchvision", "__init__.py"), 'raise ImportError("torchvision hidden by the test")\n');
  return dir;
}

function dataset(kind: string, count = 0): { dir: string; keys: string[] } {
  const dir = mkdtempSync(path.join(tmpdir(), `trainctl-train-${kind}-`));
  const keys = JSON.parse(execFileSync(PYTHON, [path.join(__dirname, "make_dataset.py"), kind, dir, String(count)], { encoding: "utf8" }));
  return { dir, keys };
}

function loader(format: Format, data: string, extra: { labels?: string } = {}): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "trainctl-train-gen-")), "loader.py");
  writeFileSync(file, renderLoader({ strategy: "prewarmed-ebs", format, data, instanceType: "g5.xlarge", imageSize: SIZE, ...extra }));
  return file;
}

function check(mode: string, file: string, args: string[] = [], env: Record<string, string> = {}) {
  const result = spawnSync(PYTHON, [CHECK, mode, file, ...args], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 300_000 });
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

// make_dataset.py's image-classes: uneven classes (5, 1, 9, 3), mixed sizes, greyscale/RGB/RGBA/palette, JPEG and PNG.
const CLASSES = ["ant", "bee", "cat", "dog"];

describe("generated loaders that train, under Debian's torch", () => {
  let images: { dir: string; keys: string[] };
  beforeAll(() => {
    needTorchvision();
    images = dataset("image-classes");
  });

  it("trainctl dataloader writes the class mapping beside the loader, and refuses to overwrite it without --force", () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), "trainctl-train-out-")), "loader.py");
    const args = ["dataloader", "--strategy", "prewarmed-ebs", "--format", "image", "--data", images.dir, "--out", out];
    expect(trainctl(args).code).toBe(0);
    expect(JSON.parse(readFileSync(path.join(path.dirname(out), "loader.classes.json"), "utf8"))).toEqual({
      classes: CLASSES,
      classToIndex: { ant: 0, bee: 1, cat: 2, dog: 3 },
    });
    expect(readFileSync(out, "utf8")).toContain(`CLASSES: List[str] = ${JSON.stringify(CLASSES)}`);
    expect(trainctl(args).code).toBe(2);
  });

  it("labels every sample with its class folder's index (uneven classes), with 0 and 2 workers", () => {
    const seen = check("labels", loader("image", images.dir));
    expect(seen.classes).toEqual(CLASSES);
    for (const run of ["workers0", "workers2"]) {
      const pairs = seen[run] as [string, number][];
      expect(pairs.map(([key]) => key).sort(), run).toEqual(images.keys);
      for (const [key, label] of pairs) expect(label, key).toBe(CLASSES.indexOf(key.split("/")[0]));
    }
  });

  it("agrees with torchvision's ImageFolder: same samples, targets and classes; eval tensors equal but for JPEG DCT-scaled decoding", () => {
    const result = check("anchor", loader("image", images.dir), [images.dir]);
    expect(result.sameKeys && result.sameLabels && result.sameClasses).toBe(true);
    // Normalised units (≈ 4.4 per unit of pixel range): PNGs and undrafted JPEGs match exactly, drafted ones within 1% of the range.
    for (const difference of result.meanAbsDifference) expect(difference).toBeLessThan(0.05);
    expect(result.meanAbsDifference.filter((d: number) => d === 0).length).toBeGreaterThan(images.keys.length / 2);
  });

  it.each([
    ["torchvision", {}],
    ["torch+PIL", "hidden"],
  ])("batches stack to [B, 3, S, S] float32 + label [B] from mixed sizes, modes and formats (%s transforms)", (backend, how) => {
    const env: Record<string, string> = how === "hidden" ? { PYTHONPATH: hiddenTorchvision() } : {};
    const file = loader("image", images.dir);
    const result = check("shapes", file, [], env);
    expect(result.transforms).toBe(backend);
    expect(result.batches).toHaveLength(10); // 18 samples in batches of 4, train and eval
    for (const batch of result.batches) {
      expect(batch.shape.slice(1)).toEqual([3, SIZE, SIZE]);
      expect(batch.dtype).toBe("torch.float32");
      expect(batch.labels).toEqual([batch.shape[0]]);
    }
    expect(result.customInput).toEqual(["RGB", "RGB"]); // any callable gets RGB images, as ImageFolder's loader gives
    const flakes = spawnSync(PYTHON, ["-m", "pyflakes", file], { encoding: "utf8", env: { ...process.env, ...env } });
    expect(flakes.stdout + flakes.stderr).toBe("");
  });

  it("the torch+PIL transforms equal torchvision's, draw for draw, in training and evaluation", () => {
    const file = loader("image", images.dir);
    const work = mkdtempSync(path.join(tmpdir(), "trainctl-train-tf-"));
    expect(check("transforms", file, [path.join(work, "tv.pt")]).transforms).toBe("torchvision");
    expect(check("transforms", file, [path.join(work, "pil.pt")], { PYTHONPATH: hiddenTorchvision() }).transforms).toBe("torch+PIL");
    const compare = `import torch\na, b = torch.load(${JSON.stringify(path.join(work, "tv.pt"))}), torch.load(${JSON.stringify(path.join(work, "pil.pt"))})\nprint(max((a[k] - b[k]).abs().max().item() for k in ("True", "False")), a["True"].shape[0])`;
    const [difference, count] = execFileSync(PYTHON, ["-c", compare], { encoding: "utf8" }).trim().split(" ").map(Number);
    expect(count).toBe(images.keys.length);
    expect(difference).toBeLessThan(1e-5);
  });

  it("loader.py --pack writes shards of JPEGs bounded to ceil(S × 256/224) px on the shorter side that still yield [B, 3, S, S] with their folders' labels", () => {
    const bound = Math.ceil((SIZE * 256) / 224);
    const out = mkdtempSync(path.join(tmpdir(), "trainctl-train-packed-"));
    const file = loader("image", images.dir);
    const low = spawnSync(PYTHON, [file, "--pack", out, "--max-side", String(SIZE - 1)], { encoding: "utf8" });
    expect([low.status, low.stderr.trim().split("\n").at(-1)]).toEqual([
      2,
      `loader.py: error: --max-side: ${SIZE - 1} is below the image size ${SIZE} (accepted: a whole number >= ${SIZE})`,
    ]);
    expect(readdirSync(out)).toEqual([]);
    const meta = JSON.parse(execFileSync(PYTHON, [file, "--pack", out], { encoding: "utf8" }));
    expect(meta).toEqual({ maxSide: bound, imageSize: SIZE, samples: images.keys.length, shards: 1, classes: CLASSES });
    expect(JSON.parse(readFileSync(path.join(out, "pack.json"), "utf8"))).toEqual(meta);
    const list = `import json, os, sys, tarfile\nfrom PIL import Image\nout = []\nfor shard in sorted(os.listdir(sys.argv[1])):\n    if shard.endswith(".tar"):\n        with tarfile.open(os.path.join(sys.argv[1], shard)) as t:\n            for m in t:\n                if m.name.endswith(".jpg"):\n                    image = Image.open(t.extractfile(m))\n                    out.append([m.name, image.format, *image.size])\nprint(json.dumps(out))`;
    const members = JSON.parse(execFileSync(PYTHON, ["-c", list, out], { encoding: "utf8" })) as [string, string, number, number][];
    expect(members.map(([name]) => name.replace(/\.jpg$/, "")).sort()).toEqual(images.keys.map((key) => key.replace(/\.(jpg|png)$/, "")));
    for (const [name, format, width, height] of members) expect([name, format, Math.min(width, height) <= bound]).toEqual([name, "JPEG", true]);
    expect(members.some(([, , width, height]) => Math.min(width, height) === bound)).toBe(true); // some were larger and were shrunk
    const shards = loader("webdataset", out);
    const seen = check("labels", shards);
    for (const run of ["workers0", "workers2"]) {
      const pairs = seen[run] as [string, number][];
      expect(pairs).toHaveLength(images.keys.length);
      for (const [key, label] of pairs) expect(label, key).toBe(CLASSES.indexOf(key.split("/")[1]));
    }
    for (const batch of check("shapes", shards).batches) expect([batch.shape.slice(1), batch.dtype]).toEqual([[3, SIZE, SIZE], "torch.float32"]);
  });

  it("WebDataset shards: labels from .cls and from .json members, images to [B, 3, S, S]", () => {
    const shards = dataset("webdataset-images");
    const seen = check("labels", loader("webdataset", shards.dir));
    for (const run of ["workers0", "workers2"]) {
      const pairs = seen[run] as [string, number][];
      expect(pairs.map(([key]) => key).sort()).toEqual(shards.keys);
      for (const [key, label] of pairs) expect(label, key).toBe(Number(key.split("/")[1]));
    }
  });

  it("a --labels manifest (CSV of class names) labels each key; names are indexed in sorted order", () => {
    const manifest = path.join(mkdtempSync(path.join(tmpdir(), "trainctl-train-m-")), "labels.csv");
    // Labels that disagree with the folders, so the manifest is visibly what counts.
    writeFileSync(manifest, ["key,label", ...images.keys.map((key, i) => `${key},${i % 3 === 0 ? "zebra" : "yak"}`)].join("\n"));
    const seen = check("labels", loader("image", images.dir, { labels: manifest }));
    expect(seen.classes).toEqual(["yak", "zebra"]);
    for (const [key, label] of seen.workers0 as [string, number][]) expect(label, key).toBe(images.keys.indexOf(key) % 3 === 0 ? 1 : 0);
  });

  it("a manifest missing a key is exit 2 at generation when the data is readable, naming the key; nothing is written", () => {
    const work = mkdtempSync(path.join(tmpdir(), "trainctl-train-m-"));
    const manifest = path.join(work, "labels.jsonl");
    writeFileSync(
      manifest,
      images.keys
        .slice(1)
        .map((key) => JSON.stringify({ key, label: 1 }))
        .join("\n"),
    );
    const out = path.join(work, "loader.py");
    const result = trainctl(["dataloader", "--strategy", "prewarmed-ebs", "--format", "image", "--data", images.dir, "--labels", manifest, "--out", out]);
    expectUsageError(result, new RegExp(`--labels: .*labels\\.jsonl has no label for key "${images.keys[0]}" \\(1 of 18 samples`));
    expect(existsSync(out)).toBe(false);
  });

  it("a manifest missing a key the generator could not see is a load error naming the key", () => {
    const shards = dataset("webdataset-images");
    const manifest = path.join(mkdtempSync(path.join(tmpdir(), "trainctl-train-m-")), "labels.jsonl");
    writeFileSync(
      manifest,
      shards.keys
        .filter((key) => !key.endsWith("00007"))
        .map((key) => JSON.stringify({ key, label: 2 }))
        .join("\n"),
    );
    const result = spawnSync(PYTHON, [CHECK, "labels", loader("webdataset", shards.dir, { labels: manifest })], { encoding: "utf8" });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/KeyError: "label manifest has no entry for key 'shard-1\.tar\/00007'/);
  });

  it.each(["npy", "webdataset"] as const)(
    "%s: a loader stopped after k batches and restored yields exactly the rest of the epoch (0/2 workers, 1/2 ranks)",
    (format) => {
      const data = dataset(format, 24);
      const { cases, mismatch } = check("resume", loader(format, data.dir));
      expect(mismatch).toBe("load_state_dict: state is for rank 0, this loader has 1");
      expect(cases).toHaveLength(2 * 3 * 2);
      for (const c of cases) {
        const what = `${format} workers=${c.workers} world=${c.world} rank=${c.rank} k=${c.k}`;
        expect(c.full.length, what).toBe(24 / c.world);
        expect(c.first.length, what).toBe(3 * c.k);
        expect(c.state, what).toMatchObject({ epoch: 1, position: 3 * c.k, seed: 1234, rank: c.rank, world_size: c.world });
        // Nothing repeated, nothing skipped; with one process (and always for map-style) the order is the same too.
        expect([...c.first, ...c.rest].sort(), what).toEqual([...c.full].sort());
        if (format === "npy" || c.workers === 0) expect([...c.first, ...c.rest], what).toEqual(c.full);
        expect(c.after, what).toMatchObject({ epoch: 2, position: 0, shards: {} });
      }
      // The ranks of one epoch are disjoint and cover the data.
      const ranks = cases.filter((c: { workers: number; world: number; k: number }) => c.workers === 0 && c.world === 2 && c.k === 1);
      expect([...ranks[0].full, ...ranks[1].full].sort()).toEqual(data.keys);
    },
  );
});
