import { existsSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { CONSTRAINT_RULES, type GuardedResource, checkConstraints } from "../../core/aws-constraints";
import { PROJECT_ROOT, runOffline } from "../../scripts/state/offline-program";
import { FIXTURE_STACKS, fixtureConfig } from "../fixtures/stacks";

const ctx = { region: "us-east-1" };
const r = (type: string, inputs: Record<string, unknown>, tags: Record<string, string> = {}, name = "dev-thing"): GuardedResource => ({
  type,
  name,
  inputs,
  tags,
});
const SG = "aws:ec2/securityGroup:SecurityGroup";
const BUCKET = "aws:s3/bucket:Bucket";
const INSTANCE = "aws:ec2/instance:Instance";
const VOLUME = "aws:ebs/volume:Volume";
const ROLE = "aws:iam/role:Role";
const GROUP = "aws:autoscaling/group:Group";
const TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";
const bucket = (name: string) => r(BUCKET, { bucket: name });
const tagged = (tags: Record<string, string>) => r("aws:s3/bucket:Bucket", { bucket: "ok-bucket", tags }, tags);
const volume = (inputs: Record<string, unknown>) => r(VOLUME, { type: "gp3", size: 500, ...inputs });
const spot = (spotInstanceType: string, extra: Record<string, unknown>) =>
  r(INSTANCE, { instanceMarketOptions: { marketType: "spot", spotOptions: { spotInstanceType, ...extra } }, ...extra });

/** Per rule: a resource that breaks it, and one that obeys it. */
const CASES: Record<string, { bad: GuardedResource; good: GuardedResource }> = {
  "sg-description-length": { bad: r(SG, { description: "x".repeat(256) }), good: r(SG, { description: "x".repeat(255) }) },
  "sg-description-charset": {
    bad: r(SG, { description: "the experiment's group" }),
    good: r(SG, { description: "trainctl dev: no inbound; egress for SSM and S3" }),
  },
  "sg-name-length": { bad: r(SG, { name: "x".repeat(256) }), good: r(SG, {}, {}, "x".repeat(247)) },
  "sg-name-charset": { bad: r(SG, { name: "sg-mine" }), good: r(SG, { name: "mine sg" }) },
  "sg-rule-description-length": { bad: r(SG, { egress: [{ description: "x".repeat(256) }] }), good: r(SG, { egress: [{ description: "x".repeat(255) }] }) },
  "sg-rule-description-charset": {
    bad: r("aws:ec2/securityGroupRule:SecurityGroupRule", { description: "NCCL and c10d between the experiment's nodes" }),
    good: r("aws:ec2/securityGroupRule:SecurityGroupRule", { description: "NCCL and c10d between the nodes of this experiment" }),
  },
  "bucket-name-length": { bad: r(BUCKET, {}, {}, "a".repeat(56)), good: r(BUCKET, {}, {}, "a".repeat(55)) },
  "bucket-name-charset": { bad: bucket("my_bucket"), good: bucket("my-bucket.v2") },
  "bucket-name-ends": { bad: bucket("my-bucket-"), good: bucket("my-bucket-1") },
  "bucket-name-periods": { bad: bucket("my..bucket"), good: bucket("my.bucket") },
  "bucket-name-ip": { bad: bucket("192.168.5.4"), good: bucket("192-168-5-4") },
  "bucket-name-prefix": { bad: bucket("xn--bucket"), good: bucket("xn-bucket") },
  "bucket-name-suffix": { bad: bucket("data-s3alias"), good: bucket("data-s3-alias") },
  "lifecycle-rule-id": {
    bad: r("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", { rules: [{ id: "x".repeat(256) }] }),
    good: r("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", { rules: [{ id: "abort-incomplete-multipart-uploads" }] }),
  },
  "bucket-key-needs-kms": {
    bad: r("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", {
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }],
    }),
    good: r("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", {
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" }, bucketKeyEnabled: true }],
    }),
  },
  "iam-role-name-length": { bad: r(ROLE, {}, {}, "x".repeat(57)), good: r(ROLE, {}, {}, "x".repeat(56)) },
  "iam-role-name-charset": { bad: r(ROLE, { name: "my role" }), good: r(ROLE, { name: "my_role+=,.@-1" }) },
  "iam-role-description": { bad: r(ROLE, { description: "nodes \u2014 dev" }), good: r(ROLE, { description: "trainctl dev nodes" }) },
  "iam-profile-name": {
    bad: r("aws:iam/instanceProfile:InstanceProfile", { name: "x".repeat(129) }),
    good: r("aws:iam/instanceProfile:InstanceProfile", { name: "x".repeat(128) }),
  },
  "iam-role-policy-name": { bad: r("aws:iam/rolePolicy:RolePolicy", { name: "access/s3" }), good: r("aws:iam/rolePolicy:RolePolicy", { name: "access-s3" }) },
  "arn-partition": {
    bad: r("aws:iam/rolePolicyAttachment:RolePolicyAttachment", { policyArn: "arn:aws-us-gov:iam::aws:policy/AmazonSSMManagedInstanceCore" }),
    good: r("aws:iam/rolePolicyAttachment:RolePolicyAttachment", { policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" }),
  },
  "tag-key-length": { bad: tagged({ ["k".repeat(128)]: "v" }), good: tagged({ ["k".repeat(127)]: "v" }) },
  "tag-value-length": { bad: tagged({ k: "v".repeat(257) }), good: tagged({ k: "v".repeat(256) }) },
  "tag-key-aws-prefix": { bad: tagged({ "aws:team": "v" }), good: tagged({ "team:aws": "v" }) },
  "tag-charset": { bad: tagged({ team: "vision|nlp" }), good: tagged({ team: "vision + nlp @ lab/1" }) },
  "tag-count": {
    bad: tagged(Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"]))),
    good: tagged(Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, "v"]))),
  },
  "imds-tag-key": {
    bad: r(INSTANCE, { metadataOptions: { instanceMetadataTags: "enabled" }, tags: {} }, { "team name": "vision" }),
    good: r(INSTANCE, { metadataOptions: { instanceMetadataTags: "enabled" }, tags: {} }, { "trainctl:cost-center": "ml", Name: "dev-node-0" }),
  },
  "user-data-size": { bad: r(INSTANCE, { userData: "#".repeat(16_385) }), good: r(INSTANCE, { userData: "#".repeat(16_384) }) },
  "one-time-spot-no-stop": {
    bad: spot("one-time", { instanceInitiatedShutdownBehavior: "stop" }),
    good: spot("one-time", { instanceInitiatedShutdownBehavior: "terminate" }),
  },
  "persistent-spot-interruption": {
    bad: spot("persistent", { instanceInterruptionBehavior: "terminate" }),
    good: spot("persistent", { instanceInterruptionBehavior: "stop" }),
  },
  "volume-size": { bad: volume({ type: "io2", size: 2, iops: 100 }), good: volume({ type: "io2", size: 4, iops: 100 }) },
  "volume-iops": { bad: volume({ iops: 2_000 }), good: volume({ iops: 3_000 }) },
  "volume-iops-per-gib": { bad: volume({ size: 10, iops: 5_001 }), good: volume({ size: 10, iops: 5_000 }) },
  "volume-throughput": { bad: volume({ iops: 16_000, throughput: 2_001 }), good: volume({ iops: 16_000, throughput: 2_000 }) },
  "volume-throughput-per-iops": { bad: volume({ iops: 3_000, throughput: 751 }), good: volume({ iops: 3_000, throughput: 750 }) },
  "volume-init-rate": { bad: volume({ volumeInitializationRate: 301 }), good: volume({ volumeInitializationRate: 300 }) },
  "placement-group-name": {
    bad: r("aws:ec2/placementGroup:PlacementGroup", { name: "gruppe-\u00fc" }),
    good: r("aws:ec2/placementGroup:PlacementGroup", { name: "gruppe-u" }),
  },
  "budget-name": { bad: r("aws:budgets/budget:Budget", { name: "trainctl:dev" }), good: r("aws:budgets/budget:Budget", { name: "trainctl-dev" }) },
  "dashboard-name": {
    bad: r("aws:cloudwatch/dashboard:Dashboard", { dashboardName: "trainctl.dev" }),
    good: r("aws:cloudwatch/dashboard:Dashboard", { dashboardName: "trainctl-dev" }),
  },
  "imds-tag-key-propagated": {
    bad: r(GROUP, { tags: [{ key: "team name", value: "vision", propagateAtLaunch: true }] }),
    good: r(GROUP, {
      tags: [
        { key: "team name", value: "vision", propagateAtLaunch: false },
        { key: "trainctl:node-index", value: "0", propagateAtLaunch: true },
      ],
    }),
  },
  "group-name": { bad: r(GROUP, { name: "trainctl:dev-node-0" }), good: r(GROUP, { name: "trainctl-dev-node-0" }) },
  "launch-template-name": { bad: r(TEMPLATE, { name: "trainctl dev node 0" }), good: r(TEMPLATE, { name: "trainctl-dev-node-0" }) },
  "group-overrides-count": {
    bad: r(GROUP, { mixedInstancesPolicy: { launchTemplate: { overrides: Array.from({ length: 21 }, () => ({ instanceType: "g5.xlarge" })) } } }),
    good: r(GROUP, { mixedInstancesPolicy: { launchTemplate: { overrides: Array.from({ length: 20 }, () => ({ instanceType: "g5.xlarge" })) } } }),
  },
  "launch-template-user-data-size": {
    bad: r(TEMPLATE, { userData: Buffer.from("#".repeat(16_385)).toString("base64") }),
    good: r(TEMPLATE, { userData: Buffer.from("#".repeat(16_384)).toString("base64") }),
  },
};

const ruleIds = (resource: GuardedResource) => checkConstraints([resource], ctx).map((v) => v.rule.split(":")[0]);

describe("the AWS constraint guard", () => {
  it("has at least 25 rules, each with a source that exists (an SDK model file here, or an AWS doc page)", () => {
    expect(CONSTRAINT_RULES.length).toBeGreaterThanOrEqual(25);
    expect(new Set(CONSTRAINT_RULES.map((rule) => rule.id)).size).toBe(CONSTRAINT_RULES.length);
    for (const rule of CONSTRAINT_RULES) {
      const file = /^(@aws-sdk\/[^ ]+\.d\.ts)/.exec(rule.source)?.[1];
      if (file) expect(existsSync(path.join(PROJECT_ROOT, "node_modules", file)), `${rule.id}: ${file}`).toBe(true);
      else expect(rule.source, rule.id).toMatch(/^https:\/\/docs\.aws\.amazon\.com\//);
    }
  });

  it("every rule has a breaking and an obeying case", () => {
    expect(Object.keys(CASES).sort()).toEqual(CONSTRAINT_RULES.map((rule) => rule.id).sort());
  });

  for (const [id, { bad, good }] of Object.entries(CASES)) {
    it(`${id}: flags the breaking input and passes the obeying one`, () => {
      expect(ruleIds(bad)).toContain(id);
      expect(ruleIds(good)).not.toContain(id);
    });
  }

  it("a violation names the resource, the property and the rule", () => {
    const [v] = checkConstraints([r(SG, { description: "it's" }, {}, "dev-training-sg")], ctx);
    expect(v).toMatchObject({ resource: "dev-training-sg", property: "description", rule: expect.stringMatching(/^sg-description-charset: /) });
  });

  for (const stack of FIXTURE_STACKS) {
    it(`the ${stack} fixture stack passes the guard in an offline plan`, async () => {
      const run = await runOffline({ stack, config: fixtureConfig(stack) });
      expect(run.model.resources.length).toBeGreaterThan(10);
    });
  }

  it("an offline plan that breaks a rule fails with exit code 2, naming resource, property and rule (item 10: a tag key with a space)", async () => {
    const error = await runOffline({ stack: "dev", config: { ...fixtureConfig("dev"), "trainctl:tags": { "team name": "vision" } } }).catch((e) => e);
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(/dev-training-node-0 \(aws:ec2\/instance:Instance\) tags: imds-tag-key: .*\(got "team name"/);
  });
});
