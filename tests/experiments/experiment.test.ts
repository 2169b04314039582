import { copyFileSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { ROOT, trainctl } from "../helpers/cli";
import { installFakePulumi, pathWithout } from "../helpers/fake-pulumi";

const STATE = readFileSync(path.join(ROOT, "tests", "fixtures", "dev.state.json"), "utf8");

function project(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "trainctl-experiments-"));
  for (const f of ["Pulumi.yaml", "Pulumi.dev.yaml"]) copyFileSync(path.join(ROOT, f), path.join(dir, f));
  return dir;
}
const run = (dir: string, args: string[], pathDirs: string[] = []) =>
  trainctl(["experiment", ...args], { env: { TRAINCTL_PROJECT_DIR: dir, PATH: pathWithout(...pathDirs) } });

describe("experiment new", () => {
  it("writes Pulumi.NAME.yaml from dev with dotted overrides", () => {
    const dir = project();
    const result = run(dir, ["new", "resnet-lr3e-4", "--set", "instance.type=g6.xlarge", "--set", "dataVolume.sizeGiB=800", "--set", "owner=bob"]);
    expect(result.code, result.stderr).toBe(0);
    const config = parse(readFileSync(path.join(dir, "Pulumi.resnet-lr3e-4.yaml"), "utf8")).config;
    expect(config["trainctl:instance"].type).toBe("g6.xlarge");
    expect(config["trainctl:dataVolume"].sizeGiB).toBe(800);
    expect(config["trainctl:owner"]).toBe("bob");
    expect(config["trainctl:instance"].maxPrice).toBe(0.75);
  });

  it.each([
    ["an unknown key", ["new", "x1", "--set", "instance.gpus=8"], /trainctl:instance\.gpus: unknown key/],
    ["an invalid value", ["new", "x2", "--set", "dataVolume.initRateMiBs=5"], /trainctl:dataVolume\.initRateMiBs: must be within 100\.\.300/],
    ["a malformed --set", ["new", "x3", "--set", "instance.type"], /--set instance\.type: expected key=value/],
    ["a name Pulumi rejects", ["new", "my experiment!"], /not a valid Pulumi stack name/],
    ["a missing --from", ["new", "x4", "--from", "nope"], /--from: Pulumi\.nope\.yaml does not exist/],
  ])("%s exits 2 and writes nothing", (_what, args, message) => {
    const dir = project();
    const before = readdirSync(dir).sort();
    const result = run(dir, args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(readdirSync(dir).sort()).toEqual(before);
  });

  it("refuses an existing file and leaves it as it was", () => {
    const dir = project();
    const before = readFileSync(path.join(dir, "Pulumi.dev.yaml"), "utf8");
    const result = run(dir, ["new", "dev", "--set", "owner=mallory"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Pulumi\.dev\.yaml already exists/);
    expect(readFileSync(path.join(dir, "Pulumi.dev.yaml"), "utf8")).toBe(before);
  });

  it("with the Pulumi CLI, inits the stack and tags its owner and experiment", () => {
    const dir = project();
    const fake = installFakePulumi();
    expect(run(dir, ["new", "exp2"], [fake.dir]).code).toBe(0);
    expect(fake.calls()).toEqual([
      ["stack", "init", "exp2"],
      ["stack", "tag", "set", "trainctl:owner", "alice", "--stack", "exp2"],
      ["stack", "tag", "set", "trainctl:experiment", "exp2", "--stack", "exp2"],
    ]);
  });
});

describe("experiment list", () => {
  it("lists config files with owner, instance, market, strategy and $/h; flags expired stacks and files without a stack", () => {
    const dir = project();
    expect(
      run(dir, [
        "new",
        "big",
        "--set",
        "instance.type=p4d.24xlarge",
        "--set",
        "instance.count=2",
        "--set",
        "instance.market=on-demand",
        "--set",
        "instance.maxPrice=null",
      ]).code,
    ).toBe(0);
    const fake = installFakePulumi([
      {
        prefix: ["stack", "ls"],
        stdout: JSON.stringify([
          { name: "dev", current: true },
          { name: "old", current: false },
        ]),
      },
      {
        prefix: ["stack", "tag", "ls", "--json", "--stack", "dev"],
        stdout: JSON.stringify({ "trainctl:owner": "alice", "trainctl:expires": "2099-01-01T00:00:00.000Z" }),
      },
      {
        prefix: ["stack", "tag", "ls", "--json", "--stack", "old"],
        stdout: JSON.stringify({ "trainctl:owner": "carol", "trainctl:expires": "2020-01-01T00:00:00.000Z" }),
      },
    ]);
    const result = run(dir, ["list", "--json"], [fake.dir]);
    expect(result.code, result.stderr).toBe(0);
    const rows = JSON.parse(result.stdout);
    expect(rows.map((r: { name: string }) => r.name)).toEqual(["big", "dev", "old"]);
    const [big, dev, old] = rows;
    expect(big).toMatchObject({ instance: "p4d.24xlarge × 2", market: "on-demand", hasConfig: true, hasStack: false, expired: false });
    expect(big.hourlyUsd).toBeGreaterThan(2 * 21.957642); // p4d.24xlarge on-demand after the June 2025 cut
    expect(dev).toMatchObject({ owner: "alice", instance: "g5.xlarge × 1", market: "spot", strategy: "prewarmed-ebs", hasStack: true, expired: false });
    expect(old).toMatchObject({ owner: "carol", hasConfig: false, expired: true });
  });
});

describe("experiment up, destroy and gc through the Automation API", () => {
  const history = JSON.stringify([
    { version: 2, kind: "update", result: "succeeded", startTime: "2026-11-28T10:00:00Z", endTime: "2026-11-28T10:01:00Z", resourceChanges: {} },
  ]);
  const automation = (extra: { prefix: string[]; stdout: string }[] = []) =>
    installFakePulumi({
      version: "v3.200.0",
      responses: [
        ...extra,
        { prefix: ["stack", "output"], stdout: "{}" },
        { prefix: ["stack", "history"], stdout: history },
        { prefix: ["stack", "tag", "ls"], stdout: "{}" },
        { prefix: ["stack", "export"], stdout: STATE },
      ],
    });

  it("up runs pulumi up for the stack and sets trainctl:expires from maxHours", () => {
    const fake = automation();
    const result = run(project(), ["up", "dev", "--skip-preflight"], [fake.dir]);
    expect(result.code, result.stderr).toBe(0);
    const calls = fake.calls();
    expect(calls).toContainEqual(["up", "--yes", "--skip-preview", "--exec-kind", "auto.local", "--stack", "dev", "--non-interactive"]);
    const tag = calls.find((c) => c[0] === "stack" && c[1] === "tag" && c[2] === "set");
    expect(tag?.slice(0, 4)).toEqual(["stack", "tag", "set", "trainctl:expires"]);
    const expires = Date.parse(tag![4]);
    expect(Math.abs(expires - (Date.now() + 72 * 3_600_000))).toBeLessThan(120_000);
  });

  it("destroy is the safe teardown: --exclude-protected, and only with --confirm NAME", () => {
    const fake = automation();
    const refused = run(project(), ["destroy", "dev"], [fake.dir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--confirm dev/);
    expect(fake.calls()).toEqual([]);
    const result = run(project(), ["destroy", "dev", "--confirm", "dev"], [fake.dir]);
    expect(result.code, result.stderr).toBe(0);
    expect(fake.calls()).toContainEqual(["destroy", "--refresh", "--exclude-protected", "--yes", "--non-interactive", "--stack", "dev"]);
  });

  it("gc --execute destroys exactly the expired stacks; with nothing expired it does nothing and says so", () => {
    const fake = automation([
      { prefix: ["stack", "ls"], stdout: JSON.stringify([{ name: "dev" }, { name: "fresh" }]) },
      { prefix: ["stack", "tag", "ls", "--json", "--stack", "dev"], stdout: JSON.stringify({ "trainctl:expires": "2020-01-01T00:00:00.000Z" }) },
      { prefix: ["stack", "tag", "ls", "--json", "--stack", "fresh"], stdout: JSON.stringify({ "trainctl:expires": "2099-01-01T00:00:00.000Z" }) },
    ]);
    const result = run(project(), ["gc", "--execute"], [fake.dir]);
    expect(result.code, result.stderr).toBe(0);
    const destroys = fake.calls().filter((c) => c[0] === "destroy");
    expect(destroys).toEqual([["destroy", "--refresh", "--exclude-protected", "--yes", "--non-interactive", "--stack", "dev"]]);

    const idle = automation([{ prefix: ["stack", "ls"], stdout: JSON.stringify([{ name: "fresh" }]) }]);
    const nothing = run(project(), ["gc", "--execute"], [idle.dir]);
    expect(nothing.code).toBe(0);
    expect(nothing.stderr).toContain("nothing has expired");
    expect(idle.calls().some((c) => c[0] === "destroy")).toBe(false);
  });

  it("without the Pulumi CLI, up says how to install it and exits 2", () => {
    const result = run(project(), ["up", "dev"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: the Pulumi CLI is not installed; install it with/m);
  });
});
