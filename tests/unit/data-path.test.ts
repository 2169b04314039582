import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CONTROL_CHARACTER } from "../../core/text";
import { loaderCommand, loaderPath, uploadCommand } from "../../components/data-path";

/**
 * Runs each command line in one bash with `npx` replaced by a function that prints its arguments,
 * so the test sees exactly the argv the step would run.
 */
function argvOf(commands: string[]): string[][][] {
  const script = ['npx() { printf "%s\\0" "$@"; printf "\\1\\0"; }', ...commands.map((c) => `${c}; printf "\\2\\0"`)].join("\n");
  const run = spawnSync("bash", ["-c", script], { encoding: "utf8" });
  expect(run.status, run.stderr).toBe(0);
  const fields = run.stdout.split("\0").slice(0, -1);
  const out: string[][][] = [];
  let command: string[][] = [];
  let argv: string[] = [];
  for (const field of fields) {
    if (field === "\u0001") {
      command.push(argv);
      argv = [];
    } else if (field === "\u0002") {
      out.push(command);
      command = [];
    } else argv.push(field);
  }
  return out;
}

// Anything a path or URL may hold, except NUL (no argv can) and other controls (the config refuses them).
const text = fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }).filter((s) => !CONTROL_CHARACTER.test(s));

describe("uploadCommand", () => {
  it("bash reads back exactly the source and destination, whatever they hold (property)", () => {
    const cases = fc.sample(fc.tuple(text, text), 150);
    const commands = cases.map(([source, destination]) => uploadCommand(source, destination));
    argvOf(commands).forEach((steps, i) => {
      expect(steps).toEqual([["--no", "trainctl", "transfer", cases[i][0], cases[i][1], "--sync"]]);
    });
  });

  it("plain paths are left unquoted, readable in the plan", () => {
    expect(uploadCommand("/home/alice/data", "s3://b/dataset/")).toBe("npx --no trainctl transfer /home/alice/data s3://b/dataset/ --sync");
  });
});

describe("loaderCommand", () => {
  const spec = { strategy: "local-cache", format: "image", data: "s3://b/dataset/", instanceType: "g5.xlarge", cacheDir: "/mnt/data/dataset" };

  it("generates, then publishes: two steps, the second only if the first succeeds", () => {
    expect(loaderCommand(spec, ".trainctl/dev/loader.py", "s3://c/code/loader.py")).toBe(
      "npx --no trainctl dataloader --strategy local-cache --format image --data s3://b/dataset/ --instance-type g5.xlarge --cache-dir /mnt/data/dataset --out .trainctl/dev/loader.py --force && npx --no trainctl transfer .trainctl/dev/loader.py s3://c/code/loader.py",
    );
    const failing = spawnSync("bash", ["-c", `npx() { echo ran "$3"; return 1; }; ${loaderCommand(spec, "out.py", "s3://c/x")}`], { encoding: "utf8" });
    expect(failing.stdout.trim().split("\n")).toEqual(["ran dataloader"]);
  });

  it("the cache folder is passed for local-cache only", () => {
    expect(loaderCommand({ ...spec, strategy: "direct-s3" }, "o.py", "s3://c/x")).not.toContain("--cache-dir");
    expect(loaderCommand({ ...spec, cacheDir: undefined }, "o.py", "s3://c/x")).not.toContain("--cache-dir");
  });

  it("bash reads back every value exactly (property)", () => {
    const cases = fc.sample(fc.tuple(text, text, text, text), 100);
    const commands = cases.map(([data, cacheDir, out, destination]) => loaderCommand({ ...spec, data, cacheDir }, out, destination));
    argvOf(commands).forEach((steps, i) => {
      const [data, cacheDir, out, destination] = cases[i];
      expect(steps).toEqual([
        [
          "--no",
          "trainctl",
          "dataloader",
          "--strategy",
          "local-cache",
          "--format",
          "image",
          "--data",
          data,
          "--instance-type",
          "g5.xlarge",
          "--cache-dir",
          cacheDir,
          "--out",
          out,
          "--force",
        ],
        ["--no", "trainctl", "transfer", out, destination],
      ]);
    });
  });
});

describe("loaderPath", () => {
  it("one generated loader per stack, under .trainctl/", () => {
    expect(loaderPath("dev")).toBe(".trainctl/dev/loader.py");
    expect(loaderPath("dev")).not.toBe(loaderPath("prod"));
  });
});
