import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { ROOT } from "./helpers/cli";

/**
 * The README's commands that need no AWS run exactly as written. They are the fenced `sh` blocks
 * right after a `<!-- readme-test -->` marker, one command per line; `#` starts a comment.
 */
export function markedCommands(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/<!-- readme-test -->\s*```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  return blocks.flatMap((block) =>
    block
      .split("\n")
      .map((line) => line.replace(/\s+#.*$/, "").trim())
      .filter((line) => line && !line.startsWith("#")),
  );
}

const README = readFileSync(path.join(ROOT, "README.md"), "utf8");
let work: string;

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), "trainctl-readme-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("README", () => {
  const commands = markedCommands(README);

  it("marks the offline commands it promises", () => {
    expect(commands.length).toBeGreaterThanOrEqual(5);
    for (const command of commands) expect(command).toMatch(/^npx trainctl /);
  });

  it.each(commands)("`%s` works as written, from the repository", (command) => {
    const result = spawnSync("bash", ["-c", command], { cwd: ROOT, encoding: "utf8", timeout: 120_000, env: { ...process.env, TRAINCTL_OUT: work } });
    expect(result.status, `${command}\n${result.stderr}`).toBe(0);
    expect(result.stderr).not.toMatch(/^error:/m);
  });

  it("the empty-volume recipe (drop snapshotId and initRateMiBs, set warm: none) plans", () => {
    expect(README).toMatch(/drop `snapshotId` and `initRateMiBs`.*`warm: none`/s);
    const project = path.join(work, "project");
    mkdirSync(project);
    cpSync(path.join(ROOT, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
    const doc = parseDocument(readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"));
    doc.deleteIn(["config", "trainctl:dataVolume", "snapshotId"]);
    doc.deleteIn(["config", "trainctl:dataVolume", "initRateMiBs"]);
    doc.setIn(["config", "trainctl:dataVolume", "warm"], "none");
    writeFileSync(path.join(project, "Pulumi.dev.yaml"), doc.toString());
    const result = spawnSync(process.execPath, [path.join(ROOT, "dist", "scripts", "trainctl.js"), "plan", "--stack", "dev", "--json"], {
      cwd: project,
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(result.status, result.stderr).toBe(0);
    const volume = (JSON.parse(result.stdout) as { resources: { type: string; inputs: Record<string, unknown> }[] }).resources.find(
      (r) => r.type === "aws:ebs/volume:Volume",
    );
    expect(volume?.inputs).toMatchObject({ size: 500 });
    expect(volume?.inputs.snapshotId).toBeUndefined();
  });
});
