import { beforeAll, describe, expect, it } from "vitest";
import { type PolicySubject, RESOURCE_RULES, budgetMissing, bucketsWithoutGuards } from "../../policy/rules";
import { loadStackConfig, runOffline } from "../../scripts/state/offline-program";

const COST_TAGS = { "trainctl:project": "p", "trainctl:experiment": "e", "trainctl:owner": "o", "trainctl:cost-center": "c", "trainctl:managed-by": "pulumi" };
const r = (type: string, props: Record<string, any>, protect = false): PolicySubject => ({
  type,
  name: "r",
  urn: `urn:pulumi:e::p::${type}::r`,
  props,
  protect,
});
const compliantInstance = { instanceType: "g5.xlarge", tagsAll: COST_TAGS, metadataOptions: { httpTokens: "required" }, rootBlockDevice: { encrypted: true } };

// [rule, violating resource, compliant resource]
const CASES: [keyof typeof RESOURCE_RULES, PolicySubject, PolicySubject][] = [
  ["cost-tags", r("aws:ebs/volume:Volume", { tagsAll: { "trainctl:owner": "o" } }), r("aws:ebs/volume:Volume", { tagsAll: COST_TAGS })],
  ["data-protected", r("aws:s3/bucket:Bucket", {}), r("aws:s3/bucket:Bucket", {}, true)],
  ["storage-encrypted", r("aws:ebs/volume:Volume", { encrypted: false }), r("aws:ebs/volume:Volume", { encrypted: true })],
  ["storage-encrypted", r("aws:ec2/instance:Instance", { ...compliantInstance, rootBlockDevice: {} }), r("aws:ec2/instance:Instance", compliantInstance)],
  [
    "imdsv2-required",
    r("aws:ec2/instance:Instance", { ...compliantInstance, metadataOptions: { httpTokens: "optional" } }),
    r("aws:ec2/instance:Instance", compliantInstance),
  ],
  [
    "no-open-ingress",
    r("aws:ec2/securityGroup:SecurityGroup", { ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["10.0.0.0/8"] }] }),
    r("aws:ec2/securityGroup:SecurityGroup", { ingress: [], egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }] }),
  ],
  [
    "no-open-ingress",
    r("aws:ec2/securityGroupRule:SecurityGroupRule", { type: "ingress", protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }),
    r("aws:ec2/securityGroupRule:SecurityGroupRule", { type: "ingress", protocol: "-1", fromPort: 0, toPort: 0, self: true }),
  ],
  [
    "spot-below-on-demand",
    r("aws:ec2/instance:Instance", { ...compliantInstance, instanceMarketOptions: { marketType: "spot", spotOptions: { maxPrice: "1.5" } } }),
    r("aws:ec2/instance:Instance", { ...compliantInstance, instanceMarketOptions: { marketType: "spot", spotOptions: { maxPrice: "0.75" } } }),
  ],
];

describe("each policy fires on a violation and stays silent on a compliant resource", () => {
  it.each(CASES)("%s", (rule, bad, good) => {
    expect(RESOURCE_RULES[rule](bad)).toHaveLength(1);
    expect(RESOURCE_RULES[rule](good)).toEqual([]);
  });

  it("bucket guards: a public access block and a TLS-only policy for each bucket", () => {
    const bucket = r("aws:s3/bucket:Bucket", { bucket: "b1" });
    const pab = r("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", {
      bucket: "b1",
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    const tls = r("aws:s3/bucketPolicy:BucketPolicy", {
      bucket: "b1",
      policy: JSON.stringify({ Statement: [{ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }] }),
    });
    expect(bucketsWithoutGuards([bucket, pab, tls])).toEqual([]);
    expect(bucketsWithoutGuards([bucket, tls])).toEqual(["r: no public access block with all four settings on"]);
    expect(bucketsWithoutGuards([bucket, pab, { ...pab, type: "x" }])).toEqual(["r: no bucket policy denying requests without TLS"]);
  });

  it("budget: required only when the stack asks for one", () => {
    expect(budgetMissing([], true)).toHaveLength(1);
    expect(budgetMissing([], false)).toEqual([]);
    expect(budgetMissing([r("aws:budgets/budget:Budget", {})], true)).toEqual([]);
  });
});

describe("the dev plan passes the whole pack", () => {
  let resources: PolicySubject[];
  beforeAll(async () => {
    const run = await runOffline({ stack: "dev", config: loadStackConfig("dev") });
    // What CrossGuard would see: inputs as props, the provider's tags merged into tagsAll, the protect option.
    resources = run.captured.map(({ record, request }) => ({
      type: record.type,
      name: record.name,
      urn: record.urn,
      props: { ...record.outputs, ...record.inputs, tagsAll: record.tags },
      protect: request.protect,
    }));
  });

  it("no resource rule reports anything", () => {
    const violations = resources.flatMap((res) => Object.values(RESOURCE_RULES).flatMap((rule) => rule(res)));
    expect(violations).toEqual([]);
    expect(resources.filter((res) => res.type === "aws:ec2/instance:Instance")).toHaveLength(1);
  });

  it("no stack rule reports anything", () => {
    expect(bucketsWithoutGuards(resources)).toEqual([]);
    expect(budgetMissing(resources, true)).toEqual([]);
  });
});
