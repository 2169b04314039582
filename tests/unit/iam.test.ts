import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type PolicyDocument, ec2AssumeRolePolicy, instanceAccessPolicy, parseS3Url, recoveryStatements, tlsOnlyBucketPolicy } from "../../components/iam";

const resources = (doc: PolicyDocument) => doc.Statement.flatMap((s) => [s.Resource ?? []].flat());
const actions = (doc: PolicyDocument) => doc.Statement.flatMap((s) => [s.Action].flat());

describe("parseS3Url", () => {
  it("splits bucket and prefix; the prefix may be empty", () => {
    expect(parseS3Url("s3://team-data/imagenet/train/")).toEqual({ bucket: "team-data", prefix: "imagenet/train/" });
    expect(parseS3Url("s3://team-data/")).toEqual({ bucket: "team-data", prefix: "" });
    expect(parseS3Url("s3://team-data")).toEqual({ bucket: "team-data", prefix: "" });
  });

  it("refuses what is not an s3:// URL, naming it", () => {
    for (const url of ["https://team-data/x", "team-data/x", "s3://", "s3:///x"]) expect(() => parseS3Url(url), url).toThrow(`not an s3:// URL: ${url}`);
  });
});

describe("ec2AssumeRolePolicy", () => {
  it("only EC2 may assume the role, with sts:AssumeRole", () => {
    expect(ec2AssumeRolePolicy()).toEqual({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
    });
  });
});

describe("instanceAccessPolicy: S3 limited to the experiment", () => {
  const base = { partition: "aws", experiment: "dev", readWriteBuckets: ["dev-datasets-bucket-1", "dev-checkpoints-bucket-2"] };

  it("reads and writes only the experiment's buckets, never s3:* and never every bucket", () => {
    const doc = instanceAccessPolicy(base);
    const s3 = resources(doc).filter((r) => r.includes(":s3:::"));
    expect(s3.sort()).toEqual([
      "arn:aws:s3:::dev-checkpoints-bucket-2",
      "arn:aws:s3:::dev-checkpoints-bucket-2/*",
      "arn:aws:s3:::dev-datasets-bucket-1",
      "arn:aws:s3:::dev-datasets-bucket-1/*",
    ]);
    expect(actions(doc)).not.toContain("s3:*");
    expect(actions(doc).filter((a) => a.startsWith("s3:Delete"))).toEqual(["s3:DeleteObject"]);
  });

  it("an external dataset source: list and read under its prefix only", () => {
    const doc = instanceAccessPolicy({ ...base, readOnlySource: "s3://team-data/imagenet/" });
    const list = doc.Statement.find((s) => s.Sid === "DatasetSourceList")!;
    const read = doc.Statement.find((s) => s.Sid === "DatasetSourceRead")!;
    expect(list).toMatchObject({ Action: "s3:ListBucket", Resource: "arn:aws:s3:::team-data", Condition: { StringLike: { "s3:prefix": ["imagenet/*"] } } });
    expect(read).toMatchObject({ Action: "s3:GetObject", Resource: "arn:aws:s3:::team-data/imagenet/*" });
    expect(doc.Statement.filter((s) => [s.Resource].flat().some((r) => r?.includes("team-data"))).flatMap((s) => [s.Action].flat())).toEqual([
      "s3:ListBucket",
      "s3:GetObject",
    ]);
  });

  it("a whole-bucket source has no prefix condition", () => {
    const list = instanceAccessPolicy({ ...base, readOnlySource: "s3://team-data/" }).Statement.find((s) => s.Sid === "DatasetSourceList")!;
    expect(list.Condition).toBeUndefined();
  });

  it("tags only runtime keys, only on instances of its own experiment", () => {
    const tag = instanceAccessPolicy(base).Statement.find((s) => s.Action === "ec2:CreateTags")!;
    expect(tag.Condition).toEqual({
      "ForAllValues:StringLike": { "aws:TagKeys": ["trainctl:runtime:*"] },
      StringEquals: { "aws:ResourceTag/trainctl:experiment": "dev" },
    });
  });

  it("metrics only to its namespace; nothing else on Resource *", () => {
    const doc = instanceAccessPolicy({ ...base, metricsNamespace: "trainctl" });
    const wide = doc.Statement.filter((s) => s.Resource === "*");
    expect(wide).toEqual([
      {
        Sid: "PublishMetrics",
        Effect: "Allow",
        Action: "cloudwatch:PutMetricData",
        Resource: "*",
        Condition: { StringEquals: { "cloudwatch:namespace": "trainctl" } },
      },
    ]);
    expect(instanceAccessPolicy(base).Statement.some((s) => s.Resource === "*")).toBe(false);
  });

  it("every ARN is in the given partition, and Sids are unique (property)", () => {
    const bucket = fc.stringMatching(/^[a-z0-9][a-z0-9-]{1,20}[a-z0-9]$/);
    fc.assert(
      fc.property(
        fc.constantFrom("aws", "aws-cn", "aws-us-gov"),
        fc.array(bucket, { minLength: 1, maxLength: 3 }),
        fc.option(bucket, { nil: undefined }),
        (partition, buckets, source) => {
          const doc = instanceAccessPolicy({
            partition,
            experiment: "e",
            readWriteBuckets: buckets,
            readOnlySource: source && `s3://${source}/p/`,
            metricsNamespace: "trainctl",
          });
          for (const r of resources(doc)) if (r !== "*") expect(r.startsWith(`arn:${partition}:`), r).toBe(true);
          const sids = doc.Statement.map((s) => s.Sid);
          expect(new Set(sids).size).toBe(sids.length);
        },
      ),
    );
  });
});

describe("recoveryStatements", () => {
  const statements = recoveryStatements("arn:aws-cn", "dev");

  it("attaching volumes and scaling groups only where the resource carries this experiment's tag", () => {
    const scoped = statements.filter((s) =>
      [s.Action]
        .flat()
        .some(
          (a) => a === "ec2:AttachVolume" || a.startsWith("autoscaling:Set") || a.startsWith("autoscaling:Terminate") || a.startsWith("autoscaling:Update"),
        ),
    );
    expect(scoped.length).toBe(2);
    for (const s of scoped) expect(s.Condition).toEqual({ StringEquals: { "aws:ResourceTag/trainctl:experiment": "dev" } });
  });

  it("only Describe actions take Resource *; every ARN is in the given partition", () => {
    for (const s of statements.filter((x) => x.Resource === "*")) for (const a of [s.Action].flat()) expect(a).toMatch(/:Describe/);
    for (const r of statements.flatMap((s) => [s.Resource ?? []].flat()).filter((x) => x !== "*")) expect(r.startsWith("arn:aws-cn:"), r).toBe(true);
  });

  it("never deletes, detaches or creates", () => {
    for (const a of statements.flatMap((s) => [s.Action].flat())) expect(a).not.toMatch(/:(Delete|Detach|Create)/);
  });
});

describe("tlsOnlyBucketPolicy", () => {
  it("denies every request without TLS, to the bucket and every object", () => {
    expect(tlsOnlyBucketPolicy("arn:aws:s3:::b")).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "DenyInsecureTransport",
          Effect: "Deny",
          Principal: "*",
          Action: "s3:*",
          Resource: ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
      ],
    });
  });
});
