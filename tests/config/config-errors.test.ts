import { copyFileSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { closestKey, editDistance, keyPath, parseStackConfig, stackConfigSchema } from "../../core/config";
import { ConfigError } from "../../core/errors";
import { ROOT, expectUsageError, trainctl } from "../helpers/cli";

const base: Record<string, unknown> = {
  "aws:region": "us-east-1",
  "trainctl:owner": "alice",
  "trainctl:costCenter": "ml-research",
  "trainctl:instance": { type: "g5.xlarge", market: "spot", maxPrice: 0.75 },
  "trainctl:dataVolume": { snapshotId: "snap-0123456789abcdef0", sizeGiB: 500, iops: 6000, throughputMiBs: 500 },
};

function errorFor(values: Record<string, unknown>): ConfigError {
  try {
    parseStackConfig(values);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("config was accepted");
}
const without = (key: string) => Object.fromEntries(Object.entries(base).filter(([k]) => k !== key));

/** Where a string sits in the config: a value (object field, array item, map value) or a map's key. */
type StringLeaf = { path: PropertyKey[]; as: "value" | "key" };

/** Every string the schema accepts, found by walking the schema itself: a new string key is covered without editing this test. */
function stringLeaves(schema: z.ZodType, at: PropertyKey[] = []): StringLeaf[] {
  const def = (schema as unknown as { def: Record<string, any> }).def;
  switch (def.type) {
    case "optional":
    case "default":
    case "nullable":
      return stringLeaves(def.innerType, at);
    case "string":
    case "enum":
      return [{ path: at, as: "value" }];
    case "object":
      return Object.entries(def.shape as Record<string, z.ZodType>).flatMap(([key, child]) => stringLeaves(child, [...at, key]));
    case "array":
      return stringLeaves(def.element, [...at, 0]);
    case "record":
      return [...(def.keyType.def.type === "string" ? [{ path: [...at, "Team"], as: "key" as const }] : []), ...stringLeaves(def.valueType, [...at, "Team"])];
    case "union": {
      const leaves = (def.options as z.ZodType[]).flatMap((option) => stringLeaves(option, at));
      return leaves.filter((leaf, i) => leaves.findIndex((other) => other.as === leaf.as && keyPath(other.path) === keyPath(leaf.path)) === i);
    }
    case "number":
    case "boolean":
    case "literal":
      return [];
    default:
      throw new Error(`stringLeaves: teach this walker zod type ${def.type} (at ${keyPath(at)})`);
  }
}

/** The base config with `text` put at a leaf (as the value, or as the map key). */
function withText(leaf: StringLeaf, text: string): Record<string, unknown> {
  const [field, ...rest] = leaf.path;
  const pulumiKey = keyPath([field]);
  const values = structuredClone(base);
  if (rest.length === 0) return { ...values, [pulumiKey]: text };
  const root = (values[pulumiKey] ??= {}) as Record<PropertyKey, unknown>;
  let node = root;
  for (const [i, segment] of rest.slice(0, -1).entries()) node = (node[segment] ??= typeof rest[i + 1] === "number" ? [] : {}) as Record<PropertyKey, unknown>;
  const last = rest[rest.length - 1];
  if (leaf.as === "key") node[text] = "x";
  else node[last] = text;
  return values;
}

const LEAVES = stringLeaves(stackConfigSchema);
const CONTROLS = ["\n", "\r", "\t", "\u0000", "\u001b", "\u007f", "\u0085", "\u009b"];

describe("control characters in config strings", () => {
  it("the table derived from the schema covers the keys that reach user data, commands, tags and file names", () => {
    const covered = LEAVES.map((l) => `${keyPath(l.path)} (${l.as})`);
    for (const key of [
      "aws:region",
      "trainctl:owner",
      "trainctl:costCenter",
      "trainctl:instance.type",
      "trainctl:instance.amiParameter",
      "trainctl:dataVolume.mountPoint",
      "trainctl:dataVolume.availabilityZone",
      "trainctl:buckets.datasets.adopt",
      "trainctl:dataset.source",
      "trainctl:budget.emails[0]",
      "trainctl:network.subnetId",
      "trainctl:tags.Team",
    ]) {
      expect(covered).toContain(`${key} (value)`);
    }
    expect(covered).toContain("trainctl:tags.Team (key)");
  });

  it.each(LEAVES.map((leaf) => [`${keyPath(leaf.path)} (${leaf.as})`, leaf] as const))("%s: every control character exits 2 naming the key", (_name, leaf) => {
    for (const control of CONTROLS) {
      const text = leaf.as === "key" ? `Te${control}am` : `/mnt/a${control}b`;
      const error = errorFor(withText(leaf, text));
      const expected = leaf.as === "key" ? keyPath([...leaf.path.slice(0, -1), text]) : keyPath(leaf.path);
      const issue = error.issues.find((i) => i.path === expected);
      expect(issue?.message, `${JSON.stringify(control)} at ${expected}:\n${error.message}`).toMatch(/control characters/);
      expect(error.exitCode).toBe(2);
      // One line per issue: the value is shown escaped, never raw.
      for (const line of error.message.split("\n")) expect(line).toMatch(/^"?(aws|trainctl):[^ ]*: /);
    }
  });

  it("a newline in dataVolume.mountPoint can no longer end the user data's heredoc: it is the one error", () => {
    const injected = { snapshotId: "snap-0123456789abcdef0", mountPoint: "/mnt/data\nTRAINCTL_ENV\ntouch /tmp/pwned\ncat <<'TRAINCTL_ENV'" };
    const error = errorFor({ ...base, "trainctl:dataVolume": injected });
    expect(error.issues.map((i) => i.path)).toEqual(["trainctl:dataVolume.mountPoint"]);
    expect(error.message).not.toContain("\n");
    expect(error.message).toMatch(
      /^trainctl:dataVolume\.mountPoint: must not contain control characters such as a newline or tab \(got "\/mnt\/data\\nTRAINCTL_ENV\\ntouch/,
    );
  });

  it("a control character in a top-level key name is shown escaped, on one line", () => {
    const error = errorFor({ ...base, "trainctl:own\ner": "x" });
    expect(error.message.split("\n")).toHaveLength(1);
    expect(error.message).toMatch(/^"trainctl:own\\ner": unknown key/);
  });

  it("spaces and non-ASCII letters are not control characters", () => {
    const config = parseStackConfig({ ...base, "trainctl:costCenter": "ml research", "trainctl:tags": { Team: "Vision Zürich" } });
    expect(config.costCenter).toBe("ml research");
    expect(config.tags.Team).toBe("Vision Zürich");
  });

  it("the CLI refuses an injected mount point with one line, exit 2, and writes nothing", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "trainctl-config-cli-"));
    for (const f of ["Pulumi.yaml", "Pulumi.dev.yaml"]) copyFileSync(path.join(ROOT, f), path.join(dir, f));
    const result = trainctl(["experiment", "new", "inject", "--set", 'dataVolume.mountPoint="/mnt/data\\nTRAINCTL_ENV\\nreboot"'], {
      env: { TRAINCTL_PROJECT_DIR: dir },
    });
    expectUsageError(result, /^error: trainctl:dataVolume\.mountPoint: must not contain control characters/);
    expect(readdirSync(dir).sort()).toEqual(["Pulumi.dev.yaml", "Pulumi.yaml"]);
  });
});

describe("dataVolume.mountPoint is one field of /etc/fstab", () => {
  it.each(["/mnt/data", "/mnt/data/", "/data", "/mnt/my-data_2.v1"])("accepts %s", (mountPoint) => {
    expect(parseStackConfig({ ...base, "trainctl:dataVolume": { sizeGiB: 10, mountPoint } }).dataVolume?.mountPoint).toBe(mountPoint);
  });

  it.each(["/mnt/my data", "/mnt/a tmpfs defaults 0 0 #", "/mnt/../etc", "/mnt/./data", "//mnt", "/mnt//data", "/mnt/dåta", "/", "data", "/mnt/$(reboot)"])(
    "refuses %j naming the key",
    (mountPoint) => {
      const error = errorFor({ ...base, "trainctl:dataVolume": { sizeGiB: 10, mountPoint } });
      expect(error.issues).toEqual([{ path: "trainctl:dataVolume.mountPoint", message: expect.stringContaining("must be an absolute path other than /") }]);
    },
  );
});

describe("strings sent to AWS follow AWS's rules", () => {
  it.each([
    [
      "a reserved tag key",
      { "trainctl:tags": { "aws:team": "x" } },
      'trainctl:tags.aws:team: invalid key: the aws: prefix is reserved by AWS (got "aws:team")',
    ],
    ["a tag key of 129 characters", { "trainctl:tags": { ["k".repeat(129)]: "x" } }, `trainctl:tags.${"k".repeat(129)}: invalid key`],
    [
      "a tag key with a character S3 and IAM refuse",
      { "trainctl:tags": { "team#1": "x" } },
      "trainctl:tags.team#1: invalid key: expected letters, digits, spaces and _ . : / = + - @",
    ],
    ["a tag value of 257 characters", { "trainctl:tags": { team: "v".repeat(257) } }, "trainctl:tags.team: must be <= 256"],
    [
      "a tag value with a character S3 and IAM refuse",
      { "trainctl:tags": { team: "a,b" } },
      "trainctl:tags.team: expected letters, digits, spaces and _ . : / = + - @",
    ],
    [
      "an AMI parameter that is no SSM name",
      { "trainctl:instance": { amiParameter: "/aws/service/my ami" } },
      "trainctl:instance.amiParameter: expected an SSM parameter name",
    ],
    [
      "an AMI parameter without the leading /",
      { "trainctl:instance": { amiParameter: "aws/service/x" } },
      "trainctl:instance.amiParameter: expected an SSM parameter name",
    ],
    [
      "a dataset source with an IAM wildcard",
      { "trainctl:dataset": { source: "s3://team-data/imagenet*" } },
      'trainctl:dataset.source: "s3://team-data/imagenet*" holds * or ?',
    ],
  ])("%s is one error naming the key", (_what, overrides, line) => {
    const error = errorFor({ ...base, ...overrides });
    expect(error.message.split("\n")).toHaveLength(1);
    expect(error.message.startsWith(line), error.message).toBe(true);
  });

  it("accepts tags with spaces and letters of any script, and the default AMI parameter's shape", () => {
    const config = parseStackConfig({
      ...base,
      "trainctl:tags": { "Team Name": "Vision Zürich", "cost:unit": "a/b=c+d-e@f" },
      "trainctl:instance": { amiParameter: "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id" },
    });
    expect(config.tags).toEqual({ "Team Name": "Vision Zürich", "cost:unit": "a/b=c+d-e@f" });
  });
});

describe("config errors list independent mistakes only", () => {
  it("a negative sizeGiB is one error: no iops error follows from it", () => {
    const error = errorFor({ ...base, "trainctl:dataVolume": { snapshotId: "snap-0123456789abcdef0", sizeGiB: -10, iops: 6000 } });
    expect(error.issues).toEqual([{ path: "trainctl:dataVolume.sizeGiB", message: "must be > 0 (got -10)" }]);
  });

  it("an io2 volume below its minimum size is one error, though its iops exceed 1000 per GiB of it", () => {
    const error = errorFor({ ...base, "trainctl:dataVolume": { sizeGiB: 2, type: "io2", iops: 3000 } });
    expect(error.issues.map((i) => i.path)).toEqual(["trainctl:dataVolume.sizeGiB"]);
  });

  it("a bad market is one error: maxPrice is not blamed for it", () => {
    const error = errorFor({ ...base, "trainctl:instance": { type: "g5.xlarge", market: "reserved", maxPrice: 1 } });
    expect(error.issues.map((i) => i.path)).toEqual(["trainctl:instance.market"]);
  });

  it("a bad region is one error: the zone is not blamed for it", () => {
    const error = errorFor({ ...base, "aws:region": "moon-1", "trainctl:network": { availabilityZone: "us-east-1a" } });
    expect(error.issues.map((i) => i.path)).toEqual(["aws:region"]);
  });

  it("independent mistakes next to a derived one are all still reported", () => {
    const error = errorFor({
      ...without("trainctl:costCenter"),
      "trainctl:dataVolume": { snapshotId: "snap-0123456789abcdef0", sizeGiB: -10, iops: 6000, initRateMiBs: 20 },
    });
    expect(error.issues.map((i) => i.path).sort()).toEqual(["trainctl:costCenter", "trainctl:dataVolume.initRateMiBs", "trainctl:dataVolume.sizeGiB"]);
  });
});

describe("unknown keys suggest the key meant", () => {
  it("trainctl:ownr says only that it is unknown and names owner: no 'owner is required'", () => {
    const error = errorFor({ ...without("trainctl:owner"), "trainctl:ownr": "alice" });
    expect(error.message).toBe("trainctl:ownr: unknown key (did you mean owner?)");
  });

  it("nested keys too: instance.tpye names type", () => {
    const error = errorFor({ ...base, "trainctl:instance": { tpye: "g5.xlarge" } });
    expect(error.message).toBe("trainctl:instance.tpye: unknown key (did you mean type?)");
  });

  it("a nested typo of a required key settles that key: budget.emial", () => {
    const error = errorFor({ ...base, "trainctl:budget": { monthlyUsd: 100, emial: ["a@example.com"] } });
    expect(error.message).toBe("trainctl:budget.emial: unknown key (did you mean emails?)");
  });

  it("case slips are typos: trainctl:costcenter", () => {
    const error = errorFor({ ...without("trainctl:costCenter"), "trainctl:costcenter": "ml" });
    expect(error.message).toBe("trainctl:costcenter: unknown key (did you mean costCenter?)");
  });

  it("a key near nothing lists what is accepted, and the missing required key is still reported", () => {
    const error = errorFor({ ...without("trainctl:owner"), "trainctl:gpuCount": 8 });
    expect(error.issues.map((i) => i.path).sort()).toEqual(["trainctl:gpuCount", "trainctl:owner"]);
    expect(error.message).toContain("trainctl:gpuCount: unknown key (accepted: aws:region, trainctl:owner");
  });

  it("a typo beside the real key is reported, and the real key is still checked", () => {
    const error = errorFor({ ...base, "trainctl:owner": "not ok!", "trainctl:ownr": "alice" });
    expect(error.issues.map((i) => i.path).sort()).toEqual(["trainctl:owner", "trainctl:ownr"]);
  });

  it("edit distance counts a swap of neighbours as one edit", () => {
    expect(editDistance("tpye", "type")).toBe(1);
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
    expect(closestKey("mountpiont", ["mountPoint", "protect"])).toBe("mountPoint");
    expect(closestKey("gpus", ["type", "count", "market"])).toBeUndefined();
  });
});
