import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMPILED_CLI, ROOT } from "../helpers/cli";

/**
 * The packed tarball, installed into a fresh Pulumi project elsewhere, as a team with its own program
 * would use it: the components as a library, and the `trainctl` command on the project's PATH.
 */
const USER_PROGRAM = `import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Experiment, costTags, experimentConfig } from "trainctl";

const config = experimentConfig({ owner: "bob", costCenter: "vision", instance: { type: "g6.xlarge" }, dataVolume: { sizeGiB: 200 } });
const tags = costTags({ project: pulumi.getProject(), experiment: pulumi.getStack(), owner: config.owner, costCenter: config.costCenter });
const provider = new aws.Provider("aws", { region: config.region as aws.Region, defaultTags: { tags } });
const experiment = new Experiment("resnet", { project: pulumi.getProject(), experiment: pulumi.getStack(), config, costTags: tags, projectDir: __dirname }, { providers: { aws: provider } });
export const nodes = experiment.instance.nodes.length;
`;

const OFFLINE_CHECK = `import { runOffline } from "trainctl";
runOffline({ stack: "lab", project: "vision", config: {}, program: require.resolve("./index.ts") }).then((run) => {
  process.stdout.write(JSON.stringify(run.model.resources.map((r) => ({ type: r.type, name: r.name, protect: r.protect, tags: r.tags }))));
});
`;

let project: string;

function run(command: string, args: string[], cwd = project) {
  return spawnSync(command, args, { cwd, encoding: "utf8", timeout: 300_000, env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" } });
}

beforeAll(() => {
  project = mkdtempSync(path.join(tmpdir(), "trainctl-user-"));
  const packed = execFileSync("npm", ["pack", "--silent", "--pack-destination", project], { cwd: ROOT, encoding: "utf8" }).trim().split("\n").at(-1)!;
  writeFileSync(
    path.join(project, "package.json"),
    JSON.stringify({ name: "vision", private: true, main: "index.ts", devDependencies: { typescript: "5.9.3" } }),
  );
  writeFileSync(path.join(project, "Pulumi.yaml"), "name: vision\nruntime: nodejs\n");
  copyFileSync(path.join(ROOT, "Pulumi.dev.yaml"), path.join(project, "Pulumi.dev.yaml"));
  writeFileSync(path.join(project, "index.ts"), USER_PROGRAM);
  writeFileSync(path.join(project, "check.ts"), OFFLINE_CHECK);
  const install = run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", `./${packed}`]);
  expect(install.status, install.stderr).toBe(0);
}, 300_000);

afterAll(() => rmSync(project, { recursive: true, force: true }));

describe("the built bin", () => {
  // npx runs it from the repository without linking it again when its cache already holds the project.
  it("is executable straight after the build", () => {
    expect(statSync(COMPILED_CLI).mode & 0o111).toBe(0o111);
  });
});

describe("the packed package, installed into another project", () => {
  it("ships the compiled CLI and library, not the sources or tests", () => {
    const installed = path.join(project, "node_modules", "trainctl");
    expect(readdirSync(installed).sort()).toEqual(expect.arrayContaining(["dist", "package.json"]));
    expect(readdirSync(installed)).not.toContain("tests");
    expect(readdirSync(path.join(installed, "dist", "components", "bootstrap"))).toContain("setup.sh");
  });

  it("runs `new Experiment(...)` from the user's own program under mocks, with one copy of @pulumi/pulumi", () => {
    const result = run(path.join(ROOT, "node_modules", ".bin", "tsx"), ["check.ts"]);
    expect(result.status, result.stderr).toBe(0);
    const resources = JSON.parse(result.stdout) as { type: string; name: string; protect: boolean; tags: Record<string, string> }[];
    const byType = (type: string) => resources.filter((r) => r.type === type);
    expect(byType("trainctl:experiment:Experiment").map((r) => r.name)).toEqual(["resnet"]);
    expect(byType("aws:ec2/instance:Instance")).toHaveLength(1);
    expect(byType("aws:ebs/volume:Volume")[0]).toMatchObject({
      protect: true,
      tags: expect.objectContaining({ "trainctl:owner": "bob", "trainctl:project": "vision" }),
    });
    expect(existsSync(path.join(project, "node_modules", "trainctl", "node_modules", "@pulumi"))).toBe(false);
  });

  it("puts a working `trainctl` on the project's PATH: --version and an offline plan of the project's stack", () => {
    const bin = path.join(project, "node_modules", ".bin", "trainctl");
    const version = run(bin, ["--version"]);
    expect(version.stdout.trim()).toBe(require(path.join(ROOT, "package.json")).version);
    const plan = run(bin, ["plan", "--stack", "dev", "--json"]);
    expect(plan.status, plan.stderr).toBe(0);
    const doc = JSON.parse(plan.stdout) as { project: string; resources: { type: string }[]; cost: { monthly: number } };
    expect(doc.project).toBe("vision");
    expect(doc.resources.some((r) => r.type === "aws:ec2/instance:Instance")).toBe(true);
    expect(doc.cost.monthly).toBeGreaterThan(0);
  });
});
