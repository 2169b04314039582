import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { type OfflineRun, runOffline } from "../../scripts/state/offline-program";

const program = path.join(__dirname, "..", "fixtures", "programs", "data-path.ts");
const projectDir = mkdtempSync(path.join(tmpdir(), "trainctl-datapath-"));
const dataset = path.join(projectDir, "my data");
mkdirSync(dataset);
writeFileSync(path.join(dataset, "0.npy"), "zero");

const plan = (localSource?: string) =>
  runOffline({ stack: "exp", program, config: { "test:projectDir": projectDir, ...(localSource ? { "test:localSource": localSource } : {}) } });
const commands = (run: OfflineRun) => run.captured.filter((c) => c.record.type === "command:local:Command");

describe("DataPath under mocks", () => {
  it("a local source declares the upload and the loader, with their full command lines", async () => {
    const run = await plan("my data");
    const [upload, loader] = commands(run);
    expect(commands(run)).toHaveLength(2);
    expect(upload.record.name).toBe("exp-data-path-upload");
    expect(upload.record.inputs.create).toBe(`npx --no trainctl transfer '${dataset}' s3://exp-datasets-abc/dataset/ --sync`);
    expect(upload.record.inputs.delete).toBeUndefined();
    expect(upload.record.inputs.triggers).toEqual([expect.stringMatching(/^sha256:[0-9a-f]{64}$/)]);
    expect(loader.record.inputs.create).toBe(
      "npx --no trainctl dataloader --strategy local-cache --format npy --data s3://exp-datasets-abc/dataset/ --instance-type g5.xlarge --out .trainctl/exp/loader.py --force && npx --no trainctl transfer .trainctl/exp/loader.py s3://exp-checkpoints-abc/code/loader.py",
    );
    expect(loader.record.inputs.triggers).toEqual(["local-cache", "npy", "s3://exp-datasets-abc/dataset/", "g5.xlarge"]);
    expect(loader.request.dependencies).toContain(upload.record.urn);
    expect(run.outputs).toMatchObject({ datasetLocation: "s3://exp-datasets-abc/dataset/", loaderLocation: "s3://exp-checkpoints-abc/code/loader.py" });
  });

  it("an s3:// source declares only the loader", async () => {
    const run = await plan();
    expect(commands(run).map((c) => c.record.name)).toEqual(["exp-data-path-loader"]);
  });

  it("the upload trigger changes with a changed file and stays put for an unchanged tree", async () => {
    const trigger = async () => (commands(await plan("my data"))[0].record.inputs.triggers as string[])[0];
    const first = await trigger();
    expect(await trigger()).toBe(first);
    writeFileSync(path.join(dataset, "0.npy"), "zero, longer");
    utimesSync(path.join(dataset, "0.npy"), 1_800_000_000, 1_800_000_000);
    expect(await trigger()).not.toBe(first);
  });
});
