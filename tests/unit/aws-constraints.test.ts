import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AWS_REGIONS } from "../../core/regions";
import { arnPartition, checkConstraints, describeViolation } from "../../core/aws-constraints";

describe("arnPartition", () => {
  it("GovCloud and China have their own partitions; the commercial regions are aws", () => {
    expect(arnPartition("us-gov-west-1")).toBe("aws-us-gov");
    expect(arnPartition("us-gov-east-1")).toBe("aws-us-gov");
    expect(arnPartition("cn-north-1")).toBe("aws-cn");
    expect(arnPartition("cn-northwest-1")).toBe("aws-cn");
    for (const region of ["us-east-1", "eu-central-1", "ap-southeast-7", "mx-central-1"]) expect(arnPartition(region), region).toBe("aws");
  });

  it("every known region maps to aws, aws-cn or aws-us-gov, and only us-gov-*/cn-* leave aws", () => {
    for (const region of AWS_REGIONS) {
      const expected = region.startsWith("us-gov-") ? "aws-us-gov" : region.startsWith("cn-") ? "aws-cn" : "aws";
      expect(arnPartition(region), region).toBe(expected);
    }
  });
});

describe("describeViolation", () => {
  it("one line naming resource, type, property, rule, value and source", () => {
    const [v] = checkConstraints([{ type: "aws:budgets/budget:Budget", name: "dev-budget-monthly", inputs: { name: "trainctl:dev" }, tags: {} }], {
      region: "us-east-1",
    });
    const line = describeViolation(v);
    expect(line).toMatch(
      /^dev-budget-monthly \(aws:budgets\/budget:Budget\) name: budget-name: 1 to 100 characters, no : or \\ \(got "trainctl:dev"; source: https:\/\/docs\.aws\.amazon\.com\//,
    );
    expect(line).not.toContain("\n");
  });

  it("a value holding a newline stays on one line (it is shown JSON-escaped)", () => {
    const line = describeViolation({ resource: "r", type: "t", property: "p", rule: "x", value: "a\nb", source: "s" });
    expect(line).toBe('r (t) p: x (got "a\\nb"; source: s)');
  });
});

describe("the S3 bucket name rules accept exactly the documented rule (property)", () => {
  // The rule as the S3 user guide states it, written independently of the guard's regexes.
  const documented = (name: string) => {
    if (name.length < 3 || name.length > 63) return false;
    for (const ch of name) if (!"abcdefghijklmnopqrstuvwxyz0123456789.-".includes(ch)) return false;
    const alnum = (ch: string) => /[a-z0-9]/.test(ch);
    if (!alnum(name[0]) || !alnum(name[name.length - 1])) return false;
    if (name.includes("..")) return false;
    const parts = name.split(".");
    if (parts.length === 4 && parts.every((p) => p !== "" && [...p].every((c) => c >= "0" && c <= "9"))) return false;
    if (["xn--", "sthree-", "amzn-s3-demo-"].some((p) => name.startsWith(p))) return false;
    if (["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"].some((s) => name.endsWith(s))) return false;
    return true;
  };
  const guardAccepts = (name: string) =>
    checkConstraints([{ type: "aws:s3/bucket:Bucket", name: "b", inputs: { bucket: name }, tags: {} }], { region: "us-east-1" }).length === 0;
  const piece = fc.constantFrom("a", "z", "0", "9", ".", "-", "_", "A", "xn--", "sthree-", "-s3alias", ".mrap", "--x-s3", "1.2.3.4", "..");

  it("agrees on generated names built from the tricky pieces", () => {
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 20 }).map((parts) => parts.join("")),
        (name) => {
          expect(guardAccepts(name), name).toBe(documented(name));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("agrees at the length limits", () => {
    for (const n of [2, 3, 63, 64]) expect(guardAccepts("a".repeat(n)), String(n)).toBe(n >= 3 && n <= 63);
  });
});
