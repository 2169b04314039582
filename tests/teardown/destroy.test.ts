import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UsageError } from "../../core/errors";
import { parseStackExport } from "../../scripts/state/readers";
import { destroyArgs, destroyStack } from "../../scripts/teardown/destroy";
import { installFakePulumi } from "../helpers/fake-pulumi";

/** The one destroy path, in process, against a fake `pulumi` named by TRAINCTL_PULUMI. */
const STATE = JSON.parse(readFileSync(path.join(__dirname, "..", "fixtures", "dev.state.json"), "utf8"));
const model = (edit: (resources: Record<string, any>[]) => void = () => undefined) => {
  const copy = structuredClone(STATE);
  edit(copy.deployment.resources);
  return parseStackExport(copy);
};
const instanceOf = (resources: Record<string, any>[]) => resources.find((r) => r.type === "aws:ec2/instance:Instance")!;
const volumeOf = (resources: Record<string, any>[]) => resources.find((r) => r.type === "aws:ebs/volume:Volume")!;

/**
 * A Pulumi that behaves like one whose autostop already terminated the one-time spot node: a destroy
 * without a refresh fails on the gone instance; with `--refresh` it succeeds.
 */
const terminatedNode = (argv: string[]) =>
  argv[0] === "destroy" && !argv.includes("--refresh")
    ? { code: 255, stderr: "error: deleting urn:pulumi:dev::trainctl::aws:ec2/instance:Instance::dev-training-node-0: InvalidInstanceID.NotFound\n" }
    : undefined;

let saved: string | undefined;
beforeEach(() => {
  saved = process.env.TRAINCTL_PULUMI;
});
afterEach(() => {
  if (saved === undefined) delete process.env.TRAINCTL_PULUMI;
  else process.env.TRAINCTL_PULUMI = saved;
});

describe("destroyStack", () => {
  it("refreshes, excludes protected resources, in the given folder: exactly one pulumi call", () => {
    const fake = installFakePulumi({ responses: terminatedNode });
    process.env.TRAINCTL_PULUMI = fake.bin;
    const cwd = mkdtempSync(path.join(tmpdir(), "trainctl-destroy-"));
    destroyStack("dev", model(), { cwd });
    expect(fake.calls()).toEqual([["destroy", "--refresh", "--exclude-protected", "--yes", "--non-interactive", "--stack", "dev"]]);
    expect(fake.invocations()[0].cwd).toBe(cwd);
    expect(destroyArgs("dev")).not.toContain("unprotect");
  });

  it("a failed destroy is an error naming the stack (exit 1, retryable)", () => {
    const fake = installFakePulumi({ responses: [{ prefix: ["destroy"], code: 255 }] });
    process.env.TRAINCTL_PULUMI = fake.bin;
    expect(() => destroyStack("dev", model())).toThrow(/pulumi destroy --exclude-protected failed for dev \(exit 255\)/);
  });

  it.each([
    ["an empty state", "dev", () => parseStackExport({ version: 3, deployment: {} }), /dev: the state is empty/],
    ["another stack's state", "prod", () => model(), /prod: the state is for stack "dev", not "prod"/],
    ["a stack name with a newline", "dev\nrm -rf /", () => model(), /--stack: "dev\\nrm -rf \/" is not a Pulumi stack name/],
    ["a stack name that is a flag", "--yes", () => model(), /is not a Pulumi stack name/],
    [
      "a resource tagged protected (True) whose state flag is off",
      "dev",
      () =>
        model((rs) => {
          const v = volumeOf(rs);
          delete v.protect;
          v.inputs.tags["trainctl:protected"] = "True";
        }),
      /dev-data-0-volume tagged trainctl:protected but not protected in state/,
    ],
  ])("refuses %s with a UsageError and never calls pulumi", (_what, stack, state, message) => {
    const fake = installFakePulumi();
    process.env.TRAINCTL_PULUMI = fake.bin;
    let error: unknown;
    try {
      destroyStack(stack, state());
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain("\n");
    expect(fake.calls()).toEqual([]);
  });

  it("a pending-delete copy tagged protected does not block (Pulumi deletes old copies anyway)", () => {
    const fake = installFakePulumi();
    process.env.TRAINCTL_PULUMI = fake.bin;
    destroyStack(
      "dev",
      model((rs) =>
        rs.push({ ...structuredClone(instanceOf(rs)), delete: true, inputs: { ...instanceOf(rs).inputs, tags: { "trainctl:protected": "true" } } }),
      ),
    );
    expect(fake.calls()).toHaveLength(1);
  });
});
