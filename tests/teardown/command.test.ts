import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { trainctl } from "../helpers/cli";
import { installFakePulumi, pathWithout } from "../helpers/fake-pulumi";

const STATE = path.join(__dirname, "..", "fixtures", "dev.state.json");
const dir = mkdtempSync(path.join(tmpdir(), "trainctl-teardown-"));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe("trainctl teardown (dry run)", () => {
  it("prints the JSON contract: delete, retain with reasons, monthlyCostAfter", () => {
    const result = trainctl(["teardown", "--state", STATE, "--json"], { env: { PATH: pathWithout() } });
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout);
    expect(Object.keys(plan)).toEqual(expect.arrayContaining(["delete", "retain", "monthlyCostAfter"]));
    expect(plan.retain.every((r: { reason: string }) => ["protected", "retain-on-delete", "protected-dependency"].includes(r.reason))).toBe(true);
    expect(plan.delete.some((u: string) => u.endsWith("::dev-training-node-0"))).toBe(true);
    expect(plan.retain.find((r: { urn: string }) => r.urn.endsWith("::dev-data-0-volume")).reason).toBe("protected");
    expect(result.stderr).toContain("Dry run: nothing was deleted");
  });
});

describe("trainctl teardown (human output)", () => {
  it("prints the three groups on stderr and nothing on stdout", () => {
    const result = trainctl(["teardown", "--state", path.join(__dirname, "..", "fixtures", "teardown", "nested.state.json")], { env: { PATH: pathWithout() } });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/delete \(7\):[\s\S]*- exp-7-training-node-0 {2}aws:ec2\/instance:Instance {2}\(and a pending delete of an old copy\)/);
    expect(result.stderr).toMatch(/stays in AWS \(10\):[\s\S]*= exp-7-data-0-volume {2}\[protected\][\s\S]*= exp-7-scratch {2}\[retain-on-delete\]/);
    expect(result.stderr).toContain("still billed after teardown: $58.00/month (including 1 final snapshot(s))");
    expect(result.stderr).toMatch(/warning: exp-7-training-node-0 \(i-0new000000000000a\) is tagged busy/);
  });

  it("--stack without the Pulumi CLI: one line, exit 2", () => {
    const result = trainctl(["teardown", "--stack", "dev"], { env: { PATH: pathWithout() } });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^error: the Pulumi CLI is not installed; install it with/)]);
  });
});

describe("trainctl teardown --execute", () => {
  it("streams pulumi's output to stderr and exits 1 when the destroy fails", () => {
    const fake = installFakePulumi({ responses: [{ prefix: ["destroy"], stdout: "Destroying (dev)\n", stderr: "error: update failed\n", code: 255 }] });
    const result = trainctl(["teardown", "--state", STATE, "--execute", "--confirm", "dev", "--json"], { env: { PATH: pathWithout(fake.dir) } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Destroying (dev)");
    expect(result.stderr).toContain("error: pulumi destroy --exclude-protected failed for dev (exit 255)");
    // stdout holds only the plan JSON, never pulumi's output.
    expect(Object.keys(JSON.parse(result.stdout))).toEqual(expect.arrayContaining(["delete", "retain", "monthlyCostAfter"]));
  });

  it("runs exactly pulumi destroy --refresh --exclude-protected --yes --non-interactive --stack NAME", () => {
    const fake = installFakePulumi();
    const result = trainctl(["teardown", "--state", STATE, "--execute", "--confirm", "dev", "--snapshot-volumes"], { env: { PATH: pathWithout(fake.dir) } });
    expect(result.code).toBe(0);
    expect(fake.calls()).toEqual([["destroy", "--refresh", "--exclude-protected", "--yes", "--non-interactive", "--stack", "dev"]]);
  });

  it("reads the state through the CLI with --stack", () => {
    const fake = installFakePulumi([{ prefix: ["stack", "export"], stdout: readFileSync(STATE, "utf8") }]);
    const result = trainctl(["teardown", "--stack", "dev", "--execute", "--confirm", "dev"], { env: { PATH: pathWithout(fake.dir) } });
    expect(result.code).toBe(0);
    expect(fake.calls()).toEqual([
      ["stack", "export", "--stack", "dev"],
      ["destroy", "--refresh", "--exclude-protected", "--yes", "--non-interactive", "--stack", "dev"],
    ]);
  });

  it.each([
    ["without --confirm", ["--execute"], /--execute needs --confirm dev/],
    ["with a wrong --confirm", ["--execute", "--confirm", "prod"], /--confirm: "prod" does not match the stack "dev"/],
  ])("refuses %s and runs nothing", (_what, extra, message) => {
    const fake = installFakePulumi();
    const result = trainctl(["teardown", "--state", STATE, ...extra], { env: { PATH: pathWithout(fake.dir) } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(fake.calls()).toEqual([]);
  });

  it("refuses a state of another stack than --confirm", () => {
    const fake = installFakePulumi();
    const other = readFileSync(STATE, "utf8").replaceAll("urn:pulumi:dev::", "urn:pulumi:prod::");
    const result = trainctl(["teardown", "--state", file("prod.json", other), "--execute", "--confirm", "dev"], { env: { PATH: pathWithout(fake.dir) } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/does not match the stack "prod"/);
    expect(fake.calls()).toEqual([]);
  });

  it("without the Pulumi CLI says how to install it, in one line, and does nothing", () => {
    const result = trainctl(["teardown", "--state", STATE, "--execute", "--confirm", "dev"], { env: { PATH: pathWithout() } });
    expect(result.code).toBe(2);
    const errors = result.stderr.split("\n").filter((l) => l.startsWith("error:"));
    expect(errors).toEqual([
      "error: the Pulumi CLI is not installed; install it with `curl -fsSL https://get.pulumi.com | sh` (or see https://www.pulumi.com/docs/install/) and run again",
    ]);
  });

  it("--snapshot-volumes refuses when a deleted volume has no final snapshot", () => {
    const fake = installFakePulumi();
    const state = JSON.parse(readFileSync(STATE, "utf8"));
    const volume = state.deployment.resources.find((r: { type: string }) => r.type === "aws:ebs/volume:Volume");
    delete volume.protect;
    delete volume.retainOnDelete;
    for (const tags of [volume.inputs.tags, volume.outputs.tags, volume.outputs.tagsAll]) if (tags) delete tags["trainctl:protected"];
    volume.inputs.finalSnapshot = false;
    const result = trainctl(["teardown", "--state", file("nosnap.json", JSON.stringify(state)), "--execute", "--confirm", "dev", "--snapshot-volumes"], {
      env: { PATH: pathWithout(fake.dir) },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--snapshot-volumes: dev-data-0-volume would be deleted without a final snapshot/);
    expect(fake.calls()).toEqual([]);
  });

  it.each([
    ["an empty state", JSON.stringify({ version: 3, deployment: { resources: [] } }), /the state is empty/],
    ["a version 1 state", JSON.stringify({ version: 1, deployment: {} }), /version 1 is not supported/],
    ["malformed JSON", '{"version": 3, "deploy', /not valid JSON/],
  ])("%s: exit 2, nothing executed", (_what, text, message) => {
    const fake = installFakePulumi();
    const result = trainctl(["teardown", "--state", file("bad.json", text), "--execute", "--confirm", "dev"], { env: { PATH: pathWithout(fake.dir) } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(fake.calls()).toEqual([]);
  });
});
