import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TAG, costTags, mergeTags, resourceTags } from "../../core/tags";

const COST_KEYS = [TAG.project, TAG.experiment, TAG.owner, TAG.costCenter, TAG.managedBy];
const input = { project: "trainctl", experiment: "dev", owner: "alice", costCenter: "ml-research" };
const tagMap = fc.dictionary(fc.oneof(fc.constantFrom(...COST_KEYS, "Name", TAG.role, TAG.protected, "team"), fc.string()), fc.string());

describe("costTags", () => {
  it("carries the five cost keys, managed-by pulumi", () => {
    expect(costTags(input)).toEqual({
      "trainctl:project": "trainctl",
      "trainctl:experiment": "dev",
      "trainctl:owner": "alice",
      "trainctl:cost-center": "ml-research",
      "trainctl:managed-by": "pulumi",
    });
  });

  it("the cost keys win over the user's extra tags, whatever they are; other extra tags stay (property)", () => {
    fc.assert(
      fc.property(tagMap, (extra) => {
        const tags = costTags({ ...input, extra });
        expect(tags[TAG.experiment]).toBe("dev");
        expect(tags[TAG.owner]).toBe("alice");
        expect(tags[TAG.managedBy]).toBe("pulumi");
        for (const [key, value] of Object.entries(extra)) if (!COST_KEYS.includes(key as never)) expect(tags[key]).toBe(value);
      }),
    );
  });
});

describe("resourceTags", () => {
  it("Name and role always win over extra tags; the protection marker only on protected resources", () => {
    expect(resourceTags("dev-vol", "data-volume", true, { Name: "other", [TAG.role]: "x", [TAG.incarnation]: "0123456789ab" })).toEqual({
      Name: "dev-vol",
      [TAG.role]: "data-volume",
      [TAG.protected]: "true",
      [TAG.incarnation]: "0123456789ab",
    });
    expect(resourceTags("dev-sg", "security-group")).toEqual({ Name: "dev-sg", [TAG.role]: "security-group" });
  });

  it("adds the protection marker only when asked; other extra tags pass through", () => {
    expect(Object.keys(resourceTags("n", "r", false, { team: "vision" }))).toEqual(["team", "Name", TAG.role]);
    expect(resourceTags("n", "r", true)[TAG.protected]).toBe("true");
  });
});

describe("mergeTags: the provider's order (defaults, then the resource's own)", () => {
  it("a resource's own tag wins over a default tag of the same key; every key of both survives (property)", () => {
    fc.assert(
      fc.property(tagMap, tagMap, (defaults, own) => {
        const merged = mergeTags(defaults, own);
        expect(new Set(Object.keys(merged))).toEqual(new Set([...Object.keys(defaults), ...Object.keys(own)]));
        for (const [key, value] of Object.entries(own)) expect(merged[key]).toBe(value);
        for (const [key, value] of Object.entries(defaults)) if (!(key in own)) expect(merged[key]).toBe(value);
      }),
    );
  });

  it("leaves both inputs untouched", () => {
    const defaults = costTags(input);
    const own = resourceTags("n", "r");
    const before = JSON.stringify([defaults, own]);
    mergeTags(defaults, own);
    expect(JSON.stringify([defaults, own])).toBe(before);
  });
});
