import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { COMPILED_CLI, ROOT } from "../helpers/cli";

/**
 * Start-up (#18): `--version` and every `--help` answer from the command modules' option declarations
 * alone. The SDKs, Pulumi and zod load only inside a handler. Checked by what the compiled CLI loads,
 * not by timing. It runs dist/, which vitest's global setup compiles.
 */
const HOOK = path.join(ROOT, "tests", "helpers", "module-load-hook.cjs");
const HEAVY = /node_modules\/(@aws-sdk\/|@smithy\/|@pulumi\/|zod\/)/;
const scratch = mkdtempSync(path.join(tmpdir(), "trainctl-startup-"));

/** The package names (from node_modules paths) the CLI loads for these arguments. */
function packagesLoaded(args: string[]): { code: number; stdout: string; packages: string[]; files: string[] } {
  const log = path.join(scratch, `${args.join("_").replace(/\W/g, "-")}.log`);
  const result = spawnSync(process.execPath, ["--require", HOOK, COMPILED_CLI, ...args], {
    cwd: scratch,
    encoding: "utf8",
    env: { ...process.env, TRAINCTL_MODULE_LOG: log },
  });
  const files = readFileSync(log, "utf8").split("\n").filter(Boolean);
  const packages = [...new Set(files.map((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1]).filter((p): p is string => Boolean(p)))].sort();
  return { code: result.status ?? -1, stdout: result.stdout, packages, files };
}

const heavy = (packages: string[]) => packages.filter((p) => HEAVY.test(`node_modules/${p}/`));

// Every command file the CLI registers, and the experiment subcommands.
const commands = () =>
  readdirSync(path.join(ROOT, "dist", "scripts", "commands"))
    .filter((f) => f.endsWith(".js"))
    .map((f) => f.replace(/\.js$/, ""));
const subcommands = ["experiment new", "experiment list", "experiment up", "experiment destroy", "experiment gc"];

describe("what --help and --version load", () => {
  it("covers every command the issue names", () => {
    expect(commands()).toEqual(
      expect.arrayContaining(["experiment", "preflight", "recommend", "run", "status", "transfer", "cost", "teardown", "sweep", "plan", "dataloader", "logs"]),
    );
  });

  it("the hook sees a handler load the S3 SDK (so an empty list below means something)", () => {
    const run = packagesLoaded(["transfer", "--abort"]);
    expect(run.code).toBe(0);
    expect(heavy(run.packages)).toContain("@aws-sdk/client-s3");
  });

  it("--version loads no package at all", () => {
    const run = packagesLoaded(["--version"]);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(run.packages).toEqual([]);
  });

  it.each([[""], ["completion"], ...subcommands.map((s) => [s])])("`trainctl %s --help` loads no SDK, Pulumi or zod", (command) => {
    const run = packagesLoaded([...command.split(" ").filter(Boolean), "--help"]);
    expect(run.code).toBe(0);
    expect(run.packages).toContain("yargs");
    expect(heavy(run.packages)).toEqual([]);
  });

  it("`trainctl <command> --help` loads no SDK, Pulumi or zod, for every command", () => {
    for (const command of commands()) {
      const run = packagesLoaded([command, "--help"]);
      expect(run.code, command).toBe(0);
      expect(
        run.files.some((f) => f.endsWith(path.join("commands", `${command}.js`))),
        command,
      ).toBe(true);
      expect(heavy(run.packages), command).toEqual([]);
    }
  });
});
