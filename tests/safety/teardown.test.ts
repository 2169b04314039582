import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { expectUsageError, trainctl, trainctlAsync } from "../helpers/cli";
import { FIXTURE, scratch, edited } from "./state-files";
import { installFakePulumi, pathWithout } from "../helpers/fake-pulumi";

/**
 * `trainctl teardown` on hostile input, with a logging `pulumi` on PATH: every refusal is exit 2
 * with one line, before any Pulumi call (no export, no destroy), and the state file is untouched.
 */
const { dir, file } = scratch("trainctl-safety-teardown-");
const volumeOf = (rs: Record<string, any>[]) => rs.find((r) => r.type === "aws:ebs/volume:Volume")!;
/** The data volume with its state flag off but its tag still saying protected (value as given). */
const tagOnly = (value: string) =>
  edited((rs) => {
    const v = volumeOf(rs);
    delete v.protect;
    delete v.retainOnDelete;
    v.inputs.tags["trainctl:protected"] = value;
    if (v.outputs.tags) v.outputs.tags["trainctl:protected"] = value;
    if (v.outputs.tagsAll) v.outputs.tagsAll["trainctl:protected"] = value;
  });
const EXECUTE = ["--execute", "--confirm", "dev"];
const digest = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");

const cases: [string, string[], RegExp][] = [
  ["an empty --state=", ["--state=", ...EXECUTE], /^error: --state: needs a value/],
  ["--state twice", ["--state", FIXTURE, "--state", FIXTURE, ...EXECUTE], /^error: --state: give it once/],
  ["--confirm twice", ["--state", FIXTURE, "--execute", "--confirm", "dev", "--confirm", "dev"], /^error: --confirm: give it once/],
  [
    "a --confirm with a trailing newline",
    ["--state", FIXTURE, "--execute", "--confirm", "dev\n"],
    /^error: teardown: --confirm: control character U\+000A in "dev\\n"/,
  ],
  // Regression: the name reached `pulumi stack export --stack` unchecked.
  ["a --stack that is a flag", ["--stack=--yes", "--execute", "--confirm=--yes"], /^error: --stack: "--yes" is not a Pulumi stack name/],
  [
    "a --stack with a newline",
    ["--stack", "dev\nprod", "--execute", "--confirm", "dev\nprod"],
    /^error: teardown: --(stack|confirm): control character U\+000A in "dev\\nprod"/,
  ],
  ["an unreadable file", ["--state", path.join(dir, "missing.json"), ...EXECUTE], /^error: --state: cannot read .*missing\.json" \(ENOENT\)/],
  ["a preview passed as --state", ["--state", file("preview.json", { steps: [{ op: "create" }] }), ...EXECUTE], /^error: --state: not a Pulumi stack export/],
  ["deployment: null", ["--state", file("null.json", { version: 3, deployment: null }), ...EXECUTE], /^error: --state: deployment must be an object/],
  [
    "a resource without urn",
    ["--state", file("nourn.json", { version: 3, deployment: { resources: [{ type: "aws:ec2/instance:Instance" }] } }), ...EXECUTE],
    /^error: --state: resource #0: urn must be a Pulumi URN/,
  ],
  [
    "dependencies: 5",
    [
      "--state",
      file(
        "deps.json",
        edited((rs) => (rs[3].dependencies = 5)),
      ),
      ...EXECUTE,
    ],
    /^error: --state: resource #3 ".*": dependencies must be a list of URNs \(got 5\)/,
  ],
  [
    "a negative volume size",
    [
      "--state",
      file(
        "size.json",
        edited((rs) => (volumeOf(rs).outputs.size = -500)),
      ),
      ...EXECUTE,
    ],
    /^error: --state: .*dev-data-0-volume: outputs\.size must be a finite number >= 0 \(got -500\)/,
  ],
  // Regression: a resource tagged protected but not protected in state was destroyed.
  [
    "a volume tagged trainctl:protected=True but unprotected in state",
    ["--state", file("tag-only.json", tagOnly("True")), ...EXECUTE],
    /^error: dev: dev-data-0-volume tagged trainctl:protected but not protected in state/,
  ],
];

describe("trainctl teardown: hostile input is exit 2, one line, no Pulumi call", () => {
  it.each(cases)("%s", (_what, args, message) => {
    const fake = installFakePulumi();
    const result = trainctl(["teardown", ...args], { env: { PATH: pathWithout(fake.dir) } });
    expectUsageError(result, message);
    expect(result.stdout).toBe("");
    expect(fake.calls()).toEqual([]);
  });

  it.each(["True", "yes", "false", ""])("the dry run keeps a volume tagged trainctl:protected=%j (fail safe) and says why --execute would refuse", (value) => {
    const result = trainctl(["teardown", "--state", file(`tag-${value || "empty"}.json`, tagOnly(value)), "--json"], { env: { PATH: pathWithout() } });
    expect(result.code, result.stderr).toBe(0);
    const plan = JSON.parse(result.stdout);
    expect(plan.retain).toContainEqual({ urn: expect.stringMatching(/::dev-data-0-volume$/), reason: "protected" });
    expect(plan.delete.some((u: string) => u.endsWith("::dev-data-0-volume"))).toBe(false);
    expect(result.stderr).toMatch(/warning: dev-data-0-volume is tagged trainctl:protected but not protected in state/);
  });

  it("two concurrent runs on one file agree, call no Pulumi, and leave the file as it was", async () => {
    const fake = installFakePulumi();
    const before = digest(FIXTURE);
    const runs = await Promise.all([1, 2].map(() => trainctlAsync(["teardown", "--state", FIXTURE, "--json"], { env: { PATH: pathWithout(fake.dir) } })));
    expect(runs.map((r) => r.code)).toEqual([0, 0]);
    expect(runs[0].stdout).toBe(runs[1].stdout);
    expect(digest(FIXTURE)).toBe(before);
    expect(fake.calls()).toEqual([]);
  });
});
